/**
 * Rules and chains: each rule is "skip to the next rule unless every match holds; count;
 * verdict". User-defined chains are inlined at each jump/goto (iptables forbids loops).
 */
import { checkDeadline, type Deadline } from "./deadline.ts";
import { ja } from "./asm/index.ts";
import { ruleEmitter, type EmitMode } from "./emitter.ts";
import type { Chain, Rule, Table, TargetAction } from "../ir/types.ts";
import { emitMatch, targetOf } from "../ext/registry.ts";
import { emitTargetCall, requireKfunc } from "./targets.ts";
import { bucketParams, emitTokenBucket } from "./token_bucket.ts";
import type { LimitMatch } from "../ir/matches.ts";
import { KERNEL_HZ_SOURCES } from "../bpf/kernel_hz.ts";
import { emitCount, type VerdictTails } from "./counters.ts";
import { emitIpMatch } from "./ipmatch.ts";
import { DeclineError, withWhere } from "./decline.ts";
import type { ProgramBuilder } from "./builder.ts";
import type { FilterHook, Flavor } from "./flavor.ts";

/** What chain emission needs besides the chain itself. */
export interface ChainContext {
  readonly b: ProgramBuilder;
  readonly table: Table;
  readonly flavor: Flavor;
  /** The hook the program runs at (its devices). */
  readonly hook: FilterHook;
  /** The emit mode of each rule, asked once per rule in emission order. */
  readonly mode: () => EmitMode;
  /** The shared "count and return" tails of final verdicts. */
  readonly tails: VerdictTails;
  /** When the compile must be done (checked at every rule). */
  readonly deadline?: Deadline;
  /** The limits map slot of each limit match of the table (token_bucket.ts bucketSlots). */
  readonly buckets: ReadonlyMap<LimitMatch, number>;
}

/** "rule 3 in chain INPUT": rules are numbered from 1, as iptables -L --line-numbers does. */
export function ruleWhere(chain: Chain, index: number): string {
  return `rule ${index + 1} in chain ${chain.name}`;
}

/** A limit match's token bucket, with the kernel's HZ; declined on a kernel whose HZ the helper cannot learn. */
function emitBucket(ctx: ChainContext, m: LimitMatch, noMatch: string): void {
  const hz = ctx.flavor.hz;
  if (hz === undefined) throw new DeclineError(`match 'limit' needs the kernel's HZ, which neither ${KERNEL_HZ_SOURCES} says`);
  const slot = ctx.buckets.get(m);
  if (slot === undefined) throw new Error("a limit match without a slot in the table's limits map");
  emitTokenBucket(ctx.b, slot, bucketParams(m, hz), hz, noMatch);
}

function emitMatches(ctx: ChainContext, rule: Rule, noMatch: string): void {
  const em = ruleEmitter(ctx.b, noMatch, ctx.flavor.codes.drop, ctx.mode(), (field, reg) => ctx.flavor.kernelField(field, reg), (m, to) => emitBucket(ctx, m, to), (field, reg) => ctx.flavor.conntrackField(field, reg));
  emitIpMatch(em, rule.ip, ctx.flavor, ctx.hook);
  for (const m of rule.matches) emitMatch(em, m); // decoded once by ir/resolve.ts
  em.finish();
}

function findChain(ctx: ChainContext, name: string, where: string): Chain {
  const chain = ctx.table.chains.find((c) => c.name === name);
  if (chain === undefined) throw new DeclineError(`${where}: jump to chain '${name}', which does not exist`);
  if (chain.hook !== undefined) throw new DeclineError(`${where}: jump to built-in chain '${name}'`);
  return chain;
}

/** The label prefix that marks where the code of a rule (or policy) starts; see compile.ts ruleStarts. */
export const RULE_LABEL = "rule_";

function emitRule(ctx: ChainContext, chain: Chain, index: number, returnTo: string, callers: readonly string[]): void {
  const { b } = ctx;
  const rule = chain.rules[index]!;
  const where = ruleWhere(chain, index);
  checkDeadline(ctx.deadline, `${ctx.hook} program, at ${where}`);
  ctx.tails.reachFrom(b); // before the rule's label: a copy of the tails is not the rule's code
  b.place(b.label(`${RULE_LABEL}${rule.counterIndex}`));
  const next = b.label(`${chain.name}_${index + 1}_next`);
  withWhere(where, () => emitMatches(ctx, rule, next));
  const verdict = rule.verdict;
  const target = targetOf(verdict);
  if (target !== undefined) requireKfunc(ctx.flavor, target, where);
  if (verdict.kind === "accept" || verdict.kind === "drop") {
    ctx.tails.countAndReturn(b, rule.counterIndex, verdict.kind);
  } else if (target?.then === "drop") {
    ctx.tails.countAndReturn(b, rule.counterIndex, verdict as TargetAction);
  } else {
    emitCount(b, ctx.flavor, rule.counterIndex, ctx.flavor.codes.drop);
    if (target !== undefined) emitTargetCall(b, target, verdict as TargetAction);
    if (verdict.kind === "return") b.emit(ja(returnTo));
    if (verdict.kind === "jump" || verdict.kind === "goto") {
      if (callers.includes(verdict.chain) || verdict.chain === chain.name) {
        throw new DeclineError(`${where}: ${verdict.kind} to chain '${verdict.chain}' loops back`);
      }
      const callee = findChain(ctx, verdict.chain, where);
      emitChainBody(ctx, callee, verdict.kind === "jump" ? next : returnTo, [...callers, chain.name]);
    }
  }
  b.place(next);
}

/** Emits a chain's rules; a user-defined chain ends by jumping to returnTo. */
export function emitChainBody(ctx: ChainContext, chain: Chain, returnTo: string, callers: readonly string[]): void {
  for (let i = 0; i < chain.rules.length; i++) emitRule(ctx, chain, i, returnTo, callers);
  if (chain.hook === undefined) ctx.b.emit(ja(returnTo));
}

/** Emits a built-in chain: its rules, then its policy (counted) — RETURN at top level also lands there. */
export function emitBuiltinChain(ctx: ChainContext, chain: Chain | undefined): void {
  const { b } = ctx;
  if (chain === undefined) {
    b.emit(...ctx.flavor.epilogue(ctx.flavor.codes.accept));
    return;
  }
  const policy = b.label(`${chain.name}_policy`);
  emitChainBody(ctx, chain, policy, []);
  b.place(policy);
  if (chain.policyCounterIndex !== undefined) b.place(b.label(`${RULE_LABEL}${chain.policyCounterIndex}`));
  const verdict = chain.policy ?? "accept";
  if (chain.policyCounterIndex === undefined) {
    b.emit(...ctx.flavor.epilogue(ctx.flavor.codes[verdict]));
    return;
  }
  ctx.tails.reachFrom(b);
  ctx.tails.countAndReturn(b, chain.policyCounterIndex, verdict);
}
