// testRun (BPF_PROG_TEST_RUN) on the real kernel: return codes, the packet after the program, per-CPU
// counters through a patched map reference.
import { afterAll, describe, expect, it } from "vitest";
import { createMap, loadProgram, testRun, type BpfProgram, type ProgType } from "../../src/bpf/index.ts";
import {
  TC_ACT_OK,
  TC_ACT_SHOT,
  XDP_DROP,
  XDP_PASS,
  countAndReturn,
  frame,
  returns,
  sumCounter,
  xdpMarkFirstByte,
} from "./tiny-programs.ts";

const loaded: BpfProgram[] = [];
function load(type: ProgType, name: string, insns: Uint8Array): BpfProgram {
  const prog = loadProgram({ type, name, insns });
  loaded.push(prog);
  return prog;
}
afterAll(() => loaded.forEach((prog) => prog.close()));

describe("testRun", () => {
  it.each<{ type: ProgType; verdict: number }>([
    { type: "xdp", verdict: XDP_PASS },
    { type: "xdp", verdict: XDP_DROP },
    { type: "sched_cls", verdict: TC_ACT_OK },
    { type: "sched_cls", verdict: TC_ACT_SHOT },
  ])("$type returning $verdict: retval is $verdict, the packet comes back unchanged", ({ type, verdict }) => {
    const prog = load(type, `ret_${verdict}`, returns(verdict));
    const packet = Uint8Array.from({ length: 60 }, (_, i) => i);
    const result = testRun(prog, packet);
    expect(result.retval).toBe(verdict);
    expect(result.dataOut).toEqual(packet);
    expect(result.durationNs).toBeGreaterThanOrEqual(0);
  });

  it("dataOut is the packet as the program left it", () => {
    const prog = load("xdp", "mark", xdpMarkFirstByte());
    const packet = frame(64);
    const result = testRun(prog, packet);
    expect(result.retval).toBe(XDP_PASS);
    expect(result.dataOut[0]).toBe(0xab);
    expect(result.dataOut.subarray(1)).toEqual(packet.subarray(1));
    expect(packet[0]).toBe(0);
  });

  it.each([1, 7, 1000])("a counting program run with repeat %i adds exactly that much across CPUs", (repeat) => {
    const counters = createMap({ type: "percpu_array", name: "counters", keySize: 4, valueSize: 8, maxEntries: 1 });
    const prog = loadProgram({ type: "xdp", name: "count", ...countAndReturn(XDP_DROP), maps: { counters } });
    try {
      const result = testRun(prog, frame(), { repeat });
      expect(result.retval).toBe(XDP_DROP);
      expect(sumCounter(counters.lookupPerCpu(new Uint8Array(4)))).toBe(BigInt(repeat));
    } finally {
      prog.close();
      counters.close();
    }
  });

  it.each([
    { what: "a packet shorter than an Ethernet header", packet: frame(10), repeat: 1, message: "packet is 10 bytes, shorter than an Ethernet header (14)" },
    { what: "repeat 0", packet: frame(), repeat: 0, message: "repeat 0 is not a positive 32-bit integer" },
  ])("refuses $what", ({ packet, repeat, message }) => {
    const prog = load("xdp", "pass", returns(XDP_PASS));
    expect(() => testRun(prog, packet, { repeat })).toThrow(`test run of program 'pass': ${message}`);
  });

  it("reports a kernel refusal as a BpfError naming the program", () => {
    const closedFd = { fd: 1_000_000, name: "gone", close: () => {} };
    expect(() => testRun(closedFd, frame())).toThrow(/bpf_prog_test_run_opts\(program 'gone', 64-byte packet\): .*\(EBADF\)/);
  });
});
