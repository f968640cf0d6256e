/**
 * The one answer to "who enforces this table": bpfilter compiles it (its typed IR), or netfilter
 * holds it (the rule, the extension and the reason, from ir/resolve.ts).
 */
import { readChains } from "../ipt/chains.ts";
import type { Deadline } from "../ir/deadline.ts";
import type { TranslatedTable } from "../ipt/translate.ts";
import { type Resolution, resolveChains } from "../ir/resolve.ts";

/** Decides who enforces a table that passed translate_table's checks. */
export function planTable(table: TranslatedTable, deadline?: Deadline): Resolution {
  const chains = readChains(table, deadline);
  return chains.ok ? resolveChains(chains.table, deadline) : { kind: "netfilter", reason: chains.reason };
}
