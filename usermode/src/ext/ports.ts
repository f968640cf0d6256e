/** Port range matching shared by the tcp, udp and multiport matches (xt_tcpudp.c port_match). */
import type { PortRange } from "../ir/matches.ts";
import type { MatchEmitter, RangeTest } from "./types.ts";

/** True when the range holds for every port (so it needs no code). */
export function rangeAlwaysHolds(r: PortRange): boolean {
  const all = r.min === 0 && r.max === 0xffff;
  const none = r.min > r.max;
  return r.invert ? none : all;
}

/** States "(min <= value in reg <= max) ^ invert" for a host-order u16 (port_match). */
export function requireRange(em: MatchEmitter, reg: RangeTest["reg"], r: PortRange): void {
  if (rangeAlwaysHolds(r)) return;
  if (r.min > r.max || (r.min === 0 && r.max === 0xffff)) {
    em.never(); // an empty range, or the inverted full range
    return;
  }
  em.requireAll([{ reg, min: r.min, max: r.max }], r.invert);
}

/** Text of a port range for describe(): "--dport 80", "! --sport 1:1023", "" for 0:65535 (as iptables-save). */
export function describeRange(option: string, r: PortRange): string {
  if (r.min === 0 && r.max === 0xffff && !r.invert) return "";
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

/** States both range tests on the ports of `proto`'s header; uses r1. */
export function requirePortPair(em: MatchEmitter, ports: PortPair, proto: "tcp" | "udp"): void {
  for (const [range, field] of [[ports.sport, `${proto}.sport`], [ports.dport, `${proto}.dport`]] as const) {
    if (rangeAlwaysHolds(range)) continue;
    em.load(1, field);
    requireRange(em, 1, range);
  }
}
