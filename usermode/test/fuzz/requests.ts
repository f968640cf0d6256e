/**
 * The non-replace requests of the fuzzer: GET_INFO, GET_ENTRIES, ADD_COUNTERS and GET_REVISION_*
 * with right and wrong names, size fields and optlen values, for a table of known shape.
 */
import {
  IPT_GET_ENTRIES,
  IPT_GETINFO,
  IPT_SO_GET,
  IPT_SO_SET,
  writeCString,
  XT_COUNTERS,
  XT_COUNTERS_INFO,
  XT_GET_REVISION,
  XT_TABLE_MAXNAMELEN,
} from "../../src/ipt/abi.ts";
import type { Rng } from "./rng.ts";

/** One sockopt call: its bytes, optlen, and what was made wrong in it. */
export interface FuzzRequest {
  readonly set: boolean;
  readonly cmd: number;
  readonly bytes: Uint8Array;
  readonly optlen: number;
  readonly mutation: string;
}

/** The shape of the table in place when the request is sent. */
export interface TableShape {
  readonly numEntries: number;
  readonly size: number;
}

const TABLE_NAMES = ["filter", "filter", "filter", "nat", "", "filte", "filterx", "A".repeat(32)];
const EXTENSION_NAMES = ["tcp", "udp", "multiport", "icmp", "conntrack", "REJECT", "LOG", "", "ERROR", "standard", "nonexistent", "A".repeat(29)];

function named(size: number, name: string): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < name.length && i < size; i++) b[i] = name.charCodeAt(i);
  return b;
}

/** An optlen: mostly the right one, else one off, zero, tiny, huge or negative. */
function optlenNear(rng: Rng, right: number): { optlen: number; what: string } {
  const choice = rng.below(10);
  const wrong = [right - 1, right + 1, 0, 1, right - 16, right + 16, 0x7fffffff, -1, -right];
  if (choice < 4) return { optlen: right | 0, what: (right | 0) === right ? "" : `optlen ${right | 0} (wrapped)` };
  const optlen = wrong[rng.below(wrong.length)]! | 0; // an int, as the caller passes it
  return { optlen, what: `optlen ${optlen} (right: ${right})` };
}

function described(parts: string[]): string {
  const text = parts.filter((p) => p !== "").join(", ");
  return text === "" ? "none" : text;
}

function getInfo(rng: Rng): FuzzRequest {
  const name = rng.pick(TABLE_NAMES);
  const { optlen, what } = optlenNear(rng, IPT_GETINFO.SIZE);
  return { set: false, cmd: IPT_SO_GET.INFO, bytes: named(IPT_GETINFO.SIZE, name), optlen, mutation: described([name === "filter" ? "" : `name '${name}'`, what]) };
}

function getEntries(rng: Rng, shape: TableShape): FuzzRequest {
  const name = rng.pick(TABLE_NAMES);
  const size = rng.below(3) > 0 ? shape.size : rng.pick([shape.size - 1, shape.size + 8, 0, shape.size - 8, 0xffffffff]) >>> 0;
  const { optlen, what } = optlenNear(rng, IPT_GET_ENTRIES.SIZE + size);
  const bytes = named(IPT_GET_ENTRIES.SIZE, name);
  new DataView(bytes.buffer).setUint32(IPT_GET_ENTRIES.size, size, true);
  return { set: false, cmd: IPT_SO_GET.ENTRIES, bytes, optlen, mutation: described([name === "filter" ? "" : `name '${name}'`, size === shape.size ? "" : `size ${size} (table: ${shape.size})`, what]) };
}

function addCounters(rng: Rng, shape: TableShape): FuzzRequest {
  const name = rng.pick(TABLE_NAMES);
  const n = rng.below(3) > 0 ? shape.numEntries : rng.pick([shape.numEntries - 1, shape.numEntries + 1, 0, 0x10000000, 0xffffffff]) >>> 0;
  const room = Math.min(n, shape.numEntries + 1);
  const { optlen, what } = optlenNear(rng, XT_COUNTERS_INFO.SIZE + n * XT_COUNTERS.SIZE);
  const bytes = new Uint8Array(XT_COUNTERS_INFO.SIZE + room * XT_COUNTERS.SIZE);
  writeCString(bytes, 0, XT_TABLE_MAXNAMELEN, name);
  const view = new DataView(bytes.buffer);
  view.setUint32(XT_COUNTERS_INFO.num_counters, n, true);
  for (let i = 0; i < room; i++) {
    view.setBigUint64(XT_COUNTERS_INFO.counters + i * XT_COUNTERS.SIZE, BigInt(rng.below(1000)), true);
    view.setBigUint64(XT_COUNTERS_INFO.counters + i * XT_COUNTERS.SIZE + 8, rng.below(8) === 0 ? 0xffffffffffffffffn : BigInt(rng.u32()), true);
  }
  const mutation = described([name === "filter" ? "" : `name '${name}'`, n === shape.numEntries ? "" : `num_counters ${n} (table: ${shape.numEntries})`, what]);
  return { set: true, cmd: IPT_SO_SET.ADD_COUNTERS, bytes, optlen, mutation };
}

function getRevision(rng: Rng): FuzzRequest {
  const cmd = rng.pick([IPT_SO_GET.REVISION_MATCH, IPT_SO_GET.REVISION_TARGET]);
  const name = rng.pick(EXTENSION_NAMES);
  const revision = rng.pick([0, 0, 1, 2, 3, 200, 255]);
  const bytes = named(XT_GET_REVISION.SIZE, name);
  bytes[XT_GET_REVISION.revision] = revision;
  const { optlen, what } = optlenNear(rng, XT_GET_REVISION.SIZE);
  return { set: false, cmd, bytes, optlen, mutation: described([`name '${name}' revision ${revision}`, what]) };
}

/** A valid ADD_COUNTERS of the table in place, with random counts. */
export function addCountersRequest(rng: Rng, shape: TableShape): FuzzRequest {
  const bytes = new Uint8Array(XT_COUNTERS_INFO.SIZE + shape.numEntries * XT_COUNTERS.SIZE);
  writeCString(bytes, 0, XT_TABLE_MAXNAMELEN, "filter");
  const view = new DataView(bytes.buffer);
  view.setUint32(XT_COUNTERS_INFO.num_counters, shape.numEntries, true);
  for (let i = 0; i < shape.numEntries; i++) {
    view.setBigUint64(XT_COUNTERS_INFO.counters + i * XT_COUNTERS.SIZE, BigInt(rng.below(100)), true);
    view.setBigUint64(XT_COUNTERS_INFO.counters + i * XT_COUNTERS.SIZE + 8, BigInt(rng.u32()), true);
  }
  return { set: true, cmd: IPT_SO_SET.ADD_COUNTERS, bytes, optlen: bytes.length, mutation: "none (valid counters)" };
}

/** A random GET_INFO, GET_ENTRIES, ADD_COUNTERS or GET_REVISION_* request. */
export function otherRequest(rng: Rng, shape: TableShape): FuzzRequest {
  switch (rng.below(4)) {
    case 0:
      return getInfo(rng);
    case 1:
      return getEntries(rng, shape);
    case 2:
      return addCounters(rng, shape);
    default:
      return getRevision(rng);
  }
}
