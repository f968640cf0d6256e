/**
 * The filter table's hooks as programs: NF_INET hook number, the program's name (bpftool prog show)
 * and the devices the hook has (ipt_do_table's state->in, state->out; the others are NULL).
 * test/codegen/layout.test.ts checks the numbers against <linux/netfilter.h>.
 */

/** The built-in chains of the filter table that run as programs. */
export type FilterHook = "INPUT" | "FORWARD" | "OUTPUT";

/** What each hook is. */
export const FILTER_HOOKS: Readonly<Record<FilterHook, { readonly number: number; readonly program: string; readonly in: boolean; readonly out: boolean }>> = {
  INPUT: { number: 1, program: "bpfilter_input", in: true, out: false },
  FORWARD: { number: 2, program: "bpfilter_fwd", in: true, out: true },
  OUTPUT: { number: 3, program: "bpfilter_output", in: false, out: true },
};

/** NF_INET_LOCAL_IN, NF_INET_FORWARD, NF_INET_LOCAL_OUT by chain. */
export const NF_HOOK_NUMBER: Readonly<Record<FilterHook, number>> = {
  INPUT: FILTER_HOOKS.INPUT.number,
  FORWARD: FILTER_HOOKS.FORWARD.number,
  OUTPUT: FILTER_HOOKS.OUTPUT.number,
};

/** The filter table's hooks in NF_INET order. */
export const FILTER_HOOK_NAMES: readonly FilterHook[] = ["INPUT", "FORWARD", "OUTPUT"];

/** NF_IP_PRI_FILTER: the priority of the filter table at its hooks. */
export const NF_IP_PRI_FILTER = 0;

/**
 * The priorities the programs' links try, in order: next to the filter table's, nearest first. Not
 * NF_IP_PRI_FILTER itself: the kernel refuses a BPF hook at a priority that any hook of that netns
 * already has (EBUSY), and iptable_filter sits there wherever the native filter table is
 * registered. Between NAT's DNAT (-100) and security (50) nothing else runs, so each of these sees
 * the packets exactly as the filter table does.
 */
export const FILTER_LINK_PRIORITIES: readonly number[] = [-1, 1, -2, 2, -3, 3, -4, 4, -5, 5];
