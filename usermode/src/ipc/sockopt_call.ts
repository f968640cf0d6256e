/**
 * What the frame loop carries between the kernel (or the shim) and the sockopt service: one
 * IPT_SO_* call as a SOCKOPT frame delivers it, and the answer a SOCKOPT_REPLY sends back. The
 * service (service/) implements SockoptService; ipc/ knows nothing above this file.
 */

/** The caller's network namespace: its cookie (the key) and a pid inside it (to enter it). */
export interface NetnsRef {
  readonly cookie: bigint;
  readonly pid: number;
}

/** One IPT_SO_* call, as the frame carries it. */
export interface SockoptRequest {
  readonly cmd: number;
  /** setsockopt (true) or getsockopt. */
  readonly set: boolean;
  readonly optlen: number;
  /** The optval bytes the kernel copied (all of a set, the first bytes of a get). */
  readonly optval: Uint8Array;
  readonly netns: NetnsRef;
  /** BPFILTER_IPC_F_COMPAT: a 32-bit caller, whose structs the helper does not read; netfilter must answer it. */
  readonly compat?: boolean;
}

/** The answer: status is 0 or -errno (-ENOPROTOOPT declines: netfilter answers), out the bytes to copy back. */
export interface SockoptAnswer {
  readonly status: number;
  readonly out: Uint8Array;
}
