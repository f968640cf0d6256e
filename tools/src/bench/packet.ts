/**
 * The test packet: one Ethernet + IPv4 + UDP or TCP frame, built byte by byte, for the sender
 * (as hex) and for BPF_PROG_TEST_RUN (as a file). IPv4 header checksum computed; UDP checksum 0
 * (none, which IPv4 allows); a TCP segment is a bare SYN with its checksum computed.
 */

/** What the frame carries. Addresses are dotted quads, MACs colon-separated. */
export interface PacketSpec {
  readonly srcMac: string;
  readonly dstMac: string;
  readonly src: string;
  readonly dst: string;
  readonly proto: "udp" | "tcp";
  readonly sport: number;
  readonly dport: number;
  /** UDP payload bytes (TCP carries none). The frame is padded to 60 bytes. */
  readonly payload?: number;
}

/** IPv4 address as a 32-bit unsigned number; throws on anything that is not a dotted quad. */
export function ipv4ToNumber(address: string): number {
  const parts = address.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`'${address}' is not an IPv4 address`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** A 32-bit unsigned number as a dotted quad. */
export function numberToIpv4(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new Error(`${value} is not an IPv4 address`);
  return [24, 16, 8, 0].map((shift) => (Math.floor(value / 2 ** shift) & 255).toString()).join(".");
}

function macBytes(mac: string): number[] {
  const parts = mac.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`'${mac}' is not a MAC address`);
  return parts.map((p) => parseInt(p, 16));
}

function port(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${what} ${value} is not a port`);
  return value;
}

/** The ones' complement sum of 16-bit words, folded (RFC 1071). */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const ETH_LEN = 14;
const IP_LEN = 20;

/** The frame's bytes. */
export function buildFrame(spec: PacketSpec): Uint8Array {
  const l4Len = spec.proto === "udp" ? 8 + (spec.payload ?? 18) : 20;
  const ipTotal = IP_LEN + l4Len;
  const frame = new Uint8Array(Math.max(60, ETH_LEN + ipTotal));
  const view = new DataView(frame.buffer);
  frame.set(macBytes(spec.dstMac), 0);
  frame.set(macBytes(spec.srcMac), 6);
  view.setUint16(12, 0x0800);
  const ip = ETH_LEN;
  view.setUint8(ip, 0x45);
  view.setUint16(ip + 2, ipTotal);
  view.setUint16(ip + 6, 0x4000); // DF, no fragments
  view.setUint8(ip + 8, 64);
  view.setUint8(ip + 9, spec.proto === "udp" ? 17 : 6);
  view.setUint32(ip + 12, ipv4ToNumber(spec.src));
  view.setUint32(ip + 16, ipv4ToNumber(spec.dst));
  view.setUint16(ip + 10, internetChecksum(frame.subarray(ip, ip + IP_LEN)));
  const l4 = ip + IP_LEN;
  view.setUint16(l4, port(spec.sport, "source port"));
  view.setUint16(l4 + 2, port(spec.dport, "destination port"));
  if (spec.proto === "udp") {
    view.setUint16(l4 + 4, l4Len);
  } else {
    view.setUint32(l4 + 4, 1); // sequence number
    view.setUint8(l4 + 12, 5 << 4); // data offset: 5 words
    view.setUint8(l4 + 13, 0x02); // SYN
    view.setUint16(l4 + 14, 64240);
    const pseudo = frame.slice(ip + 12, ip + 20);
    const pseudoSum = sum16(pseudo) + 6 + l4Len;
    view.setUint16(l4 + 16, internetChecksum(frame.subarray(l4, l4 + l4Len), pseudoSum));
  }
  return frame;
}

function sum16(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  return sum;
}

/** The frame as lower-case hex, as the sender takes it. */
export function frameHex(frame: Uint8Array): string {
  return Buffer.from(frame).toString("hex");
}
