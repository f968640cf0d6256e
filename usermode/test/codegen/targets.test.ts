// Target extensions in the generated programs: REJECT through a shared tail per action (count,
// kfunc, drop), LOG and MARK inline (count, kfunc, next rule), the kfunc's arguments in r2-r5, and
// the hand-over to netfilter on a kernel without the series' kfuncs. Struct offsets fixed as in
// program.test.ts, so the text does not depend on the kernel the tests run on.
import { describe, expect, it } from "vitest";
import { compileHook, type CompiledProgram, type Decline, type NetfilterContextLayout } from "../../src/codegen/index.ts";
import { NF_TARGET_KFUNCS } from "../../src/bpf/nf_context.ts";
import { TARGETS } from "../../src/ext/registry.ts";
import { ACCEPT, filterTable, logTarget, markTargetOf, rejectTarget, tcpMatch, udpMatch } from "./ir-builders.ts";
import { PROTO } from "./packets.ts";

const BASE: NetfilterContextLayout = { ctxState: 0, ctxSkb: 8, stateHook: 0, stateIn: 8, stateOut: 16, devName: 280, skbLen: 112, skbMark: 164, skbNfct: 104, skbPktType: { offset: 128, shift: 0 } };
const WITH_KFUNCS: NetfilterContextLayout = { ...BASE, kfuncs: [...NF_TARGET_KFUNCS] };

function compiled(result: CompiledProgram | Decline): CompiledProgram {
  if (result.declined === true) throw new Error(`unexpected decline: ${result.reason}`);
  return result;
}

/** The lines from the first one matching `first` on, `count` of them. */
function linesFrom(text: readonly string[], first: string, count: number): string[] {
  const at = text.indexOf(first);
  if (at < 0) throw new Error(`no line '${first}' in the program`);
  return text.slice(at, at + count);
}

describe("target kfuncs", () => {
  it("every target's kfunc is one the kernel probe looks for", () => {
    for (const target of TARGETS) expect(NF_TARGET_KFUNCS).toContain(target.kfunc);
  });

  it("REJECT counts, calls bpf_nf_reject_ipv4(ctx, with) and drops, on one tail per --reject-with", () => {
    const table = filterTable({
      INPUT: {
        rules: [
          { proto: PROTO.TCP, matches: [tcpMatch({ dport: [22, 22] })], target: rejectTarget(7) },
          { proto: PROTO.UDP, matches: [udpMatch({ dport: [53, 53] })], target: rejectTarget(3) },
          { proto: PROTO.UDP, matches: [udpMatch({ dport: [54, 54] })], target: rejectTarget(3) },
        ],
      },
    });
    const prog = compiled(compileHook(table, "INPUT", { kernel: WITH_KFUNCS }));
    const calls = prog.kfuncRefs.filter((ref) => ref.kfunc === "bpf_nf_reject_ipv4");
    expect(calls).toHaveLength(2); // tcp-reset and icmp-port-unreachable; the two port-unreachable rules share one
    expect(linesFrom(prog.text, "w2 = 7", 4)).toEqual(["w2 = 7", "call kfunc[bpf_nf_reject_ipv4]", "r0 = 0", "exit"]);
    const tail = prog.text.indexOf("w2 = 3");
    expect(prog.text[tail - 1]).toBe("r1 = r6");
    expect(prog.text[tail - 2]).toBe("*(u64 *)(r0 +8) = r1"); // the count, just before
  });

  it("LOG counts, passes level, flags and the 30-byte prefix on the stack, and goes on with the next rule", () => {
    const table = filterTable({ OUTPUT: { rules: [{ target: logTarget(6, 0x09, "OUT: ") }, { target: ACCEPT }] } });
    const prog = compiled(compileHook(table, "OUTPUT", { kernel: WITH_KFUNCS }));
    const call = prog.text.indexOf("call kfunc[bpf_nf_log]");
    // "OUT: " is 4f 55 54 3a 20, then zeros up to 30 bytes, written as 8 u32 words.
    expect(prog.text.slice(call - 14, call + 1)).toEqual([
      "r1 = r6",
      "w2 = 6",
      "w3 = 9",
      "*(u32 *)(r10 -104) = 978605391",
      "*(u32 *)(r10 -100) = 32",
      "*(u32 *)(r10 -96) = 0",
      "*(u32 *)(r10 -92) = 0",
      "*(u32 *)(r10 -88) = 0",
      "*(u32 *)(r10 -84) = 0",
      "*(u32 *)(r10 -80) = 0",
      "*(u32 *)(r10 -76) = 0",
      "r4 = r10",
      "r4 += -104",
      "w5 = 30",
      "call kfunc[bpf_nf_log]",
    ]);
    // the next rule (ACCEPT) follows the call, not an exit
    expect(prog.text[call + 1]).not.toBe("exit");
  });

  it("MARK passes mark and mask to bpf_nf_set_mark and goes on", () => {
    const table = filterTable({ FORWARD: { rules: [{ target: markTargetOf(0x40000, 0xff0000) }, { target: ACCEPT }] } });
    const prog = compiled(compileHook(table, "FORWARD", { kernel: WITH_KFUNCS }));
    expect(linesFrom(prog.text, "w2 = 262144", 3)).toEqual(["w2 = 262144", "w3 = 16711680", "call kfunc[bpf_nf_set_mark]"]);
  });

  it("hands the table to netfilter on a kernel without the kfunc, naming the rule, the target and the kfunc", () => {
    const table = filterTable({ INPUT: { rules: [{ target: ACCEPT }, { proto: PROTO.TCP, target: rejectTarget(7) }] } });
    const result = compileHook(table, "INPUT", { kernel: BASE });
    expect(result).toEqual({
      declined: true,
      reason: expect.stringMatching(/^rule 2 in chain INPUT: target 'REJECT' needs kfunc bpf_nf_reject_ipv4, which this kernel does not have/),
    });
  });

  it("emits no kfunc call in a program whose chain has no such target", () => {
    const table = filterTable({ INPUT: { rules: [{ proto: PROTO.TCP, target: rejectTarget(7) }] }, OUTPUT: { rules: [{ target: ACCEPT }] } });
    for (const kernel of [BASE, WITH_KFUNCS]) {
      const prog = compiled(compileHook(table, "OUTPUT", { kernel }));
      expect(prog.kfuncRefs.map((ref) => ref.kfunc)).toEqual(["bpf_dynptr_from_skb", "bpf_dynptr_slice"]);
    }
  });
});
