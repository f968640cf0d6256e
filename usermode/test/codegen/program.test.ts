// Instruction-level tests of the generated programs: exact disassembly of a small ruleset, the
// jump opcode each (negated) match folds into, declines, and what dead-code removal leaves.
import { describe, expect, it } from "vitest";
import { compileHook, compileProgram, type CompiledProgram, type Decline } from "../../src/codegen/index.ts";
import { ACCEPT, DROP, RETURN, filterTable, icmpMatch, jump, tcpMatch, udpMatch, type RuleSpec } from "./ir-builders.ts";
import { PROTO } from "./packets.ts";
import { IPT_F, IPT_INV, type Table } from "../../src/ir/types.ts";

function compiled(result: CompiledProgram | Decline): CompiledProgram {
  if (result.declined === true) throw new Error(`unexpected decline: ${result.reason}`);
  return result;
}

/**
 * Lines of the first rule of the OUTPUT program: after the prologue, its pass stub, the later-fragment
 * skip and the jump over the shared counting tails, up to the rule's "r1 = <counter>; goto <tail>".
 */
function ruleLines(rules: RuleSpec[], mode: "fast" | "guarded" | "compact" = "fast"): string[] {
  const text = compiled(compileHook(filterTable({ OUTPUT: { rules } }), "OUTPUT", { mode })).text;
  const over = text.indexOf("*(u32 *)(r10 -68) = r1") - 1; // the jump over the tails
  let slots = Number(text[over]!.slice("goto +".length));
  let start = over + 1;
  for (; slots > 0; start++) slots -= text[start]!.endsWith(" ll") ? 2 : 1;
  let end = start;
  while (!(/^r1 = \d+$/.test(text[end]!) && /^goto -\d+$/.test(text[end + 1]!))) end++;
  return text.slice(start, end).map((l) => l.replace(/(^| )goto [+-]\d+$/, "$1goto"));
}

describe("egress program, exact disassembly", () => {
  it("-A OUTPUT -p udp ! -s 10.0.0.0/8 --dport 53 -j DROP", () => {
    const table = filterTable({
      OUTPUT: { rules: [{ proto: PROTO.UDP, src: "10.0.0.0/8", invflags: IPT_INV.SRCIP, matches: [udpMatch({ dport: [53, 53] })], target: DROP }] },
    });
    const prog = compiled(compileHook(table, "OUTPUT"));
    expect(prog.progType).toBe("sched_cls");
    expect(prog.hook).toBe("egress");
    expect(prog.mapRefs).toEqual([{ insn: 72, map: "counters" }, { insn: 91, map: "counters" }]);
    expect(prog.text).toEqual([
      "r6 = r1",
      "r1 = *(u32 *)(r6 +36)",
      "if w1 != 0 goto +61",
      "r2 = *(u32 *)(r6 +0)",
      "if r2 <= 94 goto +1",
      "r2 = 94",
      "r7 = *(u32 *)(r6 +76)",
      "r9 = *(u32 *)(r6 +80)",
      "r0 = r7",
      "r0 += r2",
      "if r0 <= r9 goto +4",
      "r1 = r6",
      "call 39",
      "r7 = *(u32 *)(r6 +76)",
      "r9 = *(u32 *)(r6 +80)",
      "r0 = r7",
      "r0 += 34",
      "if r0 > r9 goto +46",
      "r1 = *(u16 *)(r7 +12)",
      "if w1 != 8 goto +44",
      "r7 += 14",
      "r1 = *(u8 *)(r7 +0)",
      "r2 = r1",
      "r2 >>= 4",
      "if w2 != 4 goto +39",
      "r1 &= 15",
      "if w1 < 5 goto +37",
      "r1 <<= 2",
      "r8 = *(u16 *)(r7 +2)",
      "r8 = be16 r8",
      "r8 &= 65535",
      "if r8 < r1 goto +32",
      "r1 = *(u32 *)(r6 +0)",
      "r0 = r8",
      "r0 += 14",
      "if r0 > r1 goto +28",
      "r5 = *(u8 *)(r7 +0)",
      "r5 &= 15",
      "r5 <<= 2",
      "r3 = r8",
      "r3 -= r5",
      "r1 = *(u16 *)(r7 +6)",
      "r1 = be16 r1",
      "r1 &= 8191",
      "r1 <<= 16",
      "r1 |= r3",
      "r4 = 0",
      "r2 = r7",
      "r2 += r5",
      "r3 = r2",
      "r3 += 20",
      "if r3 > r9 goto +5",
      "r4 = *(u32 *)(r2 +0)",
      "r3 = *(u8 *)(r2 +13)",
      "r3 <<= 32",
      "r1 |= r3",
      "goto +4",
      "r3 = r2",
      "r3 += 4",
      "if r3 > r9 goto +1",
      "r4 = *(u32 *)(r2 +0)",
      "r8 = r1",
      "r9 = r4",
      "goto +2",
      "r0 = 0",
      "exit",
      "r1 = r8",
      "r1 >>= 16",
      "w1 &= 65535",
      "if w1 != 0 goto -6",
      "goto +38",
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
      "r2 = *(u16 *)(r7 +2)",
      "r2 = be16 r2",
      "r1 += r2",
      "*(u64 *)(r0 +8) = r1",
      "r0 = 0",
      "exit",
      "*(u32 *)(r10 -68) = r1",
      "r1 = map[counters] ll",
      "r2 = r10",
      "r2 += -68",
      "call 1",
      "if r0 != 0 goto +2",
      "r0 = 2",
      "exit",
      "r1 = *(u64 *)(r0 +0)",
      "r1 += 1",
      "*(u64 *)(r0 +0) = r1",
      "r1 = *(u64 *)(r0 +8)",
      "r2 = *(u16 *)(r7 +2)",
      "r2 = be16 r2",
      "r1 += r2",
      "*(u64 *)(r0 +8) = r1",
      "r0 = 2",
      "exit",
      "r1 = *(u32 *)(r7 +12)",
      "w1 &= 255",
      "if w1 == 10 goto +17",
      "r1 = *(u8 *)(r7 +9)",
      "if w1 != 17 goto +15",
      "r1 = r8",
      "r1 >>= 16",
      "w1 &= 65535",
      "if w1 != 0 goto +11",
      "w1 = w8",
      "w1 &= 65535",
      "if w1 > 7 goto +2",
      "r0 = 2",
      "exit",
      "w1 = w9",
      "w1 >>= 16",
      "r1 = be16 r1",
      "if w1 != 53 goto +2",
      "r1 = 2",
      "goto -39",
      "r1 = 3",
      "goto -60",
    ]);
  });
});

const FRAGMENT_OFFSET = ["r1 = r8", "r1 >>= 16", "w1 &= 65535"];
const UDP_HEADER = [...FRAGMENT_OFFSET, "if w1 != 0 goto", "w1 = w8", "w1 &= 65535", "if w1 > 7 goto", "r0 = 2", "exit"];

describe("fast mode: one branch per test, negation folded into the jump opcode", () => {
  it.each([
    ["-s 10.0.0.0/8", { src: "10.0.0.0/8" }, ["r1 = *(u32 *)(r7 +12)", "w1 &= 255", "if w1 != 10 goto"]],
    ["! -s 10.0.0.0/8", { src: "10.0.0.0/8", invflags: IPT_INV.SRCIP }, ["r1 = *(u32 *)(r7 +12)", "w1 &= 255", "if w1 == 10 goto"]],
    ["-d 1.2.3.4", { dst: "1.2.3.4" }, ["r1 = *(u32 *)(r7 +16)", "if w1 != 67305985 goto"]],
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
      [...FRAGMENT_OFFSET, "if w1 != 1 goto", "r0 = 2", "exit", "if w1 != 0 goto", "w1 = w8", "w1 &= 65535", "if w1 > 19 goto", "r0 = 2", "exit",
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
    const text = compiled(compileHook(table, "OUTPUT")).text;
    expect(countedIndexes(text)).toEqual([2]);
    expect(text.some((l) => l.startsWith("r1 = *(u8 *)(r7 +9)"))).toBe(false);
  });

  it("drops a rule whose match never holds (an inverted full port range)", () => {
    const table = filterTable({ OUTPUT: { rules: [{ proto: PROTO.UDP, matches: [udpMatch({ dport: [0, 0xffff], invDport: true })], target: DROP }] } });
    expect(countedIndexes(compiled(compileHook(table, "OUTPUT")).text)).toEqual([3]);
  });
});

describe("ingress program", () => {
  it("is XDP for INPUT and FORWARD alike, and dispatches on the FIB answer", () => {
    const table = filterTable({ INPUT: { rules: [{ proto: PROTO.TCP, target: DROP }] } });
    const a = compiled(compileHook(table, "INPUT"));
    const b = compiled(compileHook(table, "FORWARD"));
    expect(a.progType).toBe("xdp");
    expect(a.chains).toEqual(["INPUT", "FORWARD"]);
    expect(b.insns).toEqual(a.insns);
    const call = a.text.indexOf("call 69");
    expect(a.text.slice(call + 1, call + 5).map((l) => l.replace(/ goto [+-]\d+$/, ""))).toEqual([
      "if r0 == 4",
      "if r0 == 5",
      "if r0 == 0",
      "if r0 == 7",
    ]);
  });
});

describe("declines", () => {
  it("an interface match without the interface list, naming the rule", () => {
    const result = compileProgram(filterTable({ OUTPUT: { rules: [{ target: ACCEPT }, { out: "eth0", target: DROP }] } }), "egress");
    expect(result.declined).toBe(true);
    expect((result as Decline).reason).toMatch(/^rule 2 in chain OUTPUT: interface match '-o eth0' needs the netns's interface list/);
  });

  it("accepts a loop among chains that no built-in chain reaches, as netfilter does", () => {
    const table = filterTable({ INPUT: { rules: [{ target: DROP }] }, user: { A: [{ target: jump("B") }], B: [{ target: jump("A") }] } });
    expect(compileProgram(table, "ingress").declined).not.toBe(true);
  });
});
