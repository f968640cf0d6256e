/**
 * make fuzz: the differential fuzzer of the sockopt interface, native netfilter as the oracle.
 * FUZZ_SECONDS (default 120) bounds it; FUZZ_SEED (printed) replays a run, FUZZ_CASE one case of
 * it. Reproducers go to build/fuzz/. Exits 1 when a divergence was found. Needs root.
 */
import { join } from "node:path";
import { fuzz } from "./fuzz_loop.ts";
import { loadSeeds, seedSources } from "./seeds.ts";

const env = process.env;
const seed = env.FUZZ_SEED !== undefined && env.FUZZ_SEED !== "" ? Number(env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const seconds = Number(env.FUZZ_SECONDS ?? 120);
const one = env.FUZZ_CASE !== undefined && env.FUZZ_CASE !== "" ? Number(env.FUZZ_CASE) : undefined;
console.log(`fuzz: FUZZ_SEED=${seed} FUZZ_SECONDS=${seconds}${one === undefined ? "" : ` FUZZ_CASE=${one}`}`);
const started = Date.now();
const seeds = loadSeeds(seedSources());
console.log(`fuzz: ${seeds.length} seed tables (${((Date.now() - started) / 1000).toFixed(1)} s)`);
const report = fuzz({
  seed,
  seeds,
  seconds,
  ...(one === undefined ? {} : { firstCase: one, maxCases: one + 1 }),
  outDir: join(import.meta.dirname, "..", "..", "..", "build", "fuzz"),
});
const total = report.kinds.reduce((n, k) => n + k.count, 0);
console.log(`fuzz: ${report.cases} cases in ${((Date.now() - started) / 1000).toFixed(0)} s, ${total} divergent in ${report.kinds.length} kind(s)`);
for (const k of report.kinds) console.log(`  ${k.count}× ${k.key} (first: FUZZ_CASE=${k.caseIndex})`);
process.exit(report.kinds.length > 0 ? 1 : 0);
