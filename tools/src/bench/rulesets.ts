/**
 * The rulesets make bench measures, as abstract rules, and the packets that match the first rule
 * (early), only the last rule (late) and no rule (never). One ruleset is rendered for each system
 * (render.ts): iptables-restore text, nftables one rule per rule (linear), nftables with sets.
 *
 * Rules are numbered by k, their distance from the end of the chain: rule k = 0 is the last one,
 * the one the late packet matches. Address space: 192.0.2.0/24 joins the two netns (sender .1,
 * receiver .2); blocklisted sources come from 198.18.0.0/15 (RFC 2544), CIDR blocks from
 * 100.64.0.0/10. All traffic stays on a veth pair between two netns made by the bench.
 */
import { ipv4ToNumber, numberToIpv4 } from "./packet.ts";

/** The five shapes. */
export const SHAPES = ["dport", "blocklist", "cidr", "mixed", "conntrack"] as const;
export type Shape = (typeof SHAPES)[number];

/** What each shape is, for the tables the bench prints. */
export const SHAPE_TITLES: Readonly<Record<Shape, string>> = {
  dport: "--dport list",
  blocklist: "-s /32 blocklist",
  cidr: "CIDR list",
  mixed: "mixed 5-tuple with ranges",
  conntrack: "conntrack first, then rules",
};

/** An address prefix: `addr` is the network as a 32-bit number. */
export interface Cidr {
  readonly addr: number;
  readonly len: number;
}

/** An inclusive port range. */
export interface PortRange {
  readonly lo: number;
  readonly hi: number;
}

/** One filter rule in the INPUT chain; absent fields match anything. */
export interface Rule {
  readonly proto?: "udp" | "tcp";
  readonly src?: Cidr;
  readonly dst?: Cidr;
  readonly sport?: PortRange;
  readonly dport?: PortRange;
  /** -m conntrack --ctstate RELATED,ESTABLISHED (the bench's packets are always NEW). */
  readonly established?: true;
  readonly verdict: "ACCEPT" | "DROP";
}

/** The header fields of a test packet that the rules look at. */
export interface Probe {
  readonly proto: "udp" | "tcp";
  readonly src: string;
  readonly sport: number;
  readonly dport: number;
}

/** A ruleset of one shape and size, with its probes. */
export interface Ruleset {
  readonly shape: Shape;
  /** The number of rules the shape counts (conntrack: the rules after the conntrack rule). */
  readonly size: number;
  /** The INPUT chain, in order; its policy is DROP. */
  readonly rules: readonly Rule[];
  readonly early: Probe;
  readonly late: Probe;
  readonly never: Probe;
}

export const SENDER_ADDR = "192.0.2.1";
export const RECEIVER_ADDR = "192.0.2.2";
const BLOCK_BASE = ipv4ToNumber("198.18.0.0");
const CIDR_BASE = ipv4ToNumber("100.64.0.0");
/** Routes the receiver needs so that reverse-path checks accept the sources the bench uses. */
export const SOURCE_PREFIXES = ["198.18.0.0/15", "100.64.0.0/10"] as const;
/** The largest size every shape can be built at without reusing a match. */
export const MAX_SIZE = 120_000;

const cidr = (address: string, len: number): Cidr => ({ addr: ipv4ToNumber(address), len });
const host = (addr: number): Cidr => ({ addr, len: 32 });
const port = (p: number): PortRange => ({ lo: p, hi: p });
const never: Probe = { proto: "udp", src: SENDER_ADDR, sport: 9, dport: 9 };

/** The probe that matches a rule (the first address and ports of its ranges). */
export function probeFor(rule: Rule): Probe {
  return {
    proto: rule.proto ?? "udp",
    src: rule.src ? numberToIpv4(rule.src.addr + (rule.src.len === 32 ? 0 : 1)) : SENDER_ADDR,
    sport: rule.sport?.lo ?? 9,
    dport: rule.dport?.lo ?? 9,
  };
}

const DPORT_SPAN = 60_000;
const MIXED_GROUP = 16_000;

/** Rule k (k = 0 is the last) of each shape but conntrack. */
const RULE_AT: Readonly<Record<Exclude<Shape, "conntrack">, (k: number) => Rule>> = {
  dport: (k) => ({ proto: k < DPORT_SPAN ? "udp" : "tcp", dport: port(1025 + (k % DPORT_SPAN)), verdict: "DROP" }),
  blocklist: (k) => ({ src: host(BLOCK_BASE + 2 + k), verdict: "DROP" }),
  cidr: (k) => ({ src: { addr: CIDR_BASE + 32 * k, len: 27 + (k % 3) }, verdict: "DROP" }),
  mixed: (k) => {
    const sport = 10_000 + 100 * Math.floor(k / MIXED_GROUP);
    const dport = 1024 + 4 * (k % MIXED_GROUP);
    return {
      proto: k % 3 === 1 ? "tcp" : "udp",
      src: k % 2 === 0 ? cidr("198.18.0.0", 15) : cidr("198.18.0.0", 24),
      dst: host(ipv4ToNumber(RECEIVER_ADDR)),
      sport: { lo: sport, hi: sport + 99 },
      dport: { lo: dport, hi: dport + 3 },
      verdict: "DROP",
    };
  },
};

/** The body of the conntrack shape: blocklisted sources (DROP) between allowed TCP services (ACCEPT). */
function conntrackBody(k: number): Rule {
  if (k % 2 === 0) return { src: host(BLOCK_BASE + 2 + k / 2), verdict: "DROP" };
  return { proto: "tcp", dport: port(1025 + (((k - 1) / 2) % DPORT_SPAN)), verdict: "ACCEPT" };
}

/** The ruleset of `shape` with `size` rules. */
export function buildRuleset(shape: Shape, size: number): Ruleset {
  if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) throw new Error(`rule count ${size}: must be 1 to ${MAX_SIZE}`);
  const ruleAt = shape === "conntrack" ? conntrackBody : RULE_AT[shape];
  const body: Rule[] = [];
  for (let k = size - 1; k >= 0; k--) body.push(ruleAt(k));
  const rules = shape === "conntrack" ? [{ established: true, verdict: "ACCEPT" } as const, ...body] : body;
  return { shape, size, rules, early: probeFor(body[0]!), late: probeFor(body[body.length - 1]!), never };
}

/** Whether a rule matches a probe (a NEW packet to RECEIVER_ADDR). */
export function ruleMatches(rule: Rule, probe: Probe): boolean {
  if (rule.established) return false;
  if (rule.proto !== undefined && rule.proto !== probe.proto) return false;
  if (rule.src !== undefined && !inCidr(ipv4ToNumber(probe.src), rule.src)) return false;
  if (rule.dst !== undefined && !inCidr(ipv4ToNumber(RECEIVER_ADDR), rule.dst)) return false;
  if (rule.sport !== undefined && (probe.sport < rule.sport.lo || probe.sport > rule.sport.hi)) return false;
  if (rule.dport !== undefined && (probe.dport < rule.dport.lo || probe.dport > rule.dport.hi)) return false;
  return true;
}

/** Whether `address` lies in the prefix. */
export function inCidr(address: number, prefix: Cidr): boolean {
  const size = 2 ** (32 - prefix.len);
  return Math.floor(address / size) === Math.floor(prefix.addr / size);
}

/** The indexes (in chain order) of every rule that matches the probe. */
export function matchingRules(ruleset: Ruleset, probe: Probe): number[] {
  const hits: number[] = [];
  ruleset.rules.forEach((rule, i) => {
    if (ruleMatches(rule, probe)) hits.push(i);
  });
  return hits;
}

/** A prefix as text: "a.b.c.d/len". */
export function cidrText(prefix: Cidr): string {
  return `${numberToIpv4(prefix.addr)}/${prefix.len}`;
}
