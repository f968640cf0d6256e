// Host BPF: INPUT vs FORWARD through bpf_fib_lookup, and -i/-o matching, in a netns of our own
// (forwarding on, lo up, a veth pair cgd0/cgd1 with 192.0.2.1/24 on cgd0, a blackhole route). test_run's
// ingress device is that netns's lo (ifindex 1); the FIB runs in the netns we enter around test_run.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCEPT, DROP, filterTable, tcpMatch, udpMatch, type TableSpec } from "./ir-builders.ts";
import { PROTO, tcpFrame, udpFrame } from "./packets.ts";
import { hostBpfUnavailable, loadHook, type Outcome } from "./harness.ts";
import { inNetns, interfaces, namedNetnsPath } from "../../src/bpf/index.ts";
import { IPT_F, IPT_INV, type Table } from "../../src/ir/types.ts";

const unavailable = hostBpfUnavailable();
if (unavailable !== undefined) console.warn(`skipping host BPF forward tests: ${unavailable}`);

const NS = `cg-fwd-${process.pid}`;
const NS_PATH = namedNetnsPath(NS);

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: "pipe" });
}

const TABLE: TableSpec = {
  INPUT: { rules: [{ proto: PROTO.UDP, matches: [udpMatch({ dport: [9, 9] })], target: DROP }] },
  FORWARD: {
    policy: "drop",
    rules: [
      { in: "cg+", target: DROP }, // the ingress device is lo: never holds
      { out: "cgd0", proto: PROTO.UDP, matches: [udpMatch({ dport: [9, 9] })], target: ACCEPT },
      { in: "lo", out: "cgd0", invflags: IPT_INV.VIA_OUT, target: ACCEPT },
      { in: "lo", out: "cg+", proto: PROTO.UDP, target: ACCEPT },
    ],
  },
  OUTPUT: {
    rules: [
      { in: "eth0", target: DROP }, // no input device on OUTPUT: never holds
      { out: "lo", proto: PROTO.UDP, matches: [udpMatch({ dport: [7, 7] })], target: DROP },
      { out: "cgd0", invflags: IPT_INV.VIA_OUT, proto: PROTO.UDP, matches: [udpMatch({ dport: [8, 8] })], target: DROP },
    ],
  },
};

type Probe = readonly [what: string, frame: Uint8Array, outcome: Outcome, hits: readonly string[]];
type Mode = "fast" | "guarded" | "compact";

/** Every probe in every emit mode. */
function inModes(probes: readonly Probe[]): (readonly [Mode, ...Probe])[] {
  return probes.flatMap((p) => (["fast", "guarded", "compact"] as const).map((mode) => [mode, ...p] as const));
}

const INGRESS_PROBES: readonly Probe[] = [
  ["loopback address → INPUT", udpFrame(1, 9, { dst: "127.0.0.1" }), "drop", ["INPUT#1"]],
  ["address of cgd0 → INPUT", udpFrame(1, 10, { dst: "192.0.2.1" }), "accept", ["INPUT:policy"]],
  ["routed via cgd0 → FORWARD, -o cgd0", udpFrame(1, 9, { dst: "192.0.2.77" }), "accept", ["FORWARD#2"]],
  ["routed via cgd0, other port → FORWARD -i lo -o cg+", udpFrame(1, 10, { dst: "192.0.2.77" }), "accept", ["FORWARD#4"]],
  ["routed, ttl 1: ip_forward drops it before the hook", udpFrame(1, 9, { dst: "192.0.2.77", ttl: 1 }), "accept", []],
  ["blackhole route: never reaches a hook", udpFrame(1, 9, { dst: "203.0.113.5" }), "accept", []],
  // Documented divergence: with no route at all the FIB says NOT_FWDED, and we run INPUT.
  ["no route → INPUT (netfilter would not see it)", udpFrame(1, 9, { dst: "198.51.100.1" }), "drop", ["INPUT#1"]],
];

// FORWARD sees fragments one by one (no reassembly without conntrack): fragment rules and the
// tcp/udp fragment corner cases apply there. INPUT sees whole datagrams: later fragments pass.
const FRAGMENT_TABLE: TableSpec = {
  INPUT: { rules: [{ flags: IPT_F.FRAG, target: DROP }] },
  FORWARD: {
    rules: [
      { proto: PROTO.UDP, matches: [udpMatch({ dport: [9, 9] })], target: DROP },
      { proto: PROTO.TCP, matches: [tcpMatch({ dport: [22, 22] })], target: ACCEPT },
      { flags: IPT_F.FRAG, target: DROP },
    ],
  },
};

const FRAGMENT_PROBES: readonly Probe[] = [
  ["FORWARD: first fragment matches udp", udpFrame(1, 9, { dst: "192.0.2.77", moreFragments: true }), "drop", ["FORWARD#1"]],
  ["FORWARD: later fragment skips udp, matches -f", udpFrame(1, 9, { dst: "192.0.2.77", fragOffset: 5 }), "drop", ["FORWARD#3"]],
  ["FORWARD: tcp fragment offset 1 hotdrops", tcpFrame(1, 22, 0x02, { dst: "192.0.2.77", fragOffset: 1 }), "drop", []],
  ["FORWARD: whole datagram", udpFrame(1, 10, { dst: "192.0.2.77" }), "accept", ["FORWARD:policy"]],
  ["INPUT: later fragment passes uncounted", udpFrame(1, 9, { dst: "127.0.0.1", fragOffset: 5 }), "accept", []],
  ["INPUT: first fragment is judged (-f does not match it)", udpFrame(1, 9, { dst: "127.0.0.1", moreFragments: true }), "accept", ["INPUT:policy"]],
];

const OUTPUT_PROBES: readonly Probe[] = [
  ["-o lo --dport 7", udpFrame(1, 7), "drop", ["OUTPUT#2"]],
  ["! -o cgd0 --dport 8", udpFrame(1, 8), "drop", ["OUTPUT#3"]],
  ["nothing else", udpFrame(1, 9), "accept", ["OUTPUT:policy"]],
];

describe.skipIf(unavailable !== undefined)("INPUT/FORWARD split and interface matches", () => {
  let ifindexByName: Map<string, number>;
  beforeAll(() => {
    ip("netns", "add", NS);
    ip("-n", NS, "link", "set", "lo", "up");
    execFileSync("ip", ["netns", "exec", NS, "sysctl", "-qw", "net.ipv4.ip_forward=1"], { stdio: "pipe" });
    ip("-n", NS, "link", "add", "cgd0", "type", "veth", "peer", "name", "cgd1");
    ip("-n", NS, "link", "set", "cgd1", "up");
    ip("-n", NS, "addr", "add", "192.0.2.1/24", "dev", "cgd0");
    ip("-n", NS, "link", "set", "cgd0", "up");
    ip("-n", NS, "route", "add", "blackhole", "203.0.113.0/24");
    ifindexByName = new Map(inNetns(NS_PATH, () => interfaces()).map((i) => [i.name, i.ifindex]));
  });
  afterAll(() => {
    try {
      ip("netns", "del", NS);
    } catch {
      // beforeAll failed before creating it
    }
  });

  it("declines interface matches without the interface list", () => {
    const compiled = loadHookOrReason(() => loadHook(filterTable(TABLE), "INPUT"));
    expect(compiled).toMatch(/^declined: rule 1 in chain FORWARD: interface match '.*' needs the netns's interface list/);
  });

  it.each(inModes(INGRESS_PROBES))("ingress, %s mode: %s", (mode, _what, frame, outcome, hits) => {
    probe(filterTable(TABLE), "FORWARD", mode, frame, outcome, hits);
  });

  it.each(inModes(FRAGMENT_PROBES))("fragments, %s mode: %s", (mode, _what, frame, outcome, hits) => {
    probe(filterTable(FRAGMENT_TABLE), "FORWARD", mode, frame, outcome, hits);
  });

  it.each(["fast", "compact"] as const)("-i on INPUT compares the XDP ingress device (%s mode)", (mode) => {
    const table = filterTable({
      INPUT: { rules: [{ in: "cgd0", proto: PROTO.UDP, target: DROP }, { in: "cg+", invflags: IPT_INV.VIA_IN, target: ACCEPT }] },
    });
    const prog = loadHook(table, "INPUT", ifindexByName, mode);
    try {
      const frame = udpFrame(1, 9, { dst: "192.0.2.1" });
      const xdpMd = (ifindex: number): Uint8Array => {
        const md = new Uint8Array(24); // struct xdp_md: data_end (= the frame's length) at 4, ingress_ifindex at 12
        new DataView(md.buffer).setUint32(4, frame.length, true);
        new DataView(md.buffer).setUint32(12, ifindex, true);
        return md;
      };
      expect(prog.runWithContext(frame, xdpMd(ifindexByName.get("cgd0")!), NS_PATH)).toBe("drop");
      expect(Object.keys(prog.takeCounters())).toEqual(["INPUT#1"]);
      expect(prog.runWithContext(frame, xdpMd(ifindexByName.get("lo")!), NS_PATH)).toBe("accept");
      expect(Object.keys(prog.takeCounters())).toEqual(["INPUT#2"]);
      expect(prog.runWithContext(frame, xdpMd(ifindexByName.get("cgd1")!), NS_PATH)).toBe("accept");
      expect(Object.keys(prog.takeCounters())).toEqual(["INPUT:policy"]);
    } finally {
      prog.close();
    }
  });

  it.each(inModes(OUTPUT_PROBES))("egress, %s mode: %s", (mode, _what, frame, outcome, hits) => {
    probe(filterTable(TABLE), "OUTPUT", mode, frame, outcome, hits);
  });

  /** Loads the hook's program in that mode, runs the frame in the netns, checks verdict and rules hit. */
  function probe(table: Table, hook: "FORWARD" | "OUTPUT", mode: Mode, frame: Uint8Array, outcome: Outcome, hits: readonly string[]): void {
    const prog = loadHook(table, hook, ifindexByName, mode);
    try {
      expect(prog.run(frame, NS_PATH)).toBe(outcome);
      expect(Object.keys(prog.takeCounters()).sort()).toEqual([...hits].sort());
    } finally {
      prog.close();
    }
  }
});

function loadHookOrReason(load: () => { close(): void }): string {
  try {
    load().close();
    return "loaded";
  } catch (e) {
    return (e as Error).message;
  }
}
