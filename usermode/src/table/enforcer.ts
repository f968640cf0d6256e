/**
 * The enforcing side of the helper, as the table layer sees it: something that makes a table's
 * rules take effect in a network namespace (the compiler and bpf/ layers), keeps its per-rule
 * counters, and may decline a table it cannot enforce faithfully.
 */
import type { Table } from "../ir/types.ts";
import type { XtCounters } from "../ipt/counters.ts";

/**
 * The network namespace of a request's socket: its cookie (the key of everything kept for it)
 * and a path that opens exactly that netns while the request is served (/proc/self/fd/N of the
 * descriptor the kernel handed out, or the host-mode peer's /proc/<pid>/fd/N; see
 * ipc/request_netns.ts). No path once the netns is gone (NETNS_GONE).
 */
export interface NetnsRef {
  readonly cookie: bigint;
  readonly path?: string;
}

/** The outcome of Enforcer.apply. */
export type Decision =
  /**
   * The table is enforced. `replacedCounters`, when given, are the old table's counters read
   * atomically with the swap (by old counterIndex); otherwise the caller read them just before.
   */
  | { readonly kind: "ok"; readonly replacedCounters?: readonly XtCounters[] }
  /** The table cannot be enforced faithfully; netfilter should enforce it. The old rules stay. */
  | { readonly kind: "declined"; readonly reason: string }
  /** Enforcing failed (e.g. the verifier refused); the old rules stay enforced. errno is positive. */
  | { readonly kind: "error"; readonly errno: number; readonly message: string };

/** Makes tables take effect in network namespaces. Every method is about one (netns, table name). */
export interface Enforcer {
  /** Enforces `table` in `netns` atomically in place of what was enforced, with counters at zero. */
  apply(netns: NetnsRef, table: Table): Decision;
  /** The counters of the enforced table, indexed by counterIndex (entryCount long). */
  counters(netns: NetnsRef, tableName: string): readonly XtCounters[];
  /** Adds to the counters of the enforced table (IPT_SO_SET_ADD_COUNTERS), by counterIndex. */
  addCounters(netns: NetnsRef, tableName: string, add: readonly XtCounters[]): void;
  /** Stops enforcing the table in `netns` (netfilter takes over, or the netns is gone). */
  release(netns: NetnsRef, tableName: string): void;
}
