/** Code for struct ipt_ip (ip_tables.c ip_packet_match): addresses, interfaces, protocol, fragments. */
import { and, ldx } from "./asm/index.ts";
import { IPT_F, IPT_INV, type IpHeaderMatch } from "../ir/types.ts";
import { IPH } from "./layout.ts";
import { emitLoadFragmentOffset } from "./transport.ts";
import { emitIfaceMatch, type IfindexSource } from "./iface.ts";
import type { RuleEmitter } from "./emitter.ts";

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

function emitAddress(em: RuleEmitter, off: number, addr: number, mask: number, invert: boolean): void {
  // NF_INVF(invert, (saddr & mask) != addr): the rule goes on when (saddr & mask) == addr, XOR invert.
  if (mask >>> 0 === 0) {
    if ((addr >>> 0 !== 0) !== invert) em.never();
    return;
  }
  em.emit(ldx("u32", 1, em.ipHeader, off));
  if (mask >>> 0 !== 0xffff_ffff) em.emit(and.imm32(1, networkU32(mask)));
  const want = networkU32(addr);
  em.requireAll([{ reg: 1, min: want, max: want }], invert);
}

function emitFragment(em: RuleEmitter, ip: IpHeaderMatch): void {
  // NF_INVF(INV_FRAG, (flags & F_FRAG) && !isfrag) must be false.
  const fragRule = (ip.flags & IPT_F.FRAG) !== 0;
  const invert = (ip.invflags & IPT_INV.FRAG) !== 0;
  if (!fragRule) {
    if (invert) em.never();
    return;
  }
  emitLoadFragmentOffset(em, 1);
  em.requireAll([{ reg: 1, min: 0, max: 0 }], !invert); // -f: offset != 0; ! -f: offset == 0
}

/** Emits ip_packet_match for one rule. */
export function emitIpMatch(
  em: RuleEmitter,
  ip: IpHeaderMatch,
  devices: HookDevices,
  ifindexByName: ReadonlyMap<string, number> | undefined,
): void {
  emitAddress(em, IPH.SADDR, ip.src, ip.srcMask, (ip.invflags & IPT_INV.SRCIP) !== 0);
  emitAddress(em, IPH.DADDR, ip.dst, ip.dstMask, (ip.invflags & IPT_INV.DSTIP) !== 0);
  const inIface = { name: ip.inIface, mask: ip.inIfaceMask, invert: (ip.invflags & IPT_INV.VIA_IN) !== 0 };
  emitIfaceMatch(em, "-i", inIface, devices.in, ifindexByName);
  const outIface = { name: ip.outIface, mask: ip.outIfaceMask, invert: (ip.invflags & IPT_INV.VIA_OUT) !== 0 };
  emitIfaceMatch(em, "-o", outIface, devices.out, ifindexByName);
  if (ip.proto !== 0) {
    em.emit(ldx("u8", 1, em.ipHeader, IPH.PROTOCOL));
    em.requireAll([{ reg: 1, min: ip.proto, max: ip.proto }], (ip.invflags & IPT_INV.PROTO) !== 0);
  }
  emitFragment(em, ip);
}
