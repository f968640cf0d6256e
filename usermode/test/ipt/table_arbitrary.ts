/**
 * fast-check generators of filter tables laid out as iptables lays them out: built-in chains
 * with rules and policies, user chains, jumps, gotos and rules without -j.
 */
import fc from "fast-check";
import { IPT_ENTRY, STD_VERDICT } from "../../src/ipt/abi.ts";
import { encodeEntry, encodeReplace, type EntrySpec } from "../../src/ipt/entry_builder.ts";
import { FILTER_VALID_HOOKS } from "../../src/ipt/initial_table.ts";

/** A rule's target before offsets are known: a verdict, a jump/goto to user chain k, or none. */
export type RuleTarget = { kind: "verdict"; verdict: number } | { kind: "jump" | "goto"; chain: number } | { kind: "none" };

/** A filter table to lay out: rules per built-in chain, user chains, policies, source addresses. */
export interface TableShape {
  builtin: RuleTarget[][]; // INPUT, FORWARD, OUTPUT rules
  user: RuleTarget[][]; // user chains' rules
  policies: number[];
  srcs: number[]; // source address per rule, round robin
}

const targetArb = (chains: number): fc.Arbitrary<RuleTarget> =>
  fc.oneof(
    fc.constantFrom(STD_VERDICT.ACCEPT, STD_VERDICT.DROP, STD_VERDICT.RETURN).map((verdict) => ({ kind: "verdict" as const, verdict })),
    ...(chains > 0 ? [fc.record({ kind: fc.constantFrom("jump" as const, "goto" as const), chain: fc.nat(chains - 1) })] : []),
    fc.constant({ kind: "none" as const }),
  );

/** Tables of 0 to 3 user chains, up to 3 rules per chain. */
export const shapeArb: fc.Arbitrary<TableShape> = fc.nat(3).chain((chains) =>
  fc.record({
    builtin: fc.tuple(...[0, 1, 2].map(() => fc.array(targetArb(chains), { maxLength: 3 }))),
    user: fc.array(fc.array(targetArb(chains), { maxLength: 3 }), { minLength: chains, maxLength: chains }),
    policies: fc.tuple(...[0, 1, 2].map(() => fc.constantFrom(STD_VERDICT.ACCEPT, STD_VERDICT.DROP))),
    srcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 4 }),
  }),
);

/** Lays a shape out as iptables would and returns the ipt_replace (user chains are named chain0, chain1, ...). */
export function build(shape: TableShape, numCounters: number): Uint8Array {
  const ruleSize = IPT_ENTRY.SIZE + 40;
  const headSize = IPT_ENTRY.SIZE + 64;
  // Offsets: builtin chains (rules + policy), then user chains (head, rules, tail), then ERROR.
  let at = 0;
  const hookEntry = [0, 0, 0, 0, 0];
  const underflow = [0, 0, 0, 0, 0];
  shape.builtin.forEach((rules, i) => {
    hookEntry[i + 1] = at;
    at += rules.length * ruleSize;
    underflow[i + 1] = at;
    at += ruleSize;
  });
  const userStart: number[] = [];
  for (const rules of shape.user) {
    userStart.push(at + headSize);
    at += headSize + (rules.length + 1) * ruleSize;
  }
  let n = 0;
  const rule = (t: RuleTarget, offset: number): Uint8Array => {
    const ip = new Uint8Array(84);
    new DataView(ip.buffer).setUint32(0, shape.srcs[n++ % shape.srcs.length]!, false);
    if (t.kind !== "verdict" || t.verdict !== STD_VERDICT.RETURN) ip.fill(0xff, 8, 12);
    if (t.kind === "goto") ip[82] = 0x02;
    const verdict = t.kind === "verdict" ? t.verdict : t.kind === "none" ? offset + ruleSize : userStart[t.chain]!;
    return encodeEntry({ ip, target: { kind: "standard", verdict } } satisfies EntrySpec);
  };
  const entries: Uint8Array[] = [];
  let offset = 0;
  const push = (e: Uint8Array): void => {
    entries.push(e);
    offset += e.length;
  };
  shape.builtin.forEach((rules, i) => {
    for (const t of rules) push(rule(t, offset));
    push(encodeEntry({ target: { kind: "standard", verdict: shape.policies[i]! } }));
  });
  shape.user.forEach((rules, k) => {
    push(encodeEntry({ target: { kind: "error", errorName: `chain${k}` } }));
    for (const t of rules) push(rule(t, offset));
    push(encodeEntry({ target: { kind: "standard", verdict: STD_VERDICT.RETURN } }));
  });
  push(encodeEntry({ target: { kind: "error", errorName: "ERROR" } }));
  return encodeReplace({ name: "filter", validHooks: FILTER_VALID_HOOKS, hookEntry, underflow, numCounters }, entries);
}
