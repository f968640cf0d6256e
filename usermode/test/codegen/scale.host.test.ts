// Host BPF: large rulesets. The verifier walks the program depth-first and refuses more than 8192
// pending branches; the compiler predicts that (pendingBranchDepth), emits fewer branches per rule
// (guarded, compact modes) when it must, and declines instead of failing when even that is too many.
import { describe, expect, it } from "vitest";
import { compileHook } from "../../src/codegen/index.ts";
import { netfilterContextLayout } from "../../src/bpf/index.ts";
import { DROP, filterTable, jump, tcpMatch, udpMatch, type RuleSpec } from "./ir-builders.ts";
import { PROTO, tcpFrame, udpFrame } from "./packets.ts";
import { hostBpfUnavailable, loadHook } from "./harness.ts";

const unavailable = hostBpfUnavailable();
if (unavailable !== undefined) console.warn(`skipping host BPF scale tests: ${unavailable}`);

/** n rules alternating "-s 10.x.y.0/24 -p udp --dport P" and "-p tcp --dport P", all DROP. */
function rules(n: number): RuleSpec[] {
  return Array.from({ length: n }, (_, i) =>
    i % 2 === 1
      ? { proto: PROTO.UDP, src: `10.${(i >> 8) & 255}.${i & 255}.0/24`, matches: [udpMatch({ dport: [1000 + i, 1000 + i] })], target: DROP }
      : { proto: PROTO.TCP, matches: [tcpMatch({ dport: [i + 1, i + 1] })], target: DROP },
  );
}

describe.skipIf(unavailable !== undefined)("large rulesets", () => {
  it("loads 2000 rules and reaches the last ones", { timeout: 60_000 }, () => {
    const n = 2000;
    const table = filterTable({ INPUT: { rules: rules(n) } });
    const prog = loadHook(table, "INPUT");
    try {
      const last = n - 1; // odd: the udp rule
      expect(prog.run(udpFrame(1, 1000 + last, { src: `10.${(last >> 8) & 255}.${last & 255}.9` }))).toBe("drop");
      expect(prog.takeCounters()).toEqual({ [`INPUT#${n}`]: [1, 32] });
      expect(prog.run(tcpFrame(1, n - 1))).toBe("drop");
      expect(prog.takeCounters()).toEqual({ [`INPUT#${n - 1}`]: [1, 40] });
      expect(prog.run(tcpFrame(1, 9999))).toBe("accept");
      expect(prog.takeCounters()).toEqual({ "INPUT:policy": [1, 40] });
    } finally {
      prog.close();
    }
  });

  it("switches to guarded mode when fast mode is too branchy, and loads 4000 rules", { timeout: 60_000 }, () => {
    const n = 4000;
    const table = filterTable({ INPUT: { rules: rules(n) } });
    const result = compileHook(table, "INPUT", { kernel: netfilterContextLayout() });
    const text = result.declined === true ? [] : result.text;
    expect(text.filter((l) => l.startsWith("if r5 != 0 goto")).length).toBeGreaterThan(3000);
    const prog = loadHook(table, "INPUT");
    try {
      expect(prog.run(tcpFrame(1, n - 1))).toBe("drop");
      expect(prog.takeCounters()).toEqual({ [`INPUT#${n - 1}`]: [1, 40] });
      expect(prog.run(udpFrame(1, 2))).toBe("accept");
      expect(prog.takeCounters()).toEqual({ "INPUT:policy": [1, 32] });
    } finally {
      prog.close();
    }
  });

  it("keeps the leading rules guarded and folds the rest (compact) for 10000 rules, and loads them", { timeout: 120_000 }, () => {
    const n = 10_000;
    const table = filterTable({ INPUT: { rules: rules(n) } });
    const prog = loadHook(table, "INPUT");
    try {
      const text = prog.program.text;
      // A guarded rule branches on its first test (-p); a compact one folds it ("w3 ^= 6").
      const guardBranches = text.filter((l) => /^if w1 != (6|17) goto/.test(l)).length;
      expect(guardBranches).toBeGreaterThan(1000);
      expect(guardBranches).toBeLessThan(n);
      expect(prog.run(tcpFrame(1, n - 1))).toBe("drop");
      expect(prog.takeCounters()).toEqual({ [`INPUT#${n - 1}`]: [1, 40] });
    } finally {
      prog.close();
    }
  });

  it("declines what even compact mode leaves too branchy, naming the limit", { timeout: 60_000 }, () => {
    // Every jump into a user chain keeps its "next rule" state pending while the verifier walks the chain.
    const jumps = Array.from({ length: 8100 }, (_, i): RuleSpec => ({ src: `10.${(i >> 8) & 255}.${i & 255}.0/24`, target: jump("U") }));
    const table = filterTable({ INPUT: { rules: jumps }, user: { U: [{ proto: PROTO.TCP, target: DROP }] } });
    const result = compileHook(table, "INPUT", { kernel: netfilterContextLayout(), mode: "compact" });
    expect(result.declined).toBe(true);
    expect(result.declined === true && result.reason).toMatch(/^INPUT program: the verifier would keep \d+ branches pending, more than the kernel's 8192/);
  });
});
