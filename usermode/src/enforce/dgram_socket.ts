/** A throwaway AF_INET datagram socket in the calling thread's netns, for interface and netns queries. */
import { BpfError } from "../bpf/index.ts";
import { close, lastErrno, socket } from "../bpf/libc.ts";

const AF_INET = 2;
const SOCK_DGRAM = 2;

/** Runs fn with a fresh AF_INET/SOCK_DGRAM socket and closes it; `what` names the use in errors. */
export function withDgramSocket<T>(what: string, fn: (fd: number) => T): T {
  const fd = socket(AF_INET, SOCK_DGRAM, 0) as number;
  if (fd < 0) throw new BpfError(`socket(AF_INET, SOCK_DGRAM) for ${what}`, lastErrno());
  try {
    return fn(fd);
  } finally {
    close(fd);
  }
}
