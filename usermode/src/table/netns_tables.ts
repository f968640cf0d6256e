/**
 * Per network namespace (keyed by netns cookie) state of the filter table: either served by
 * bpfilter (the translated table and, while nothing is enforced yet, its counters) or handed to
 * netfilter for good after a decline.
 */
import type { XtCounters } from "../ipt/counters.ts";
import { initialFilterTable } from "../ipt/initial_table.ts";
import type { TranslatedTable } from "../ipt/translate.ts";

/** The filter table of one netns while bpfilter serves it. */
export interface ServedTable {
  readonly owner: "bpfilter";
  /** The current table, as GET_INFO/GET_ENTRIES describe it. */
  table: TranslatedTable;
  /** Whether the Enforcer holds it; if not, it is the initial table and `counters` are its counters. */
  enforced: boolean;
  counters: XtCounters[];
}

/** The filter table of a netns that netfilter owns: every request for it is declined. */
export interface DeclinedTable {
  readonly owner: "netfilter";
  /** Why it was declined, for logs. */
  readonly reason: string;
}

/** The state of the filter table of one netns. */
export type FilterTableState = ServedTable | DeclinedTable;

const INITIAL = initialFilterTable();

/** Whether a table is byte for byte netfilter's initial filter table (counters aside). */
export function isInitialTable(table: TranslatedTable): boolean {
  if (table.size !== INITIAL.size || table.entries.length !== INITIAL.entries.length) return false;
  return table.blob.every((b, i) => b === INITIAL.blob[i]);
}

/** The filter tables of every netns the helper has seen. */
export class NetnsTables {
  private readonly filter = new Map<bigint, FilterTableState>();

  /** The filter table of a netns; a netns seen for the first time gets the initial table. */
  filterOf(cookie: bigint): FilterTableState {
    let state = this.filter.get(cookie);
    if (state === undefined) {
      state = {
        owner: "bpfilter",
        table: INITIAL,
        enforced: false,
        counters: INITIAL.entries.map(() => ({ packets: 0n, bytes: 0n })),
      };
      this.filter.set(cookie, state);
    }
    return state;
  }

  /** Hands the filter table of a netns to netfilter, for good. */
  decline(cookie: bigint, reason: string): void {
    this.filter.set(cookie, { owner: "netfilter", reason });
  }

  /** Forgets a netns (it is gone). */
  forget(cookie: bigint): void {
    this.filter.delete(cookie);
  }
}
