/**
 * BpfEnforcer on the host kernel, without the ABI layer: tables go in as IR, real UDP datagrams
 * cross a veth pair between two fresh netns, and the programs, links, pins and counters are read
 * back from the kernel. Pins go to a private directory under /sys/fs/bpf, removed afterwards.
 */
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachedXdpProgId, ifindexOf, inNetns, isBpffs, programId } from "../../src/bpf/index.ts";
import { compileProgram } from "../../src/codegen/index.ts";
import { BpfEnforcer } from "../../src/enforce/bpf_enforcer.ts";
import { reapStalePins } from "../../src/enforce/stale_pins.ts";
import { netnsCookie } from "../../src/enforce/netns_cookie.ts";
import type { Table } from "../../src/ir/types.ts";
import type { NetnsRef } from "../../src/table/enforcer.ts";
import { createVethPair, type VethPair } from "../bpf/veth-pair.ts";
import { udpDelivered } from "../bpf/udp-probe.ts";
import { DROP, filterTable, udpMatch } from "../codegen/ir-builders.ts";

const unavailable =
  process.getuid?.() !== 0 ? "needs root (BPF, netns)" : !isBpffs("/sys/fs/bpf") ? "bpffs is not mounted at /sys/fs/bpf" : undefined;
if (unavailable) console.warn(`skipping BpfEnforcer host tests: ${unavailable}`);

/** The port udp-probe.ts sends to. */
const PROBE_PORT = 40_000;
const UDP = 17;

const dropProbe: Table = filterTable({ INPUT: { rules: [{ proto: UDP, matches: [udpMatch({ dport: [PROBE_PORT, PROBE_PORT] })], target: DROP }] } });
const empty: Table = filterTable({});
/** counterIndex of the DROP rule, and of INPUT's policy (which no probe reaches: the rule drops them). */
const DROP_SLOT = dropProbe.chains[0]!.rules[0]!.counterIndex;
const POLICY_SLOT = dropProbe.chains[0]!.policyCounterIndex!;

describe.skipIf(unavailable !== undefined)("BpfEnforcer on a veth pair", () => {
  let pair: VethPair;
  const pinRoot = `/sys/fs/bpf/bpfilter-test-${process.pid}`;
  let netns: NetnsRef;
  const lines: string[] = [];
  const options = () => ({ pinRoot, netnsPath: () => pair.b.netnsPath, log: (line: string) => lines.push(line) });
  let enforcer: BpfEnforcer;

  beforeAll(() => {
    pair = createVethPair();
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

  const xdpProgOnB = () => inNetns(pair.b.netnsPath, () => attachedXdpProgId(pair.b.ifindex));

  it("drops the flow with a DROP rule and counts it in the rule's slot", () => {
    expect(udpDelivered(pair.a, pair.b)).toBe(true);
    expect(enforcer.apply(netns, dropProbe)).toEqual({ kind: "ok" });
    expect(udpDelivered(pair.a, pair.b)).toBe(false);
    expect(udpDelivered(pair.a, pair.b)).toBe(false);
    const counters = enforcer.counters(netns, "filter");
    expect(counters).toHaveLength(dropProbe.entryCount);
    expect(counters[DROP_SLOT]!.packets).toBe(2n);
    expect(xdpProgOnB()).toBe(programId(enforcer.enforcedPrograms(netns.cookie, "filter")!.ingress));
    expect(existsSync(`${pinRoot}/${netns.cookie}/filter/xdp_${pair.b.ifindex}`)).toBe(true);
  });

  it("attaches to an interface created after apply at the next request, counters carried over", () => {
    execFileSync("ip", ["-n", pair.b.netns, "link", "add", "bpfe_late0", "type", "veth", "peer", "name", "bpfe_late1"]);
    const late = inNetns(pair.b.netnsPath, () => ifindexOf("bpfe_late0"));
    expect(inNetns(pair.b.netnsPath, () => attachedXdpProgId(late))).toBe(0);
    expect(enforcer.counters(netns, "filter")[DROP_SLOT]!.packets).toBe(2n);
    const ingress = programId(enforcer.enforcedPrograms(netns.cookie, "filter")!.ingress);
    expect(inNetns(pair.b.netnsPath, () => attachedXdpProgId(late))).toBe(ingress);
    expect(xdpProgOnB()).toBe(ingress);
    expect(lines.some((line) => line.includes("bpfe_late0"))).toBe(true);
    expect(udpDelivered(pair.a, pair.b)).toBe(false);
    expect(enforcer.counters(netns, "filter")[DROP_SLOT]!.packets).toBe(3n);
  });

  it("adds ADD_COUNTERS to the counters, next to what the program counts", () => {
    const add = Array.from({ length: dropProbe.entryCount }, (_, i) => ({ packets: BigInt(i === DROP_SLOT ? 10 : 0), bytes: 1000n }));
    enforcer.addCounters(netns, "filter", add);
    const counters = enforcer.counters(netns, "filter");
    expect(counters[DROP_SLOT]!.packets).toBe(13n);
    expect(counters[POLICY_SLOT]).toEqual({ packets: 0n, bytes: 1000n });
  });

  it("leaves the old rules enforced when the verifier refuses the new program", () => {
    const before = xdpProgOnB();
    const broken: typeof compileProgram = (table, hook, opts) => {
      const program = compileProgram(table, hook, opts);
      if (program.declined === true || hook !== "ingress") return program;
      return { ...program, insns: Uint8Array.of(0x95, 0, 0, 0, 0, 0, 0, 0), mapRefs: [] }; // exit with r0 unset
    };
    const failing = new BpfEnforcer({ ...options(), compile: broken });
    const decision = failing.apply(netns, empty);
    expect(decision.kind).toBe("error");
    if (decision.kind !== "error") return;
    expect(decision.errno).toBe(22); // EINVAL: the verifier answers EACCES, which iptables would call "you must be root"
    expect(decision.message).toMatch(/bpf_prog_load\(xdp 'bpfilter_in'.*R0 !read_ok/s);
    expect(xdpProgOnB()).toBe(before);
    expect(udpDelivered(pair.a, pair.b)).toBe(false);
  });

  it("a restarted enforcer takes the table over from the pins, counters included, and swaps in place", () => {
    const before = xdpProgOnB();
    enforcer = new BpfEnforcer(options()); // the old one's fds stay open: what matters is that the pins are found
    // An interface that came while no helper ran gets the pinned programs at the first request.
    execFileSync("ip", ["-n", pair.b.netns, "link", "add", "bpfe_late2", "type", "veth", "peer", "name", "bpfe_late3"]);
    expect(enforcer.counters(netns, "filter")[DROP_SLOT]!.packets).toBe(14n);
    const late = inNetns(pair.b.netnsPath, () => ifindexOf("bpfe_late2"));
    expect(inNetns(pair.b.netnsPath, () => attachedXdpProgId(late))).toBe(before);
    const decision = enforcer.apply(netns, empty);
    expect(decision.kind).toBe("ok");
    if (decision.kind !== "ok") return;
    expect(decision.replacedCounters?.[DROP_SLOT]?.packets).toBe(14n);
    expect(xdpProgOnB()).not.toBe(before);
    expect(xdpProgOnB()).toBe(programId(enforcer.enforcedPrograms(netns.cookie, "filter")!.ingress));
    expect(udpDelivered(pair.a, pair.b)).toBe(true);
    expect(enforcer.counters(netns, "filter")[empty.chains[0]!.policyCounterIndex!]!.packets).toBe(1n); // the new INPUT policy
  });

  it("adopts the pinned XDP links of a first apply that died before its counters were pinned", () => {
    rmSync(`${pinRoot}/${netns.cookie}/filter/counters`); // what a helper killed in the middle of its first apply leaves
    enforcer = new BpfEnforcer(options());
    expect(enforcer.counters(netns, "filter")).toEqual([]);
    expect(enforcer.apply(netns, dropProbe)).toEqual({ kind: "ok" }); // not EBUSY: the links are updated
    expect(xdpProgOnB()).toBe(programId(enforcer.enforcedPrograms(netns.cookie, "filter")!.ingress));
    expect(udpDelivered(pair.a, pair.b)).toBe(false);
  });

  it("leaves a down tun interface alone, and declines the netns once it is up (no Ethernet header)", () => {
    const l3 = `bpfe-tun-${process.pid}`;
    execFileSync("ip", ["netns", "add", l3]);
    try {
      execFileSync("ip", ["-n", l3, "tuntap", "add", "mode", "tun", "bpfe_tun0"]);
      const tun = inNetns(`/run/netns/${l3}`, () => ifindexOf("bpfe_tun0"));
      const other = new BpfEnforcer({ ...options(), netnsPath: () => `/run/netns/${l3}` });
      const l3netns = { cookie: inNetns(`/run/netns/${l3}`, netnsCookie), pid: 0 };
      expect(other.apply(l3netns, dropProbe)).toEqual({ kind: "ok" });
      expect(inNetns(`/run/netns/${l3}`, () => [attachedXdpProgId(1) !== 0, attachedXdpProgId(tun)])).toEqual([true, 0]);
      execFileSync("ip", ["-n", l3, "link", "set", "bpfe_tun0", "up"]);
      expect(other.apply(l3netns, dropProbe)).toEqual({
        kind: "declined",
        reason:
          `netns ${l3netns.cookie}: interface bpfe_tun0 is up and has link type 65534, not Ethernet: the programs read an Ethernet header first and would misread its packets`,
      });
      other.release(l3netns, "filter");
      expect(existsSync(`${pinRoot}/${l3netns.cookie}`)).toBe(false);
    } finally {
      execFileSync("ip", ["netns", "del", l3]);
    }
  });

  it("reaps the pins of a netns that is gone, and only those", async () => {
    const doomed = `bpfe-doomed-${process.pid}`;
    let doomedCookie = 0n;
    execFileSync("ip", ["netns", "add", doomed]);
    try {
      const other = new BpfEnforcer({ ...options(), netnsPath: () => `/run/netns/${doomed}` });
      doomedCookie = inNetns(`/run/netns/${doomed}`, netnsCookie);
      expect(other.apply({ cookie: doomedCookie, path: `/run/netns/${doomed}` }, dropProbe)).toEqual({ kind: "ok" });
      expect(reapStalePins(pinRoot)).toEqual([]);
    } finally {
      execFileSync("ip", ["netns", "del", doomed]);
    }
    // The netns is torn down asynchronously (cleanup_net): its lo, and the link on it, go a little later.
    let reaped: string[] = [];
    for (let tries = 0; tries < 50 && reaped.length === 0; tries++) {
      await new Promise((done) => setTimeout(done, 100));
      reaped = reapStalePins(pinRoot);
    }
    expect(reaped).toEqual([`${pinRoot}/${doomedCookie}/filter`]);
    expect(existsSync(`${pinRoot}/${doomedCookie}`)).toBe(false);
    expect(existsSync(`${pinRoot}/${netns.cookie}/filter/counters`)).toBe(true);
  });

  it("refuses a netns whose cookie is not the one the request names (a thread of the caller moved)", () => {
    const wrong = { cookie: netns.cookie + 1n, pid: 0 };
    const decision = enforcer.apply(wrong, empty);
    expect(decision).toMatchObject({ kind: "error", errno: 22 });
    expect(decision.kind === "error" && decision.message).toContain(`that is netns cookie ${netns.cookie}, the request names netns cookie ${wrong.cookie}`);
    expect(existsSync(`${pinRoot}/${wrong.cookie}`)).toBe(false);
  });

  it("release detaches every program and removes the pins", () => {
    enforcer.release(netns, "filter");
    expect(xdpProgOnB()).toBe(0);
    expect(existsSync(`${pinRoot}/${netns.cookie}`)).toBe(false);
    expect(enforcer.counters(netns, "filter")).toEqual([]);
  });
});
