/**
 * The packet's conntrack state as nf_ct_get reads it from skb->_nfct, shared by the conntrack and
 * state matches. The low 3 bits are the ctinfo (NFCT_INFOMASK), the rest the entry's address:
 * 0 with ctinfo IP_CT_UNTRACKED (7) is an untracked packet, 0 otherwise one without an entry
 * (INVALID, or a netns whose conntrack is off).
 *
 * The code folds _nfct into a key of 16 values: the ctinfo (0-7), plus 8 when there is no entry.
 * A match is then the set of keys for which the kernel's function returns true, computed here for
 * all 16 from the kernel's own bit mapping, and tested as ranges of the key: exact by construction,
 * whatever the mask and the inversions.
 */
import { and, lsh, mov, neg, or, rsh, xor } from "../codegen/asm/index.ts";
import type { MatchEmitter } from "./types.ts";
import { requireKeySet } from "./key_set.ts";
import { NFCT_INFOMASK } from "../codegen/layout.ts";

/** enum ip_conntrack_info and its bounds (nf_conntrack_common.h). */
export const IP_CT = { ESTABLISHED: 0, RELATED: 1, NEW: 2, IS_REPLY: 3, NUMBER: 5, UNTRACKED: 7 } as const;
export { NFCT_INFOMASK };

/** A packet's conntrack key (see the file comment): 0-15. */
export type CtKey = number;
export const CT_KEYS = 16;

/** The ctinfo of a key. */
export function ctinfoOf(key: CtKey): number {
  return key & NFCT_INFOMASK;
}

/** Whether the packet of a key has a conntrack entry (nf_ct_get returns non-NULL); bits above 8 (a match's own, conntrack.ts) do not count. */
export function tracked(key: CtKey): boolean {
  return (key & 8) === 0;
}

/** The state bit of a tracked ctinfo: XT_STATE_BIT and XT_CONNTRACK_STATE_BIT, 1 << (ctinfo % IP_CT_IS_REPLY + 1). */
export function stateBit(ctinfo: number): number {
  return 1 << ((ctinfo % IP_CT.IS_REPLY) + 1);
}

/** CTINFO2DIR: a ctinfo from IP_CT_IS_REPLY on is the reply direction. */
export function isReply(ctinfo: number): boolean {
  return ctinfo >= IP_CT.IS_REPLY;
}

/** Leaves the packet's key in r1 (clobbers r2). */
export function loadCtKey(em: MatchEmitter): void {
  em.kernelField(1, "skb.nfct");
  em.emit(
    mov.reg(2, 1),
    and.imm(2, NFCT_INFOMASK), // r2 = ctinfo
    rsh.imm(1, 3), // r1 = the entry's address >> 3: below 2^61
    neg(1),
    rsh.imm(1, 63), // r1 = 1 when there is an entry: -x has its sign bit set for 0 < x < 2^63
    xor.imm(1, 1),
    lsh.imm(1, 3), // 8 without an entry
    or.reg(1, 2),
  );
}

/** Emits "the packet's key is one for which `holds` is true" (nothing when every key holds). */
export function requireCtKeys(em: MatchEmitter, holds: (key: CtKey) => boolean): void {
  requireKeySet(em, CT_KEYS, holds, () => loadCtKey(em));
}

/** Names of state bits, in iptables' order. */
export function stateNames(mask: number, names: readonly (readonly [number, string])[]): string {
  const words = names.filter(([bit]) => (mask & bit) !== 0).map(([, name]) => name);
  return words.length === 0 ? "none" : words.join(",");
}
