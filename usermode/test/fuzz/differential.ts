/**
 * One fuzz case on both sides: the seed table is put in place on each (native netfilter in one
 * netns, the helper in another), the request is sent to both, and the answers are compared: the
 * errno, the old counters of a replace, the buffer and optlen of a get; then the table each side
 * holds afterwards (GET_INFO and GET_ENTRIES bytes).
 */
import { IPT_GET_ENTRIES, IPT_GETINFO, IPT_REPLACE, IPT_SO_GET, IPT_SO_SET, sockoptName, writeCString, XT_TABLE_MAXNAMELEN } from "../../src/ipt/abi.ts";
import { HandlerCrash } from "./helper_side.ts";
import type { GetResult, SetResult } from "./native.ts";
import type { FuzzRequest } from "./requests.ts";

/** What both sides offer: NativeSocket and HelperSide. */
export interface Side {
  set(cmd: number, bytes: Uint8Array, optlen: number): SetResult;
  get(cmd: number, bytes: Uint8Array, optlen: number): GetResult;
}

/** A difference between netfilter and the helper, with what reproduces it. */
export interface Divergence {
  readonly stage: "install the seed" | "request" | "table afterwards" | "crash";
  readonly request: FuzzRequest;
  readonly netfilter: string;
  readonly helper: string;
  /** The requests sent after the seed and before this one, which both sides answered alike. */
  readonly before?: readonly FuzzRequest[];
}

const hex = (b: Uint8Array | undefined): string => (b === undefined ? "-" : Buffer.from(b).toString("hex"));

function filterQuery(size: number): Uint8Array {
  const q = new Uint8Array(size);
  writeCString(q, 0, XT_TABLE_MAXNAMELEN, "filter");
  return q;
}

/** The entries of the table in place on a side (1 when it cannot say: the replace fails then). */
function entryCount(side: Side): number {
  const r = side.get(IPT_SO_GET.INFO, filterQuery(IPT_GETINFO.SIZE), IPT_GETINFO.SIZE);
  return r.errno === 0 ? new DataView(r.buffer.buffer).getUint32(IPT_GETINFO.num_entries, true) : 1;
}

/** The seed replace with num_counters set to what the side holds now. */
function installRequest(side: Side, seed: Uint8Array): Uint8Array {
  const b = seed.slice();
  new DataView(b.buffer).setUint32(IPT_REPLACE.num_counters, entryCount(side), true);
  return b;
}

/** GET_INFO then GET_ENTRIES of the filter table, as one comparable line. */
function tableOf(side: Side): string {
  const info = side.get(IPT_SO_GET.INFO, filterQuery(IPT_GETINFO.SIZE), IPT_GETINFO.SIZE);
  if (info.errno !== 0) return `GET_INFO errno ${info.errno}`;
  const size = new DataView(info.buffer.buffer).getUint32(IPT_GETINFO.size, true);
  const q = filterQuery(IPT_GET_ENTRIES.SIZE);
  new DataView(q.buffer).setUint32(IPT_GET_ENTRIES.size, size, true);
  const entries = side.get(IPT_SO_GET.ENTRIES, q, IPT_GET_ENTRIES.SIZE + size);
  return `info ${hex(info.buffer)} entries errno ${entries.errno} ${hex(entries.buffer)}`;
}

/** One answer as one comparable line. */
export function send(side: Side, r: FuzzRequest): string {
  if (r.set) {
    const a = side.set(r.cmd, r.bytes, r.optlen);
    return `errno ${a.errno}${a.counters === undefined || a.counters.length === 0 ? "" : ` counters ${hex(a.counters)}`}`;
  }
  const a = side.get(r.cmd, r.bytes, r.optlen);
  return `errno ${a.errno} optlen ${a.optlen} buffer ${hex(a.buffer)}`;
}

/** Runs one case; undefined when both sides agree. */
export function runCase(netfilter: Side, helper: Side, seed: Uint8Array, request: FuzzRequest, before: readonly FuzzRequest[] = []): Divergence | undefined {
  const install: FuzzRequest = { set: true, cmd: IPT_SO_SET.REPLACE, bytes: seed, optlen: seed.length, mutation: "the seed itself" };
  let stage: Divergence["stage"] = "install the seed";
  try {
    const a = send(netfilter, { ...install, bytes: installRequest(netfilter, seed) });
    const b = send(helper, { ...install, bytes: installRequest(helper, seed) });
    if (a !== b) return { stage, request: install, netfilter: a, helper: b };
    stage = "request";
    for (const r of before) {
      const [x, y] = [send(netfilter, r), send(helper, r)];
      if (x !== y) return { stage, request: r, netfilter: x, helper: y, before: before.slice(0, before.indexOf(r)) };
    }
    const x = send(netfilter, request);
    const y = send(helper, request);
    if (x !== y) return { stage, request, netfilter: x, helper: y, before };
    stage = "table afterwards";
    const s = tableOf(netfilter);
    const t = tableOf(helper);
    if (s !== t) return { stage, request, netfilter: s, helper: t, before };
    return undefined;
  } catch (err) {
    if (!(err instanceof HandlerCrash)) throw err;
    return { stage: "crash", request: stage === "install the seed" ? install : request, netfilter: "-", helper: err.message };
  }
}

/** A short text of a divergence: where, what was mutated, and the first differing byte. */
export function describe(d: Divergence): string {
  const r = d.request;
  const lines = [`${d.stage}: ${sockoptName(r.cmd, r.set)} optlen ${r.optlen}, mutated: ${r.mutation}`];
  for (const b of d.before ?? []) lines.push(`  after ${sockoptName(b.cmd, b.set)} optlen ${b.optlen}, mutated: ${b.mutation}`);
  let i = 0;
  while (i < d.netfilter.length && d.netfilter[i] === d.helper[i]) i++;
  const from = Math.max(0, i - 40);
  lines.push(`  netfilter: ${d.netfilter.slice(from, i + 80)}${from > 0 ? ` (from char ${from})` : ""}`);
  lines.push(`  helper:    ${d.helper.slice(from, i + 80)}`);
  return lines.join("\n");
}
