/**
 * The one checker: resolves a table's chains (ipt/chains.ts) into the typed IR, decoding every
 * match and target exactly once with the extension registry, or says why netfilter must enforce
 * the table, naming the rule and the extension. No later phase decodes anything.
 *
 * Everything the helper does not compile goes to netfilter: an unknown extension or revision, a
 * feature of a known one the compiler does not implement (UnsupportedFeature), and also data the
 * helper finds invalid (a match without the -p it needs, a bad field): netfilter is the judge of
 * those, and refuses them with its own errno, as it would without bpfilter.
 */
import { type Deadline, lateCheck } from "./deadline.ts";
import { findMatch, findTarget } from "../ext/registry.ts";
import { requiredProtos, UnsupportedFeature } from "../ext/types.ts";
import type { XtRule, XtTable } from "../ipt/chains.ts";
import { IPT_INV, type Chain, type Match, type Rule, type Table, type Verdict } from "./types.ts";

/** The extension a hand-over names. */
export interface ExtensionRef {
  readonly kind: "match" | "target";
  readonly name: string;
  readonly revision: number;
}

/** What the checker answers for a table. */
export type Resolution =
  /** The compiler takes it: every match and verdict decoded. */
  | { readonly kind: "compile"; readonly table: Table }
  /** netfilter enforces it: the first rule (1-based, iptables -L --line-numbers) and extension that need it, and why. */
  | {
      readonly kind: "netfilter";
      readonly reason: string;
      readonly chain?: string;
      readonly rule?: number;
      readonly extension?: ExtensionRef;
    };

/** A hand-over found while resolving; caught by resolveChains. */
class Handover extends Error {
  constructor(
    message: string,
    readonly where: { readonly chain?: string; readonly rule?: number; readonly extension?: ExtensionRef } = {},
  ) {
    super(message);
  }
}

/** "rule 3 in chain INPUT": rules are numbered from 1, as iptables -L --line-numbers does. */
export function ruleWhere(chain: string, index: number): string {
  return `rule ${index + 1} in chain ${chain}`;
}

const PROTO_NAMES: Readonly<Record<number, string>> = { 1: "icmp", 6: "tcp", 17: "udp", 33: "dccp", 132: "sctp", 136: "udplite" };

/** Runs an extension's decode; its errors become hand-overs that name the extension. */
function decoded<T>(where: string, extension: ExtensionRef, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    const message = (err as Error).message;
    const why = err instanceof UnsupportedFeature ? message : `${message} (netfilter judges it)`;
    throw new Handover(`${where}: ${why}`, { extension });
  }
}

function resolveMatches(rule: XtRule, where: string): Match[] {
  return rule.matches.map((m) => {
    const ref: ExtensionRef = { kind: "match", name: m.name, revision: m.revision };
    const ext = findMatch(m.name, m.revision);
    if (ext === undefined) throw new Handover(`${where}: match '${m.name}' revision ${m.revision} is not supported`, { extension: ref });
    const protos = requiredProtos(ext);
    const negated = (rule.ip.invflags & IPT_INV.PROTO) !== 0;
    if (protos.length > 0 && (negated || !protos.includes(rule.ip.proto))) {
      const want = protos.map((p) => PROTO_NAMES[p] ?? String(p)).join("|");
      const has = rule.ip.proto === 0 ? "no -p" : `-p ${negated ? "! " : ""}${PROTO_NAMES[rule.ip.proto] ?? rule.ip.proto}`;
      throw new Handover(`${where}: match '${m.name}' needs -p ${want}, the rule has ${has} (netfilter judges it)`, { extension: ref });
    }
    return decoded(where, ref, () => ext.decode(m.data, m.revision) as Match);
  });
}

function resolveVerdict(table: XtTable, rule: XtRule, where: string): Verdict {
  const target = rule.target;
  if (target.kind === "ext") {
    const ref: ExtensionRef = { kind: "target", name: target.name, revision: target.revision };
    const ext = findTarget(target.name, target.revision);
    if (ext === undefined) throw new Handover(`${where}: target '${target.name}' revision ${target.revision} is not supported`, { extension: ref });
    return decoded(where, ref, () => ext.decode(target.data, target.revision, rule.ip));
  }
  const v = target.verdict;
  if (v.kind === "jump" || v.kind === "goto") {
    const callee = table.chains.find((c) => c.name === v.chain);
    if (callee === undefined) throw new Handover(`${where}: ${v.kind} to chain '${v.chain}', which does not exist`);
    if (callee.hook !== undefined) throw new Handover(`${where}: ${v.kind} to built-in chain '${v.chain}'`);
  }
  return v;
}

/** A jump/goto loop that a hook reaches (ipt/translate.ts refuses those with ELOOP first; IR built by hand may have one). */
function checkLoops(table: Table): void {
  const byName = new Map(table.chains.map((c) => [c.name, c]));
  const visit = (chain: Chain, path: readonly string[]): void => {
    for (const rule of chain.rules) {
      const v = rule.verdict;
      if (v.kind !== "jump" && v.kind !== "goto") continue;
      if (path.includes(v.chain)) {
        throw new Handover(`chain ${chain.name}: ${v.kind} to '${v.chain}' makes a loop (${[...path.slice(path.indexOf(v.chain)), v.chain].join(" → ")})`);
      }
      const callee = byName.get(v.chain);
      if (callee !== undefined) visit(callee, [...path, v.chain]);
    }
  };
  for (const chain of table.chains.filter((c) => c.hook !== undefined)) visit(chain, [chain.name]);
}

/** Resolves every rule of a table, or the first reason netfilter must enforce it. */
export function resolveChains(table: XtTable, deadline?: Deadline): Resolution {
  const late = lateCheck(deadline);
  try {
    if (table.name !== "filter") throw new Handover(`table '${table.name}' is not supported (only filter)`);
    const chains = table.chains.map((chain): Chain => ({
      ...chain,
      rules: chain.rules.map((rule, i): Rule => {
        const where = ruleWhere(chain.name, i);
        late(() => `resolving ${where}`);
        try {
          return { counterIndex: rule.counterIndex, ip: rule.ip, matches: resolveMatches(rule, where), verdict: resolveVerdict(table, rule, where) };
        } catch (err) {
          if (err instanceof Handover) throw new Handover(err.message, { ...err.where, chain: chain.name, rule: i + 1 });
          throw err;
        }
      }),
    }));
    const resolved: Table = { ...table, chains };
    checkLoops(resolved);
    return { kind: "compile", table: resolved };
  } catch (err) {
    if (err instanceof Handover) return { kind: "netfilter", reason: err.message, ...err.where };
    throw err;
  }
}
