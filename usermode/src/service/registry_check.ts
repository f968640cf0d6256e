/**
 * Checks a table's matches and targets against the extension registry (ext/registry.ts), as
 * find_check_entry and xt_check_match/xt_check_target would: an extension the helper does not
 * compile declines the table (netfilter enforces it); a known one whose data or protocol is
 * wrong fails with -EINVAL.
 */
import type { Table } from "../ir/types.ts";
import { IPT_INV } from "../ir/types.ts";
import { Errno } from "../ipt/abi.ts";
import { isContinueTarget } from "../ipt/table_to_ir.ts";
import { findMatch, findTarget } from "../ext/registry.ts";
import { UnsupportedFeature } from "../ext/types.ts";
import type { Decision } from "./enforcer.ts";

/**
 * Decodes an extension's data: a feature of a known extension that the compiler does not
 * implement (e.g. tcp --tcp-option) declines, so netfilter enforces it as it would natively;
 * data netfilter itself would refuse is EINVAL.
 */
function decodeProblem(decode: () => unknown, where: string): Decision | undefined {
  try {
    decode();
    return undefined;
  } catch (err) {
    if (err instanceof UnsupportedFeature) return { kind: "declined", reason: `${where}: ${err.message}` };
    return { kind: "error", errno: Errno.EINVAL, message: `${where}: ${(err as Error).message}` };
  }
}

/** The registry's verdict on a table: ok, declined (with the rule and extension named), or EINVAL. */
export function checkExtensions(table: Table): Decision {
  for (const chain of table.chains) {
    for (const [i, rule] of chain.rules.entries()) {
      const where = `rule ${i + 1} in chain ${chain.name}`;
      for (const m of rule.matches) {
        const ext = findMatch(m.name, m.revision);
        if (ext === undefined) return { kind: "declined", reason: `${where}: match '${m.name}' revision ${m.revision} is not supported` };
        if (ext.proto !== 0 && (rule.ip.proto !== ext.proto || (rule.ip.invflags & IPT_INV.PROTO) !== 0)) {
          return { kind: "error", errno: Errno.EINVAL, message: `${where}: match '${m.name}' is only valid for protocol ${ext.proto}` };
        }
        const bad = decodeProblem(() => ext.decode(m.data, m.revision), where);
        if (bad) return bad;
      }
      if (rule.target.kind === "ext" && !isContinueTarget(rule.target)) {
        const t = rule.target;
        const ext = findTarget(t.name, t.revision);
        if (ext === undefined) return { kind: "declined", reason: `${where}: target '${t.name}' revision ${t.revision} is not supported` };
        const bad = decodeProblem(() => ext.decode(t.data, t.revision), where);
        if (bad) return bad;
      }
    }
  }
  return { kind: "ok" };
}
