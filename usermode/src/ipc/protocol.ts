/**
 * The kernel <-> helper frame protocol of uapi/linux/bpfilter_ipc.h: constants, struct
 * layouts (checked against the C header by test/ipc/layout.test.ts) and the message union.
 */

/** BPFILTER_IPC_MAGIC, "BPFI". */
export const BPFILTER_IPC_MAGIC = 0x42504649;
/** BPFILTER_IPC_VERSION spoken by this helper. */
export const BPFILTER_IPC_VERSION = 2;
/** BPFILTER_IPC_MAX_PAYLOAD: the largest payload either side accepts. */
export const BPFILTER_IPC_MAX_PAYLOAD = 64 * 1024 * 1024;
/** BPFILTER_IPC_MAX_ERRNO: a reply status is 0 or -errno with errno at most this. */
export const BPFILTER_IPC_MAX_ERRNO = 511;
/** BPFILTER_IPC_F_SET: the request is a setsockopt. */
export const BPFILTER_IPC_F_SET = 1;
/** BPFILTER_IPC_F_COMPAT: the caller is a 32-bit program on a 64-bit kernel. */
export const BPFILTER_IPC_F_COMPAT = 2;
/** BPFILTER_IPC_SO_GET_NETNS: the helper's getsockopt for a request's netns fd. */
export const BPFILTER_IPC_SO_GET_NETNS = 72;

/** enum bpfilter_ipc_type. */
export const IpcType = {
  HELLO: 1,
  HELLO_REPLY: 2,
  SOCKOPT: 3,
  SOCKOPT_REPLY: 4,
  NETNS_GONE: 5,
} as const;

/** Name of a frame type number, for logs. */
export function ipcTypeName(type: number): string {
  for (const [name, value] of Object.entries(IpcType)) if (value === type) return name;
  return `type ${type}`;
}

/** struct bpfilter_ipc_hdr field offsets and size. */
export const HDR = { magic: 0, version: 4, type: 6, seq: 8, len: 12, SIZE: 16 } as const;
/** struct bpfilter_ipc_hello field offsets and size. */
export const HELLO = { version: 0, flags: 4, SIZE: 8 } as const;
/** struct bpfilter_ipc_sockopt field offsets and size. */
export const SOCKOPT = {
  cmd: 0,
  flags: 4,
  optlen: 8,
  inlen: 12,
  netns_cookie: 16,
  peer_pid: 24,
  peer_netns_fd: 28,
  SIZE: 32,
} as const;
/** struct bpfilter_ipc_sockopt_reply field offsets and size. */
export const SOCKOPT_REPLY = { status: 0, outlen: 4, SIZE: 8 } as const;
/** struct bpfilter_ipc_netns_gone field offsets and size. */
export const NETNS_GONE = { netns_cookie: 0, SIZE: 8 } as const;
/** struct bpfilter_ipc_netns_fd field offsets and size. */
export const NETNS_FD = { seq: 0, fd: 4, SIZE: 8 } as const;

/** HELLO or HELLO_REPLY: the sender's protocol version. */
export interface HelloFrame {
  readonly type: typeof IpcType.HELLO | typeof IpcType.HELLO_REPLY;
  readonly seq: number;
  readonly version: number;
  readonly flags: number;
}

/** SOCKOPT: one iptables setsockopt/getsockopt call with a copy of its optval bytes. */
export interface SockoptFrame {
  readonly type: typeof IpcType.SOCKOPT;
  readonly seq: number;
  readonly cmd: number;
  /** BPFILTER_IPC_F_* */
  readonly flags: number;
  readonly optlen: number;
  /** The cookie of the caller's socket's netns. */
  readonly netnsCookie: bigint;
  /** A peer other than the kernel: the process that holds peerNetnsFd; 0 from the kernel. */
  readonly peerPid: number;
  /** That process's fd of the socket's netns; -1 from the kernel (ask with BPFILTER_IPC_SO_GET_NETNS). */
  readonly peerNetnsFd: number;
  /** The inlen optval bytes that follow the struct. */
  readonly optval: Uint8Array;
}

/** SOCKOPT_REPLY: status (0 or -errno) and the bytes to copy back. */
export interface SockoptReplyFrame {
  readonly type: typeof IpcType.SOCKOPT_REPLY;
  readonly seq: number;
  readonly status: number;
  readonly out: Uint8Array;
}

/** NETNS_GONE: a netns the helper was asked about is torn down (no reply). */
export interface NetnsGoneFrame {
  readonly type: typeof IpcType.NETNS_GONE;
  readonly seq: number;
  readonly netnsCookie: bigint;
}

/** Any frame of the protocol. */
export type Frame = HelloFrame | SockoptFrame | SockoptReplyFrame | NetnsGoneFrame;
