// Instruction-level tests of the generated programs: exact disassembly of a small ruleset and of the
// dispatcher, the jump opcode each (negated) match folds into, the devices each hook reads, declines,
// and what dead-code removal leaves. The kernel struct offsets are fixed here (KERNEL), so that the
// text does not depend on the kernel the tests run on.
import { describe, expect, it } from "vitest";
import { buildDispatcher, compileHook, compileTable, type CompiledProgram, type Decline, type FilterHook, type NetfilterContextLayout } from "../../src/codegen/index.ts";
import { ACCEPT, DROP, RETURN, filterTable, icmpMatch, jump, tcpMatch, udpMatch, type RuleSpec } from "./ir-builders.ts";
import { PROTO } from "./packets.ts";
import { IPT_F, IPT_INV, type Table } from "../../src/ir/types.ts";

/** Struct offsets as a 6.18 x86-64 kernel has them. */
const KERNEL: NetfilterContextLayout = { ctxState: 0, ctxSkb: 8, stateHook: 0, stateIn: 8, stateOut: 16, devName: 280, skbLen: 112, skbMark: 164, skbNfct: 104, skbPktType: { offset: 128, shift: 0 } };

function compile(table: Table, hook: FilterHook, mode?: "fast" | "guarded" | "compact"): CompiledProgram | Decline {
  return compileHook(table, hook, { kernel: KERNEL, ...(mode === undefined ? {} : { mode }) });
}

function compiled(result: CompiledProgram | Decline): CompiledProgram {
  if (result.declined === true) throw new Error(`unexpected decline: ${result.reason}`);
  return result;
}

/**
 * Lines of the first rule of `hook`'s program: after the prologue, its pass stub and the jump over the
 * shared counting tails, up to the rule's "r1 = <counter>; goto <tail>".
 */
function ruleLines(rules: RuleSpec[], mode: "fast" | "guarded" | "compact" = "fast", hook: FilterHook = "OUTPUT"): string[] {
  const text = compiled(compile(filterTable({ [hook]: { rules } }), hook, mode)).text;
  const over = text.indexOf("*(u32 *)(r10 -68) = r1") - 1; // the jump over the tails
  let slots = Number(text[over]!.slice("goto +".length));
  let start = over + 1;
  for (; slots > 0; start++) slots -= text[start]!.endsWith(" ll") ? 2 : 1;
  let end = start;
  while (!(/^r1 = \d+$/.test(text[end]!) && /^goto -\d+$/.test(text[end + 1]!))) end++;
  return text.slice(start, end).map((l) => l.replace(/(^| )goto [+-]\d+$/, "$1goto"));
}

describe("OUTPUT program, exact disassembly", () => {
  it("-A OUTPUT -p udp ! -s 10.0.0.0/8 --dport 53 -j DROP", () => {
    const table = filterTable({
      OUTPUT: { rules: [{ proto: PROTO.UDP, src: "10.0.0.0/8", invflags: IPT_INV.SRCIP, matches: [udpMatch({ dport: [53, 53] })], target: DROP }] },
    });
    const prog = compiled(compile(table, "OUTPUT"));
    expect(prog).toMatchObject({ progType: "netfilter", hook: "OUTPUT", name: "bpfilter_output" });
    expect(prog.mapRefs).toEqual([{ insn: 61, map: "counters" }, { insn: 80, map: "counters" }]);
    expect(prog.kfuncRefs).toEqual([
      { insn: 5, kfunc: "bpf_dynptr_from_skb" },
      { insn: 13, kfunc: "bpf_dynptr_slice" },
    ]);
    expect(prog.text).toEqual([
      "r6 = r1",
      "r1 = *(u64 *)(r6 +8)",
      "r2 = 0",
      "r3 = r10",
      "r3 += -16",
      "call kfunc[bpf_dynptr_from_skb]",
      "if w0 != 0 goto +50",
      "r1 = r10",
      "r1 += -16",
      "r2 = 0",
      "r3 = r10",
      "r3 += -40",
      "r4 = 20",
      "call kfunc[bpf_dynptr_slice]",
      "if r0 == 0 goto +42",
      "r7 = r0",
      "r8 = *(u8 *)(r7 +0)",
      "r8 &= 15",
      "r8 <<= 2",
      "r1 = *(u64 *)(r6 +8)",
      "r9 = *(u32 *)(r1 +112)",
      "if r9 > r8 goto +2",
      "r9 = 0",
      "goto +3",
      "r9 -= r8",
      "if r9 <= 65535 goto +1",
      "r9 = 65535",
      "r2 = *(u64 *)(r6 +8)",
      "r2 = *(u32 *)(r2 +112)",
      "if r2 > r8 goto +2",
      "r2 = 1",
      "goto +3",
      "r2 -= r8",
      "if r2 <= 20 goto +1",
      "r2 = 20",
      "*(u64 *)(r10 -64) = 0",
      "*(u64 *)(r10 -56) = 0",
      "*(u32 *)(r10 -48) = 0",
      "r1 = r10",
      "r1 += -64",
      "r3 = r10",
      "r3 += -16",
      "r4 = r8",
      "r5 = 0",
      "call 201",
      "r4 = *(u32 *)(r10 -64)",
      "r3 = *(u8 *)(r10 -51)",
      "r3 <<= 32",
      "r9 |= r3",
      "r1 = *(u16 *)(r7 +6)",
      "r1 = be16 r1",
      "r1 &= 8191",
      "r1 <<= 16",
      "r9 |= r1",
      "r8 = r9",
      "r9 = r4",
      "goto +2",
      "r0 = 1",
      "exit",
      "goto +38",
      "*(u32 *)(r10 -68) = r1",
      "r1 = map[counters] ll",
      "r2 = r10",
      "r2 += -68",
      "call 1",
      "if r0 != 0 goto +2",
      "r0 = 1",
      "exit",
      "r1 = *(u64 *)(r0 +0)",
      "r1 += 1",
      "*(u64 *)(r0 +0) = r1",
      "r1 = *(u64 *)(r0 +8)",
      "r2 = *(u64 *)(r6 +8)",
      "r2 = *(u32 *)(r2 +112)",
      "r1 += r2",
      "*(u64 *)(r0 +8) = r1",
      "r0 = 1",
      "exit",
      "*(u32 *)(r10 -68) = r1",
      "r1 = map[counters] ll",
      "r2 = r10",
      "r2 += -68",
      "call 1",
      "if r0 != 0 goto +2",
      "r0 = 0",
      "exit",
      "r1 = *(u64 *)(r0 +0)",
      "r1 += 1",
      "*(u64 *)(r0 +0) = r1",
      "r1 = *(u64 *)(r0 +8)",
      "r2 = *(u64 *)(r6 +8)",
      "r2 = *(u32 *)(r2 +112)",
      "r1 += r2",
      "*(u64 *)(r0 +8) = r1",
      "r0 = 0",
      "exit",
      "r1 = *(u32 *)(r7 +12)",
      "r1 = be32 r1",
      "w1 &= -16777216",
      "if w1 == 167772160 goto +17",
      "r1 = *(u8 *)(r7 +9)",
      "if w1 != 17 goto +15",
      "r1 = r8",
      "r1 >>= 16",
      "w1 &= 65535",
      "if w1 != 0 goto +11",
      "w1 = w8",
      "w1 &= 65535",
      "if w1 > 7 goto +2",
      "r0 = 0",
      "exit",
      "w1 = w9",
      "w1 >>= 16",
      "r1 = be16 r1",
      "if w1 != 53 goto +2",
      "r1 = 2",
      "goto -40",
      "r1 = 3",
      "goto -61",
    ]);
  });
});

describe("the dispatcher, exact disassembly", () => {
  it("tail-calls slot generation * 4 + state->hook of the prog array; an empty slot accepts", () => {
    const { text, mapRefs } = buildDispatcher(KERNEL);
    expect(mapRefs).toEqual([{ insn: 2, map: "generation" }, { insn: 15, map: "programs" }]);
    expect(text).toEqual([
      "r6 = r1",
      "*(u32 *)(r10 -4) = 0",
      "r1 = map[generation] ll",
      "r2 = r10",
      "r2 += -4",
      "call 1",
      "if r0 == 0 goto +10",
      "r3 = *(u32 *)(r0 +0)",
      "r3 &= 1",
      "r3 <<= 2",
      "r1 = *(u64 *)(r6 +0)",
      "r1 = *(u8 *)(r1 +0)",
      "r3 += r1",
      "r1 = r6",
      "r2 = map[programs] ll",
      "call 12",
      "r0 = 1",
      "exit",
    ]);
  });
});

const FRAGMENT_OFFSET = ["r1 = r8", "r1 >>= 16", "w1 &= 65535"];
const UDP_HEADER = [...FRAGMENT_OFFSET, "if w1 != 0 goto", "w1 = w8", "w1 &= 65535", "if w1 > 7 goto", "r0 = 0", "exit"];

describe("fast mode: one branch per test, negation folded into the jump opcode", () => {
  it.each([
    ["-s 10.0.0.0/8", { src: "10.0.0.0/8" }, ["r1 = *(u32 *)(r7 +12)", "r1 = be32 r1", "w1 &= -16777216", "if w1 != 167772160 goto"]],
    ["! -s 10.0.0.0/8", { src: "10.0.0.0/8", invflags: IPT_INV.SRCIP }, ["r1 = *(u32 *)(r7 +12)", "r1 = be32 r1", "w1 &= -16777216", "if w1 == 167772160 goto"]],
    ["-d 1.2.3.4", { dst: "1.2.3.4" }, ["r1 = *(u32 *)(r7 +16)", "r1 = be32 r1", "if w1 != 16909060 goto"]],
    ["-p tcp", { proto: PROTO.TCP }, ["r1 = *(u8 *)(r7 +9)", "if w1 != 6 goto"]],
    ["! -p tcp", { proto: PROTO.TCP, invflags: IPT_INV.PROTO }, ["r1 = *(u8 *)(r7 +9)", "if w1 == 6 goto"]],
    ["-f", { flags: IPT_F.FRAG }, [...FRAGMENT_OFFSET, "if w1 == 0 goto"]],
    ["! -f", { flags: IPT_F.FRAG, invflags: IPT_INV.FRAG }, [...FRAGMENT_OFFSET, "if w1 != 0 goto"]],
    ["-p udp --dport 80", { proto: PROTO.UDP, matches: [udpMatch({ dport: [80, 80] })] },
      ["r1 = *(u8 *)(r7 +9)", "if w1 != 17 goto", ...UDP_HEADER, "w1 = w9", "w1 >>= 16", "r1 = be16 r1", "if w1 != 80 goto"]],
    ["! --dport 80", { proto: PROTO.UDP, matches: [udpMatch({ dport: [80, 80], invDport: true })] }, [...UDP_HEADER, "w1 = w9", "w1 >>= 16", "r1 = be16 r1", "if w1 == 80 goto"]],
    ["--sport 10:20", { proto: PROTO.UDP, matches: [udpMatch({ sport: [10, 20] })] }, ["w1 = w9", "r1 = be16 r1", "w4 = w1", "w4 -= 10", "if w4 > 10 goto"]],
    ["! --sport 10:20", { proto: PROTO.UDP, matches: [udpMatch({ sport: [10, 20], invSport: true })] }, ["w4 = w1", "w4 -= 10", "if w4 <= 10 goto"]],
    ["! --sport 0:20", { proto: PROTO.UDP, matches: [udpMatch({ sport: [0, 20], invSport: true })] }, ["r1 = be16 r1", "if w1 <= 20 goto"]],
    ["--tcp-flags SYN,ACK SYN (and fragment offset 1 hotdrops)", { proto: PROTO.TCP, matches: [tcpMatch({ flagMask: 0x12, flagCmp: 0x02 })] },
      [...FRAGMENT_OFFSET, "if w1 != 1 goto", "r0 = 0", "exit", "if w1 != 0 goto", "w1 = w8", "w1 &= 65535", "if w1 > 19 goto", "r0 = 0", "exit",
        "r1 = r8", "r1 >>= 32", "w1 &= 18", "if w1 != 2 goto"]],
    ["! --tcp-flags SYN,ACK SYN", { proto: PROTO.TCP, matches: [tcpMatch({ flagMask: 0x12, flagCmp: 0x02, invFlags: true })] }, ["w1 &= 18", "if w1 == 2 goto"]],
    ["--icmp-type 8", { proto: PROTO.ICMP, matches: [icmpMatch(8)] }, ["w1 = w9", "w1 &= 255", "if w1 != 8 goto"]],
    ["--icmp-type 3/1", { proto: PROTO.ICMP, matches: [icmpMatch(3, [1, 1])] }, ["w1 = w9", "w1 &= 255", "w2 = w9", "w2 >>= 8", "w2 &= 255", "if w1 != 3 goto", "if w2 != 1 goto"]],
    ["! --icmp-type 3/1", { proto: PROTO.ICMP, matches: [icmpMatch(3, [1, 1], true)] }, ["if w1 != 3 goto", "if w2 != 1 goto", "goto"]],
  ] as const)("%s", (_name, rule, expected) => {
    const lines = ruleLines([{ ...(rule as Omit<RuleSpec, "target">), target: DROP }]);
    const at = lines.indexOf(expected[0]!);
    expect(at, `${expected[0]} in\n${lines.join("\n")}`).toBeGreaterThanOrEqual(0);
    expect(lines.slice(at, at + expected.length)).toEqual(expected);
  });

  it("emits no code for matches that always hold", () => {
    expect(ruleLines([{ target: DROP }])).toEqual([]);
    expect(ruleLines([{ src: "0.0.0.0/0", dst: "0.0.0.0/0", target: DROP }])).toEqual([]);
  });
});

describe("compact mode: one branch per rule", () => {
  it.each([
    ["-s 10.0.0.0/8 ! -d 1.2.3.4 -p udp --dport 80 --sport 10:20", { src: "10.0.0.0/8", dst: "1.2.3.4", invflags: IPT_INV.DSTIP, proto: PROTO.UDP, matches: [udpMatch({ dport: [80, 80], sport: [10, 20] })] }],
    ["-p tcp --tcp-flags SYN,ACK SYN ! --dport 1:1023", { proto: PROTO.TCP, matches: [tcpMatch({ flagMask: 0x12, flagCmp: 0x02, dport: [1, 1023], invDport: true })] }],
    ["-p icmp ! --icmp-type 3/1 -f", { proto: PROTO.ICMP, flags: IPT_F.FRAG, matches: [icmpMatch(3, [1, 1], true)] }],
  ] as const)("%s", (_name, rule) => {
    const lines = ruleLines([{ ...(rule as unknown as Omit<RuleSpec, "target">), target: DROP }], "compact");
    const branches = lines.filter((l) => l.startsWith("if "));
    // the last branch goes to the next rule; the others are hotdrop checks, whose fall-through exits
    expect(branches.at(-1)).toBe("if r5 != 0 goto");
    expect(branches.slice(0, -1).every((l) => l === "if r3 == 0 goto")).toBe(true);
    expect(lines.at(-1)).toBe("if r5 != 0 goto");
  });
});

/** Counter indexes the program hands to its counting tails ("r1 = <index>" then a jump back). */
function countedIndexes(text: readonly string[]): number[] {
  return text.flatMap((l, i) => (/^r1 = \d+$/.test(l) && /^goto -\d+$/.test(text[i + 1] ?? "") ? [Number(l.slice(5))] : []));
}

describe("dead code", () => {
  it("drops rules after an unconditional verdict, and the policy behind them", () => {
    const table = filterTable({ OUTPUT: { rules: [{ target: ACCEPT }, { proto: PROTO.TCP, target: DROP }] } });
    const text = compiled(compile(table, "OUTPUT")).text;
    expect(countedIndexes(text)).toEqual([2]);
    expect(text.some((l) => l.startsWith("r1 = *(u8 *)(r7 +9)"))).toBe(false);
  });

  it("drops a rule whose match never holds (an inverted full port range)", () => {
    const table = filterTable({ OUTPUT: { rules: [{ proto: PROTO.UDP, matches: [udpMatch({ dport: [0, 0xffff], invDport: true })], target: DROP }] } });
    expect(countedIndexes(compiled(compile(table, "OUTPUT")).text)).toEqual([3]);
  });
});

/** The lines that read a device's name and compare it: from the device pointer load to the branch. */
const DEVICE_IN = ["r2 = *(u64 *)(r6 +0)", "r2 = *(u64 *)(r2 +8)"];
const DEVICE_OUT = ["r2 = *(u64 *)(r6 +0)", "r2 = *(u64 *)(r2 +16)"];

describe("interface matches read the hook's devices by name", () => {
  it.each([
    ["-i lo at INPUT: state->in, 3 bytes under the mask", "INPUT", { in: "lo" }, [...DEVICE_IN, "r1 = *(u32 *)(r2 +280)", "w1 ^= 28524", "w1 &= 16777215", "if w1 != 0 goto"]],
    ["-o eth+ at OUTPUT: state->out, a wildcard masks 3 bytes", "OUTPUT", { out: "eth+" }, [...DEVICE_OUT, "r1 = *(u32 *)(r2 +280)", "w1 ^= 6845541", "w1 &= 16777215", "if w1 != 0 goto"]],
    ["! -o veth0 at FORWARD: two words, negation in the jump", "FORWARD", { out: "veth0", invflags: IPT_INV.VIA_OUT },
      [...DEVICE_OUT, "r1 = *(u32 *)(r2 +280)", "w1 ^= 1752458614", "r3 = *(u32 *)(r2 +284)", "w3 ^= 48", "w3 &= 65535", "w1 |= w3", "if w1 == 0 goto"]],
    ["-i of 15 characters at FORWARD: all four words", "FORWARD", { in: "abcdefghijklmno" },
      [...DEVICE_IN, "r1 = *(u32 *)(r2 +280)", "w1 ^= 1684234849", "r3 = *(u32 *)(r2 +284)", "w3 ^= 1751606885", "w1 |= w3", "r3 = *(u32 *)(r2 +288)",
        "w3 ^= 1818978921", "w1 |= w3", "r3 = *(u32 *)(r2 +292)", "w3 ^= 7302765", "w1 |= w3", "if w1 != 0 goto"]],
  ] as const)("%s", (_name, hook, rule, expected) => {
    const lines = ruleLines([{ ...(rule as Omit<RuleSpec, "target">), target: DROP }], "fast", hook);
    expect(lines).toEqual(expected);
  });

  it.each([
    ["-i eth0 at OUTPUT (no input device: never holds)", "OUTPUT", { in: "eth0" }, false],
    ["-o eth0 at INPUT (no output device: never holds)", "INPUT", { out: "eth0" }, false],
    ["! -o eth0 at INPUT (always holds)", "INPUT", { out: "eth0", invflags: IPT_INV.VIA_OUT }, true],
    ["-i + at OUTPUT (the empty mask holds for every name, \"\" too)", "OUTPUT", { in: "+" }, true],
  ] as const)("%s: decided at compile time", (_name, hook, rule, holds) => {
    const table = filterTable({ [hook]: { rules: [{ ...(rule as Omit<RuleSpec, "target">), target: DROP }] } });
    const text = compiled(compile(table, hook)).text;
    expect(text).not.toContain("r2 = *(u64 *)(r6 +0)"); // no device read
    const index = table.chains.find((c) => c.hook === hook)!.rules[0]!.counterIndex;
    expect(countedIndexes(text).includes(index)).toBe(holds);
  });
});

describe("compileTable", () => {
  it("compiles the three hooks, each named for its chain", () => {
    const result = compileTable(filterTable({ INPUT: { rules: [{ proto: PROTO.TCP, target: DROP }] } }), { kernel: KERNEL });
    expect(result.declined).not.toBe(true);
    if (result.declined === true) return;
    expect(Object.values(result.programs).map((p) => [p.hook, p.name])).toEqual([["INPUT", "bpfilter_input"], ["FORWARD", "bpfilter_fwd"], ["OUTPUT", "bpfilter_output"]]);
  });
});

describe("what the compiler accepts", () => {
  it("accepts a loop among chains that no built-in chain reaches, as netfilter does", () => {
    const table = filterTable({ INPUT: { rules: [{ target: DROP }] }, user: { A: [{ target: jump("B") }], B: [{ target: jump("A") }] } });
    expect(compile(table, "INPUT").declined).not.toBe(true);
  });
});
