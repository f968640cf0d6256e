/**
 * The netfilter of the caller's netns, as the helper reaches it with its own iptables sockopts (in
 * kernel mode the kernel sends the helper's own calls straight to netfilter; in host mode the helper
 * is not preloaded). The service uses it to hand a table over in either direction and to see what
 * netfilter holds in a netns it meets for the first time. Every method throws an IptError carrying
 * netfilter's errno when netfilter refuses.
 */
import type { NetnsRef } from "../ipc/sockopt_call.ts";
import type { XtCounters } from "../ipt/counters.ts";
import type { TableInfo } from "../ipt/get_ctl.ts";

/** netfilter's ip_tables in one netns at a time. */
export interface Netfilter {
  /** IPT_SO_GET_INFO of `table`. */
  info(netns: NetnsRef, table: string): TableInfo;
  /** IPT_SO_GET_ENTRIES of `table`: its entry blob of `size` bytes, counters included. */
  entries(netns: NetnsRef, table: string, size: number): Uint8Array;
  /**
   * IPT_SO_SET_REPLACE with `request` (an ipt_replace; its num_counters is used as given, its
   * counters pointer is replaced by the port's own buffer). Returns the old counters.
   */
  replace(netns: NetnsRef, request: Uint8Array): XtCounters[];
  /** IPT_SO_SET_ADD_COUNTERS of `table`: adds `counters` (one per entry) to netfilter's. */
  addCounters(netns: NetnsRef, table: string, counters: readonly XtCounters[]): void;
}
