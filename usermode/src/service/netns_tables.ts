/**
 * Who holds the filter table of each network namespace (keyed by netns cookie): bpfilter (the
 * translated table and, while nothing is enforced yet, its counters) or netfilter (since a replace
 * the helper does not compile, with the reason). Ownership moves in both directions at any replace
 * (service/handover.ts); it is kept in a TableStore so that a restarted helper describes the same
 * tables.
 */
import { decodeCounters, type XtCounters } from "../ipt/counters.ts";
import { initialFilterTable } from "../ipt/initial_table.ts";
import { IPT_ENTRY, IPT_REPLACE, XT_COUNTERS } from "../ipt/abi.ts";
import { decodeReplaceHeader, type TranslatedTable, translateTable } from "../ipt/translate.ts";
import type { NetnsRef } from "../ipc/sockopt_call.ts";
import type { Table } from "../ir/types.ts";
import type { ProgramListing } from "./enforcer.ts";
import type { StatusStore } from "./status_store.ts";
import { settleStored, type StoredTable, type TableStore } from "./table_store.ts";

/** The filter table of one netns while bpfilter serves it. */
export interface ServedTable {
  readonly owner: "bpfilter";
  /** The current table, as GET_INFO/GET_ENTRIES describe it. */
  readonly table: TranslatedTable;
  /** Whether the Enforcer holds it; if not, it is the initial table and `counters` are its counters. */
  readonly enforced: boolean;
  /** The counters while nothing is enforced (ADD_COUNTERS adds to them). */
  counters: XtCounters[];
}

/** The filter table of a netns that netfilter holds: requests for it are declined, replaces inspected. */
export interface NetfilterTable {
  readonly owner: "netfilter";
  /** Why netfilter holds it ("rule 3 in chain INPUT: match 'conntrack' revision 3 is not supported"). */
  readonly reason: string;
}

/** The state of the filter table of one netns. */
export type FilterTableState = ServedTable | NetfilterTable;

/** The bytes of an ipt_replace request that its table spans (the caller's optval may be longer). */
function requestBytes(table: TranslatedTable, replace: Uint8Array): Uint8Array {
  return replace.slice(0, IPT_REPLACE.SIZE + table.size);
}

const INITIAL = initialFilterTable();

/**
 * The filter tables of every netns the helper has seen, kept in a TableStore when one is given;
 * every change of owner is also written to the StatusStore (bpfilter status).
 */
export class NetnsTables {
  private readonly filter = new Map<bigint, FilterTableState>();
  /** The record last written for each netns (a staged replace is written on top of it). */
  private readonly saved = new Map<bigint, StoredTable>();
  /**
   * Tables loaded from the store that bpfilter serves, not yet checked against netfilter's own
   * table (handover.ts finishHandover); true for one taken from netfilter by an unfinished replace.
   */
  private readonly unchecked = new Map<bigint, boolean>();

  /**
   * Loads the tables of `store` (a restarted helper): their rules are still enforced. A record
   * written while a replace was being swapped in is settled by the generation `generationOf` says
   * is enforced in that netns (Enforcer.generation), and written again.
   */
  constructor(
    private readonly store?: TableStore,
    log: (line: string) => void = () => {},
    private readonly status?: StatusStore,
    generationOf: (cookie: bigint) => number | undefined = () => undefined,
  ) {
    for (const [cookie, record] of store?.load() ?? []) {
      const stored = record.staged !== undefined ? this.settle(cookie, record, generationOf(cookie), log) : record;
      if (stored === undefined || stored.owner === "none") continue;
      this.saved.set(cookie, stored);
      if (stored.owner === "netfilter") {
        this.filter.set(cookie, stored);
        continue;
      }
      try {
        const table = translateTable(decodeReplaceHeader(stored.replace, stored.replace.length), stored.replace);
        this.filter.set(cookie, { owner: "bpfilter", table, enforced: true, counters: [] });
        this.unchecked.set(cookie, stored.takeover === true);
      } catch (err) {
        log(`netns ${cookie}: stored filter table is not valid, ignored: ${(err as Error).message}`);
      }
    }
  }

  /** Settles a record with a staged replace (table_store.ts settleStored) and writes what it says. */
  private settle(cookie: bigint, record: StoredTable, generation: number | undefined, log: (line: string) => void): StoredTable | undefined {
    const settled = settleStored(record, generation);
    const took = settled !== undefined && settled.owner === "bpfilter" && settled.replace === record.staged?.replace;
    log(`netns ${cookie}: table filter: a replace did not finish; ${took ? `it was swapped in (generation ${generation}): it is the table` : "it was not swapped in: the table before it stays"}`);
    if (settled === undefined) this.store?.remove(cookie);
    else this.store?.save(cookie, settled);
    return settled;
  }

  /**
   * For a table loaded from the store and not checked since: whether a replace taking it from
   * netfilter was swapped in by a helper that died before it gave netfilter the initial table.
   * Undefined once checked (checked()), and for every table this helper set itself.
   */
  uncheckedTakeover(cookie: bigint): boolean | undefined {
    return this.unchecked.get(cookie);
  }

  /** The table of a netns agrees with netfilter's own (handover.ts finishHandover); written without the takeover mark. */
  checked(cookie: bigint): void {
    if (!this.unchecked.delete(cookie)) return;
    const saved = this.saved.get(cookie);
    if (saved?.owner === "bpfilter" && saved.takeover === true) this.save(cookie, { owner: "bpfilter", replace: saved.replace });
  }

  /** The filter table of a netns, or undefined for a netns not seen yet. */
  get(cookie: bigint): FilterTableState | undefined {
    return this.filter.get(cookie);
  }

  /** Every netns and its state (for status). */
  entries(): IterableIterator<[bigint, FilterTableState]> {
    return this.filter.entries();
  }

  /** A netns seen for the first time whose netfilter holds the initial table: bpfilter serves it, unenforced. */
  serveInitial(netns: NetnsRef, counters: readonly XtCounters[]): ServedTable {
    const state: ServedTable = {
      owner: "bpfilter",
      table: INITIAL,
      enforced: false,
      counters: INITIAL.entries.map((_, i) => counters[i] ?? { packets: 0n, bytes: 0n }),
    };
    this.filter.set(netns.cookie, state);
    this.status?.update(netns, { owner: "bpfilter", rules: 0, enforced: false });
    return state;
  }

  /**
   * Records a table the Enforcer now enforces: `replace` is the ipt_replace request it came from,
   * `ir` its resolved IR, `programs` what the Enforcer loaded (when it says).
   */
  enforced(netns: NetnsRef, table: TranslatedTable, replace: Uint8Array, ir: Table, programs?: readonly ProgramListing[]): void {
    this.unchecked.delete(netns.cookie);
    this.filter.set(netns.cookie, { owner: "bpfilter", table, enforced: true, counters: [] });
    this.save(netns.cookie, { owner: "bpfilter", replace: requestBytes(table, replace) });
    const ruleIndexes = new Set(ir.chains.flatMap((c) => c.rules.map((r) => r.counterIndex)));
    const compiled = programs && new Set(programs.flatMap((p) => p.ruleStarts.map((s) => s.counterIndex)).filter((i) => ruleIndexes.has(i))).size;
    this.status?.update(netns, { owner: "bpfilter", rules: ruleIndexes.size, compiled, enforced: true, programs });
  }

  /**
   * Records, before the swap, that `replace` (of `table`) is about to be enforced at `generation`,
   * on top of what the netns's record says: a helper that dies before enforced() then knows, from
   * the generation enforced, which of the two the pins enforce.
   */
  staged(netns: NetnsRef, table: TranslatedTable, replace: Uint8Array, generation: number): void {
    const staged = { replace: requestBytes(table, replace), generation };
    const before = this.saved.get(netns.cookie);
    const served = this.filter.get(netns.cookie);
    if (before?.owner === "netfilter" && served?.owner === "netfilter") {
      this.store?.save(netns.cookie, { owner: "netfilter", reason: before.reason, staged }); // a take-over (handover.ts)
      return;
    }
    const committed = before?.owner === "bpfilter" && served?.owner === "bpfilter" && served.enforced ? before : undefined;
    this.store?.save(netns.cookie, committed === undefined ? { owner: "none", staged } : { owner: "bpfilter", replace: committed.replace, staged });
  }

  private save(cookie: bigint, stored: StoredTable): void {
    this.saved.set(cookie, stored);
    this.store?.save(cookie, stored);
  }

  /** Records that netfilter holds the filter table of a netns, and why. */
  toNetfilter(netns: NetnsRef, reason: string): void {
    this.unchecked.delete(netns.cookie);
    this.filter.set(netns.cookie, { owner: "netfilter", reason });
    this.save(netns.cookie, { owner: "netfilter", reason });
    this.status?.update(netns, { owner: "netfilter", reason });
  }

  /** Forgets a netns (it is gone). */
  forget(cookie: bigint): void {
    this.unchecked.delete(cookie);
    this.filter.delete(cookie);
    this.saved.delete(cookie);
    this.store?.remove(cookie);
    this.status?.forget(cookie);
  }
}

/**
 * The counters of an entry blob (as GET_ENTRIES returns it) if it is netfilter's initial filter
 * table (same bytes, counters aside), else undefined.
 */
export function initialTableCounters(blob: Uint8Array): XtCounters[] | undefined {
  if (blob.byteLength !== INITIAL.size) return undefined;
  const counters = INITIAL.entries.map((e) => e.offset + IPT_ENTRY.counters);
  const inCounters = (i: number): boolean => counters.some((at) => i >= at && i < at + XT_COUNTERS.SIZE);
  if (!INITIAL.blob.every((b, i) => inCounters(i) || blob[i] === b)) return undefined;
  return counters.map((at) => decodeCounters(blob.subarray(at, at + XT_COUNTERS.SIZE))[0]!);
}
