/**
 * What the frame loop carries between the kernel (or the shim) and the sockopt service: one
 * IPT_SO_* call as a SOCKOPT frame delivers it, and the answer a SOCKOPT_REPLY sends back. The
 * service (service/) implements SockoptService; ipc/ knows nothing above this file.
 */

/**
 * The network namespace of a request's socket: its cookie (the key of everything kept for it)
 * and a path that opens exactly that netns while the request is served (/proc/self/fd/N of the
 * descriptor the kernel handed out, or the host-mode peer's /proc/<pid>/fd/N; see
 * request_netns.ts). No path once the netns is gone (NETNS_GONE).
 */
export interface NetnsRef {
  readonly cookie: bigint;
  readonly path?: string;
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
  /** performance.now() when the frame was read: the peer's wait for the answer runs from about then. */
  readonly receivedAt?: number;
}

/** The answer: status is 0 or -errno (-ENOPROTOOPT declines: netfilter answers), out the bytes to copy back. */
export interface SockoptAnswer {
  readonly status: number;
  readonly out: Uint8Array;
}
