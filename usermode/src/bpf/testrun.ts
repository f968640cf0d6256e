// BPF_PROG_TEST_RUN: run a loaded program on one packet, in the kernel, without attaching it.
// A netfilter program (net/bpf/test_run.c, bpf_prog_test_run_nf) runs on an skb built from the data,
// in the calling thread's netns, with loopback as the device: data is the IPv4 packet at LOCAL_OUT and
// an Ethernet frame at the other hooks; the context is a struct nf_hook_state with only hook and pf set.
import koffi from "koffi";
import { bpf_test_run_opts } from "./abi.ts";
import { BTF_KIND, kernelBtf } from "./btf.ts";
import { check } from "./errors.ts";
import { bpf_prog_test_run_opts } from "./libbpf.ts";
import type { BpfProgram } from "./loader.ts";
import { NFPROTO_IPV4 } from "./nf_link.ts";

/** What one test run returned: the program's return code and ns per run. */
export interface TestRunResult {
  retval: number;
  durationNs: number;
}

/** Options of a test run. */
export interface TestRunOptions {
  /** Runs (default 1); durationNs is the average. */
  readonly repeat?: number;
  /** The context passed as ctx_in (for netfilter programs: netfilterTestContext()). */
  readonly ctx?: Uint8Array;
}

/** A struct nf_hook_state for a netfilter test run at `hooknum` (offsets from the kernel's BTF). */
export function netfilterTestContext(hooknum: number, pf = NFPROTO_IPV4): Uint8Array {
  const btf = kernelBtf();
  const state = new Uint8Array(btf.sizeOf(btf.require(BTF_KIND.STRUCT, "nf_hook_state")));
  state[btf.member("nf_hook_state", "hook").offset] = hooknum;
  state[btf.member("nf_hook_state", "pf").offset] = pf;
  return state;
}

/** Runs `prog` on `packet`; see the file comment for what a netfilter program's packet holds. */
export function testRun(prog: BpfProgram, packet: Uint8Array, opts: TestRunOptions = {}): TestRunResult {
  const repeat = opts.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 0x7fffffff) {
    throw new RangeError(`test run of program '${prog.name}': repeat ${repeat} is not a positive 32-bit integer`);
  }
  const run = {
    sz: koffi.sizeof(bpf_test_run_opts),
    data_in: packet,
    data_size_in: packet.length,
    ...(opts.ctx === undefined ? {} : { ctx_in: opts.ctx, ctx_size_in: opts.ctx.length }),
    repeat,
    retval: 0,
    duration: 0,
  };
  check(`bpf_prog_test_run_opts(program '${prog.name}', ${packet.length}-byte packet)`, bpf_prog_test_run_opts(prog.fd, run));
  return { retval: run.retval, durationNs: run.duration };
}
