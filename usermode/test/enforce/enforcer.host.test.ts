/**
 * BpfEnforcer on the host kernel, without the ABI layer: tables go in as IR, real UDP datagrams
 * cross veth pairs and loopback in fresh netns, and the links, programs, pins and counters are read
 * back from the kernel. Pins go to a private directory under /sys/fs/bpf, removed afterwards.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ifindexOf, inNetns, isBpffs, programId } from "../../src/bpf/index.ts";
import { compileTable, FILTER_HOOK_NAMES } from "../../src/codegen/index.ts";
import { BpfEnforcer } from "../../src/enforce/bpf_enforcer.ts";
import { netnsCookie } from "../../src/enforce/netns_cookie.ts";
import type { Table } from "../../src/ir/types.ts";
import type { NetnsRef } from "../../src/service/enforcer.ts";
import { createVethPair, type VethEnd, type VethPair } from "../bpf/veth-pair.ts";
import { udpDelivered } from "../bpf/udp-probe.ts";
import { ACCEPT, DROP, filterTable, udpMatch } from "../codegen/ir-builders.ts";

const unavailable =
  process.getuid?.() !== 0 ? "needs root (BPF, netns)" : !isBpffs("/sys/fs/bpf") ? "bpffs is not mounted at /sys/fs/bpf" : undefined;
if (unavailable) console.warn(`skipping BpfEnforcer host tests: ${unavailable}`);

/** The port udp-probe.ts sends to. */
const PROBE_PORT = 40_000;
const UDP = 17;

/** INPUT: accept what comes in on lo (counted), drop the probe port. */
const dropProbe: Table = filterTable({
  INPUT: {
    rules: [
      { in: "lo", target: ACCEPT },
      { proto: UDP, matches: [udpMatch({ dport: [PROBE_PORT, PROBE_PORT] })], target: DROP },
    ],
  },
});
const empty: Table = filterTable({});
const LO_SLOT = dropProbe.chains[0]!.rules[0]!.counterIndex;
const DROP_SLOT = dropProbe.chains[0]!.rules[1]!.counterIndex;
const POLICY_SLOT = dropProbe.chains[0]!.policyCounterIndex!;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Ids of the netfilter links (type 10) that run program `progId`, from bpftool. */
function linksOfProgram(progId: number): number[] {
  const links = JSON.parse(execFileSync("bpftool", ["-j", "link", "show"], { encoding: "utf8" })) as { id: number; type: number | string; prog_id: number }[];
  return links.filter((l) => (l.type === 10 || l.type === "netfilter") && l.prog_id === progId).map((l) => l.id);
}

describe.skipIf(unavailable !== undefined)("BpfEnforcer on veth pairs", () => {
  let pair: VethPair;
  const pinRoot = `/sys/fs/bpf/bpfilter-test-${process.pid}`;
  let netns: NetnsRef;
  const lines: string[] = [];
  const options = () => ({ pinRoot, netnsPath: () => pair.b.netnsPath, log: (line: string) => lines.push(line), reapPeriodMs: 0 });
  let enforcer: BpfEnforcer;
  /** b's loopback as a probe end: b sends to itself. */
  const loopback = (): VethEnd => ({ ...pair.b, address: "127.0.0.1" });

  beforeAll(() => {
    pair = createVethPair();
    ip("-n", pair.b.netns, "link", "set", "lo", "up");
    netns = { cookie: inNetns(pair.b.netnsPath, netnsCookie), path: pair.b.netnsPath };
    enforcer = new BpfEnforcer(options());
  });
  afterAll(() => {
    try {
      enforcer?.release(netns, "filter");
    } finally {
      pair?.destroy();
      rmSync(pinRoot, { recursive: true, force: true });
    }
  });

  it("drops the flow at b's LOCAL_IN through three netfilter links of the dispatcher, counting it in the rule's slot", () => {
    expect(udpDelivered(pair.a, pair.b)).toBe(true);
    const decision = enforcer.apply(netns, dropProbe);
    expect(decision).toMatchObject({ kind: "ok" });
    expect(decision.kind === "ok" && decision.replacedCounters).toBe(undefined); // the first table: nothing replaced
    // What bpfilter dump shows: each program with its kernel id and where each rule's code starts.
    const listings = decision.kind === "ok" ? decision.programs! : [];
    expect(listings.map((p) => [p.name, p.chains])).toEqual([["bpfilter_input", ["INPUT"]], ["bpfilter_fwd", ["FORWARD"]], ["bpfilter_output", ["OUTPUT"]]]);
    expect(listings[0]!.ruleStarts.map((start) => start.counterIndex)).toEqual([LO_SLOT, DROP_SLOT, POLICY_SLOT]);
    expect(udpDelivered(pair.a, pair.b)).toBe(false);
    expect(udpDelivered(pair.a, pair.b)).toBe(false);
    const counters = enforcer.counters(netns, "filter");
    expect(counters).toHaveLength(dropProbe.entryCount);
    expect(counters[DROP_SLOT]!.packets).toBe(2n);
    expect(counters[DROP_SLOT]!.bytes).toBe(2n * (20n + 8n + 16n)); // skb->len: IP + UDP header + the probe's 16 bytes
    const objects = enforcer.describe(netns.cookie, "filter")!;
    expect(Object.values(objects.links).map((l) => [l.pf, l.hooknum, l.priority])).toEqual([[2, 1, -1], [2, 2, -1], [2, 3, -1]]);
    expect(linksOfProgram(objects.dispatcher.id).sort()).toEqual(Object.values(objects.links).map((l) => l.id).sort());
    expect(objects.programs.INPUT).toEqual({ name: "bpfilter_input", id: programId(enforcer.enforcedPrograms(netns.cookie, "filter")!.INPUT) });
    expect(listings[0]!.id).toBe(objects.programs.INPUT.id);
    expect(readdirSync(`${pinRoot}/${netns.cookie}/filter`).sort()).toEqual(
      ["counters", "dispatcher", "forward", "generation", "input", "link_forward", "link_input", "link_output", "offsets", "output", "programs"],
    );
  });

  it("judges loopback's packets with their real device: -i lo accepts b's datagram to itself", () => {
    const before = enforcer.counters(netns, "filter");
    expect(udpDelivered(loopback(), loopback())).toBe(true);
    const after = enforcer.counters(netns, "filter");
    expect(after[LO_SLOT]!.packets - before[LO_SLOT]!.packets).toBe(1n);
    expect(after[DROP_SLOT]!.packets).toBe(before[DROP_SLOT]!.packets);
  });

  it("filters an interface created after the apply from its first packet, with no call to the enforcer", () => {
    const late: [VethEnd, VethEnd] = [
      { ...pair.a, ifname: "bpfe_late_a", address: "198.51.100.1", mac: "02:b9:f0:00:01:01", ifindex: 0 },
      { ...pair.b, ifname: "bpfe_late_b", address: "198.51.100.2", mac: "02:b9:f0:00:01:02", ifindex: 0 },
    ];
    const before = enforcer.counters(netns, "filter")[DROP_SLOT]!.packets;
    ip("link", "add", late[0].ifname, "address", late[0].mac, "netns", late[0].netns, "type", "veth", "peer", "name", late[1].ifname, "address", late[1].mac, "netns", late[1].netns);
    for (const [end, peer] of [late, [late[1], late[0]]] as const) {
      ip("-n", end.netns, "addr", "add", `${end.address}/24`, "dev", end.ifname);
      ip("-n", end.netns, "link", "set", end.ifname, "up");
      ip("-n", end.netns, "neigh", "add", peer.address, "lladdr", peer.mac, "dev", end.ifname, "nud", "permanent");
    }
    expect(udpDelivered(late[0], late[1])).toBe(false);
    expect(enforcer.counters(netns, "filter")[DROP_SLOT]!.packets).toBe(before + 1n);
    expect(inNetns(pair.b.netnsPath, () => ifindexOf(late[1].ifname))).toBeGreaterThan(0);
  });

  it("adds ADD_COUNTERS to the counters, next to what the programs count", () => {
    const counted = enforcer.counters(netns, "filter");
    const add = Array.from({ length: dropProbe.entryCount }, (_, i) => ({ packets: BigInt(i === DROP_SLOT ? 10 : 0), bytes: 1000n }));
    enforcer.addCounters(netns, "filter", add);
    const counters = enforcer.counters(netns, "filter");
    expect(counters[DROP_SLOT]!.packets).toBe(counted[DROP_SLOT]!.packets + 10n);
    expect(counters[POLICY_SLOT]).toEqual({ packets: counted[POLICY_SLOT]!.packets, bytes: counted[POLICY_SLOT]!.bytes + 1000n });
  });

  it("leaves the old rules enforced when the verifier refuses a new program", () => {
    const before = enforcer.describe(netns.cookie, "filter")!;
    const broken: typeof compileTable = (table, opts) => {
      const compiled = compileTable(table, opts);
      if (compiled.declined === true) return compiled;
      const exitOnly = { ...compiled.programs.FORWARD, insns: Uint8Array.of(0x95, 0, 0, 0, 0, 0, 0, 0), mapRefs: [], kfuncRefs: [] };
      return { programs: { ...compiled.programs, FORWARD: exitOnly } }; // exit with r0 unset
    };
    const failing = new BpfEnforcer({ ...options(), compile: broken });
    const decision = failing.apply(netns, empty);
    expect(decision.kind).toBe("error");
    if (decision.kind !== "error") return;
    expect(decision.errno).toBe(22); // EINVAL: the verifier answers EACCES, which iptables would call "you must be root"
    expect(decision.message).toMatch(/bpf_prog_load\(netfilter 'bpfilter_fwd'.*R0 !read_ok/s);
    expect(enforcer.describe(netns.cookie, "filter")!.programs).toEqual(before.programs);
    expect(udpDelivered(pair.a, pair.b)).toBe(false);
  });

  it("a restarted enforcer takes the table over from the pins, counters included, and swaps all hooks at once", () => {
    const before = enforcer.describe(netns.cookie, "filter")!;
    const dropped = enforcer.counters(netns, "filter")[DROP_SLOT]!.packets;
    enforcer = new BpfEnforcer(options()); // the old one's fds stay open: what matters is that the pins are found
    expect(enforcer.counters(netns, "filter")[DROP_SLOT]!.packets).toBe(dropped);
    const decision = enforcer.apply(netns, empty);
    expect(decision.kind).toBe("ok");
    if (decision.kind !== "ok") return;
    expect(decision.replacedCounters?.[DROP_SLOT]?.packets).toBe(dropped);
    const after = enforcer.describe(netns.cookie, "filter")!;
    expect(after.generation).toBe(1 - before.generation);
    expect(after.dispatcher).toEqual(before.dispatcher); // the same links and dispatcher
    for (const hook of FILTER_HOOK_NAMES) expect(after.programs[hook].id).not.toBe(before.programs[hook].id);
    expect(lines.some((line) => line.includes("taken over from the pins"))).toBe(true);
    expect(udpDelivered(pair.a, pair.b)).toBe(true);
    expect(enforcer.counters(netns, "filter")[empty.chains[0]!.policyCounterIndex!]!.packets).toBe(1n); // the new INPUT policy
  });

  it("adopts the pinned links of a first apply that died before its counters were pinned", () => {
    const dispatcher = enforcer.describe(netns.cookie, "filter")!.dispatcher;
    rmSync(`${pinRoot}/${netns.cookie}/filter/counters`); // what a helper killed in the middle of its first apply leaves
    enforcer = new BpfEnforcer(options());
    expect(enforcer.counters(netns, "filter")).toEqual([]);
    expect(enforcer.apply(netns, dropProbe)).toMatchObject({ kind: "ok" }); // not EBUSY: the links are reused
    expect(enforcer.describe(netns.cookie, "filter")!.dispatcher).toEqual(dispatcher);
    expect(udpDelivered(pair.a, pair.b)).toBe(false);
  });

  it("declines every table on a kernel that cannot run netfilter programs, touching nothing", () => {
    const old = new BpfEnforcer({ ...options(), kernel: () => { throw new Error("BTF /sys/kernel/btf/vmlinux: no struct 'bpf_nf_ctx'"); } });
    const decision = old.apply({ cookie: netns.cookie + 2n }, dropProbe);
    expect(decision).toEqual({
      kind: "declined",
      reason: "this kernel cannot run the filter table as BPF netfilter programs (Linux 6.4+ with CONFIG_NETFILTER_BPF_LINK and CONFIG_DEBUG_INFO_BTF): BTF /sys/kernel/btf/vmlinux: no struct 'bpf_nf_ctx'",
    });
    expect(existsSync(`${pinRoot}/${netns.cookie + 2n}`)).toBe(false);
  });

  /** A netns pair whose b side the enforcer `make()` builds enforces in; returns when b's netns is deleted (ip netns del). */
  async function doomedNetns(make: (pair: VethPair) => BpfEnforcer): Promise<{ doomed: VethPair; cookie: bigint; other: BpfEnforcer }> {
    const doomed = createVethPair(); // a's end stays, to watch b's netns go
    const other = make(doomed);
    const cookie = inNetns(doomed.b.netnsPath, netnsCookie);
    expect(other.apply({ cookie }, dropProbe)).toMatchObject({ kind: "ok" });
    expect(existsSync(`${pinRoot}/${cookie}/filter/counters`)).toBe(true);
    ip("netns", "del", doomed.b.netns);
    return { doomed, cookie, other };
  }

  /** Whether a's veth end is gone (its peer went with b's netns), polled for up to `ms`. */
  async function peerGoneWithin(pair: VethPair, ms: number): Promise<boolean> {
    for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
      if (!execFileSync("ip", ["-n", pair.a.netns, "-o", "link"], { encoding: "utf8" }).includes(pair.a.ifname)) return true;
      await new Promise((done) => setTimeout(done, 100));
    }
    return false;
  }

  it("at the next request, releases a netns that only its pinned links keep alive, and the netns then dies", async () => {
    const { doomed, cookie, other } = await doomedNetns((d) => new BpfEnforcer({ ...options(), netnsPath: () => d.b.netnsPath, reapPeriodMs: 0 }));
    try {
      // Nothing but the links holds b's netns now: its veth (and so a's end) stays until they go.
      expect(await peerGoneWithin(doomed, 300)).toBe(false);
      other.counters(netns, "filter"); // any request, for any netns
      expect(existsSync(`${pinRoot}/${cookie}`)).toBe(false);
      expect(lines.some((line) => line.includes(`nothing but the helper's links keeps netns ${cookie}`))).toBe(true);
      expect(await peerGoneWithin(doomed, 5000)).toBe(true);
      expect(existsSync(`${pinRoot}/${netns.cookie}/filter/counters`)).toBe(true); // the live netns is kept
    } finally {
      doomed.destroy();
    }
  });

  it("without any request, releases such a netns within the reap period", async () => {
    const period = 1000;
    const { doomed, cookie, other } = await doomedNetns((d) => new BpfEnforcer({ ...options(), netnsPath: () => d.b.netnsPath, reapPeriodMs: period }));
    try {
      expect(await peerGoneWithin(doomed, period + 5000)).toBe(true); // the netns dies a little after the links go
      expect(existsSync(`${pinRoot}/${cookie}`)).toBe(false);
    } finally {
      other.close();
      doomed.destroy();
    }
  });

  it("refuses a first apply in a netns whose cookie is not the one the request names (a thread of the caller moved)", () => {
    const wrong = { cookie: netns.cookie + 1n };
    const decision = enforcer.apply(wrong, empty);
    expect(decision).toMatchObject({ kind: "error", errno: 22 });
    expect(decision.kind === "error" && decision.message).toContain(`that is netns cookie ${netns.cookie}, the request names netns cookie ${wrong.cookie}`);
    expect(existsSync(`${pinRoot}/${wrong.cookie}/filter/link_input`)).toBe(false);
  });

  it("release detaches every link, returns the final counters and removes the pins", () => {
    const before = enforcer.counters(netns, "filter")[DROP_SLOT]!.packets;
    expect(udpDelivered(pair.a, pair.b)).toBe(false);
    const final = enforcer.release(netns, "filter");
    expect(final).toHaveLength(dropProbe.entryCount);
    expect(final[DROP_SLOT]!.packets).toBe(before + 1n);
    expect(existsSync(`${pinRoot}/${netns.cookie}`)).toBe(false);
    expect(enforcer.counters(netns, "filter")).toEqual([]);
    expect(udpDelivered(pair.a, pair.b)).toBe(true);
  });
});
