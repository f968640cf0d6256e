// Sends one UDP datagram from one end of a veth pair to the other and says whether it arrived. The sockets
// are made with libc through koffi inside inNetns, so that each is created in its end's netns.
import { randomBytes } from "node:crypto";
import koffi from "koffi";
import { inNetns } from "../../src/bpf/index.ts";
import type { VethEnd } from "./veth-pair.ts";

const libc = koffi.load("libc.so.6");
const socket = libc.func("int socket(int domain, int type, int protocol)");
const bind = libc.func("int bind(int fd, const void *addr, uint32_t addrlen)");
const sendto = libc.func("intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)");
const recv = libc.func("intptr_t recv(int fd, void *buf, size_t len, int flags)");
const poll = libc.func("int poll(void *fds, unsigned long nfds, int timeout)");
const close = libc.func("int close(int fd)");

const AF_INET = 2;
const SOCK_DGRAM = 2;
const POLLIN = 1;
const MSG_DONTWAIT = 0x40;
const PORT = 40_000;

function sockaddrIn(address: string, port: number): Uint8Array {
  const sa = new Uint8Array(16);
  const view = new DataView(sa.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port, false);
  address.split(".").forEach((octet, i) => view.setUint8(4 + i, Number(octet)));
  return sa;
}

function udpSocket(end: VethEnd, bindTo?: Uint8Array): number {
  return inNetns(end.netnsPath, () => {
    const fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) throw new Error(`socket() in netns ${end.netns} failed: errno ${koffi.errno()}`);
    if (bindTo !== undefined && bind(fd, bindTo, bindTo.length) !== 0) {
      close(fd);
      throw new Error(`bind() to ${end.address}:${PORT} in netns ${end.netns} failed: errno ${koffi.errno()}`);
    }
    return fd;
  });
}

/** True when a datagram sent from `from` to `to` arrives within timeoutMs. */
export function udpDelivered(from: VethEnd, to: VethEnd, timeoutMs = 300): boolean {
  const destination = sockaddrIn(to.address, PORT);
  const receiver = udpSocket(to, destination);
  const sender = udpSocket(from);
  try {
    const token = randomBytes(16);
    if (sendto(sender, token, token.length, 0, destination, destination.length) !== token.length) {
      throw new Error(`sendto ${to.address}:${PORT} from netns ${from.netns} failed: errno ${koffi.errno()}`);
    }
    const deadline = Date.now() + timeoutMs;
    const pollfd = new Uint8Array(8);
    const view = new DataView(pollfd.buffer);
    view.setInt32(0, receiver, true);
    view.setInt16(4, POLLIN, true);
    for (let left = timeoutMs; left > 0; left = deadline - Date.now()) {
      if (poll(pollfd, 1, left) <= 0) continue;
      const got = new Uint8Array(64);
      const length = Number(recv(receiver, got, got.length, MSG_DONTWAIT));
      if (length === token.length && Buffer.from(got.subarray(0, length)).equals(token)) return true;
    }
    return false;
  } finally {
    close(sender);
    close(receiver);
  }
}
