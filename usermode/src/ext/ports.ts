/** Port range matching shared by the tcp, udp and multiport matches (xt_tcpudp.c port_match). */
import { ja, jeq, jgt, jge, jle, jlt, jne, ldx, mov, sub, toBe, type Reg } from "../codegen/asm/index.ts";
import type { MatchEmitter } from "./types.ts";

/** An inclusive port range with its inversion flag, host order. */
export interface PortRange {
  readonly min: number;
  readonly max: number;
  readonly invert: boolean;
}

/** True when the range holds for every port (so it needs no code). */
export function rangeAlwaysHolds(r: PortRange): boolean {
  const all = r.min === 0 && r.max === 0xffff;
  const none = r.min > r.max;
  return r.invert ? none : all;
}

/** Loads the big-endian u16 at (hdr + off) into reg in host order. */
export function emitLoadPort(em: MatchEmitter, reg: Reg, hdr: Reg, off: number): void {
  em.emit(ldx("u16", reg, hdr, off), toBe(reg, 16));
}

/** Emits "(min <= v <= max) ^ invert, else goto noMatch" for a host-order u16 in reg (clobbers r4). */
export function emitPortRange(em: MatchEmitter, reg: Reg, r: PortRange): void {
  if (rangeAlwaysHolds(r)) return;
  const { min, max, invert } = r;
  if (min > max || (min === 0 && max === 0xffff)) {
    em.emit(ja(em.noMatch)); // never holds
    return;
  }
  if (min === max) {
    em.emit(invert ? jeq.imm32(reg, min, em.noMatch) : jne.imm32(reg, min, em.noMatch));
    return;
  }
  // One branch per range: the verifier keeps a pending state for every extra branch to noMatch.
  if (min === 0) {
    em.emit(invert ? jle.imm32(reg, max, em.noMatch) : jgt.imm32(reg, max, em.noMatch));
  } else if (max === 0xffff) {
    em.emit(invert ? jge.imm32(reg, min, em.noMatch) : jlt.imm32(reg, min, em.noMatch));
  } else {
    // min <= v <= max  <=>  (u32)(v - min) <= max - min
    em.emit(mov.reg32(RANGE_SCRATCH, reg), sub.imm32(RANGE_SCRATCH, min));
    const span = max - min;
    em.emit(invert ? jle.imm32(RANGE_SCRATCH, span, em.noMatch) : jgt.imm32(RANGE_SCRATCH, span, em.noMatch));
  }
}

/** Scratch register of the one-branch range test (r0-r3 carry header pointers and ports). */
const RANGE_SCRATCH: Reg = 4;

/** Text of a port range for describe(): "--dport 80", "! --sport 1:1023". */
export function describeRange(option: string, r: PortRange): string {
  const range = r.min === r.max ? `${r.min}` : `${r.min}:${r.max}`;
  return `${r.invert ? "! " : ""}--${option} ${range}`;
}

/** Source and destination ranges as xt_udp and xt_tcp both start: u16 spts[2], u16 dpts[2]. */
export interface PortPair {
  readonly sport: PortRange;
  readonly dport: PortRange;
}

/** Decodes spts/dpts at the start of the struct; invSrc/invDst are the invflags bits that invert them. */
export function decodePortPair(view: DataView, invflags: number, invSrc: number, invDst: number): PortPair {
  return {
    sport: { min: view.getUint16(0, true), max: view.getUint16(2, true), invert: (invflags & invSrc) !== 0 },
    dport: { min: view.getUint16(4, true), max: view.getUint16(6, true), invert: (invflags & invDst) !== 0 },
  };
}

/** Emits both range checks on a transport header in hdr (source port at 0, destination at 2); clobbers r2. */
export function emitPortPair(em: MatchEmitter, hdr: Reg, ports: PortPair): void {
  for (const [range, off] of [[ports.sport, 0], [ports.dport, 2]] as const) {
    if (rangeAlwaysHolds(range)) continue;
    emitLoadPort(em, 2, hdr, off);
    emitPortRange(em, 2, range);
  }
}
