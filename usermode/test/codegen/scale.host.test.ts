// Host BPF: large rulesets. The verifier walks the program depth-first and refuses more than 8192
// pending branches; the compiler predicts that (pendingBranchDepth) and declines instead of failing.
import { describe, expect, it } from "vitest";
import { compileHook } from "../../src/codegen/index.ts";
import { DROP, filterTable, tcpMatch, udpMatch, type RuleSpec } from "./ir-builders.ts";
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

  it("declines a ruleset the verifier would refuse for its branch depth, naming the limit", { timeout: 60_000 }, () => {
    const result = compileHook(filterTable({ INPUT: { rules: rules(6000) } }), "INPUT");
    expect(result.declined).toBe(true);
    expect(result.declined === true && result.reason).toMatch(/^ingress program: the verifier would keep \d+ branches pending, more than the kernel's 8192/);
  });
});
