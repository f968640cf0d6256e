// Crafted Ethernet/IPv4/UDP/TCP/ICMP frames for BPF_PROG_TEST_RUN.
import { ip4 } from "./ir-builders.ts";

/** IP protocol numbers. */
export const PROTO = { ICMP: 1, TCP: 6, UDP: 17 } as const;

/** Fields of a crafted IPv4 packet; defaults make a valid 10.0.0.1 → 127.0.0.1 datagram. */
export interface Ipv4Spec {
  src?: string;
  dst?: string;
  proto?: number;
  ttl?: number;
  tos?: number;
  /** Fragment offset in 8-byte units, and the more-fragments flag. */
  fragOffset?: number;
  moreFragments?: boolean;
  /** The don't-fragment flag. */
  dontFragment?: boolean;
  /** Options bytes (ihl grows by their length / 4). */
  options?: Uint8Array;
  /** Override of the header's version/ihl byte and tot_len, to craft malformed packets. */
  versionIhl?: number;
  totLen?: number;
  /** Bytes after the IP header. */
  payload?: Uint8Array;
  /** Bytes after the IP packet (Ethernet padding), not counted in tot_len. */
  trailer?: Uint8Array;
  etherType?: number;
}

/** An Ethernet frame with an IPv4 packet. */
export function ipv4Frame(spec: Ipv4Spec = {}): Uint8Array {
  const options = spec.options ?? new Uint8Array(0);
  const payload = spec.payload ?? new Uint8Array(0);
  const trailer = spec.trailer ?? new Uint8Array(0);
  const ihl = 20 + options.length;
  const frame = new Uint8Array(14 + ihl + payload.length + trailer.length);
  const v = new DataView(frame.buffer);
  frame.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
  v.setUint16(12, spec.etherType ?? 0x0800);
  v.setUint8(14, spec.versionIhl ?? (0x40 | (ihl / 4)));
  v.setUint8(15, spec.tos ?? 0);
  v.setUint16(16, spec.totLen ?? ihl + payload.length);
  v.setUint16(18, 0x1234);
  v.setUint16(20, ((spec.dontFragment ? 1 : 0) << 14) | ((spec.moreFragments ? 1 : 0) << 13) | (spec.fragOffset ?? 0));
  v.setUint8(22, spec.ttl ?? 64);
  v.setUint8(23, spec.proto ?? PROTO.UDP);
  v.setUint32(26, ip4(spec.src ?? "10.0.0.1"));
  v.setUint32(30, ip4(spec.dst ?? "127.0.0.1"));
  frame.set(options, 34);
  let sum = 0;
  for (let i = 14; i < 14 + ihl; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(24, ~sum & 0xffff);
  frame.set(payload, 14 + ihl);
  frame.set(trailer, 14 + ihl + payload.length);
  return frame;
}

/** A UDP header (+ body). */
export function udpHeader(sport: number, dport: number, body = new Uint8Array(4)): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, sport); v.setUint16(2, dport); v.setUint16(4, out.length);
  out.set(body, 8);
  return out;
}

/** A TCP header (no options) with the given flags byte. */
export function tcpHeader(sport: number, dport: number, flags = 0x02): Uint8Array {
  const out = new Uint8Array(20);
  const v = new DataView(out.buffer);
  v.setUint16(0, sport); v.setUint16(2, dport); v.setUint8(12, 5 << 4); v.setUint8(13, flags); v.setUint16(14, 1024);
  return out;
}

/** An ICMP header (8 bytes). */
export function icmpHeader(type: number, code: number): Uint8Array {
  return Uint8Array.from([type, code, 0, 0, 0, 0, 0, 0]);
}

/** UDP frame shortcut. */
export function udpFrame(sport: number, dport: number, spec: Ipv4Spec = {}): Uint8Array {
  return ipv4Frame({ ...spec, proto: PROTO.UDP, payload: udpHeader(sport, dport) });
}

/** TCP frame shortcut. */
export function tcpFrame(sport: number, dport: number, flags = 0x02, spec: Ipv4Spec = {}): Uint8Array {
  return ipv4Frame({ ...spec, proto: PROTO.TCP, payload: tcpHeader(sport, dport, flags) });
}
