/**
 * translate_table's checks, table-driven: each case corrupts the initial filter table's
 * ipt_replace in one way and expects netfilter's errno. The host tier (replace_probe.test.ts)
 * checks the same kind of blobs against the real kernel.
 */
import { describe, expect, it } from "vitest";
import { Errno, IPT_ENTRY, IPT_REPLACE, STD_VERDICT, XT_ENTRY_MATCH } from "../../src/ipt/abi.ts";
import { encodeEntry, encodeReplace, type EntrySpec } from "../../src/ipt/entry_builder.ts";
import { FILTER_VALID_HOOKS, initialFilterReplace } from "../../src/ipt/initial_table.ts";
import { IptError } from "../../src/ipt/ipt_error.ts";
import { decodeReplaceHeader, translateTable } from "../../src/ipt/translate.ts";

const POLICY = 152; // one policy entry: ipt_entry + xt_standard_target
const u32 = (at: number, v: number) => (b: Uint8Array) => new DataView(b.buffer).setUint32(at, v, true);
const u16 = (at: number, v: number) => (b: Uint8Array) => new DataView(b.buffer).setUint16(at, v, true);
const s32 = (at: number, v: number) => (b: Uint8Array) => new DataView(b.buffer).setInt32(at, v, true);
const entry = (i: number) => IPT_REPLACE.entries + i * POLICY;
const verdictOf = (i: number) => entry(i) + IPT_ENTRY.SIZE + 32;

function translate(request: Uint8Array, optlen = request.length) {
  return translateTable(decodeReplaceHeader(request, optlen), request);
}

function errnoOf(request: Uint8Array, optlen?: number): number {
  try {
    translate(request, optlen);
    return 0;
  } catch (err) {
    if (err instanceof IptError) return err.errno;
    throw err;
  }
}

/** A filter table with user chains, built from entry specs in iptables' layout. */
function tableWith(input: EntrySpec[], userChains: { name: string; rules: EntrySpec[] }[]): Uint8Array {
  const policy: EntrySpec = { target: { kind: "standard", verdict: STD_VERDICT.ACCEPT } };
  const entries: Uint8Array[] = [...input.map(encodeEntry), encodeEntry(policy)];
  const inputEnd = entries.reduce((n, e) => n + e.length, 0);
  const hookEntry = [0, 0, inputEnd, inputEnd + POLICY, 0];
  const underflow = [0, inputEnd - POLICY, inputEnd, inputEnd + POLICY, 0];
  entries.push(encodeEntry(policy), encodeEntry(policy));
  for (const chain of userChains) {
    entries.push(encodeEntry({ target: { kind: "error", errorName: chain.name } }));
    entries.push(...chain.rules.map(encodeEntry), encodeEntry({ target: { kind: "standard", verdict: STD_VERDICT.RETURN } }));
  }
  entries.push(encodeEntry({ target: { kind: "error", errorName: "ERROR" } }));
  return encodeReplace({ name: "filter", validHooks: FILTER_VALID_HOOKS, hookEntry, underflow, numCounters: 4 }, entries);
}

describe("translate_table errnos", () => {
  const cases: [string, (b: Uint8Array) => void, number][] = [
    ["the initial table is valid", () => {}, 0],
    ["num_counters 0", u32(IPT_REPLACE.num_counters, 0), Errno.EINVAL],
    ["num_counters overflowing", u32(IPT_REPLACE.num_counters, 0x7fffffff), Errno.ENOMEM],
    ["size past optlen", u32(IPT_REPLACE.size, 633), Errno.EINVAL],
    ["num_entries too large", u32(IPT_REPLACE.num_entries, 5), Errno.EINVAL],
    ["num_entries too small", u32(IPT_REPLACE.num_entries, 3), Errno.EINVAL],
    ["hook entry not at an entry", u32(IPT_REPLACE.hook_entry + 4, 8), Errno.EINVAL],
    ["underflow not at an entry", u32(IPT_REPLACE.underflow + 8, 160), Errno.EINVAL],
    ["duplicate hook entry", u32(IPT_REPLACE.hook_entry + 8, 0), Errno.EINVAL],
    ["unsorted hooks", (b) => { u32(IPT_REPLACE.hook_entry + 4, POLICY)(b); u32(IPT_REPLACE.hook_entry + 8, 0)(b); }, Errno.EINVAL],
    ["underflow with a RETURN", s32(verdictOf(0), STD_VERDICT.RETURN), Errno.EINVAL],
    ["underflow that is conditional", (b) => void (b[entry(1) + 0] = 10), Errno.EINVAL],
    ["unknown verdict", s32(verdictOf(1), -3), Errno.EINVAL],
    ["unknown ip.flags bit", (b) => void (b[entry(3) + 82] = 4), Errno.EINVAL],
    ["unknown ip.invflags bit", (b) => void (b[entry(3) + 83] = 0x80), Errno.EINVAL],
    ["target_offset inside the header", u16(entry(1) + IPT_ENTRY.target_offset, 100), Errno.EINVAL],
    ["next_offset too small", u16(entry(1) + IPT_ENTRY.next_offset, 140), Errno.EINVAL],
    ["next_offset past the end", u16(entry(3) + IPT_ENTRY.next_offset, 400), Errno.EINVAL],
    ["misaligned next entry", u16(entry(0) + IPT_ENTRY.next_offset, 156), Errno.EINVAL],
    ["target_size too small", u16(entry(1) + IPT_ENTRY.SIZE, 16), Errno.EINVAL],
    ["standard target_size not 40", u16(entry(1) + IPT_ENTRY.SIZE, 36), Errno.EINVAL],
    ["error target with a bad size", u16(entry(3) + IPT_ENTRY.SIZE, 56), Errno.EINVAL],
  ];
  it.each(cases)("%s", (_name, corrupt, errno) => {
    const request = initialFilterReplace();
    corrupt(request);
    expect(errnoOf(request)).toBe(errno);
  });

  it("optlen below sizeof(struct ipt_replace) is EINVAL", () => {
    expect(errnoOf(initialFilterReplace().subarray(0, 95), 95)).toBe(Errno.EINVAL);
  });

  it("a loop through user chains reachable from a hook is ELOOP, an unreachable one is not", () => {
    const jump = (to: number): EntrySpec => ({ target: { kind: "standard", verdict: to } });
    // Layout: INPUT [rule, policy], FORWARD, OUTPUT, a: head rule tail, b: head rule tail, ERROR.
    const aRule = 4 * POLICY + 176;
    const bRule = aRule + 2 * POLICY + 176;
    const looping = tableWith([jump(aRule)], [{ name: "a", rules: [jump(bRule)] }, { name: "b", rules: [jump(aRule)] }]);
    expect(errnoOf(looping)).toBe(Errno.ELOOP);
    const unreachable = tableWith([], [{ name: "a", rules: [jump(bRule - POLICY)] }, { name: "b", rules: [jump(aRule - POLICY)] }]);
    u32(IPT_REPLACE.num_counters, 4)(unreachable);
    expect(errnoOf(unreachable)).toBe(0);
  });

  it("sets comefrom to the hooks an entry is reached from, as mark_source_chains does", () => {
    const aRule = 4 * POLICY + 176;
    const jumpA: EntrySpec = { target: { kind: "standard", verdict: aRule } };
    const table = translate(tableWith([jumpA], [{ name: "a", rules: [{ target: { kind: "standard", verdict: STD_VERDICT.DROP } }] }]));
    const comefrom = table.entries.map((e) => new DataView(table.blob.buffer).getUint32(e.offset + IPT_ENTRY.comefrom, true));
    // INPUT rule, INPUT policy, FORWARD, OUTPUT, head of a, rule of a, tail of a, ERROR
    expect(comefrom).toEqual([0b10, 0b10, 0b100, 0b1000, 0, 0b10, 0, 0]);
  });

  it("keeps a match's bytes and reads matches up to target_offset", () => {
    const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const request = tableWith([{ matches: [{ name: "udp", revision: 0, data }], target: { kind: "standard", verdict: STD_VERDICT.DROP } }], []);
    const table = translate(request);
    const rule = table.entries[0]!;
    expect(rule.matches).toEqual([{ offset: IPT_ENTRY.SIZE, size: 40, name: "udp", revision: 0 }]);
    expect([...table.blob.subarray(IPT_ENTRY.SIZE + XT_ENTRY_MATCH.data, IPT_ENTRY.SIZE + 40)]).toEqual([...data]);
  });
});
