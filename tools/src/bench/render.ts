/**
 * A ruleset as each system loads it: iptables-restore text (for iptables-legacy, native or through
 * bpfilter), nftables with one rule per rule ("linear"), and nftables with the rules folded into sets
 * ("sets", as a person who writes nftables would). Every nftables rule counts like iptables does; the
 * last rule counts into the named counter "last", and a final rule before the DROP policy into "miss".
 */
import { cidrText, type PortRange, type Rule, type Ruleset } from "./rulesets.ts";

/** The fail2ban chain the control-path table carries: `-I f2b-sshd 1 -s X -j REJECT` goes there. */
export const F2B_CHAIN = "f2b-sshd";

/** Options of the iptables rendering. */
export interface IptablesOptions {
  /** Adds fail2ban's chain (empty but for RETURN), jumped to first for tcp dport 22. */
  readonly fail2ban?: boolean;
}

const range = (r: PortRange, sep: string): string => (r.lo === r.hi ? String(r.lo) : `${r.lo}${sep}${r.hi}`);

/** One rule as iptables-save writes it (without the -A CHAIN). */
export function iptablesRule(rule: Rule): string {
  const parts: string[] = [];
  if (rule.src) parts.push("-s", cidrText(rule.src));
  if (rule.dst) parts.push("-d", cidrText(rule.dst));
  if (rule.proto) parts.push("-p", rule.proto, "-m", rule.proto);
  if (rule.sport) parts.push("--sport", range(rule.sport, ":"));
  if (rule.dport) parts.push("--dport", range(rule.dport, ":"));
  if (rule.established) parts.push("-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED");
  parts.push("-j", rule.verdict);
  return parts.join(" ");
}

/** The filter table for iptables-restore, INPUT policy DROP. */
export function iptablesRestore(ruleset: Ruleset, options: IptablesOptions = {}): string {
  const lines = ["*filter", ":INPUT DROP [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"];
  if (options.fail2ban) lines.push(`:${F2B_CHAIN} - [0:0]`, `-A INPUT -p tcp -m tcp --dport 22 -j ${F2B_CHAIN}`);
  for (const rule of ruleset.rules) lines.push(`-A INPUT ${iptablesRule(rule)}`);
  if (options.fail2ban) lines.push(`-A ${F2B_CHAIN} -j RETURN`);
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/** The nftables name of the table the bench loads. */
export const NFT_TABLE = "bench";

function nftMatch(rule: Rule): string {
  const parts: string[] = [];
  if (rule.established) parts.push("ct state established,related");
  if (rule.src) parts.push(`ip saddr ${nftAddr(rule.src)}`);
  if (rule.dst) parts.push(`ip daddr ${nftAddr(rule.dst)}`);
  if (rule.proto && !rule.sport && !rule.dport) parts.push(`meta l4proto ${rule.proto}`);
  if (rule.sport) parts.push(`${rule.proto} sport ${range(rule.sport, "-")}`);
  if (rule.dport) parts.push(`${rule.proto} dport ${range(rule.dport, "-")}`);
  return parts.join(" ");
}

function nftAddr(prefix: Rule["src"] & object): string {
  return prefix.len === 32 ? cidrText(prefix).slice(0, -3) : cidrText(prefix);
}

const nftVerdict = (rule: Rule): string => rule.verdict.toLowerCase();

function nftTable(chainBody: readonly string[], declarations: readonly string[] = []): string {
  return [
    `table ip ${NFT_TABLE} {`,
    "  counter last {}",
    "  counter miss {}",
    ...declarations,
    "  chain input {",
    "    type filter hook input priority 0; policy drop;",
    ...chainBody.map((line) => `    ${line}`),
    '    counter name "miss"',
    "  }",
    "}",
    "",
  ].join("\n");
}

/** nftables, one rule per rule. */
export function nftLinear(ruleset: Ruleset): string {
  const last = ruleset.rules.length - 1;
  return nftTable(
    ruleset.rules.map((rule, i) => `${nftMatch(rule)} ${i === last ? 'counter name "last"' : "counter"} ${nftVerdict(rule)}`),
  );
}

/** How each shape's rules become one set and one rule (conntrack: two sets after the conntrack rule). */
interface SetRule {
  readonly name: string;
  readonly type: string;
  readonly interval: boolean;
  readonly key: string;
  readonly element: (rule: Rule) => string;
  readonly takes: (rule: Rule) => boolean;
}

const addrSet = (name: string, interval: boolean): SetRule => ({
  name,
  type: "ipv4_addr",
  interval,
  key: "ip saddr",
  element: (rule) => nftAddr(rule.src!),
  takes: (rule) => rule.src !== undefined && rule.dport === undefined,
});

const serviceSet: SetRule = {
  name: "services",
  type: "inet_proto . inet_service",
  interval: false,
  key: "meta l4proto . th dport",
  element: (rule) => `${rule.proto} . ${rule.dport!.lo}`,
  takes: (rule) => rule.dport !== undefined && rule.src === undefined,
};

const tupleSet: SetRule = {
  name: "tuples",
  type: "ipv4_addr . ipv4_addr . inet_proto . inet_service . inet_service",
  interval: true,
  key: "ip saddr . ip daddr . meta l4proto . th sport . th dport",
  element: (rule) =>
    `${nftAddr(rule.src!)} . ${nftAddr(rule.dst!)} . ${rule.proto} . ${range(rule.sport!, "-")} . ${range(rule.dport!, "-")}`,
  takes: () => true,
};

const SET_RULES = {
  dport: [serviceSet],
  blocklist: [addrSet("sources", false)],
  cidr: [addrSet("prefixes", true)],
  mixed: [tupleSet],
  conntrack: [addrSet("sources", false), serviceSet],
} as const;

/**
 * nftables with sets. In the conntrack shape the blocklist set comes before the services set: for a
 * packet that both would match, nftables drops where the interleaved iptables chain may accept (no
 * bench packet is such a packet).
 */
export function nftSets(ruleset: Ruleset): string {
  const declarations: string[] = [];
  const body: string[] = [];
  const rules = ruleset.rules.filter((rule) => !rule.established);
  if (rules.length !== ruleset.rules.length) body.push("ct state established,related accept");
  for (const set of SET_RULES[ruleset.shape]) {
    const members = rules.filter(set.takes);
    if (members.length === 0) continue;
    const elements = members.map(set.element).join(",\n      ");
    const flags = set.interval ? " flags interval;" : "";
    declarations.push(`  set ${set.name} { type ${set.type};${flags}\n    elements = {\n      ${elements}\n    }\n  }`);
    const last = members.includes(ruleset.rules[ruleset.rules.length - 1]!);
    body.push(`${set.key} @${set.name} ${last ? 'counter name "last"' : "counter"} ${nftVerdict(members[0]!)}`);
  }
  return nftTable(body, declarations);
}
