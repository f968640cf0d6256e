/**
 * IPT_SO_SET_REPLACE requests made from a valid seed table by one mutation: truncated or padded,
 * header fields (size, num_entries, num_counters, valid_hooks, hook_entry, underflow, name) wrong,
 * entry offsets wrong, bad target and match names, revisions and sizes, invalid verdicts, loops,
 * reversed ranges in the data of multiport, tcp, udp and iprange, or a few random bytes.
 */
import { IPT_ENTRY, IPT_IP, IPT_REPLACE, IPT_SO_SET, XT_ENTRY_MATCH, XT_STANDARD_TARGET_LAYOUT } from "../../src/ipt/abi.ts";
import type { EntryLayout, ExtensionHeader } from "../../src/ipt/entry_layout.ts";
import { decodeReplaceHeader, translateTable } from "../../src/ipt/translate.ts";
import type { FuzzRequest } from "./requests.ts";
import type { Rng } from "./rng.ts";

const TARGET_NAMES = ["", "ERROR", "ACCEPT", "DROP", "REJECT", "LOG", "MARK", "nonexistent", "standard", "A".repeat(29)];
const MATCH_NAMES = ["tcp", "udp", "icmp", "multiport", "iprange", "conntrack", "comment", "", "nonexistent", "A".repeat(29)];

/** A seed table with num_counters set, and the layout of its entries. */
export interface Parsed {
  readonly replace: Uint8Array;
  readonly entries: readonly EntryLayout[];
}

/** Parses a seed; num_counters is set to the entries it has (the table in place is the seed). */
export function parseSeed(seed: Uint8Array): Parsed {
  const replace = seed.slice();
  const view = new DataView(replace.buffer);
  view.setUint32(IPT_REPLACE.num_counters, view.getUint32(IPT_REPLACE.num_entries, true), true);
  const table = translateTable(decodeReplaceHeader(replace, replace.length), replace);
  return { replace, entries: table.entries };
}

type Mutator = (rng: Rng, b: Uint8Array, v: DataView, p: Parsed) => string;

const at = (e: EntryLayout): number => IPT_REPLACE.entries + e.offset;

function someValue(rng: Rng, right: number, bits: 16 | 32): number {
  const max = bits === 16 ? 0xffff : 0xffffffff;
  const v = rng.pick([right + 1, right - 1, right + 8, right - 8, 0, max, rng.u32() & max, right * 2]);
  return (v < 0 ? 0 : v) & max;
}

function hookField(rng: Rng, b: Uint8Array, v: DataView, p: Parsed, field: "hook_entry" | "underflow"): string {
  const h = rng.below(5);
  const to = rng.below(2) === 0 ? p.entries[rng.below(p.entries.length)]!.offset : someValue(rng, v.getUint32(IPT_REPLACE[field] + 4 * h, true), 32);
  v.setUint32(IPT_REPLACE[field] + 4 * h, to, true);
  return `${field}[${h}] = ${to}`;
}

function headerU32(field: "size" | "num_entries" | "num_counters" | "valid_hooks"): Mutator {
  return (rng, _b, v) => {
    const right = v.getUint32(IPT_REPLACE[field], true);
    const to = field === "valid_hooks" ? rng.pick([right ^ (1 << rng.below(5)), rng.below(32), 0xffffffff, right | 0x20]) >>> 0 : someValue(rng, right, 32);
    v.setUint32(IPT_REPLACE[field], to, true);
    return `${field} = ${to} (was ${right})`;
  };
}

function ext(rng: Rng, e: EntryLayout): { h: ExtensionHeader; what: string } {
  if (e.matches.length > 0 && rng.below(2) === 0) {
    const j = rng.below(e.matches.length);
    return { h: e.matches[j]!, what: `entry ${e.index} match ${j} '${e.matches[j]!.name}'` };
  }
  return { h: e.target, what: `entry ${e.index} target '${e.target.name}'` };
}

function setName(b: Uint8Array, off: number, name: string): void {
  b.fill(0, off + XT_ENTRY_MATCH.name, off + XT_ENTRY_MATCH.revision);
  for (let i = 0; i < name.length; i++) b[off + XT_ENTRY_MATCH.name + i] = name.charCodeAt(i);
}

/** The entries carrying a match of this name, and the match. */
function withMatch(p: Parsed, names: readonly string[]): { e: EntryLayout; m: ExtensionHeader }[] {
  return p.entries.flatMap((e) => e.matches.filter((m) => names.includes(m.name)).map((m) => ({ e, m })));
}

/** Makes a range of a match reversed (from > to): multiport's, tcp/udp ports, iprange. */
const reversedRange: Mutator = (rng, b, v, p) => {
  const found = withMatch(p, ["multiport", "tcp", "udp", "iprange"]);
  if (found.length === 0) return byteFlips(rng, b, v, p);
  const { e, m } = rng.pick(found);
  const data = IPT_REPLACE.entries + m.offset + XT_ENTRY_MATCH.data;
  if (m.name === "multiport" && m.revision >= 1) {
    // xt_multiport_v1: flags, count, ports[15], pflags[15], invert; pflags[i] makes ports[i]..ports[i+1] a range
    const count = Math.min(Math.max(2, b[data + 1]!), 15);
    b[data + 1] = count;
    const shape = rng.below(4);
    if (shape === 1) {
      b[data + 31 + count] = 1; // pflags[count - 1]: the last port starts a range
      return `entry ${e.index} multiport v${m.revision}: the last of ${count} ports starts a range`;
    }
    if (shape === 2) {
      b[data + 32] = 1;
      b[data + 33] = 1; // the end of the first range starts one too
      return `entry ${e.index} multiport v${m.revision}: the end of a range starts a range, count ${count}`;
    }
    v.setUint16(data + 2, shape === 3 ? 1000 : 2000, true);
    v.setUint16(data + 4, 1000, true);
    b[data + 32] = 1;
    return `entry ${e.index} multiport v${m.revision}: range ${shape === 3 ? 1000 : 2000}:1000${shape === 3 ? "" : " (reversed)"}, count ${count}`;
  }
  if (m.name === "iprange") {
    // xt_iprange_mtinfo: src_min, src_max, dst_min, dst_max (16 bytes each), flags
    v.setUint32(data, 0x0a000009, false);
    v.setUint32(data + 16, 0x0a000001, false);
    b[data + 64] = b[data + 64]! | 0x01; // IPRANGE_SRC
    return `entry ${e.index} iprange: src 10.0.0.9-10.0.0.1 (reversed)`;
  }
  const which = rng.below(2) * 4; // spts or dpts
  v.setUint16(data + which, 2000, true);
  v.setUint16(data + which + 2, 1000, true);
  return `entry ${e.index} ${m.name}: ${which === 0 ? "sport" : "dport"} 2000:1000 (reversed)`;
};

/** Makes every jump of the table go to the start of the chain it is in, or an earlier entry. */
const loop: Mutator = (rng, b, v, p) => {
  const jumps = p.entries.filter((e) => e.verdict !== undefined && e.verdict >= 0 && e.verdict !== e.offset + e.nextOffset);
  if (jumps.length === 0) return verdict(rng, b, v, p);
  const e = rng.pick(jumps);
  const earlier = p.entries.filter((x) => x.offset <= e.offset);
  const to = rng.pick(earlier).offset;
  v.setInt32(at(e) + e.targetOffset + XT_STANDARD_TARGET_LAYOUT.verdict, to, true);
  return `entry ${e.index}: jump to offset ${to} (was ${e.verdict}, a loop)`;
};

const verdict: Mutator = (rng, _b, v, p) => {
  const std = p.entries.filter((e) => e.verdict !== undefined);
  const e = rng.pick(std);
  const to = rng.pick([-1, -2, -3, -4, -5, -6, -7, 0, e.offset, e.offset + 4, p.entries[rng.below(p.entries.length)]!.offset, 0x7fffffff, -0x80000000, e.offset + e.nextOffset + 1]);
  v.setInt32(at(e) + e.targetOffset + XT_STANDARD_TARGET_LAYOUT.verdict, to, true);
  return `entry ${e.index}: standard verdict ${to} (was ${e.verdict})`;
};

const entryOffsets: Mutator = (rng, _b, v, p) => {
  const e = rng.pick(p.entries);
  const field = rng.pick(["target_offset", "next_offset"] as const);
  const right = field === "target_offset" ? e.targetOffset : e.nextOffset;
  const to = rng.pick([someValue(rng, right, 16), IPT_ENTRY.SIZE, right + 4]) & 0xffff;
  v.setUint16(at(e) + IPT_ENTRY[field], to, true);
  return `entry ${e.index}: ${field} = ${to} (was ${right})`;
};

const ipHeader: Mutator = (rng, b, v, p) => {
  const e = rng.pick(p.entries);
  const field = rng.pick(["flags", "invflags", "proto"] as const);
  const to = field === "proto" ? rng.pick([0, 1, 6, 17, 132, 255, rng.below(256)]) : rng.pick([0x04, 0x80, 0x7f, 0x03, rng.below(256)]);
  if (field === "proto") v.setUint16(at(e) + IPT_IP.proto, to, true);
  else b[at(e) + IPT_IP[field]] = to;
  return `entry ${e.index}: ip.${field} = ${to}`;
};

const extName: Mutator = (rng, b, _v, p) => {
  const { h, what } = ext(rng, rng.pick(p.entries));
  const name = rng.pick(h === undefined || h.name === "" || h.name === "ERROR" ? TARGET_NAMES : [...TARGET_NAMES, ...MATCH_NAMES]);
  setName(b, IPT_REPLACE.entries + h.offset, name);
  return `${what}: name '${name}'`;
};

const extRevision: Mutator = (rng, b, _v, p) => {
  const { h, what } = ext(rng, rng.pick(p.entries));
  const to = rng.pick([1, 2, 3, 4, 200, 255]);
  b[IPT_REPLACE.entries + h.offset + XT_ENTRY_MATCH.revision] = to;
  return `${what}: revision ${to} (was ${h.revision})`;
};

const extSize: Mutator = (rng, _b, v, p) => {
  const { h, what } = ext(rng, rng.pick(p.entries));
  const to = someValue(rng, h.size, 16);
  v.setUint16(IPT_REPLACE.entries + h.offset + XT_ENTRY_MATCH.size, to, true);
  return `${what}: size ${to} (was ${h.size})`;
};

const extData: Mutator = (rng, b, _v, p) => {
  const withData = p.entries.flatMap((e) => [...e.matches, e.target].filter((h) => h.size > XT_ENTRY_MATCH.data).map((h) => ({ e, h })));
  if (withData.length === 0) return byteFlips(rng, b, _v, p);
  const { e, h } = rng.pick(withData);
  const i = XT_ENTRY_MATCH.data + rng.below(h.size - XT_ENTRY_MATCH.data);
  const to = rng.pick([0, 0xff, 0x80, 1, rng.below(256)]);
  b[IPT_REPLACE.entries + h.offset + i] = to;
  return `entry ${e.index} '${h.name}': data byte ${i - XT_ENTRY_MATCH.data} = ${to}`;
};

const byteFlips: Mutator = (rng, b) => {
  const n = 1 + rng.below(4);
  const what: string[] = [];
  for (let k = 0; k < n; k++) {
    const i = rng.below(b.length);
    b[i] = rng.below(256);
    what.push(`byte ${i} = ${b[i]}`);
  }
  return what.join(", ");
};

const tableName: Mutator = (rng, b) => {
  const name = rng.pick(["nat", "", "filte", "filterx", "A".repeat(32), "mangle"]);
  b.fill(0, 0, 32);
  for (let i = 0; i < name.length; i++) b[i] = name.charCodeAt(i);
  return `name '${name}'`;
};

const MUTATORS: readonly Mutator[] = [
  headerU32("size"), headerU32("num_entries"), headerU32("num_counters"), headerU32("valid_hooks"),
  (rng, b, v, p) => hookField(rng, b, v, p, "hook_entry"), (rng, b, v, p) => hookField(rng, b, v, p, "underflow"),
  tableName, entryOffsets, ipHeader, extName, extRevision, extSize, extData, verdict, loop, reversedRange, reversedRange, byteFlips,
];

/** One mutated replace of the seed (the table in place has the seed's entries). */
export function mutatedReplace(rng: Rng, p: Parsed): FuzzRequest {
  const bytes = p.replace.slice();
  const view = new DataView(bytes.buffer);
  const kind = rng.below(20);
  if (kind === 0) {
    const optlen = rng.pick([rng.below(bytes.length), IPT_REPLACE.SIZE - 1, IPT_REPLACE.SIZE, bytes.length - 1, 0, -1]);
    return { set: true, cmd: IPT_SO_SET.REPLACE, bytes, optlen, mutation: `optlen ${optlen} (truncated; right: ${bytes.length})` };
  }
  if (kind === 1) {
    const optlen = bytes.length + 1 + rng.below(64);
    return { set: true, cmd: IPT_SO_SET.REPLACE, bytes, optlen, mutation: `optlen ${optlen} (padded with zeros; right: ${bytes.length})` };
  }
  if (kind === 2) return { set: true, cmd: IPT_SO_SET.REPLACE, bytes, optlen: bytes.length, mutation: "none" };
  let mutation = rng.pick(MUTATORS)(rng, bytes, view, p);
  if (kind === 3) mutation += `; ${rng.pick(MUTATORS)(rng, bytes, view, p)}`; // two at once
  return { set: true, cmd: IPT_SO_SET.REPLACE, bytes, optlen: bytes.length, mutation };
}
