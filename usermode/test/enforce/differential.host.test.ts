/**
 * The differential oracle: the same ruleset goes into native iptables-legacy (netfilter) in one
 * netns pair and, through the shim, into the helper's netfilter programs in another; the same
 * packets (crafted over raw sockets, so both get the very same bytes) go through both:
 * - a → b over the veth, to b's addresses and (forwarding on or off) to one b does not own;
 * - a → b over a second veth made after the replace (filtered from its first packet);
 * - b to itself over loopback (OUTPUT -o lo, then INPUT -i lo);
 * - fragments: whole datagrams in two fragments (reassembled before INPUT), later fragments alone,
 *   and, forwarding on, fragments that b forwards one by one.
 * Then iptables-legacy-save -c must print the same table with the same packet and byte counters,
 * rule by rule and policy by policy. Replies b sends (RST, ICMP) go through OUTPUT and are compared
 * too. Seeds run on BPFILTER_DIFF_PARALLEL pairs of benches at once (default 3).
 */
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HelperBench, realPathUnavailable } from "./helper_process.ts";
import { sendRaw, type PacketSpec } from "./raw_packets.ts";
import { prng, randomRuleset, seedRange } from "./random_rulesets.ts";

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
  "interfaces: -i, -o, wildcards, negation, loopback, a veth made after the replace": `${HEAD}
-A INPUT -i lo -p udp -j ACCEPT
-A INPUT -i bpfe+ -p udp -m udp --dport 53 -j ACCEPT
-A INPUT -i bpfl+ -p udp -m udp --dport 5000 -j DROP
-A INPUT ! -i bpfe+ -p tcp -j DROP
-A INPUT -i VETH -p tcp -m tcp --dport 80 -j DROP
-A INPUT ! -i VETH -p tcp -j DROP
-A INPUT -i LATE -s 10.79.0.0/24 -j DROP
-A FORWARD -i VETH -o VETH -p udp -j DROP
-A FORWARD -i LATE -o VETH -j ACCEPT
-A OUTPUT -o lo -p udp -j ACCEPT
-A OUTPUT -o VETH -p tcp -j DROP
-A OUTPUT ! -o bpfe+ -j DROP
COMMIT
`,
  "fragments: -f, ! -f, ports of reassembled datagrams": `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 5000 -j ACCEPT
-A INPUT -p udp -m udp --dport 5001 -j DROP
-A INPUT -f -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
-A INPUT -m length --length 40:60 -j ACCEPT
-A FORWARD -p udp -m udp --dport 5000 -j ACCEPT
-A FORWARD -f -j ACCEPT
-A FORWARD ! -f -p udp -j DROP
COMMIT
`,
};

const SOURCES = ["10.77.0.1", "10.77.0.5", "10.78.0.1"];
const LOCAL = ["10.77.0.2", "10.78.0.2"];
/** An address in b's subnet that b does not own: b forwards packets to it (back out of the veth) or drops them. */
const NOT_LOCAL = "10.77.0.9";
/** a's and b's addresses on the veth made after the replace. */
const LATE_A = "10.79.0.1";
const LATE_B = "10.79.0.2";

/**
 * Seeds of the random tables (random_rulesets.ts); a failing one replays with the same seed. Odd
 * seeds run with forwarding on, even ones with it off. BPFILTER_DIFF_SEEDS=FIRST-LAST runs another
 * range (a longer hunt than the default 1-300).
 */
const RANDOM_SEEDS = seedRange(process.env.BPFILTER_DIFF_SEEDS ?? "1-300");

/** Bench pairs that run seeds at once. */
const PARALLEL = Number(process.env.BPFILTER_DIFF_PARALLEL ?? 3);

/** The packets of one seed, by where they are sent from. */
interface Traffic {
  /** From a, over the veth. */
  readonly veth: readonly PacketSpec[];
  /** From a, over the veth made after the replace. */
  readonly late: readonly PacketSpec[];
  /** From b, to itself over loopback. */
  readonly loopback: readonly PacketSpec[];
}

/** The traffic of `seed`: ports, TCP flags, ttl, tos, lengths and fragments around what the random tables match. */
function randomTraffic(seed: number): Traffic {
  const random = prng(seed * 7919);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const ports = [22, 53, 80, 443, 1500, 5000, 5001, 6000, 8500, 9000, 40_500, 65_000];
  // IP ids are unique per seed, so that no fragment joins another seed's datagram (queues live 30 s).
  let id = (seed * 97) % 60_000 + 1;
  const packet = (src: string, dst: string): PacketSpec => {
    const ip = { ttl: pick([64, 64, 5, 33, 1]), tos: pick([0, 0, 10 << 2, 46 << 2]), payload: pick([0, 12, 40, 100]), id: id++ };
    const proto = pick(["udp", "tcp", "icmp"] as const);
    if (proto === "icmp") return { proto, src, dst, ...ip };
    if (proto === "udp") return { proto, src, dst, sport: pick(ports), dport: pick(ports), ...ip };
    return { proto, src, dst, sport: pick(ports), dport: pick(ports), flags: pick([0x02, 0x12, 0x10, 0x04, 0x18, 0x03]), ...ip };
  };
  /** A datagram in two fragments (reassembled before INPUT; forwarded one by one), or only its later fragment. */
  const fragments = (src: string, dst: string, whole: boolean): PacketSpec[] => {
    const proto = pick(["udp", "tcp"] as const);
    const common = { proto, src, dst, sport: pick(ports), dport: pick(ports), id: id++ } as const;
    // The first fragment carries the transport header and more bytes, 24 (udp) or 32 (tcp) in all:
    // a multiple of 8, as a fragment that is not the last must be (else the kernel trims it, the
    // datagram never completes, and an ICMP "reassembly time exceeded" leaves b 30 s later).
    const first: PacketSpec = { ...common, payload: proto === "udp" ? 16 : 12, fragment: { offset: 0, more: true } };
    const second: PacketSpec = { ...common, payload: 0, fragment: { offset: proto === "udp" ? 3 : 4, more: false } };
    return whole ? [first, second] : [second];
  };
  const veth = [
    ...Array.from({ length: 24 }, () => packet(pick(SOURCES), pick([...LOCAL, NOT_LOCAL]))),
    ...fragments(pick(SOURCES), pick(LOCAL), true),
    ...fragments(pick(SOURCES), pick(LOCAL), random() < 0.5),
    ...fragments(pick(SOURCES), NOT_LOCAL, true),
  ];
  const late = Array.from({ length: 8 }, () => packet(pick([LATE_A, ...SOURCES]), pick([LATE_B, LOCAL[0]!, NOT_LOCAL])));
  const loopback = Array.from({ length: 6 }, () => packet(pick(["127.0.0.1", ...LOCAL]), pick(["127.0.0.1", ...LOCAL])));
  return { veth, late, loopback };
}

/** Fixed traffic for the hand-written rulesets: every source to every address, common ports, fragments. */
function fixedTraffic(): Traffic {
  const veth: PacketSpec[] = [];
  let sport = 40_000;
  let id = 61_000;
  for (const src of SOURCES) {
    for (const dst of [...LOCAL, NOT_LOCAL]) {
      for (const [sp, dport] of [[1500, 53], [sport++, 5000], [sport++, 5001], [1500, 6000]] as const) {
        veth.push({ proto: "udp", src, dst, sport: sp, dport, id: id++ });
      }
      for (const dport of [22, 80, 443, 445, 8050, 8080]) veth.push({ proto: "tcp", src, dst, sport: sport++, dport, id: id++ });
      veth.push({ proto: "icmp", src, dst, id: id++ });
    }
    for (const [dst, dport] of [["10.77.0.2", 5000], ["10.77.0.2", 5001], [NOT_LOCAL, 5000], [NOT_LOCAL, 6000]] as const) {
      const common = { proto: "udp", src, dst, sport: 7, dport, id: id++ } as const;
      veth.push({ ...common, payload: 16, fragment: { offset: 0, more: true } }, { ...common, payload: 0, fragment: { offset: 3, more: false } });
    }
  }
  const late: PacketSpec[] = [
    { proto: "udp", src: LATE_A, dst: LATE_B, sport: 9, dport: 5000, id: id++ },
    { proto: "udp", src: LATE_A, dst: NOT_LOCAL, sport: 9, dport: 53, id: id++ },
    { proto: "tcp", src: LATE_A, dst: LATE_B, sport: 9, dport: 80, id: id++ },
  ];
  const loopback: PacketSpec[] = [
    { proto: "udp", src: "127.0.0.1", dst: "127.0.0.1", sport: 9, dport: 53, id: id++ },
    { proto: "tcp", src: "10.77.0.2", dst: "10.77.0.2", sport: 9, dport: 80, id: id++ },
  ];
  return { veth, late, loopback };
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
  sysctl("net.ipv4.icmp_msgs_burst=100000"); // the global limiter adds credits only every 20 ms: a burst of errors needs them all
  sysctl("net.ipv4.conf.all.rp_filter=0");
  sysctl("net.ipv4.conf.default.rp_filter=0");
  sysctl(`net.ipv4.conf.${bench.veth}.rp_filter=0`);
  // Redirects (a forwarded packet leaves by the interface it came in) are rate limited by time too.
  for (const conf of ["all", "default", bench.veth]) sysctl(`net.ipv4.conf.${conf}.send_redirects=0`);
}

/** `ip -batch` lines for netns `ns`, in one process. */
function ipBatch(ns: string, lines: readonly string[]): void {
  execFileSync("ip", ["-n", ns, "-batch", "-"], { input: `${lines.join("\n")}\n`, stdio: ["pipe", "ignore", "pipe"] });
}

/** The veth made after the replace: LATE_A in a, LATE_B in b, static neighbours, rp_filter off (default). */
function addLateVeth(bench: HelperBench): void {
  const [macA, macB] = ["02:b9:f1:00:00:01", "02:b9:f1:00:00:02"];
  const name = bench.lateVeth;
  execFileSync("ip", ["-n", bench.nsA, "link", "add", name, "address", macA, "type", "veth", "peer", "name", name, "address", macB, "netns", bench.nsB]);
  ipBatch(bench.nsA, [`addr add ${LATE_A}/24 dev ${name}`, `link set ${name} up`, `neigh replace ${LATE_B} lladdr ${macB} dev ${name} nud permanent`]);
  ipBatch(bench.nsB, [
    `addr add ${LATE_B}/24 dev ${name}`,
    `link set ${name} up`,
    `neigh replace ${LATE_A} lladdr ${macA} dev ${name} nud permanent`,
  ]);
}

/**
 * Waits until both ends of the late veth pass packets: up, and with their qdisc attached (until the
 * kernel's linkwatch sees the carrier, a new device's qdisc is noop, which drops what is sent).
 */
async function lateVethReady(bench: HelperBench): Promise<void> {
  const ready = (ns: string) => {
    const [link] = JSON.parse(execFileSync("ip", ["-n", ns, "-j", "link", "show", "dev", bench.lateVeth], { encoding: "utf8" })) as { operstate: string; qdisc: string }[];
    return link!.operstate === "UP" && link!.qdisc !== "noop";
  };
  for (let tries = 0; tries < 100; tries++) {
    if (ready(bench.nsA) && ready(bench.nsB)) return;
    await sleep(20);
  }
  throw new Error(`${bench.lateVeth} did not come up in 2 s`);
}

function removeLateVeth(bench: HelperBench): void {
  execFileSync("ip", ["-n", bench.nsA, "link", "del", bench.lateVeth]);
}

/** iptables-legacy-save -c without its comment lines, each pair's interface names replaced by VETH and LATE. */
function comparable(text: string, bench: HelperBench): string {
  return text
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .join("\n")
    .replaceAll(bench.lateVeth, "LATE")
    .replaceAll(bench.veth, "VETH");
}

/** One native bench (netfilter only) and one bpfilter bench (helper and shim), configured alike. */
interface BenchPair {
  readonly native: HelperBench;
  readonly bpf: HelperBench;
}

describe.skipIf(unavailable !== undefined)("the same packets through netfilter and through the helper's netfilter programs", () => {
  const pairs: BenchPair[] = Array.from({ length: Math.max(1, PARALLEL) }, () => ({ native: new HelperBench(), bpf: new HelperBench() }));
  const idle: BenchPair[] = [];
  const waiting: ((pair: BenchPair) => void)[] = [];
  const acquire = (): Promise<BenchPair> => {
    const pair = idle.pop();
    return pair !== undefined ? Promise.resolve(pair) : new Promise((resolve) => waiting.push(resolve));
  };
  const releasePair = (pair: BenchPair): void => {
    const next = waiting.shift();
    if (next !== undefined) next(pair);
    else idle.push(pair);
  };

  beforeAll(async () => {
    await Promise.all(pairs.flatMap((p) => [p.native.start(false), p.bpf.start()]));
    for (const p of pairs) for (const bench of [p.native, p.bpf]) configure(bench);
    idle.push(...pairs);
  }, 120_000);
  afterAll(async () => {
    for (const p of pairs) {
      await p.native.close();
      await p.bpf.close();
    }
  });

  /**
   * Restores `ruleset` into both benches of a pair, makes the late veth, sends `traffic`, waits for
   * the replies, and compares iptables-legacy-save -c. `forwarding` sets b's ip_forward first.
   */
  async function compare(ruleset: string, traffic: Traffic, forwarding: boolean): Promise<void> {
    const pair = await acquire();
    const { native, bpf } = pair;
    try {
      for (const bench of [native, bpf]) execFileSync("ip", ["netns", "exec", bench.nsB, "sysctl", "-qw", `net.ipv4.ip_forward=${forwarding ? 1 : 0}`]);
      const text = (bench: HelperBench) => ruleset.replaceAll("LATE", bench.lateVeth).replaceAll("VETH", bench.veth);
      const restore = (bench: HelperBench) => `printf '%s' '${text(bench)}' | iptables-legacy-restore`;
      const [restoreNative, restoreBpf] = await Promise.all([
        native.run(native.nsB, "native", ["sh", "-c", restore(native)]),
        bpf.run(bpf.nsB, "shim", ["sh", "-c", restore(bpf)]),
      ]);
      expect(restoreNative).toMatchObject({ code: 0 });
      expect(restoreBpf).toMatchObject({ code: 0 });
      expect(bpf.helperLog).not.toContain("netfilter enforces it");
      for (const bench of [native, bpf]) addLateVeth(bench);
      try {
        for (const bench of [native, bpf]) await lateVethReady(bench);
        // What b's OUTPUT let out of its own packets (a dropped one fails with EPERM) must agree too.
        const [sentNative, sentBpf] = [native, bpf].map((bench) => {
          sendRaw(`/run/netns/${bench.nsA}`, traffic.veth);
          sendRaw(`/run/netns/${bench.nsA}`, traffic.late);
          return sendRaw(`/run/netns/${bench.nsB}`, traffic.loopback);
        });
        expect(sentBpf, "b's own packets that its OUTPUT let out").toEqual(sentNative);
        // Received packets are processed in softirq, later under load: read until both tables are
        // equal twice in a row (counters only grow), or give up and show the difference.
        let last = "";
        let settled = 0;
        let texts: [string, string] = ["", ""];
        for (let round = 0; round < 12 && settled < 2; round++) {
          await sleep(round === 0 ? 100 : 250);
          const [fromNative, fromBpf] = await Promise.all([
            native.run(native.nsB, "native", ["iptables-legacy-save", "-c"]),
            bpf.run(bpf.nsB, "shim", ["iptables-legacy-save", "-c"]),
          ]);
          texts = [comparable(fromNative.stdout, native), comparable(fromBpf.stdout, bpf)];
          settled = texts[0] === texts[1] && texts[0] === last ? settled + 1 : texts[0] === texts[1] ? 1 : 0;
          last = texts[0];
        }
        expect(texts[1], `${ruleset}\nforwarding ${forwarding ? "on" : "off"}`).toBe(texts[0]);
        expect(texts[0]).toMatch(/\[[1-9]\d*:\d+\]/); // the packets arrived
      } finally {
        for (const bench of [native, bpf]) removeLateVeth(bench);
      }
    } finally {
      releasePair(pair);
    }
  }

  for (const [name, ruleset] of Object.entries(RULESETS)) {
    for (const forwarding of [false, true]) {
      it.concurrent(`${name}, forwarding ${forwarding ? "on" : "off"}: same counters, rule by rule`, () => compare(ruleset, fixedTraffic(), forwarding));
    }
  }

  for (const seed of RANDOM_SEEDS) {
    const forwarding = seed % 2 === 1;
    it.concurrent(`random table and traffic, seed ${seed}, forwarding ${forwarding ? "on" : "off"}: same counters, rule by rule`, () =>
      compare(randomRuleset(seed, true), randomTraffic(seed), forwarding),
    );
  }
});
