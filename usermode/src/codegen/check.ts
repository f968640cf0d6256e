/** checkTable(): the first rule, chain or target of a table outside what the compiler supports. */
import { IPT_INV, type Chain, type Rule, type Table } from "../ir/types.ts";
import { findMatch, findTarget } from "../ext/registry.ts";
import { requiredProtos } from "../ext/types.ts";
import { catchDecline, DeclineError, withWhere, type Decline } from "./decline.ts";
import { decodeOrDecline, ruleWhere } from "./rules.ts";

/** The hooks the compiler attaches programs for. */
export const COMPILED_HOOKS = ["INPUT", "FORWARD", "OUTPUT"] as const;

/** Options that change what can be compiled (none today: interfaces are matched by name at run time). */
export type CheckOptions = object;

function checkMatches(rule: Rule, where: string): void {
  for (const m of rule.matches) {
    const ext = findMatch(m.name, m.revision);
    if (ext === undefined) throw new DeclineError(`${where}: match '${m.name}' revision ${m.revision} is not supported`);
    withWhere(where, () => decodeOrDecline(() => ext.decode(m.data, m.revision)));
    const protos = requiredProtos(ext);
    const protoNamed = protos.includes(rule.ip.proto) && (rule.ip.invflags & IPT_INV.PROTO) === 0;
    if (protos.length > 0 && !protoNamed) {
      const negated = (rule.ip.invflags & IPT_INV.PROTO) !== 0 ? "! " : "";
      throw new DeclineError(`${where}: match '${m.name}' needs -p ${protos.join("|")}, the rule has -p ${negated}${rule.ip.proto}`);
    }
  }
}

function checkTarget(table: Table, rule: Rule, where: string): void {
  const target = rule.target;
  if (target.kind === "ext") {
    const ext = findTarget(target.name, target.revision);
    if (ext === undefined) throw new DeclineError(`${where}: target '${target.name}' revision ${target.revision} is not supported`);
    withWhere(where, () => decodeOrDecline(() => ext.verdict(ext.decode(target.data, target.revision))));
    return;
  }
  const v = target.verdict;
  if (v.kind !== "jump" && v.kind !== "goto") return;
  const callee = table.chains.find((c) => c.name === v.chain);
  if (callee === undefined) throw new DeclineError(`${where}: ${v.kind} to chain '${v.chain}', which does not exist`);
  if (callee.hook !== undefined) throw new DeclineError(`${where}: ${v.kind} to built-in chain '${v.chain}'`);
}

/** Declines a jump/goto loop reachable from a built-in chain (the generator inlines chains). */
function checkLoops(table: Table): void {
  const byName = new Map(table.chains.map((c) => [c.name, c]));
  const visit = (chain: Chain, path: readonly string[]): void => {
    for (const rule of chain.rules) {
      if (rule.target.kind !== "verdict") continue;
      const v = rule.target.verdict;
      if (v.kind !== "jump" && v.kind !== "goto") continue;
      if (path.includes(v.chain)) throw new DeclineError(`chain ${chain.name}: ${v.kind} to '${v.chain}' makes a loop (${[...path.slice(path.indexOf(v.chain)), v.chain].join(" → ")})`);
      const callee = byName.get(v.chain);
      if (callee !== undefined) visit(callee, [...path, v.chain]);
    }
  };
  // Only what a hook reaches runs: netfilter accepts a loop among chains no hook reaches yet
  // (and refuses a reachable one with ELOOP before the compiler sees the table).
  for (const chain of table.chains.filter((c) => c.hook !== undefined)) visit(chain, [chain.name]);
}

/** Returns why the table cannot be compiled faithfully, or undefined when it can. */
export function checkTable(table: Table, _options: CheckOptions = {}): Decline | undefined {
  const result = catchDecline(() => {
    if (table.name !== "filter") throw new DeclineError(`table '${table.name}' is not supported (only filter)`);
    for (const chain of table.chains) {
      if (chain.hook !== undefined && !(COMPILED_HOOKS as readonly string[]).includes(chain.hook)) {
        throw new DeclineError(`chain ${chain.name}: hook ${chain.hook} is not supported`);
      }
      chain.rules.forEach((rule, i) => {
        const where = ruleWhere(chain, i);
        checkMatches(rule, where);
        checkTarget(table, rule, where);
      });
    }
    checkLoops(table);
    return undefined;
  });
  return result;
}
