/**
 * The extension registry: one line per match or target. It answers "is match X revision R
 * known" (GET_REVISION_*) and looks extensions up for the compiler.
 */
import type { MatchExtension, TargetExtension } from "./types.ts";
import { udp } from "./udp.ts";
import { tcp } from "./tcp.ts";
import { icmp } from "./icmp.ts";
import { multiport } from "./multiport.ts";
import { comment } from "./comment.ts";
import { length } from "./length.ts";
import { ttl } from "./ttl.ts";
import { dscp } from "./dscp.ts";
import { iprange } from "./iprange.ts";
import { standard } from "./standard.ts";
import { error } from "./error.ts";

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
];

/** Every target the compiler knows (the standard target included, for revision queries). */
export const TARGETS: readonly TargetExtension[] = [
  standard,
  error,
];

/** The match extension of that name and revision, or undefined. */
export function findMatch(name: string, revision: number): MatchExtension | undefined {
  return MATCHES.find((m) => m.name === name && m.revisions.includes(revision));
}

/** The target extension of that name and revision, or undefined. */
export function findTarget(name: string, revision: number): TargetExtension | undefined {
  return TARGETS.find((t) => t.name === name && t.revisions.includes(revision));
}

/** Revisions of the named match the compiler supports ([] when unknown): for IPT_SO_GET_REVISION_MATCH. */
export function matchRevisions(name: string): number[] {
  return MATCHES.filter((m) => m.name === name).flatMap((m) => [...m.revisions]);
}

/** Revisions of the named target the compiler supports ([] when unknown): for IPT_SO_GET_REVISION_TARGET. */
export function targetRevisions(name: string): number[] {
  return TARGETS.filter((t) => t.name === name).flatMap((t) => [...t.revisions]);
}
