/**
 * Per network namespace (keyed by netns cookie) state of the filter table: either served by
 * bpfilter (the translated table and, while nothing is enforced yet, its counters) or handed to
 * netfilter for good after a decline.
 */
import type { XtCounters } from "../ipt/counters.ts";
import { initialFilterTable } from "../ipt/initial_table.ts";
import { IPT_REPLACE } from "../ipt/abi.ts";
import { decodeReplaceHeader, type TranslatedTable, translateTable } from "../ipt/translate.ts";
import type { TableStore } from "./table_store.ts";

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

/** The filter tables of every netns the helper has seen, kept in a TableStore when one is given. */
export class NetnsTables {
  private readonly filter = new Map<bigint, FilterTableState>();

  /** Loads the tables of `store` (a restarted helper): their rules are still enforced. */
  constructor(
    private readonly store?: TableStore,
    log: (line: string) => void = () => {},
  ) {
    for (const [cookie, stored] of store?.load() ?? []) {
      if (stored.owner === "netfilter") {
        this.filter.set(cookie, stored);
        continue;
      }
      try {
        const table = translateTable(decodeReplaceHeader(stored.replace, stored.replace.length), stored.replace);
        this.filter.set(cookie, { owner: "bpfilter", table, enforced: true, counters: [] });
      } catch (err) {
        log(`netns ${cookie}: stored filter table is not valid, ignored: ${(err as Error).message}`);
      }
    }
  }

  /** Records a replace the Enforcer accepted: `replace` is the ipt_replace request it came from. */
  replaced(cookie: bigint, served: ServedTable, table: TranslatedTable, replace: Uint8Array): void {
    served.table = table;
    served.enforced = true;
    served.counters = [];
    this.store?.save(cookie, { owner: "bpfilter", replace: replace.slice(0, IPT_REPLACE.SIZE + table.size) });
  }

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
    this.store?.save(cookie, { owner: "netfilter", reason });
  }

  /** Forgets a netns (it is gone). */
  forget(cookie: bigint): void {
    this.filter.delete(cookie);
    this.store?.remove(cookie);
  }
}
