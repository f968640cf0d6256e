/**
 * Conformance corpus (tier 4): every IPv4 filter-table rule vector of iptables' own
 * extensions/*.t, appended with the real iptables-legacy once natively and once through bpfilter
 * (shim + helper + the real BpfEnforcer; where bpffs is missing, the in-memory double with
 * ext/registry.ts's checks, saying so). Exit status, messages and what
 * iptables-legacy-save reads back must agree; native netfilter is the oracle. A rule bpfilter
 * declines is handed to netfilter, which must then give the native result too.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MATCHES, TARGETS } from "../../src/ext/registry.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BpfEnforcer } from "../../src/enforce/bpf_enforcer.ts";
import { MemoryEnforcer } from "../service/memory_enforcer.ts";
import { readVectors, type RuleVector } from "./corpus.ts";
import { bpffsUnavailable, HostBench, hostTierUnavailable, maskSave } from "./harness.ts";

/** shared/ sits beside the checkout (here and in CI); BPFILTER_CONFORMANCE_DIR overrides. */
const CORPUS =
  process.env.BPFILTER_CONFORMANCE_DIR ??
  join(fileURLToPath(new URL("../../..", import.meta.url)), "..", "shared", "conformance", "iptables-extensions");
if (!existsSync(CORPUS)) {
  throw new Error(`conformance corpus not found at ${CORPUS}: shared/ must sit beside the checkout, or set BPFILTER_CONFORMANCE_DIR`);
}
/** The vectors the brief names, a file whose match is declined (the hand-over path), and every file of a registry extension. */
const FILES = [
  ...new Set([
    "iptables.t",
    "libxt_standard.t",
    "libipt_standard.t",
    "libxt_udp.t",
    "libxt_tcp.t",
    "libipt_recent.t",
    ...[...MATCHES, ...TARGETS]
      .flatMap((ext) => [`libxt_${ext.name}.t`, `libipt_${ext.name}.t`])
      .filter((file) => existsSync(join(CORPUS, file))),
  ]),
];

const unavailable = hostTierUnavailable();
if (unavailable) console.warn(`skipping the conformance corpus: ${unavailable}`);

const vectors: RuleVector[] = [];
for (const file of FILES) {
  const read = readVectors(join(CORPUS, file), file);
  vectors.push(...read.vectors);
  for (const s of read.skipped) console.warn(`conformance ${file}: skipped ${s.count} line(s): ${s.reason}`);
}

describe.skipIf(unavailable !== undefined)("conformance corpus: bpfilter reads back as native netfilter", () => {
  const pinRoot = `/sys/fs/bpf/bpft-corpus-${process.pid}`;
  const noBpffs = bpffsUnavailable();
  if (noBpffs) console.warn(`conformance: enforcing with the in-memory double (registry checks only): ${noBpffs}`);
  const bench = new HostBench(noBpffs ? new MemoryEnforcer() : new BpfEnforcer({ pinRoot }));
  let declined = 0;

  beforeAll(async () => {
    await bench.start();
    await bench.touchFilterTables();
  }, 30_000);
  afterAll(async () => {
    console.info(`conformance: ${vectors.length} vectors, ${declined} handed to netfilter and taken back by the -F after it`);
    await bench.close();
    rmSync(pinRoot, { recursive: true, force: true });
  });

  it.each(vectors.map((v) => [`${v.file}:${v.line}`, v.chain, v.rule, v] as const))("%s -A %s %s", async (_at, _chain, _rule, v) => {
    const logBefore = bench.log.length;
    const append = await bench.both(["sh", "-c", `iptables-legacy -A ${v.chain} ${v.rule}`]);
    const save = await bench.both(["iptables-legacy-save"]);
    await bench.both(["iptables-legacy", "-F"]);
    if (bench.log.slice(logBefore).some((line) => line.includes("netfilter enforces it from now on"))) declined++;
    expect({ code: append.bpfilter.code, stderr: append.bpfilter.stderr }).toEqual({ code: append.native.code, stderr: append.native.stderr });
    expect(maskSave(save.bpfilter.stdout)).toBe(maskSave(save.native.stdout));
  });
});
