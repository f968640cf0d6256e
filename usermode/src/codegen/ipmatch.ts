/** Code for struct ipt_ip (ip_tables.c ip_packet_match): addresses, interfaces, protocol, fragments. */
import { and } from "./asm/index.ts";
import { IPT_F, IPT_INV, type IpHeaderMatch } from "../ir/types.ts";
import { emitLoadFragmentOffset } from "./transport.ts";
import { DEVICE, emitIfaceMatch } from "./iface.ts";
import type { FilterHook, Flavor } from "./flavor.ts";
import type { RuleEmitter } from "./emitter.ts";

function emitAddress(em: RuleEmitter, field: "ip.saddr" | "ip.daddr", addr: number, mask: number, invert: boolean): void {
  // NF_INVF(invert, (saddr & mask) != addr): the rule goes on when (saddr & mask) == addr, XOR invert.
  if (mask >>> 0 === 0) {
    if ((addr >>> 0 !== 0) !== invert) em.never();
    return;
  }
  em.load(1, field);
  if (mask >>> 0 !== 0xffff_ffff) em.emit(and.imm32(1, mask >>> 0));
  const want = (addr & mask) >>> 0;
  if (want !== addr >>> 0) {
    // ipt_ip's addr has bits outside its mask: (saddr & mask) never equals it.
    if (!invert) em.never();
    return;
  }
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

/** Emits ip_packet_match for one rule of a chain run at `hook`. */
export function emitIpMatch(em: RuleEmitter, ip: IpHeaderMatch, flavor: Flavor, hook: FilterHook): void {
  emitAddress(em, "ip.saddr", ip.src, ip.srcMask, (ip.invflags & IPT_INV.SRCIP) !== 0);
  emitAddress(em, "ip.daddr", ip.dst, ip.dstMask, (ip.invflags & IPT_INV.DSTIP) !== 0);
  const inIface = { name: ip.inIface, mask: ip.inIfaceMask, invert: (ip.invflags & IPT_INV.VIA_IN) !== 0 };
  emitIfaceMatch(em, inIface, flavor.device(hook, "in", DEVICE));
  const outIface = { name: ip.outIface, mask: ip.outIfaceMask, invert: (ip.invflags & IPT_INV.VIA_OUT) !== 0 };
  emitIfaceMatch(em, outIface, flavor.device(hook, "out", DEVICE));
  if (ip.proto !== 0) {
    em.load(1, "ip.protocol");
    em.requireAll([{ reg: 1, min: ip.proto, max: ip.proto }], (ip.invflags & IPT_INV.PROTO) !== 0);
  }
  emitFragment(em, ip);
}
