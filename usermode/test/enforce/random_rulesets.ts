/**
 * Random filter tables in the compiled subset, as iptables-restore text, from a seed: addresses and
 * masks (some negated), protocols (some negated), tcp/udp ports and ranges, tcp flags, multiport,
 * icmp types, length, ttl, dscp, comments, -i/-o (names, wildcards, negations, an interface made
 * after the replace), -f and ! -f, a user chain with
 * RETURN, rules without a target, and random policies. Every choice is one an
 * iptables user can write, so native iptables-legacy-restore takes each table as it is.
 */

/** The seeds of a "FIRST-LAST" range (an environment variable's value, or the default). */
export function seedRange(range: string): number[] {
  const [first, last] = range.split("-").map(Number) as [number, number];
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** A small deterministic PRNG (mulberry32), so that a failing seed can be replayed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SOURCES = ["10.77.0.5/32", "10.77.0.0/24", "10.78.0.0/16", "10.0.0.0/8", "10.77.0.4/30", "10.78.0.1/32"];
const DESTINATIONS = ["10.77.0.2/32", "10.78.0.2/32", "10.78.0.0/24", "10.77.0.0/25", "10.77.0.9/32"];
const PORTS = ["53", "80", "443", "5000:5001", "1000:2000", "22", "8000:9000", "40000:65535"];

/** One random rule (without "-A CHAIN"); `targets` are the targets allowed in its chain. */
/** Interface options a chain allows: -i where there is an input device, -o where there is an output one. */
interface Devices {
  readonly in: boolean;
  readonly out: boolean;
}

/**
 * -i/-o choices; VETH stands for the pair's veth and LATE for the veth the test creates after the
 * replace (the test substitutes both); bpfe+ matches the first, bpfl+ the second.
 */
const IN_IFACES = ["-i lo", "-i bpfe+", "! -i bpfe+", "-i VETH", "! -i VETH", "-i LATE", "! -i bpfl+", "-i bpfl+"];
const OUT_IFACES = ["-o lo", "-o bpfe+", "! -o lo", "-o VETH", "! -o VETH", "-o LATE", "-o bpfl+"];

function rule(random: () => number, targets: readonly string[], devices: Devices): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number): boolean => random() < p;
  const parts: string[] = [];
  if (chance(0.4)) parts.push(`${chance(0.3) ? "! " : ""}-s ${pick(SOURCES)}`);
  if (chance(0.3)) parts.push(`${chance(0.3) ? "! " : ""}-d ${pick(DESTINATIONS)}`);
  const proto = pick(["", "", "tcp", "udp", "icmp"]);
  if (proto !== "") {
    const withMatch = chance(0.6);
    parts.push(`${!withMatch && chance(0.3) ? "! " : ""}-p ${proto}`);
    if (withMatch && proto === "icmp") parts.push(`-m icmp ${chance(0.2) ? "! " : ""}--icmp-type ${pick(["8", "0", "3"])}`);
    if (withMatch && proto !== "icmp") {
      if (chance(0.25)) {
        parts.push(`-m multiport ${chance(0.2) ? "! " : ""}--${pick(["dports", "sports", "ports"])} ${pick(PORTS)},${pick(["22", "443", "6000"])}`);
      } else {
        parts.push(`-m ${proto}`);
        if (chance(0.7)) parts.push(`${chance(0.25) ? "! " : ""}--dport ${pick(PORTS)}`);
        if (chance(0.3)) parts.push(`${chance(0.25) ? "! " : ""}--sport ${pick(PORTS)}`);
        if (proto === "tcp" && chance(0.3)) parts.push(`${chance(0.25) ? "! " : ""}--tcp-flags ${pick(["SYN,ACK SYN", "ALL ACK", "RST RST", "SYN,FIN SYN,FIN", "ACK,PSH ACK"])}`);
      }
    }
  }
  if (proto === "" && chance(0.08)) parts.push(chance(0.5) ? "-f" : "! -f");
  if (chance(0.15)) parts.push(`-m length ${chance(0.25) ? "! " : ""}--length ${pick(["0:40", "41:100", "60:65535", "40"])}`);
  if (chance(0.1)) parts.push(`-m ttl ${pick(["--ttl-eq 64", "--ttl-lt 10", "--ttl-gt 32", "! --ttl-eq 1"])}`);
  if (chance(0.1)) parts.push(`-m dscp ${chance(0.25) ? "! " : ""}--dscp ${pick(["0", "10", "46"])}`);
  if (chance(0.1)) parts.push(`-m comment --comment r${Math.floor(random() * 100)}`);
  if (devices.in && chance(0.2)) parts.push(pick(IN_IFACES));
  if (devices.out && chance(0.2)) parts.push(pick(OUT_IFACES));
  const target = pick(targets);
  if (target !== "") parts.push(`-j ${target}`);
  return parts.join(" ");
}

/** A random filter table from `seed`, as iptables-restore reads it; `forward` adds FORWARD rules and policy. */
export function randomRuleset(seed: number, forward = false): string {
  const random = prng(seed);
  const policy = () => (random() < 0.3 ? "DROP" : "ACCEPT");
  const lines = ["*filter", `:INPUT ${policy()} [0:0]`, `:FORWARD ${forward ? policy() : "ACCEPT"} [0:0]`, `:OUTPUT ${random() < 0.15 ? "DROP" : "ACCEPT"} [0:0]`, ":u1 - [0:0]"];
  const add = (chain: string, count: number, targets: readonly string[], devices: Devices) => {
    for (let i = 0; i < count; i++) lines.push(`-A ${chain} ${rule(random, targets, devices)}`.trimEnd());
  };
  add("INPUT", 10, ["ACCEPT", "DROP", "DROP", "u1", ""], { in: true, out: false });
  add("u1", 4, ["ACCEPT", "DROP", "RETURN", ""], { in: true, out: forward });
  add("OUTPUT", 3, ["ACCEPT", "DROP", ""], { in: false, out: true });
  if (forward) add("FORWARD", 5, ["ACCEPT", "DROP", "u1", ""], { in: true, out: true });
  lines.push("COMMIT", "");
  return lines.join("\n");
}
