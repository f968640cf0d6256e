/**
 * The network namespace a SOCKOPT request names, as a path the helper can open (setns) while it
 * serves the request. The frame names the netns of the caller's socket by its cookie; the path
 * gives exactly that netns, whatever thread, process or namespace the caller is in:
 *  - from the kernel (peer_netns_fd -1): the kernel holds the netns while it waits for the reply
 *    and hands out a descriptor of it with the BPFILTER_IPC_SO_GET_NETNS getsockopt;
 *  - from a peer process (the host-mode preload shim): the peer holds its descriptor of the
 *    socket's netns (SIOCGSKNS) open until it has the reply, at /proc/<peer_pid>/fd/<fd>.
 * The caller of open() closes what it got once the reply is written.
 */
import { close, lastErrno, libc, socket } from "../bpf/libc.ts";
import type { NetnsRef } from "./sockopt_call.ts";
import { BPFILTER_IPC_SO_GET_NETNS, NETNS_FD, type SockoptFrame } from "./protocol.ts";

const getsockopt = libc.func("int getsockopt(int fd, int level, int optname, _Inout_ void *optval, _Inout_ uint32_t *optlen)");

const AF_INET = 2;
const SOCK_DGRAM = 2;
const IPPROTO_IP = 0;

/** A request's netns, open for as long as the request is served. */
export interface RequestNetns {
  readonly ref: NetnsRef;
  /** Releases what open() took (the kernel's descriptor); idempotent. */
  close(): void;
}

/** Opens the netns of a request; throws a RequestNetnsError when it cannot. */
export type RequestNetnsOpener = (frame: SockoptFrame) => RequestNetns;

/** The netns of a request cannot be had; errno is positive, for the reply. */
export class RequestNetnsError extends Error {
  override readonly name = "RequestNetnsError";
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

/** The kernel's getsockopt for the descriptor of request `seq`'s netns, made on `sock`. */
export function kernelNetnsFd(sock: number, seq: number): number {
  const buf = Buffer.alloc(NETNS_FD.SIZE);
  buf.writeUInt32LE(seq >>> 0, NETNS_FD.seq);
  const len = [NETNS_FD.SIZE];
  if ((getsockopt(sock, IPPROTO_IP, BPFILTER_IPC_SO_GET_NETNS, buf, len) as number) !== 0) {
    const errno = lastErrno();
    throw new RequestNetnsError(errno, `getsockopt(BPFILTER_IPC_SO_GET_NETNS, seq ${seq}) failed with errno ${errno}`);
  }
  return buf.readInt32LE(NETNS_FD.fd);
}

/** The opener of the running helper: the kernel's descriptor, or the peer's /proc path. */
export function requestNetnsOpener(): RequestNetnsOpener {
  let sock: number | undefined;
  return (frame) => {
    const cookie = frame.netnsCookie;
    if (frame.peerNetnsFd >= 0) {
      return { ref: { cookie, path: `/proc/${frame.peerPid}/fd/${frame.peerNetnsFd}` }, close: () => {} };
    }
    if (sock === undefined) {
      const fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) as number;
      if (fd < 0) throw new RequestNetnsError(lastErrno(), `socket(AF_INET, SOCK_DGRAM) for BPFILTER_IPC_SO_GET_NETNS failed with errno ${lastErrno()}`);
      sock = fd;
    }
    const fd = kernelNetnsFd(sock, frame.seq);
    let open = true;
    return {
      ref: { cookie, path: `/proc/self/fd/${fd}` },
      close: () => {
        if (open) close(fd);
        open = false;
      },
    };
  };
}
