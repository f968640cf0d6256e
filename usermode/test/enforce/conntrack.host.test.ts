/**
 * The stateful differential oracle: conntrack, state and mark rules into native iptables-legacy in
 * one netns pair and, through the shim, into the helper's programs in another; then the same flows
 * through both, over real sockets (flow_peer.ts) and crafted packets:
 * - a → b: TCP handshake, data and FIN; TCP with a reset after the data; TCP to a closed port (RST
 *   back); TCP that b's nat table DNATs; UDP request and reply; UDP to a closed port (b's ICMP error about it: RELATED); UDP to a
 *   port the raw table marks -j CT --notrack (UNTRACKED both ways); ICMP echo and its reply;
 *   crafted TCP with SYN+FIN, a lone RST and no flags (INVALID), a lone ACK (picked up mid-stream),
 *   UDP to the subnet broadcast and to 224.0.0.1 (pkttype);
 * - b → a: TCP with FIN, UDP with a reply (which b's nat table SNATs), UDP to a closed port of a (a's ICMP error: RELATED in b's
 *   INPUT); b's own multicast and broadcast, which come back to its INPUT as PACKET_LOOPBACK.
 * b's mangle table marks some flows (PREROUTING and OUTPUT), its raw table untracks one and its nat table maps two, natively
 * in both benches: those tables stay netfilter's. What each step saw, what b's OUTPUT let out of the
 * crafted packets, and iptables-legacy-save -c of the filter table (every rule's and policy's packet
 * and byte counters) must agree.
 *
 * A separate bench without the raw table (whose CT target turns conntrack on by itself) checks that
 * the helper turns the netns's conntrack on exactly when a compiled table reads it, and off again.
 * BPFILTER_CT_SEEDS=FIRST-LAST runs another range of random tables (default 1-12).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HelperBench, realPathUnavailable } from "./helper_process.ts";
import { sendRaw, type PacketSpec } from "./raw_packets.ts";
import { STATEFUL_RULESETS, randomStatefulRuleset } from "./stateful_rulesets.ts";
import { seedRange } from "./random_rulesets.ts";
import type { FlowStep } from "./flow_peer.ts";

const unavailable = realPathUnavailable() ?? (execFileSync("sh", ["-c", "command -v nft || true"], { encoding: "utf8" }).trim() === "" ? "nft is not installed (apt-get install nftables)" : undefined);
if (unavailable) console.warn(`skipping the stateful differential tests: ${unavailable}`);

const repo = resolve(import.meta.dirname, "../../..");
const PEER = resolve(import.meta.dirname, "flow_peer.ts");
const A = "10.77.0.1";
const B = "10.77.0.2";

/** Seeds of the random tables (stateful_rulesets.ts); a failing one replays with the same seed. */
const SEEDS = seedRange(process.env.BPFILTER_CT_SEEDS ?? "1-12");
const PARALLEL = Number(process.env.BPFILTER_DIFF_PARALLEL ?? 2);

/** b's servers: TCP echo on 22 and 80, UDP echo on 53 and 7000 (untracked); 23 and 5353 are closed. */
const B_PORTS = { tcp: [22, 80], udp: [53, 7000] };
/** a's servers: TCP echo on 22, UDP echo on 53; 9999 is closed. */
const A_PORTS = { tcp: [22], udp: [53] };

const FROM_A: readonly FlowStep[] = [
  { tcp: B, port: 22, close: "fin" },
  { tcp: B, port: 80, close: "rst" },
  { tcp: B, port: 23, close: "fin" },
  { udp: B, port: 53 },
  { udp: B, port: 5353 },
  { udp: B, port: 7000 },
  { tcp: B, port: 80, close: "fin" },
  { tcp: B, port: 22, close: "rst" },
  { tcp: B, port: 8080, close: "fin" },
];
const FROM_B: readonly FlowStep[] = [
  { tcp: A, port: 22, close: "fin" },
  { udp: A, port: 53 },
  { udp: A, port: 9999 },
];
/**
 * Crafted from a: an echo request, INVALID TCP (SYN+FIN, a lone RST, no flags), a lone ACK, and UDP
 * to b's subnet broadcast and to all-hosts multicast (pkttype broadcast and multicast).
 */
const CRAFTED: readonly PacketSpec[] = [
  { proto: "icmp", src: A, dst: B },
  { proto: "udp", src: A, dst: "10.77.0.255", sport: 6000, dport: 6000 },
  { proto: "udp", src: A, dst: "224.0.0.1", sport: 6001, dport: 6000 },
  { proto: "tcp", src: A, dst: B, sport: 41_000, dport: 22, flags: 0x03 },
  { proto: "tcp", src: A, dst: B, sport: 41_001, dport: 22, flags: 0x04 },
  { proto: "tcp", src: A, dst: B, sport: 41_002, dport: 80, flags: 0x00 },
  { proto: "tcp", src: A, dst: B, sport: 41_003, dport: 22, flags: 0x10 },
];
/** Crafted from b: multicast and broadcast, which b also loops back to itself (PACKET_LOOPBACK at INPUT). */
const CRAFTED_B: readonly PacketSpec[] = [
  { proto: "udp", src: B, dst: "224.0.0.1", sport: 6002, dport: 6000 },
  { proto: "udp", src: B, dst: "10.77.0.255", sport: 6003, dport: 6000 },
];

/**
 * A SYN sent again (the second packet of a connection still in SYN_SENT) never leaves: a client
 * whose timer runs late under load would otherwise retransmit its SYN at 1 s in one bench and not in
 * the other. In a's OUTPUT and in b's mangle OUTPUT (before b's filter), both natively.
 */
const NO_SYN_RETRANSMISSION = "-A OUTPUT -p tcp -m tcp --syn -m connbytes --connbytes 2: --connbytes-dir original --connbytes-mode packets -j DROP";

/**
 * b's mangle and raw tables, written natively (netfilter keeps them) in both benches. The raw table's
 * CT target and connbytes turn b's conntrack on by themselves: the bench that checks the helper's own
 * conntrack reference has neither (its tables do not drop b's SYNs).
 */
const mangleRaw = (conntrackUsers: boolean): string => `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 53 -j MARK --set-mark 0x1
-A PREROUTING -p tcp -m tcp --dport 80 -j MARK --set-mark 0x12
-A OUTPUT -p tcp -m tcp --sport 80 -j MARK --set-mark 0x22
-A OUTPUT -p udp -m udp --dport 9999 -j MARK --set-mark 0x80000001
${conntrackUsers ? NO_SYN_RETRANSMISSION : ""}
COMMIT
${conntrackUsers ? RAW + NAT : ""}`;

const RAW = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 7000 -j CT --notrack
-A OUTPUT -p udp -m udp --sport 7000 -j CT --notrack
COMMIT
`;

/**
 * b's nat table: TCP to 8080 goes to its port 80 (DNAT: both directions of those flows have
 * IPS_DST_NAT), and its UDP to a's port 53 leaves from ports 1000-1100 (SNAT: ephemeral ports are
 * never there, so every such flow is mapped and has IPS_SRC_NAT).
 */
const NAT = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination :80
-A POSTROUTING -p udp -m udp --dport 53 -j SNAT --to-source ${B}:1000-1100
COMMIT
`;

/**
 * Both ends: no SYN-ACK retransmission (a dropped one stays dropped), no SYN retransmission out of a
 * (NO_SYN_RETRANSMISSION), no ICMP rate limit, a route for 224.0.0.0/4.
 */
function configure(bench: HelperBench): void {
  for (const ns of [bench.nsA, bench.nsB]) {
    const sysctl = (setting: string) => execFileSync("ip", ["netns", "exec", ns, "sysctl", "-qw", setting]);
    sysctl("net.ipv4.tcp_synack_retries=0");
    sysctl("net.ipv4.icmp_ratelimit=0");
    sysctl("net.ipv4.icmp_msgs_per_sec=100000");
    sysctl("net.ipv4.icmp_msgs_burst=100000");
    execFileSync("ip", ["-n", ns, "route", "add", "224.0.0.0/4", "dev", bench.veth]);
    sysctl("net.netfilter.nf_conntrack_acct=1"); // connbytes counts packets
  }
  execFileSync("ip", ["netns", "exec", bench.nsA, "iptables-legacy", ...NO_SYN_RETRANSMISSION.split(" ")]);
}

function startPeer(ns: string, ports: { tcp: number[]; udp: number[] }): Promise<ChildProcess> {
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", PEER, "serve", JSON.stringify(ports)], {
    cwd: repo,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((ready, failed) => {
    const timer = setTimeout(() => failed(new Error(`flow_peer in ${ns} did not listen within 20 s`)), 20_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) {
        clearTimeout(timer);
        ready(child);
      }
    });
    child.on("exit", (code) => failed(new Error(`flow_peer in ${ns} exited ${code}`)));
  });
}

function runSteps(ns: string, steps: readonly FlowStep[]): Promise<string[]> {
  return new Promise((done, failed) => {
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", PEER, "run", JSON.stringify(steps)], {
      cwd: repo,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("exit", (code) => (code === 0 ? done(JSON.parse(out) as string[]) : failed(new Error(`flow_peer run in ${ns} exited ${code}: ${out}`))));
  });
}

/** A native and a bpfilter bench with their servers. */
interface BenchPair {
  readonly native: HelperBench;
  readonly bpf: HelperBench;
  readonly peers: ChildProcess[];
}

async function openPair(withRaw: boolean): Promise<BenchPair> {
  const pair = { native: new HelperBench(), bpf: new HelperBench(), peers: [] as ChildProcess[] };
  await Promise.all([pair.native.start(false), pair.bpf.start()]);
  for (const bench of [pair.native, pair.bpf]) {
    configure(bench);
    execFileSync("ip", ["netns", "exec", bench.nsB, "iptables-legacy-restore"], { input: mangleRaw(withRaw) });
    pair.peers.push(await startPeer(bench.nsB, B_PORTS), await startPeer(bench.nsA, A_PORTS));
  }
  return pair;
}

async function closePair(pair: BenchPair): Promise<void> {
  for (const peer of pair.peers) peer.kill("SIGKILL");
  await pair.native.close();
  await pair.bpf.close();
}

/** iptables-legacy-save -c -t filter without its comment lines. */
async function filterCounters(bench: HelperBench, via: "native" | "shim"): Promise<string> {
  const saved = await bench.run(bench.nsB, via, ["iptables-legacy-save", "-c", "-t", "filter"]);
  return saved.stdout.split("\n").filter((line) => !line.startsWith("#")).join("\n");
}

/** Whether b holds the helper's conntrack reference table. */
function hasConntrackTable(bench: HelperBench): boolean {
  return execFileSync("ip", ["netns", "exec", bench.nsB, "nft", "list", "tables"], { encoding: "utf8" }).includes("table ip bpfilter");
}

/** Restores `ruleset` into both benches of the pair, runs the flows through both, and compares. */
async function compare(pair: BenchPair, ruleset: string): Promise<void> {
  const { native, bpf } = pair;
  const restore = (bench: HelperBench, via: "native" | "shim") => bench.run(bench.nsB, via, ["sh", "-c", `printf '%s' '${ruleset}' | iptables-legacy-restore`]);
  const [restoredNative, restoredBpf] = await Promise.all([restore(native, "native"), restore(bpf, "shim")]);
  expect(restoredNative).toMatchObject({ code: 0 });
  expect(restoredBpf).toMatchObject({ code: 0 });
  expect(bpf.helperLog).not.toContain("netfilter enforces it");
  const flows = async (bench: HelperBench) => {
    const fromA = await runSteps(bench.nsA, FROM_A);
    const sent = sendRaw(`/run/netns/${bench.nsA}`, CRAFTED);
    const fromB = await runSteps(bench.nsB, FROM_B);
    const sentB = sendRaw(`/run/netns/${bench.nsB}`, CRAFTED_B);
    return { fromA, sent, fromB, sentB };
  };
  const [sawNative, sawBpf] = await Promise.all([flows(native), flows(bpf)]);
  expect(sawBpf, `what the flows saw\n${ruleset}`).toEqual(sawNative);
  let texts: [string, string] = ["", ""];
  let last = "";
  let settled = 0;
  for (let round = 0; round < 12 && settled < 2; round++) {
    await sleep(round === 0 ? 100 : 250);
    texts = [await filterCounters(native, "native"), await filterCounters(bpf, "shim")];
    settled = texts[0] === texts[1] && texts[0] === last ? settled + 1 : texts[0] === texts[1] ? 1 : 0;
    last = texts[0];
  }
  expect(texts[1], ruleset).toBe(texts[0]);
  expect(texts[0]).toMatch(/\[[1-9]\d*:\d+\]/);
}

describe.skipIf(unavailable !== undefined)("stateful flows through netfilter and through the helper's programs", () => {
  const pairs: BenchPair[] = [];
  const idle: BenchPair[] = [];
  const waiting: ((pair: BenchPair) => void)[] = [];
  const withPair = async (fn: (pair: BenchPair) => Promise<void>): Promise<void> => {
    const pair = idle.pop() ?? (await new Promise<BenchPair>((resolve) => waiting.push(resolve)));
    try {
      await fn(pair);
    } finally {
      const next = waiting.shift();
      if (next !== undefined) next(pair);
      else idle.push(pair);
    }
  };

  beforeAll(async () => {
    for (let i = 0; i < Math.max(1, PARALLEL); i++) pairs.push(await openPair(true));
    idle.push(...pairs);
  }, 180_000);
  afterAll(async () => {
    for (const pair of pairs) await closePair(pair);
  });

  for (const [name, ruleset] of Object.entries(STATEFUL_RULESETS)) {
    it.concurrent(`${name}: same outcomes and counters`, () => withPair((pair) => compare(pair, ruleset)), 600_000);
  }
  for (const seed of SEEDS) {
    it.concurrent(`random conntrack, state and mark table, seed ${seed}: same outcomes and counters`, () =>
      withPair((pair) => compare(pair, randomStatefulRuleset(seed))), 600_000);
  }
});

describe.skipIf(unavailable !== undefined)("the netns's conntrack, on exactly while a compiled table reads it", () => {
  let pair: BenchPair;
  beforeAll(async () => {
    pair = await openPair(false);
  }, 120_000);
  afterAll(async () => {
    await closePair(pair);
  });

  it("is turned on by a conntrack table, off by a stateless one, and the flows agree with netfilter's", async () => {
    const stateless = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22\nCOMMIT\n";
    await compare(pair, stateless);
    expect(hasConntrackTable(pair.bpf)).toBe(false);
    await compare(pair, STATEFUL_RULESETS["a stateful server: INVALID dropped, ESTABLISHED/RELATED accepted, NEW by port, policy DROP"]!);
    expect(hasConntrackTable(pair.bpf)).toBe(true);
    expect(hasConntrackTable(pair.native)).toBe(false);
    await compare(pair, stateless);
    expect(hasConntrackTable(pair.bpf)).toBe(false);
    await compare(pair, STATEFUL_RULESETS["every state, direction and negation counted, INPUT and OUTPUT"]!);
  }, 180_000);
});
