/**
 * The conntrack match, revisions 1-3 (xt_conntrack.c, struct xt_conntrack_mtinfo1/2/3), with
 * --ctstate and --ctdir: what conntrack_mt decides from the ctinfo alone. Options that read the
 * entry itself (--ctproto, --ctorigsrc and the other tuple options, --ctstatus, --ctexpire, and the
 * SNAT and DNAT states, which test its status bits) are not compiled: netfilter enforces the table.
 * Its checkentry takes a conntrack reference on the netns and fails only when conntrack cannot be
 * loaded; the data is not checked otherwise.
 */
import type { ConntrackMatch } from "../ir/matches.ts";
import { defineMatch, expectXtSize, UnsupportedFeature } from "./types.ts";
import { ctinfoOf, IP_CT, isReply, requireCtKeys, stateBit, stateNames, tracked, type CtKey } from "./ct_state.ts";

/** sizeof(struct xt_conntrack_mtinfo1/2/3) by revision. */
export const XT_CONNTRACK_SIZES: Readonly<Record<number, number>> = { 1: 152, 2: 156, 3: 164 };
/** Offsets of match_flags, invert_flags and state_mask (the same in every revision). */
export const XT_CONNTRACK_OFFSETS = { MATCH_FLAGS: 146, INVERT_FLAGS: 148, STATE_MASK: 150 } as const;

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

const UNSUPPORTED: readonly (readonly [number, string])[] = [
  [XT_CONNTRACK.PROTO, "--ctproto"],
  [XT_CONNTRACK.ORIGSRC, "--ctorigsrc"],
  [XT_CONNTRACK.ORIGDST, "--ctorigdst"],
  [XT_CONNTRACK.REPLSRC, "--ctreplsrc"],
  [XT_CONNTRACK.REPLDST, "--ctrepldst"],
  [XT_CONNTRACK.STATUS, "--ctstatus"],
  [XT_CONNTRACK.EXPIRES, "--ctexpire"],
  [XT_CONNTRACK.ORIGSRC_PORT, "--ctorigsrcport"],
  [XT_CONNTRACK.ORIGDST_PORT, "--ctorigdstport"],
  [XT_CONNTRACK.REPLSRC_PORT, "--ctreplsrcport"],
  [XT_CONNTRACK.REPLDST_PORT, "--ctrepldstport"],
];

const NAMES = [
  [XT_CONNTRACK_STATE.INVALID, "INVALID"],
  [8, "NEW"],
  [4, "RELATED"],
  [2, "ESTABLISHED"],
  [XT_CONNTRACK_STATE.UNTRACKED, "UNTRACKED"],
  [XT_CONNTRACK_STATE.SNAT, "SNAT"],
  [XT_CONNTRACK_STATE.DNAT, "DNAT"],
] as const;

/** conntrack_mt's statebit for a packet's key, before the SNAT/DNAT bits (which are not compiled). */
export function ctStateBit(key: CtKey): number {
  if (tracked(key)) return stateBit(ctinfoOf(key));
  return ctinfoOf(key) === IP_CT.UNTRACKED ? XT_CONNTRACK_STATE.UNTRACKED : XT_CONNTRACK_STATE.INVALID;
}

/** conntrack_mt for a packet's key, as far as the compiled options go. */
export function conntrackHolds(m: ConntrackMatch, key: CtKey): boolean {
  if (m.state !== undefined && ((m.state.mask & ctStateBit(key)) !== 0) === m.state.invert) return false;
  if (!tracked(key)) return m.state !== undefined;
  if (m.direction !== undefined && isReply(ctinfoOf(key)) !== (m.direction === "reply")) return false;
  return true;
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
    const options = UNSUPPORTED.filter(([bit]) => (flags & bit) !== 0).map(([, option]) => option);
    if (options.length > 0) throw new UnsupportedFeature(`match 'conntrack' ${options.join(" ")} reads the conntrack entry, which is not compiled`);
    const mask = revision === 1 ? view.getUint8(XT_CONNTRACK_OFFSETS.STATE_MASK) : view.getUint16(XT_CONNTRACK_OFFSETS.STATE_MASK, true);
    const hasState = (flags & XT_CONNTRACK.STATE) !== 0;
    if (hasState && (mask & (XT_CONNTRACK_STATE.SNAT | XT_CONNTRACK_STATE.DNAT)) !== 0) {
      throw new UnsupportedFeature("match 'conntrack' --ctstate SNAT/DNAT reads the entry's status bits, which is not compiled");
    }
    return {
      kind: "conntrack",
      ...(hasState ? { state: { mask, invert: (invert & XT_CONNTRACK.STATE) !== 0 } } : {}),
      ...((flags & XT_CONNTRACK.DIRECTION) !== 0 ? { direction: (invert & XT_CONNTRACK.DIRECTION) !== 0 ? "reply" : "original" } : {}),
      alias: (flags & XT_CONNTRACK.STATE_ALIAS) !== 0,
    };
  },
  emit(em, m) {
    requireCtKeys(em, (key) => conntrackHolds(m, key));
  },
  describe(m) {
    if (m.alias && m.state !== undefined && m.direction === undefined) {
      return `-m state ${m.state.invert ? "! " : ""}--state ${stateNames(m.state.mask, NAMES)}`;
    }
    const words = ["-m conntrack"];
    if (m.state !== undefined) words.push(`${m.state.invert ? "! " : ""}--ctstate ${stateNames(m.state.mask, NAMES)}`);
    if (m.direction !== undefined) words.push(`--ctdir ${m.direction.toUpperCase()}`);
    return words.join(" ");
  },
});
