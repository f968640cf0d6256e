/**
 * The enforcing side of the helper, as the table layer sees it: something that makes a table's
 * rules take effect in a network namespace (the compiler and bpf/ layers), keeps its per-rule
 * counters, and may decline a table it cannot enforce faithfully.
 */
import type { Deadline } from "../ir/deadline.ts";
import type { Table } from "../ir/types.ts";
import type { XtCounters } from "../ipt/counters.ts";
import type { NetnsRef } from "../ipc/sockopt_call.ts";

export type { NetnsRef };

/** A loaded program as `bpfilter dump` shows it: its instructions and which rule each block implements. */
export interface ProgramListing {
  /** Its name and id as bpftool shows them. */
  readonly name: string;
  readonly id: number;
  /** The iptables chains it runs. */
  readonly chains: readonly string[];
  /** Disassembly of what was loaded, one line per instruction. */
  readonly text: readonly string[];
  /** Where each rule's (and policy's) code starts in text, by counterIndex (codegen's ruleStarts). */
  readonly ruleStarts: readonly { readonly insn: number; readonly counterIndex: number }[];
}

/** The outcome of Enforcer.apply. */
export type Decision =
  /**
   * The table is enforced. `replacedCounters`, when given, are the old table's counters read
   * atomically with the swap (by old counterIndex); otherwise the caller read them just before.
   * `programs`, when given, describe what now runs (the service keeps them for bpfilter dump).
   */
  | { readonly kind: "ok"; readonly replacedCounters?: readonly XtCounters[]; readonly programs?: readonly ProgramListing[] }
  /** The table cannot be enforced faithfully; netfilter should enforce it. The old rules stay. */
  | { readonly kind: "declined"; readonly reason: string }
  /** Enforcing failed (e.g. the verifier refused); the old rules stay enforced. errno is positive. */
  | { readonly kind: "error"; readonly errno: number; readonly message: string };

/** Makes tables take effect in network namespaces. Every method is about one (netns, table name). */
export interface Enforcer {
  /**
   * Enforces `table` in `netns` atomically in place of what was enforced, with counters at zero.
   * With a deadline (the caller's wait, see codegen/deadline.ts), declines rather than end past it.
   * `staged`, when given, is told the generation the table will be enforced at, just before it is
   * (what a crash then leaves is settled by generation(): see table_store.ts).
   */
  apply(netns: NetnsRef, table: Table, deadline?: Deadline, staged?: (generation: number) => void): Decision;
  /**
   * The generation of the enforced table (it changes at every apply), or undefined when nothing is
   * enforced. A restarted helper asks it to learn which stored table the enforcing side enforces.
   */
  generation(cookie: bigint, tableName: string): number | undefined;
  /** The counters of the enforced table, indexed by counterIndex (entryCount long). */
  counters(netns: NetnsRef, tableName: string): readonly XtCounters[];
  /** Adds to the counters of the enforced table (IPT_SO_SET_ADD_COUNTERS), by counterIndex. */
  addCounters(netns: NetnsRef, tableName: string, add: readonly XtCounters[]): void;
  /**
   * Stops enforcing the table in `netns` (netfilter takes over, or the netns is gone). Returns its
   * final counters by counterIndex, read after its programs were detached so that no packet they
   * counted is lost; [] when nothing was enforced.
   */
  release(netns: NetnsRef, tableName: string): readonly XtCounters[];
}
