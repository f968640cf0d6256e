// BPF_PROG_TEST_RUN: run a loaded program on one packet, in the kernel, without attaching it.
import koffi from "koffi";
import { bpf_test_run_opts } from "./abi.ts";
import { check } from "./errors.ts";
import { bpf_prog_test_run_opts } from "./libbpf.ts";
import type { BpfProgram } from "./loader.ts";

/** What one test run returned: the program's return code, the packet after it ran, and ns per run. */
export interface TestRunResult {
  retval: number;
  dataOut: Uint8Array;
  durationNs: number;
}

/** Room for a program to grow the packet (XDP headroom is 256 bytes; TC can push more). */
const GROWTH_ROOM = 4096;
/** The kernel needs at least an Ethernet header for XDP and TC test runs. */
const ETH_HLEN = 14;

/** Runs `prog` on `packet` (an Ethernet frame) `repeat` times (default 1); durationNs is the average. */
export function testRun(prog: BpfProgram, packet: Uint8Array, opts: { repeat?: number } = {}): TestRunResult {
  const repeat = opts.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 0x7fffffff) {
    throw new RangeError(`test run of program '${prog.name}': repeat ${repeat} is not a positive 32-bit integer`);
  }
  if (packet.length < ETH_HLEN) {
    throw new RangeError(`test run of program '${prog.name}': packet is ${packet.length} bytes, shorter than an Ethernet header (${ETH_HLEN})`);
  }
  const dataOut = new Uint8Array(packet.length + GROWTH_ROOM);
  const run = {
    sz: koffi.sizeof(bpf_test_run_opts),
    data_in: packet,
    data_size_in: packet.length,
    data_out: dataOut,
    data_size_out: dataOut.length,
    repeat,
    retval: 0,
    duration: 0,
  };
  check(`bpf_prog_test_run_opts(program '${prog.name}', ${packet.length}-byte packet)`, bpf_prog_test_run_opts(prog.fd, run));
  return {
    retval: run.retval,
    dataOut: dataOut.slice(0, run.data_size_out),
    durationNs: run.duration,
  };
}
