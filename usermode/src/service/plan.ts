/**
 * The one answer to "who enforces this table": bpfilter compiles it (its typed IR), or netfilter
 * holds it (the rule, the extension and the reason). netfilter is also the judge of extension data
 * the helper finds invalid: such a table goes to netfilter, whose errno is then the answer.
 */
import { tableToIr } from "../ipt/table_to_ir.ts";
import type { TranslatedTable } from "../ipt/translate.ts";
import type { Table } from "../ir/types.ts";
import { checkExtensions } from "./registry_check.ts";

/** The plan for a table. */
export type Plan = { readonly kind: "compile"; readonly table: Table } | { readonly kind: "netfilter"; readonly reason: string };

/** Decides who enforces a table that passed translate_table's checks. */
export function planTable(table: TranslatedTable): Plan {
  const ir = tableToIr(table);
  if (!ir.ok) return { kind: "netfilter", reason: ir.reason };
  const check = checkExtensions(ir.table);
  if (check.kind === "ok") return { kind: "compile", table: ir.table };
  return { kind: "netfilter", reason: check.kind === "declined" ? check.reason : `netfilter judges: ${check.message}` };
}
