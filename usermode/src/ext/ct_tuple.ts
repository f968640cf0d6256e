/**
 * The conntrack match's options that test the entry's tuples and timeout: --ctorigsrc, --ctorigdst,
 * --ctreplsrc, --ctrepldst (conntrack_addrcmp), --ctproto and the four port options
 * (ct_proto_port_check, and ct_proto_port_check_v3's ranges for revision 3), --ctexpire. Decoded from the
 * prefix that struct xt_conntrack_mtinfo1/2/3 share, and emitted as one key bit (conntrack.ts
 * CT_KEY_BIT.TUPLE) that is 1 when some of them fails.
 */
import { add, and, lsh, mov, neg, or, rsh, sub, toBe, xor, type Insn } from "../codegen/asm/index.ts";
import type { ConntrackTupleTest } from "../ir/matches.ts";
import type { MatchEmitter } from "./types.ts";

/** Offsets in struct xt_conntrack_mtinfo1/2/3 of the tuple options' data. */
export const XT_CONNTRACK_TUPLE_OFFSETS = {
  ORIGSRC_ADDR: 0, ORIGSRC_MASK: 16, ORIGDST_ADDR: 32, ORIGDST_MASK: 48,
  REPLSRC_ADDR: 64, REPLSRC_MASK: 80, REPLDST_ADDR: 96, REPLDST_MASK: 112,
  EXPIRES_MIN: 128, EXPIRES_MAX: 132, L4PROTO: 136, ORIGSRC_PORT: 138, ORIGDST_PORT: 140, REPLSRC_PORT: 142, REPLDST_PORT: 144,
  /** Revision 3 only: the ranges' upper ends. */
  ORIGSRC_PORT_HIGH: 154, ORIGDST_PORT_HIGH: 156, REPLSRC_PORT_HIGH: 158, REPLDST_PORT_HIGH: 160,
} as const;

const O = XT_CONNTRACK_TUPLE_OFFSETS;

/** The XT_CONNTRACK_* flag bits of the tuple options (conntrack.ts XT_CONNTRACK). */
const FLAG = { EXPIRES: 1 << 7, PROTO: 1 << 1, ORIGSRC: 1 << 2, ORIGDST: 1 << 3, REPLSRC: 1 << 4, REPLDST: 1 << 5, ORIGSRC_PORT: 1 << 8, ORIGDST_PORT: 1 << 9, REPLSRC_PORT: 1 << 10, REPLDST_PORT: 1 << 11 } as const;

/** Every tuple option's flag bit. */
export const TUPLE_FLAGS = Object.values(FLAG).reduce((all, bit) => all | bit, 0);

const ADDRESSES = [
  [FLAG.ORIGSRC, "--ctorigsrc", "ct.orig.src", O.ORIGSRC_ADDR, O.ORIGSRC_MASK],
  [FLAG.ORIGDST, "--ctorigdst", "ct.orig.dst", O.ORIGDST_ADDR, O.ORIGDST_MASK],
  [FLAG.REPLSRC, "--ctreplsrc", "ct.reply.src", O.REPLSRC_ADDR, O.REPLSRC_MASK],
  [FLAG.REPLDST, "--ctrepldst", "ct.reply.dst", O.REPLDST_ADDR, O.REPLDST_MASK],
] as const;

const PORTS = [
  [FLAG.ORIGSRC_PORT, "--ctorigsrcport", "ct.orig.sport", O.ORIGSRC_PORT, O.ORIGSRC_PORT_HIGH],
  [FLAG.ORIGDST_PORT, "--ctorigdstport", "ct.orig.dport", O.ORIGDST_PORT, O.ORIGDST_PORT_HIGH],
  [FLAG.REPLSRC_PORT, "--ctreplsrcport", "ct.reply.sport", O.REPLSRC_PORT, O.REPLSRC_PORT_HIGH],
  [FLAG.REPLDST_PORT, "--ctrepldstport", "ct.reply.dport", O.REPLDST_PORT, O.REPLDST_PORT_HIGH],
] as const;

/** The tuple tests of a conntrack match's data (flags and inversions as match_flags/invert_flags hold them). */
export function decodeTupleTests(view: DataView, revision: number, flags: number, invert: number): ConntrackTupleTest[] {
  const tests: ConntrackTupleTest[] = [];
  for (const [bit, option, field, addrAt, maskAt] of ADDRESSES) {
    if ((flags & bit) === 0) continue;
    tests.push({ kind: "address", option, field, addr: view.getUint32(addrAt, true), mask: view.getUint32(maskAt, true), invert: (invert & bit) !== 0 });
  }
  if ((flags & FLAG.PROTO) !== 0) tests.push({ kind: "proto", proto: view.getUint16(O.L4PROTO, true), invert: (invert & FLAG.PROTO) !== 0 });
  for (const [bit, option, field, lowAt, highAt] of PORTS) {
    if ((flags & bit) === 0) continue;
    const low = view.getUint16(lowAt, true);
    const range = revision === 3 ? { order: "host" as const, min: low, max: view.getUint16(highAt, true) } : { order: "network" as const, min: low, max: low };
    tests.push({ kind: "port", option, field, ...range, invert: (invert & bit) !== 0 });
  }
  if ((flags & FLAG.EXPIRES) !== 0) {
    tests.push({ kind: "expires", min: view.getUint32(O.EXPIRES_MIN, true), max: view.getUint32(O.EXPIRES_MAX, true), invert: (invert & FLAG.EXPIRES) !== 0 });
  }
  return tests;
}

/** r2 = 1 when the test fails, from the field's value in r2 (ALU on r2 only). */
function failBit(test: ConntrackTupleTest): Insn[] {
  const inverted = test.invert ? [xor.imm(2, 1)] : [];
  const differs = [neg(2), rsh.imm(2, 63)]; // r2 != 0, for r2 below 2^63
  switch (test.kind) {
    case "address":
      return [xor.imm32(2, test.addr), and.imm32(2, test.mask), ...differs, ...inverted];
    case "proto":
      return [xor.imm32(2, test.proto), ...differs, ...inverted];
    case "expires": {
      if (test.min > test.max) return [mov.imm(2, test.invert ? 0 : 1)]; // never in the range
      // (u32)(e - min) - (max - min + 1) is negative exactly when e is in the range (both below 2^32)
      const bound = test.max - test.min + 1;
      const steps = bound > 0x7fff_ffff ? [add.imm(2, -0x8000_0000), add.imm(2, -(bound - 0x8000_0000))] : [add.imm(2, -bound)];
      return [sub.imm32(2, test.min), ...steps, rsh.imm(2, 63), xor.imm(2, test.invert ? 0 : 1)];
    }
    case "port": {
      const port = test.order === "host" ? [toBe(2, 16)] : [];
      if (test.min === test.max) return [...port, xor.imm32(2, test.min), ...differs, ...inverted];
      // (u32)(port - min) > max - min: max - min - (u32)(port - min) is negative (both below 2^32)
      return [...port, sub.imm32(2, test.min), neg(2), add.imm(2, test.max - test.min), rsh.imm(2, 63), ...inverted];
    }
  }
}

/** ORs into r1, at `bit`, whether some test fails (each reads its field from the entry). */
export function emitTupleFails(em: MatchEmitter, tests: readonly ConntrackTupleTest[], bit: number): void {
  const shift = Math.log2(bit);
  for (const test of tests) {
    em.conntrackField(2, test.kind === "proto" ? "ct.proto" : test.kind === "expires" ? "ct.expires" : test.field);
    em.emit(...failBit(test), lsh.imm(2, shift), or.reg(1, 2));
  }
}

function dotted(le: number): string {
  return [0, 8, 16, 24].map((shift) => (le >>> shift) & 0xff).join(".");
}

/** iptables-save words of the tests. */
export function describeTupleTests(tests: readonly ConntrackTupleTest[]): string[] {
  return tests.map((test) => {
    const not = test.invert ? "! " : "";
    if (test.kind === "address") return `${not}${test.option} ${dotted(test.addr)}/${dotted(test.mask)}`;
    if (test.kind === "proto") return `${not}--ctproto ${test.proto}`;
    if (test.kind === "expires") return `${not}--ctexpire ${test.min === test.max ? test.min : `${test.min}:${test.max}`}`;
    const low = test.order === "network" ? ((test.min & 0xff) << 8) | (test.min >> 8) : test.min;
    return `${not}${test.option} ${test.min === test.max || test.order === "network" ? low : `${test.min}:${test.max}`}`;
  });
}
