/**
 * The differential oracle: the same ruleset goes into native iptables-legacy (netfilter) in one
 * netns pair and, through the shim, into the helper's programs in another; the same packets
 * (crafted over a raw socket, so both get the very same bytes) go a → b over veth in both; then
 * iptables-legacy-save -c must print the same table with the same packet and byte counters, rule by
 * rule and policy by policy. Replies b sends (RST, ICMP) go through OUTPUT and are compared too.
 */
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HelperBench, realPathUnavailable } from "./helper_process.ts";
import { sendRaw, type PacketSpec } from "./raw_packets.ts";
import { prng, randomRuleset } from "./random_rulesets.ts";

const unavailable = realPathUnavailable();
if (unavailable) console.warn(`skipping the differential tests: ${unavailable}`);

const HEAD = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";

/** Rulesets in the compiled subset, as iptables-restore reads them. */
const RULESETS: Record<string, string> = {
  "addresses, masks, protocols, ports, inversions": `${HEAD}
-A INPUT -s 10.77.0.5/32 -j DROP
-A INPUT -d 10.78.0.0/16 -p udp -m udp --dport 5000:5001 -j DROP
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
-A INPUT -p tcp -m tcp ! --dport 22 -j DROP
-A INPUT ! -s 10.77.0.0/24 -p udp -j DROP
-A INPUT -p udp
-A FORWARD -p udp -m udp --dport 5000 -j DROP
-A FORWARD -d 10.77.0.9/32 -p tcp -j ACCEPT
-A OUTPUT -p icmp -j DROP
COMMIT
`,
  "policy DROP with accepts": `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --sport 1000:2000 --dport 53 -j ACCEPT
-A INPUT -s 10.78.0.1/32 ! -p tcp -j ACCEPT
-A INPUT -d 10.77.0.2/32 -p tcp -m tcp --tcp-flags SYN,ACK SYN --dport 440:450 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 22,8000:8100 -j ACCEPT
-A OUTPUT -p tcp -m tcp --tcp-flags RST RST -j DROP
COMMIT
`,
  "user chains, RETURN, jumps": `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:web - [0:0]
:udpin - [0:0]
-A INPUT -p tcp -j web
-A INPUT -p udp -j udpin
-A INPUT -p icmp -j DROP
-A web -p tcp -m tcp --dport 80 -j ACCEPT
-A web -p tcp -m tcp --dport 443 -j RETURN
-A web -s 10.78.0.0/24 -j DROP
-A udpin -s 10.77.0.0/24 -p udp -m udp --dport 53 -j RETURN
-A udpin -j DROP
-A INPUT -p tcp -m tcp --dport 443 -j DROP
COMMIT
`,
  "interfaces: -i, -o, wildcards, negation": `${HEAD}
-A INPUT -i lo -j ACCEPT
-A INPUT -i bpfe+ -p udp -m udp --dport 53 -j ACCEPT
-A INPUT ! -i bpfe+ -j DROP
-A INPUT -i VETH -p tcp -m tcp --dport 80 -j DROP
-A INPUT ! -i VETH -p tcp -j DROP
-A INPUT -i VETH -s 10.78.0.0/24 -j DROP
-A OUTPUT -o lo -j ACCEPT
-A OUTPUT -o VETH -p tcp -j DROP
-A OUTPUT ! -o bpfe+ -j DROP
COMMIT
`,
};

const SOURCES = ["10.77.0.1", "10.77.0.5", "10.78.0.1"];
const LOCAL = ["10.77.0.2", "10.78.0.2"];
/** An address in b's subnet that b does not own: b forwards packets to it (back out of the veth) or drops them. */
const NOT_LOCAL = "10.77.0.9";

const FORWARDING_OFF_GAP =
  "known gap, not tested: with forwarding off, bpf_fib_lookup answers FWD_DISABLED before it looks anything up, so the " +
  "ingress program runs INPUT for packets to addresses b does not own, which netfilter never sees (they die in routing)";

/**
 * Seeds of the random tables (random_rulesets.ts); a failing one replays with the same seed.
 * BPFILTER_DIFF_SEEDS=FIRST-LAST runs another range (a longer hunt than the default 1-8).
 */
const RANDOM_SEEDS = ((range: string) => {
  const [first, last] = range.split("-").map(Number) as [number, number];
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
})(process.env.BPFILTER_DIFF_SEEDS ?? "1-8");

/** 30 random packets from `seed`: ports, TCP flags, ttl, tos and lengths around what the random tables match. */
function randomPackets(seed: number, destinations: readonly string[] = LOCAL): PacketSpec[] {
  const random = prng(seed * 7919);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const ports = [22, 53, 80, 443, 1500, 5000, 5001, 6000, 8500, 9000, 40_500, 65_000];
  return Array.from({ length: 30 }, (): PacketSpec => {
    const [src, dst] = [pick(SOURCES), pick(destinations)];
    const ip = { ttl: pick([64, 64, 5, 33, 1]), tos: pick([0, 0, 10 << 2, 46 << 2]), payload: pick([0, 12, 40, 100]) };
    const proto = pick(["udp", "tcp", "icmp"] as const);
    if (proto === "icmp") return { proto, src, dst, ...ip };
    if (proto === "udp") return { proto, src, dst, sport: pick(ports), dport: pick(ports), ...ip };
    return { proto, src, dst, sport: pick(ports), dport: pick(ports), flags: pick([0x02, 0x12, 0x10, 0x04, 0x18, 0x03]), ...ip };
  });
}

function packets(): PacketSpec[] {
  const out: PacketSpec[] = [];
  let sport = 40_000;
  for (const src of SOURCES) {
    for (const dst of LOCAL) {
      for (const [sp, dport] of [[1500, 53], [sport++, 5000], [sport++, 5001], [1500, 6000]] as const) {
        out.push({ proto: "udp", src, dst, sport: sp, dport });
      }
      for (const dport of [22, 80, 443, 445, 8050, 8080]) out.push({ proto: "tcp", src, dst, sport: sport++, dport });
      out.push({ proto: "icmp", src, dst });
    }
  }
  return out;
}

/** Addresses, static neighbours and sysctls that make both pairs answer every packet the same way. */
function configure(bench: HelperBench): void {
  const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  const mac = (ns: string) =>
    (JSON.parse(execFileSync("ip", ["-n", ns, "-j", "link", "show", bench.veth], { encoding: "utf8" })) as { address: string }[])[0]!.address;
  ip("-n", bench.nsA, "addr", "add", "10.77.0.5/24", "dev", bench.veth);
  ip("-n", bench.nsA, "addr", "add", "10.78.0.1/24", "dev", bench.veth);
  ip("-n", bench.nsB, "addr", "add", "10.78.0.2/24", "dev", bench.veth);
  const [macA, macB] = [mac(bench.nsA), mac(bench.nsB)];
  for (const address of [...LOCAL, NOT_LOCAL]) ip("-n", bench.nsA, "neigh", "replace", address, "lladdr", macB, "dev", bench.veth, "nud", "permanent");
  // b forwards to NOT_LOCAL through a: a drops it (not its address), so nothing comes back later.
  ip("-n", bench.nsB, "neigh", "replace", NOT_LOCAL, "lladdr", macA, "dev", bench.veth, "nud", "permanent");
  for (const address of SOURCES) ip("-n", bench.nsB, "neigh", "replace", address, "lladdr", macA, "dev", bench.veth, "nud", "permanent");
  const sysctl = (setting: string) => execFileSync("ip", ["netns", "exec", bench.nsB, "sysctl", "-qw", setting]);
  // ICMP errors are rate limited by time: without this, how many leave b depends on timing.
  sysctl("net.ipv4.icmp_ratelimit=0");
  sysctl("net.ipv4.icmp_msgs_per_sec=100000");
  sysctl("net.ipv4.conf.all.rp_filter=0");
  sysctl(`net.ipv4.conf.${bench.veth}.rp_filter=0`);
  // Redirects (a forwarded packet leaves by the interface it came in) are rate limited by time too.
  for (const conf of ["all", "default", bench.veth]) sysctl(`net.ipv4.conf.${conf}.send_redirects=0`);
}

/** iptables-legacy-save -c without its comment lines. */
function saved(text: string): string {
  return text
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .join("\n");
}

describe.skipIf(unavailable !== undefined)("the same packets through netfilter and through the helper's programs", () => {
  const native = new HelperBench();
  const bpf = new HelperBench();
  beforeAll(async () => {
    await Promise.all([native.start(), bpf.start()]);
    configure(native);
    configure(bpf);
  }, 60_000);
  afterAll(async () => {
    await native.close();
    await bpf.close();
  });

  async function compare(ruleset: string, sent: readonly PacketSpec[], someRuleMatches = true, bytes = true): Promise<void> {
    // VETH stands for each pair's own veth name (they differ), in the ruleset and in what is compared.
    const restore = (bench: HelperBench) => `printf '%s' '${ruleset.replaceAll("VETH", bench.veth)}' | iptables-legacy-restore`;
    const restoreNative = await native.run(native.nsB, "native", ["sh", "-c", restore(native)]);
    const restoreBpf = await bpf.run(bpf.nsB, "shim", ["sh", "-c", restore(bpf)]);
    expect(restoreNative).toMatchObject({ code: 0 });
    expect(restoreBpf).toMatchObject({ code: 0 });
    expect(bpf.helperLog).not.toContain("declined");
    sendRaw(`/run/netns/${native.nsA}`, sent);
    sendRaw(`/run/netns/${bpf.nsA}`, sent);
    await sleep(300); // replies and their OUTPUT counters
    const fromNative = await native.run(native.nsB, "native", ["iptables-legacy-save", "-c"]);
    const fromBpf = await bpf.run(bpf.nsB, "shim", ["iptables-legacy-save", "-c"]);
    const comparable = (text: string, bench: HelperBench) => {
      const named = saved(text).replaceAll(bench.veth, "VETH");
      return bytes ? named : named.replaceAll(/\[(\d+):\d+\]/g, "[$1:-]");
    };
    expect(comparable(fromBpf.stdout, bpf)).toBe(comparable(fromNative.stdout, native));
    if (someRuleMatches) expect(saved(fromNative.stdout)).toMatch(/\[[1-9]\d*:\d+\] -A/); // the packets arrived
  }

  for (const [name, ruleset] of Object.entries(RULESETS)) {
    it(`${name}: same counters, rule by rule`, () => compare(ruleset, packets()));
  }

  for (const seed of RANDOM_SEEDS) {
    it(`random table and packets, seed ${seed}: same counters, rule by rule`, () =>
      compare(randomRuleset(seed), [...packets(), ...randomPackets(seed)], false));
  }

  it("fragmented datagrams: same verdicts and packet counts (bytes differ: see the test name)", () => {
    // netfilter's INPUT sees the datagram reassembled (ip_local_deliver defragments before LOCAL_IN);
    // XDP sees the fragments: the first one (with the ports) is judged and counted with its own
    // length, the others pass unjudged, so bytes count the first fragment, not the datagram.
    const table = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 5000 -j ACCEPT
-A INPUT -p udp -m udp --dport 5001 -j DROP
-A INPUT -f -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
`;
    const sent: PacketSpec[] = [];
    const datagram = (proto: "udp" | "tcp", dport: number, src: string) => {
      sent.push({ proto, src, dst: "10.77.0.2", sport: 7, dport, payload: 16, fragment: { offset: 0, more: true } });
      sent.push({ proto, src, dst: "10.77.0.2", sport: 7, dport, payload: 0, fragment: { offset: proto === "udp" ? 3 : 4, more: false } });
    };
    datagram("udp", 5000, "10.77.0.1");
    datagram("udp", 5001, "10.77.0.5");
    datagram("udp", 5002, "10.78.0.1");
    datagram("tcp", 80, "10.77.0.1");
    datagram("tcp", 81, "10.77.0.5");
    return compare(table, sent, true, false);
  });

  it("with forwarding on, packets to an address b does not own go through FORWARD, counted the same", async () => {
    for (const bench of [native, bpf]) execFileSync("ip", ["netns", "exec", bench.nsB, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    const sent: PacketSpec[] = [
      { proto: "udp", src: "10.77.0.1", dst: NOT_LOCAL, sport: 1234, dport: 5000 },
      { proto: "udp", src: "10.77.0.1", dst: NOT_LOCAL, sport: 1234, dport: 5002 },
      { proto: "tcp", src: "10.77.0.5", dst: NOT_LOCAL, sport: 1234, dport: 80 },
      { proto: "udp", src: "10.77.0.1", dst: "10.77.0.2", sport: 1234, dport: 5000 },
    ];
    await compare(RULESETS["addresses, masks, protocols, ports, inversions"]!, sent);
    const forward = await native.run(native.nsB, "native", ["iptables-legacy", "-L", "FORWARD", "-v", "-x", "-n"]);
    expect(forward.stdout).toMatch(/^\s+1\s+\d+ DROP .*udp dpt:5000$/m);
  });

  it("with forwarding on, forwarded fragments are judged one by one, as netfilter's FORWARD does", async () => {
    for (const bench of [native, bpf]) execFileSync("ip", ["netns", "exec", bench.nsB, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    const table = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -m udp --dport 5000 -j ACCEPT
-A FORWARD -f -j ACCEPT
COMMIT
`;
    const fragment = (dport: number, offset: number, more: boolean): PacketSpec =>
      ({ proto: "udp", src: "10.77.0.1", dst: NOT_LOCAL, sport: 9, dport, payload: offset === 0 ? 16 : 0, fragment: { offset, more } });
    await compare(table, [fragment(5000, 0, true), fragment(5000, 3, false), fragment(6000, 0, true), fragment(6000, 3, false)]);
  });

  for (const seed of process.env.BPFILTER_DIFF_SEEDS === undefined ? RANDOM_SEEDS.slice(0, 4) : RANDOM_SEEDS) {
    it(`with forwarding on, random table with FORWARD rules and packets to forward, seed ${seed}: same counters`, async () => {
      for (const bench of [native, bpf]) execFileSync("ip", ["netns", "exec", bench.nsB, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      await compare(randomRuleset(1000 + seed, true), randomPackets(1000 + seed, [...LOCAL, NOT_LOCAL, NOT_LOCAL]), false);
    });
  }

  it.skip(FORWARDING_OFF_GAP, () => {});
});

if (unavailable === undefined) console.warn(`differential tests: ${FORWARDING_OFF_GAP}`);
