/**
 * The fuzz loop: two fresh netns (native netfilter in one, the helper's handler in process over
 * the other), cases made from a seed number and an index (FUZZ_SEED and the case replay exactly),
 * divergences grouped by kind, the first of each kind saved as a reproducer.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { namedNetnsPath } from "../../src/bpf/index.ts";
import { IPT_REPLACE, IPT_SO_SET } from "../../src/ipt/abi.ts";
import { describe, type Divergence, runCase, type Side } from "./differential.ts";
import { HelperSide } from "./helper_side.ts";
import { mutatedReplace, type Parsed, parseSeed } from "./mutate_replace.ts";
import { NativeSocket } from "./native.ts";
import { addCountersRequest, type FuzzRequest, otherRequest } from "./requests.ts";
import { Rng } from "./rng.ts";
import type { Seed } from "./seeds.ts";

/** One case: the seed table put in place, then the requests. */
export interface FuzzCase {
  readonly table: { name: string; parsed: Parsed };
  readonly before: readonly FuzzRequest[];
  readonly request: FuzzRequest;
}

/** How long and from what. */
export interface FuzzOptions {
  readonly seed: number;
  readonly seeds: readonly Seed[];
  readonly firstCase?: number;
  readonly maxCases?: number;
  readonly seconds?: number;
  /** Where reproducers go (one JSON file per kind of divergence). */
  readonly outDir?: string;
  readonly print?: (line: string) => void;
}

/** One kind of divergence: how often, and its first case. */
export interface DivergenceKind {
  readonly key: string;
  count: number;
  readonly caseIndex: number;
  readonly seedName: string;
  readonly divergence: Divergence;
}

/** What a run found. */
export interface FuzzReport {
  readonly cases: number;
  readonly kinds: DivergenceKind[];
}

/** Case `index` of run `seed`: a seed table and a request made for it. */
export function makeCase(seed: number, index: number, tables: readonly { name: string; parsed: Parsed }[]): FuzzCase {
  const rng = new Rng(seed ^ Math.imul(index + 1, 0x9e3779b9));
  const table = rng.pick(tables);
  const view = new DataView(table.parsed.replace.buffer);
  const shape = { numEntries: view.getUint32(IPT_REPLACE.num_entries, true), size: view.getUint32(IPT_REPLACE.size, true) };
  const before: FuzzRequest[] = [];
  const lead = rng.below(8);
  if (lead === 0) before.push(addCountersRequest(rng, shape)); // counters to carry through what follows
  if (lead === 1) before.push(mutatedReplace(rng, table.parsed)); // a replace that may fail first
  const request = rng.below(10) < 7 ? mutatedReplace(rng, table.parsed) : otherRequest(rng, shape);
  return { table, before, request };
}

function keyOf(d: Divergence): string {
  const r = d.request;
  const errnos = [d.netfilter, d.helper].map((s) => /^errno \d+/.exec(s)?.[0] ?? s.slice(0, 20)).join(" vs ");
  return `${d.stage} ${r.set ? "set" : "get"} ${r.cmd} ${r.mutation.replace(/-?\d+/g, "N").replace(/'[^']*'/g, "'…'")}: ${errnos}`;
}

/** Runs the cases; the netns it makes are removed afterwards. */
export function fuzz(opts: FuzzOptions): FuzzReport {
  const print = opts.print ?? ((line: string) => console.log(line));
  const tables = opts.seeds.map((s) => ({ name: s.name, parsed: parseSeed(s.replace) }));
  const names = [`bpft-fuzz-nf-${process.pid}`, `bpft-fuzz-helper-${process.pid}`];
  for (const n of names) execFileSync("ip", ["netns", "add", n]);
  const native = new NativeSocket(namedNetnsPath(names[0]!));
  const helper = new HelperSide(names[1]!);
  const kinds = new Map<string, DivergenceKind>();
  const deadline = Date.now() + (opts.seconds ?? Infinity) * 1000;
  let index = opts.firstCase ?? 0;
  try {
    for (; index < (opts.maxCases ?? Infinity) && Date.now() < deadline; index++) {
      const { table, before, request } = makeCase(opts.seed, index, tables);
      const d = runCase(native, helper, table.parsed.replace, request, before);
      if (d === undefined) continue;
      const key = keyOf(d);
      const kind = kinds.get(key);
      if (kind !== undefined) {
        kind.count++;
        continue;
      }
      kinds.set(key, { key, count: 1, caseIndex: index, seedName: table.name, divergence: d });
      print(`divergence (FUZZ_SEED=${opts.seed} FUZZ_CASE=${index}, seed table ${table.name}):\n${describe(d)}`);
      const small = d.before?.length ? { request: d.request, changed: [] } : shrink(native, helper, table.parsed.replace, d.request, key);
      print(`  ${reproducerText(small)}`);
      if (opts.outDir !== undefined) save(opts, index, table.name, table.parsed.replace, { ...d, request: small.request }, helper.log);
    }
  } finally {
    native.close();
    helper.close();
    for (const n of names) execFileSync("ip", ["netns", "del", n]);
  }
  return { cases: index, kinds: [...kinds.values()] };
}

/**
 * The request with as few of its bytes changed from the seed table as still give the same kind
 * of divergence: each changed byte is put back in turn, and stays back if the divergence stays.
 */
function shrink(native: Side, helper: Side, seed: Uint8Array, request: FuzzRequest, key: string): { request: FuzzRequest; changed: number[] } {
  if (!request.set || request.cmd !== IPT_SO_SET.REPLACE || request.bytes.length !== seed.length) return { request, changed: [] };
  const bytes = request.bytes.slice();
  const changed: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== seed[i]) changed.push(i);
  for (const i of [...changed]) {
    const kept = bytes[i]!;
    bytes[i] = seed[i]!;
    const d = runCase(native, helper, seed, { ...request, bytes });
    if (d !== undefined && keyOf(d) === key) changed.splice(changed.indexOf(i), 1);
    else bytes[i] = kept;
  }
  return { request: { ...request, bytes }, changed };
}

/** The request in hex when small, else the bytes it changes in the seed table. */
function reproducerText({ request, changed }: { request: FuzzRequest; changed: number[] }): string {
  const r = request;
  if (r.bytes.length <= 256 || changed.length === 0) return `request (${r.bytes.length} bytes, optlen ${r.optlen}): ${Buffer.from(r.bytes).toString("hex")}`;
  return `request: the seed table (${r.bytes.length} bytes, optlen ${r.optlen}) with ${changed.map((i) => `byte ${i} = 0x${r.bytes[i]!.toString(16)}`).join(", ")}`;
}

function save(opts: FuzzOptions, index: number, seedName: string, seedTable: Uint8Array, d: Divergence, log: readonly string[]): void {
  mkdirSync(opts.outDir!, { recursive: true });
  const file = join(opts.outDir!, `${opts.seed}-${index}.json`);
  const r = d.request;
  const reproducer = {
    fuzzSeed: opts.seed,
    fuzzCase: index,
    stage: d.stage,
    seedTable: seedName,
    mutated: r.mutation,
    before: (d.before ?? []).map((b) => ({ set: b.set, cmd: b.cmd, optlen: b.optlen, mutated: b.mutation, hex: Buffer.from(b.bytes).toString("hex") })),
    request: { set: r.set, cmd: r.cmd, optlen: r.optlen, hex: Buffer.from(r.bytes).toString("hex") },
    seedTableHex: Buffer.from(seedTable).toString("hex"),
    netfilter: d.netfilter,
    helper: d.helper,
    helperLog: log.slice(-8),
  };
  writeFileSync(file, `${JSON.stringify(reproducer, null, 1)}\n`);
  (opts.print ?? console.log)(`  saved ${file}`);
}
