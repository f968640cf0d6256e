/**
 * The extension registry: one line per match or target the compiler knows. ir/resolve.ts looks
 * an xt extension up here by name and revision and decodes it once; codegen emits a decoded
 * match through emitMatch, by its kind.
 */
import type { Match } from "../ir/matches.ts";
import type { MatchEmitter, MatchExtension, TargetExtension } from "./types.ts";
import { udp } from "./udp.ts";
import { tcp } from "./tcp.ts";
import { icmp } from "./icmp.ts";
import { multiport } from "./multiport.ts";
import { comment } from "./comment.ts";
import { length } from "./length.ts";
import { ttl } from "./ttl.ts";
import { dscp } from "./dscp.ts";
import { iprange } from "./iprange.ts";
import { conntrack } from "./conntrack.ts";
import { state } from "./state.ts";
import { mark } from "./mark.ts";
import { pkttype } from "./pkttype.ts";
import { limit } from "./limit.ts";
import { reject } from "./reject.ts";
import { log } from "./log.ts";
import { markTarget } from "./mark_target.ts";
import type { Table, TargetAction, Verdict } from "../ir/types.ts";

/** Every match the compiler knows. */
export const MATCHES: readonly MatchExtension[] = [
  udp,
  tcp,
  icmp,
  multiport,
  comment,
  length,
  ttl,
  dscp,
  iprange,
  conntrack,
  state,
  mark,
  pkttype,
  limit,
];

/** Every target extension the compiler knows (the standard target is resolved by ipt/). */
export const TARGETS: readonly TargetExtension[] = [reject, log, markTarget];

const BY_KIND = new Map<string, MatchExtension>(MATCHES.map((m) => [m.name, m]));

/** The match extension of that name and revision, or undefined. */
export function findMatch(name: string, revision: number): MatchExtension | undefined {
  return MATCHES.find((m) => m.name === name && m.revisions.includes(revision));
}

/** The target extension of that name and revision, or undefined. */
export function findTarget(name: string, revision: number): TargetExtension | undefined {
  return TARGETS.find((t) => t.name === name && t.revisions.includes(revision));
}

/** The bytes of a known match's data that netfilter gives back (its matchsize), or undefined. */
export function matchDataSize(name: string, revision: number): number | undefined {
  const match = findMatch(name, revision);
  if (match?.userSize !== undefined) return match.userSize;
  const size = match?.structSize;
  return typeof size === "object" ? size[revision] : size;
}

/**
 * The bytes of an extension's data that netfilter gives back (its matchsize or targetsize), or
 * undefined for one the compiler does not know (all of the data).
 */
export function extensionDataSize(kind: "match" | "target", name: string, revision: number): number | undefined {
  return kind === "match" ? matchDataSize(name, revision) : findTarget(name, revision)?.structSize;
}

/** Revisions of the named match the compiler supports ([] when unknown). */
export function matchRevisions(name: string): number[] {
  return MATCHES.filter((m) => m.name === name).flatMap((m) => [...m.revisions]);
}

function extensionOf(match: Match): MatchExtension {
  const ext = BY_KIND.get(match.kind);
  if (ext === undefined) throw new Error(`match kind '${match.kind}' has no extension in the registry`);
  return ext;
}

const TARGET_BY_KIND = new Map<string, TargetExtension>(TARGETS.map((t) => [t.kind, t]));

/** The extension of a target verdict (ir/targets.ts), or undefined for a standard verdict. */
export function targetOf(verdict: Verdict): TargetExtension | undefined {
  return TARGET_BY_KIND.get(verdict.kind);
}

/** The iptables-save words of a decoded target ("-j REJECT --reject-with tcp-reset"). */
export function describeTarget(target: TargetAction): string {
  const ext = targetOf(target);
  if (ext === undefined) throw new Error(`target kind '${target.kind}' has no extension in the registry`);
  return ext.describe(target);
}

/** Emits a decoded match (its extension's emit; no decoding happens here). */
export function emitMatch(em: MatchEmitter, match: Match): void {
  extensionOf(match).emit(em, match);
}

/** The iptables-save words of a decoded match ("-m tcp --dport 22"). */
export function describeMatch(match: Match): string {
  return extensionOf(match).describe(match);
}

/**
 * Whether a rule of the table reads the packet's conntrack entry: netfilter's checkentry of such a
 * match takes a reference on the netns's conntrack (nf_ct_netns_get), and so must the enforcer.
 */
export function usesConntrack(table: Table): boolean {
  return table.chains.some((chain) => chain.rules.some((rule) => rule.matches.some((m) => extensionOf(m).conntrack === true)));
}
