/** Code for struct ipt_ip (ip_tables.c ip_packet_match): addresses, interfaces, protocol, fragments. */
import { and, ja, jeq, jne, jset, ldx, or, xor } from "./asm/index.ts";
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

/** A value loaded from the IP header that must equal `want` after masking: one term of the fused test. */
interface EqualityTerm {
  readonly size: "u8" | "u32";
  readonly off: number;
  readonly mask: number; // 0xffffffff: none
  readonly want: number;
}

/**
 * Emits the non-inverted equality tests as one branch: OR of (field & mask) ^ want, nonzero → noMatch.
 * Each branch to noMatch costs the verifier a pending state for the rest of the program.
 */
function emitEqualities(b: ProgramBuilder, terms: readonly EqualityTerm[], noMatch: string): void {
  if (terms.length === 0) return;
  terms.forEach((t, i) => {
    const reg = i === 0 ? 1 : 2;
    b.emit(ldx(t.size, reg, REG.iph, t.off));
    if (t.mask >>> 0 !== 0xffff_ffff) b.emit(and.imm32(reg, t.mask));
    if (terms.length === 1) return;
    b.emit(xor.imm32(reg, t.want));
    if (i > 0) b.emit(or.reg32(1, 2));
  });
  b.emit(terms.length === 1 ? jne.imm32(1, terms[0]!.want, noMatch) : jne.imm32(1, 0, noMatch));
}

/** NF_INVF(invert, (field & mask) != addr) for one address: an equality term, a jump, or nothing. */
function addressTest(b: ProgramBuilder, off: number, addr: number, mask: number, invert: boolean, noMatch: string): EqualityTerm | undefined {
  if (mask >>> 0 === 0) {
    if ((addr >>> 0 !== 0) !== invert) b.emit(ja(noMatch));
    return undefined;
  }
  const term = { size: "u32", off, mask: networkU32(mask), want: networkU32(addr) } as const;
  if (!invert) return term;
  b.emit(ldx("u32", 1, REG.iph, off));
  if (mask >>> 0 !== 0xffff_ffff) b.emit(and.imm32(1, term.mask));
  b.emit(jeq.imm32(1, term.want, noMatch));
  return undefined;
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
  const terms: EqualityTerm[] = [];
  const src = addressTest(b, IPH.SADDR, ip.src, ip.srcMask, (ip.invflags & IPT_INV.SRCIP) !== 0, noMatch);
  const dst = addressTest(b, IPH.DADDR, ip.dst, ip.dstMask, (ip.invflags & IPT_INV.DSTIP) !== 0, noMatch);
  if (src !== undefined) terms.push(src);
  if (dst !== undefined) terms.push(dst);
  const inIface = { name: ip.inIface, mask: ip.inIfaceMask, invert: (ip.invflags & IPT_INV.VIA_IN) !== 0 };
  emitIfaceMatch(b, "-i", inIface, devices.in, ifindexByName, noMatch);
  const outIface = { name: ip.outIface, mask: ip.outIfaceMask, invert: (ip.invflags & IPT_INV.VIA_OUT) !== 0 };
  emitIfaceMatch(b, "-o", outIface, devices.out, ifindexByName, noMatch);
  if (ip.proto !== 0) {
    if ((ip.invflags & IPT_INV.PROTO) === 0) {
      terms.push({ size: "u8", off: IPH.PROTOCOL, mask: 0xffff_ffff, want: ip.proto });
    } else {
      b.emit(ldx("u8", 1, REG.iph, IPH.PROTOCOL), jeq.imm32(1, ip.proto, noMatch));
    }
  }
  emitEqualities(b, terms, noMatch);
  emitFragment(b, ip, noMatch);
}
