/**
 * IPv4 packets with correct checksums (UDP, TCP SYN, ICMP echo), sent through a raw socket
 * (IPPROTO_RAW: the header is ours) made inside a netns, for the differential tests.
 */
import koffi from "koffi";
import { inNetns } from "../../src/bpf/index.ts";

const libc = koffi.load("libc.so.6");
const socket = libc.func("int socket(int domain, int type, int protocol)");
const sendto = libc.func("intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)");
const close = libc.func("int close(int fd)");
const setsockopt = libc.func("int setsockopt(int fd, int level, int name, const void *value, uint32_t len)");

const AF_INET = 2;
const SOCK_RAW = 3;
const IPPROTO_RAW = 255;
const SOL_SOCKET = 1;
const SO_BROADCAST = 6;

/** IP header fields a packet may set: ttl (default 64), tos (default 0), payload bytes after L4 (default 12 for UDP). */
export interface IpFields {
  readonly ttl?: number;
  readonly tos?: number;
  readonly payload?: number;
  /** Makes the packet a fragment: offset in 8-byte units, and whether more fragments follow. */
  readonly fragment?: { readonly offset: number; readonly more: boolean };
  /** The IP id (default 0x4242): fragments of one datagram share it, and only they may. */
  readonly id?: number;
}

/** One packet to send: the IP addresses, the protocol and its ports (ICMP: none), TCP flags (default SYN). */
export type PacketSpec =
  | (IpFields & { readonly proto: "udp"; readonly src: string; readonly dst: string; readonly sport: number; readonly dport: number })
  | (IpFields & { readonly proto: "tcp"; readonly src: string; readonly dst: string; readonly sport: number; readonly dport: number; readonly flags?: number })
  | (IpFields & { readonly proto: "icmp"; readonly src: string; readonly dst: string });

function addressBytes(address: string): number[] {
  return address.split(".").map(Number);
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function l4Segment(spec: PacketSpec): { proto: number; segment: Uint8Array; checksumAt: number; pseudo: boolean } {
  if (spec.proto === "icmp") {
    const segment = Uint8Array.of(8, 0, 0, 0, 0x12, 0x34, 0, 1, ...new Uint8Array(8)); // echo request
    return { proto: 1, segment, checksumAt: 2, pseudo: false };
  }
  if (spec.proto === "udp") {
    const segment = new Uint8Array(8 + (spec.payload ?? 12));
    const view = new DataView(segment.buffer);
    view.setUint16(0, spec.sport);
    view.setUint16(2, spec.dport);
    view.setUint16(4, segment.length);
    return { proto: 17, segment, checksumAt: 6, pseudo: true };
  }
  const segment = new Uint8Array(20 + (spec.payload ?? 0));
  const view = new DataView(segment.buffer);
  view.setUint16(0, spec.sport);
  view.setUint16(2, spec.dport);
  view.setUint32(4, 0x1000_0000);
  view.setUint8(12, 5 << 4); // data offset: 5 words
  view.setUint8(13, spec.flags ?? 0x02); // SYN unless told
  view.setUint16(14, 64_240);
  return { proto: 6, segment, checksumAt: 16, pseudo: true };
}

/** The IPv4 packet of `spec`, every checksum filled in. */
export function ipv4Packet(spec: PacketSpec): Uint8Array {
  const { proto, segment, checksumAt, pseudo } = l4Segment(spec);
  const src = addressBytes(spec.src);
  const dst = addressBytes(spec.dst);
  const sumOver = pseudo ? Uint8Array.of(...src, ...dst, 0, proto, segment.length >> 8, segment.length & 0xff, ...segment) : segment;
  let l4sum = checksum(sumOver);
  if (l4sum === 0 && proto === 17) l4sum = 0xffff;
  new DataView(segment.buffer).setUint16(checksumAt, l4sum);
  const packet = new Uint8Array(20 + segment.length);
  const view = new DataView(packet.buffer);
  view.setUint8(0, 0x45);
  view.setUint8(1, spec.tos ?? 0);
  view.setUint16(2, packet.length);
  view.setUint16(4, spec.id ?? 0x4242);
  if (spec.fragment !== undefined) view.setUint16(6, (spec.fragment.more ? 0x2000 : 0) | spec.fragment.offset);
  view.setUint8(8, spec.ttl ?? 64);
  view.setUint8(9, proto);
  packet.set(src, 12);
  packet.set(dst, 16);
  view.setUint16(10, checksum(packet.subarray(0, 20)));
  packet.set(segment, 20);
  return packet;
}

const EPERM = 1;

/**
 * Sends every packet, in order, from a raw socket in the netns at `netnsPath`. Returns, per packet,
 * whether the sending netns let it out: a packet its OUTPUT chain drops fails with EPERM.
 */
export function sendRaw(netnsPath: string, packets: readonly PacketSpec[]): boolean[] {
  return inNetns(netnsPath, () => {
    const fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW) as number;
    if (fd < 0) throw new Error(`socket(AF_INET, SOCK_RAW, IPPROTO_RAW) in ${netnsPath}: errno ${koffi.errno()}`);
    try {
      // Broadcast destinations (10.77.0.255) need SO_BROADCAST, or sendto fails with EACCES.
      if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, Int32Array.of(1), 4) !== 0) throw new Error(`setsockopt(SO_BROADCAST): errno ${koffi.errno()}`);
      return packets.map((spec) => {
        const packet = ipv4Packet(spec);
        const to = new Uint8Array(16);
        new DataView(to.buffer).setUint16(0, AF_INET, true);
        to.set(addressBytes(spec.dst), 4);
        if (Number(sendto(fd, packet, packet.length, 0, to, to.length)) === packet.length) return true;
        const errno = koffi.errno();
        if (errno === EPERM) return false;
        throw new Error(`sendto ${JSON.stringify(spec)} from ${netnsPath}: errno ${errno}`);
      });
    } finally {
      close(fd);
    }
  });
}
