// Host BPF: INPUT vs FORWARD through bpf_fib_lookup, and -i/-o matching, in a netns of our own
// (forwarding on, lo up, a veth pair cgd0/cgd1 with 192.0.2.1/24 on cgd0, a blackhole route). test_run's
// ingress device is that netns's lo (ifindex 1); the FIB runs in the netns we enter around test_run.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCEPT, DROP, filterTable, udpMatch, type TableSpec } from "./ir-builders.ts";
import { PROTO, udpFrame } from "./packets.ts";
import { hostBpfUnavailable, loadHook, type Outcome } from "./harness.ts";
import { inNetns, interfaces, namedNetnsPath } from "../../src/bpf/index.ts";
import { IPT_INV } from "../../src/ir/types.ts";

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
    expect(compiled).toMatch(/^declined: rule 1 in chain FORWARD: interface matches need the netns's interface list/);
  });

  it.each(INGRESS_PROBES.flatMap((p) => (["fast", "guarded", "compact"] as const).map((mode) => [mode, ...p] as const)))("ingress, %s mode: %s", (mode, _what, frame, outcome, hits) => {
    const table = filterTable(TABLE);
    const prog = loadHook(table, "FORWARD", ifindexByName, mode);
    try {
      expect(prog.run(frame, NS_PATH)).toBe(outcome);
      expect(Object.keys(prog.takeCounters()).sort()).toEqual([...hits].sort());
    } finally {
      prog.close();
    }
  });

  it.each(OUTPUT_PROBES.flatMap((p) => (["fast", "guarded", "compact"] as const).map((mode) => [mode, ...p] as const)))("egress, %s mode: %s", (mode, _what, frame, outcome, hits) => {
    const prog = loadHook(filterTable(TABLE), "OUTPUT", ifindexByName, mode);
    try {
      expect(prog.run(frame, NS_PATH)).toBe(outcome);
      expect(Object.keys(prog.takeCounters()).sort()).toEqual([...hits].sort());
    } finally {
      prog.close();
    }
  });
});

function loadHookOrReason(load: () => { close(): void }): string {
  try {
    load().close();
    return "loaded";
  } catch (e) {
    return (e as Error).message;
  }
}
