/** Code for struct ipt_ip (ip_tables.c ip_packet_match): addresses, interfaces, protocol, fragments. */
import { and, ja, jeq, jne, jset, ldx } from "./asm/index.ts";
import { IPT_F, IPT_INV, type IpHeaderMatch } from "../ir/types.ts";
import { IP_OFFSET_LE, IPH, REG } from "./layout.ts";
import { emitIfaceMatch, type IfindexSource } from "./iface.ts";
import type { ProgramBuilder } from "./builder.ts";

/** Where the hook finds the input and output device of a packet. */
export interface HookDevices {
  readonly in: IfindexSource;
  readonly out: IfindexSource;
}

/** A host-order IPv4 value as the little-endian u32 load of its network bytes yields it. */
export function networkU32(hostOrder: number): number {
  const x = hostOrder >>> 0;
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

function emitAddress(b: ProgramBuilder, off: number, addr: number, mask: number, invert: boolean, noMatch: string): void {
  // NF_INVF(invert, (saddr & mask) != addr): the rule goes on when (saddr & mask) == addr, XOR invert.
  if (mask >>> 0 === 0) {
    if ((addr >>> 0 !== 0) !== invert) b.emit(ja(noMatch));
    return;
  }
  b.emit(ldx("u32", 1, REG.iph, off));
  if (mask >>> 0 !== 0xffff_ffff) b.emit(and.imm32(1, networkU32(mask)));
  const want = networkU32(addr);
  b.emit(invert ? jeq.imm32(1, want, noMatch) : jne.imm32(1, want, noMatch));
}

function emitFragment(b: ProgramBuilder, ip: IpHeaderMatch, noMatch: string): void {
  // NF_INVF(INV_FRAG, (flags & F_FRAG) && !isfrag) must be false.
  const fragRule = (ip.flags & IPT_F.FRAG) !== 0;
  const invert = (ip.invflags & IPT_INV.FRAG) !== 0;
  if (!fragRule) {
    if (invert) b.emit(ja(noMatch));
    return;
  }
  b.emit(ldx("u16", 1, REG.iph, IPH.FRAG_OFF));
  if (invert) {
    b.emit(jset.imm(1, IP_OFFSET_LE, noMatch));
  } else {
    b.emit(and.imm32(1, IP_OFFSET_LE), jeq.imm32(1, 0, noMatch));
  }
}

/** Emits ip_packet_match for one rule: falls through when it holds, else jumps to noMatch. */
export function emitIpMatch(
  b: ProgramBuilder,
  ip: IpHeaderMatch,
  devices: HookDevices,
  ifindexByName: ReadonlyMap<string, number> | undefined,
  noMatch: string,
): void {
  emitAddress(b, IPH.SADDR, ip.src, ip.srcMask, (ip.invflags & IPT_INV.SRCIP) !== 0, noMatch);
  emitAddress(b, IPH.DADDR, ip.dst, ip.dstMask, (ip.invflags & IPT_INV.DSTIP) !== 0, noMatch);
  const inIface = { name: ip.inIface, mask: ip.inIfaceMask, invert: (ip.invflags & IPT_INV.VIA_IN) !== 0 };
  emitIfaceMatch(b, "-i", inIface, devices.in, ifindexByName, noMatch);
  const outIface = { name: ip.outIface, mask: ip.outIfaceMask, invert: (ip.invflags & IPT_INV.VIA_OUT) !== 0 };
  emitIfaceMatch(b, "-o", outIface, devices.out, ifindexByName, noMatch);
  if (ip.proto !== 0) {
    const invert = (ip.invflags & IPT_INV.PROTO) !== 0;
    b.emit(ldx("u8", 1, REG.iph, IPH.PROTOCOL));
    b.emit(invert ? jeq.imm32(1, ip.proto, noMatch) : jne.imm32(1, ip.proto, noMatch));
  }
  emitFragment(b, ip, noMatch);
}
