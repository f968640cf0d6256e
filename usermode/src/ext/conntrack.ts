/**
 * The conntrack match, revisions 1-3 (xt_conntrack.c, struct xt_conntrack_mtinfo1/2/3), with
 * --ctstate (the SNAT and DNAT states too), --ctdir, --ctstatus, --ctproto and the address and
 * port options and --ctexpire (ct_tuple.ts). The ctinfo comes from skb->_nfct (ct_state.ts); the rest is read
 * from the entry (MatchEmitter.conntrackField) and folded into the key as bits above the ctinfo
 * class: CT_KEY_BIT.SNAT and DNAT are IPS_SRC_NAT and IPS_DST_NAT themselves, STATUS says whether
 * status & --ctstatus's mask is non-zero, TUPLE whether some tuple option or --ctexpire fails.
 * Every option is compiled. Its checkentry takes a conntrack reference on the netns and fails only
 * when conntrack cannot be loaded; the data is not checked otherwise.
 */
import type { ConntrackMatch } from "../ir/matches.ts";
import { and, lsh, neg, or, rsh } from "../codegen/asm/index.ts";
import { defineMatch, expectXtSize, type MatchEmitter } from "./types.ts";
import { CT_KEYS, ctinfoOf, IP_CT, isReply, loadCtKey, stateBit, stateNames, tracked, type CtKey } from "./ct_state.ts";
import { requireKeySet } from "./key_set.ts";
import { decodeTupleTests, describeTupleTests, emitTupleFails } from "./ct_tuple.ts";

/** sizeof(struct xt_conntrack_mtinfo1/2/3) by revision. */
export const XT_CONNTRACK_SIZES: Readonly<Record<number, number>> = { 1: 152, 2: 156, 3: 164 };
/** Offsets of match_flags, invert_flags and state_mask (the same in every revision). */
export const XT_CONNTRACK_OFFSETS = { MATCH_FLAGS: 146, INVERT_FLAGS: 148, STATE_MASK: 150 } as const;
/** Offset of status_mask: a u8 after revision 1's u8 state_mask, a u16 after the u16 one of 2 and 3. */
export const XT_CONNTRACK_STATUS_MASK: Readonly<Record<number, number>> = { 1: 151, 2: 152, 3: 152 };

/** enum ip_conntrack_status bits that --ctstatus names and that SNAT/DNAT test (nf_conntrack_common.h). */
export const IPS = { EXPECTED: 1 << 0, SEEN_REPLY: 1 << 1, ASSURED: 1 << 2, CONFIRMED: 1 << 3, SRC_NAT: 1 << 4, DST_NAT: 1 << 5 } as const;

/**
 * The key bits a conntrack match adds to ct_state.ts's 16 values: SNAT and DNAT where IPS_SRC_NAT
 * and IPS_DST_NAT lie in the status (the code masks them in), STATUS whether status & the
 * --ctstatus mask is non-zero, TUPLE whether some tuple option fails. All are 0 for a packet
 * without an entry.
 */
export const CT_KEY_BIT = { SNAT: IPS.SRC_NAT, DNAT: IPS.DST_NAT, STATUS: 1 << 6, TUPLE: 1 << 7 } as const;

/** enum XT_CONNTRACK_* match flags. */
export const XT_CONNTRACK = {
  STATE: 1 << 0,
  PROTO: 1 << 1,
  ORIGSRC: 1 << 2,
  ORIGDST: 1 << 3,
  REPLSRC: 1 << 4,
  REPLDST: 1 << 5,
  STATUS: 1 << 6,
  EXPIRES: 1 << 7,
  ORIGSRC_PORT: 1 << 8,
  ORIGDST_PORT: 1 << 9,
  REPLSRC_PORT: 1 << 10,
  REPLDST_PORT: 1 << 11,
  DIRECTION: 1 << 12,
  STATE_ALIAS: 1 << 13,
} as const;

/** XT_CONNTRACK_STATE_* bits that are not a ctinfo's. */
export const XT_CONNTRACK_STATE = {
  INVALID: 1 << 0,
  SNAT: 1 << (IP_CT.NUMBER + 1),
  DNAT: 1 << (IP_CT.NUMBER + 2),
  UNTRACKED: 1 << (IP_CT.NUMBER + 3),
} as const;


const NAMES = [
  [XT_CONNTRACK_STATE.INVALID, "INVALID"],
  [8, "NEW"],
  [4, "RELATED"],
  [2, "ESTABLISHED"],
  [XT_CONNTRACK_STATE.UNTRACKED, "UNTRACKED"],
  [XT_CONNTRACK_STATE.SNAT, "SNAT"],
  [XT_CONNTRACK_STATE.DNAT, "DNAT"],
] as const;

const STATUS_NAMES = [
  [IPS.EXPECTED, "EXPECTED"],
  [IPS.SEEN_REPLY, "SEEN_REPLY"],
  [IPS.ASSURED, "ASSURED"],
  [IPS.CONFIRMED, "CONFIRMED"],
] as const;

/** conntrack_mt's statebit for a packet's key (with its SNAT and DNAT key bits when it has an entry). */
export function ctStateBit(key: CtKey): number {
  if (!tracked(key)) return ctinfoOf(key) === IP_CT.UNTRACKED ? XT_CONNTRACK_STATE.UNTRACKED : XT_CONNTRACK_STATE.INVALID;
  let bit = stateBit(ctinfoOf(key));
  if ((key & CT_KEY_BIT.SNAT) !== 0) bit |= XT_CONNTRACK_STATE.SNAT;
  if ((key & CT_KEY_BIT.DNAT) !== 0) bit |= XT_CONNTRACK_STATE.DNAT;
  return bit;
}

/** conntrack_mt for a packet's key (CT_KEY_BIT's bits included), as far as the compiled options go. */
export function conntrackHolds(m: ConntrackMatch, key: CtKey): boolean {
  if (m.state !== undefined && ((m.state.mask & ctStateBit(key)) !== 0) === m.state.invert) return false;
  if (!tracked(key)) return m.state !== undefined;
  if (m.direction !== undefined && isReply(ctinfoOf(key)) !== (m.direction === "reply")) return false;
  if (m.status !== undefined && ((key & CT_KEY_BIT.STATUS) !== 0) === m.status.invert) return false;
  if (m.tuple !== undefined && (key & CT_KEY_BIT.TUPLE) !== 0) return false;
  return true;
}

/** Whether the match tests the SNAT or DNAT state (conntrack_mt reads them only with --ctstate). */
function readsNat(m: ConntrackMatch): boolean {
  return m.state !== undefined && (m.state.mask & (XT_CONNTRACK_STATE.SNAT | XT_CONNTRACK_STATE.DNAT)) !== 0;
}

/** Leaves the packet's key in r1: the ctinfo class, and the status bits the match reads. */
function loadKey(em: MatchEmitter, m: ConntrackMatch): void {
  loadCtKey(em);
  if (readsNat(m)) {
    em.conntrackField(2, "ct.status");
    em.emit(and.imm(2, CT_KEY_BIT.SNAT | CT_KEY_BIT.DNAT), or.reg(1, 2));
  }
  if (m.status !== undefined) {
    em.conntrackField(2, "ct.status");
    // STATUS = (status & mask) != 0: -x has its sign bit set for 0 < x < 2^63
    em.emit(and.imm(2, m.status.mask), neg(2), rsh.imm(2, 63), lsh.imm(2, 6), or.reg(1, 2));
  }
  if (m.tuple !== undefined) emitTupleFails(em, m.tuple, CT_KEY_BIT.TUPLE);
}

/** The conntrack match. */
export const conntrack = defineMatch<ConntrackMatch>({
  name: "conntrack",
  revisions: [1, 2, 3],
  structSize: XT_CONNTRACK_SIZES,
  proto: 0,
  conntrack: true,
  decode(data, revision) {
    const size = XT_CONNTRACK_SIZES[revision];
    if (size === undefined) throw new Error(`match 'conntrack': revision ${revision} is not 1, 2 or 3`);
    const view = expectXtSize(`match 'conntrack' revision ${revision}`, data, size);
    const flags = view.getUint16(XT_CONNTRACK_OFFSETS.MATCH_FLAGS, true);
    const invert = view.getUint16(XT_CONNTRACK_OFFSETS.INVERT_FLAGS, true);
    const mask = revision === 1 ? view.getUint8(XT_CONNTRACK_OFFSETS.STATE_MASK) : view.getUint16(XT_CONNTRACK_OFFSETS.STATE_MASK, true);
    const statusAt = XT_CONNTRACK_STATUS_MASK[revision]!;
    const statusMask = revision === 1 ? view.getUint8(statusAt) : view.getUint16(statusAt, true);
    const hasState = (flags & XT_CONNTRACK.STATE) !== 0;
    const tuple = decodeTupleTests(view, revision, flags, invert);
    return {
      kind: "conntrack",
      ...(hasState ? { state: { mask, invert: (invert & XT_CONNTRACK.STATE) !== 0 } } : {}),
      ...((flags & XT_CONNTRACK.DIRECTION) !== 0 ? { direction: (invert & XT_CONNTRACK.DIRECTION) !== 0 ? "reply" : "original" } : {}),
      ...((flags & XT_CONNTRACK.STATUS) !== 0 ? { status: { mask: statusMask, invert: (invert & XT_CONNTRACK.STATUS) !== 0 } } : {}),
      ...(tuple.length > 0 ? { tuple } : {}),
      alias: (flags & XT_CONNTRACK.STATE_ALIAS) !== 0,
    };
  },
  emit(em, m) {
    // 16 keys, times 4 with SNAT and DNAT, times 8 with STATUS (bit 6), times 16 with TUPLE (bit 7).
    const keys = m.tuple !== undefined ? 16 * CT_KEYS : m.status !== undefined ? 8 * CT_KEYS : readsNat(m) ? 4 * CT_KEYS : CT_KEYS;
    requireKeySet(em, keys, (key) => conntrackHolds(m, key), () => loadKey(em, m));
  },
  describe(m) {
    if (m.alias && m.state !== undefined && m.direction === undefined) {
      return `-m state ${m.state.invert ? "! " : ""}--state ${stateNames(m.state.mask, NAMES)}`;
    }
    const words = ["-m conntrack"];
    if (m.state !== undefined) words.push(`${m.state.invert ? "! " : ""}--ctstate ${stateNames(m.state.mask, NAMES)}`);
    if (m.tuple !== undefined) words.push(...describeTupleTests(m.tuple));
    if (m.status !== undefined) words.push(`${m.status.invert ? "! " : ""}--ctstatus ${m.status.mask === 0 ? "NONE" : stateNames(m.status.mask, STATUS_NAMES)}`);
    if (m.direction !== undefined) words.push(`--ctdir ${m.direction.toUpperCase()}`);
    return words.join(" ");
  },
});
