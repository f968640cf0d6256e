/**
 * The state match, revision 0 (xt_state.c, struct xt_state_info): the packet's conntrack state is
 * one of a mask's. iptables 1.8.9 sends -m state as conntrack revision 3 (conntrack.ts); older
 * iptables, and tools that write the blob themselves, send this.
 */
import type { StateMatch } from "../ir/matches.ts";
import { defineMatch, expectXtSize } from "./types.ts";
import { ctinfoOf, IP_CT, requireCtKeys, stateBit, stateNames, tracked, type CtKey } from "./ct_state.ts";

/** sizeof(struct xt_state_info): unsigned int statemask. */
export const XT_STATE_SIZE = 4;

/** XT_STATE_INVALID and XT_STATE_UNTRACKED (1 << (IP_CT_NUMBER + 1)). */
export const XT_STATE = { INVALID: 1 << 0, UNTRACKED: 1 << (IP_CT.NUMBER + 1) } as const;

const NAMES = [[XT_STATE.INVALID, "INVALID"], [8, "NEW"], [4, "RELATED"], [2, "ESTABLISHED"], [XT_STATE.UNTRACKED, "UNTRACKED"]] as const;

/** state_mt's statebit for a packet's key. */
export function xtStateBit(key: CtKey): number {
  if (tracked(key)) return stateBit(ctinfoOf(key));
  return ctinfoOf(key) === IP_CT.UNTRACKED ? XT_STATE.UNTRACKED : XT_STATE.INVALID;
}

/** The state match. */
export const state = defineMatch<StateMatch>({
  name: "state",
  structSize: XT_STATE_SIZE,
  revisions: [0],
  proto: 0,
  conntrack: true,
  decode(data) {
    const view = expectXtSize("match 'state'", data, XT_STATE_SIZE);
    return { kind: "state", mask: view.getUint32(0, true) };
  },
  emit(em, m) {
    requireCtKeys(em, (key) => (m.mask & xtStateBit(key)) !== 0);
  },
  describe: (m) => `-m state --state ${stateNames(m.mask, NAMES)}`,
});
