// testRun (BPF_PROG_TEST_RUN) of netfilter programs on the real kernel: return codes, the hook in the
// context, per-CPU counters through a patched map reference.
import { afterAll, describe, expect, it } from "vitest";
import { createMap, loadProgram, netfilterContextLayout, netfilterTestContext, testRun, type BpfProgram } from "../../src/bpf/index.ts";
import { NF_ACCEPT, NF_DROP, countAndReturn, exit, insn, ipPacket, jeqImm, ldxDW, movImm, program, returns, sumCounter } from "./tiny-programs.ts";

const loaded: BpfProgram[] = [];
function load(name: string, insns: Uint8Array): BpfProgram {
  const prog = loadProgram({ type: "netfilter", name, insns });
  loaded.push(prog);
  return prog;
}
afterAll(() => loaded.forEach((prog) => prog.close()));

/** An Ethernet frame carrying ipPacket(): what a test run at a hook other than LOCAL_OUT takes. */
function ethernetFrame(): Uint8Array {
  const frame = new Uint8Array(14 + 40);
  frame[12] = 0x08; // ETH_P_IP
  frame.set(ipPacket(40), 14);
  return frame;
}

/** Accepts when ctx->state->hook is `hook`, drops otherwise. */
function acceptAtHook(hook: number): Uint8Array {
  const layout = netfilterContextLayout();
  return program(
    ldxDW(2, 1, layout.ctxState), // r2 = ctx->state
    insn(0x71, 2, 2, layout.stateHook, 0), // r2 = *(u8 *)(r2 + hook)
    movImm(0, NF_DROP),
    jeqImm(2, hook, 1),
    exit(),
    movImm(0, NF_ACCEPT),
    exit(),
  );
}

describe("testRun", () => {
  it.each([NF_ACCEPT, NF_DROP])("a program returning %i: retval is that", (verdict) => {
    const result = testRun(load(`ret_${verdict}`, returns(verdict)), ipPacket());
    expect(result.retval).toBe(verdict);
    expect(result.durationNs).toBeGreaterThanOrEqual(0);
  });

  it.each([
    { hook: 1, what: "LOCAL_IN, an Ethernet frame", data: ethernetFrame },
    { hook: 2, what: "FORWARD, an Ethernet frame", data: ethernetFrame },
    { hook: 3, what: "LOCAL_OUT, an IPv4 packet", data: () => ipPacket() },
  ])("netfilterTestContext($hook) runs the program at $what", ({ hook, data }) => {
    const prog = load(`at_hook_${hook}`, acceptAtHook(hook));
    expect(testRun(prog, data(), { ctx: netfilterTestContext(hook) }).retval).toBe(NF_ACCEPT);
    const other = hook === 3 ? 1 : 3;
    const otherData = other === 3 ? ipPacket() : ethernetFrame();
    expect(testRun(prog, otherData, { ctx: netfilterTestContext(other) }).retval).toBe(NF_DROP);
  });

  it.each([1, 7, 1000])("a counting program run with repeat %i adds exactly that much across CPUs", (repeat) => {
    const counters = createMap({ type: "percpu_array", name: "counters", keySize: 4, valueSize: 8, maxEntries: 1 });
    const prog = loadProgram({ type: "netfilter", name: "count", ...countAndReturn(NF_DROP), maps: { counters } });
    try {
      const result = testRun(prog, ipPacket(), { repeat });
      expect(result.retval).toBe(NF_DROP);
      expect(sumCounter(counters.lookupPerCpu(new Uint8Array(4)))).toBe(BigInt(repeat));
    } finally {
      prog.close();
      counters.close();
    }
  });

  it("refuses repeat 0", () => {
    const prog = load("pass", returns(NF_ACCEPT));
    expect(() => testRun(prog, ipPacket(), { repeat: 0 })).toThrow("test run of program 'pass': repeat 0 is not a positive 32-bit integer");
  });

  it("reports a kernel refusal as a BpfError naming the program: a packet shorter than an IPv4 header", () => {
    const prog = load("short", returns(NF_ACCEPT));
    expect(() => testRun(prog, new Uint8Array(10))).toThrow(/bpf_prog_test_run_opts\(program 'short', 10-byte packet\): .*\(EINVAL\)/);
  });

  it("reports a closed program fd as a BpfError naming the program", () => {
    const closedFd = { fd: 1_000_000, name: "gone", close: () => {} };
    expect(() => testRun(closedFd, ipPacket())).toThrow(/bpf_prog_test_run_opts\(program 'gone', 64-byte packet\): .*\(EBADF\)/);
  });
});
