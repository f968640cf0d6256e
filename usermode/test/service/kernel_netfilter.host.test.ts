/**
 * The real Netfilter port against the host kernel's netfilter in a fresh netns: GET_INFO,
 * GET_ENTRIES, SET_REPLACE (old counters back, netfilter's errnos) and ADD_COUNTERS, read back
 * with the native iptables-legacy; and the hand-over of a table bpfilter holds to netfilter for a
 * 32-bit caller, counters included.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inNetns, namedNetnsPath } from "../../src/bpf/index.ts";
import { netnsCookie } from "../../src/enforce/netns_cookie.ts";
import type { NetnsRef } from "../../src/ipc/sockopt_call.ts";
import { Errno, IPT_GETINFO, IPT_SO_GET, IPT_SO_SET, STD_VERDICT } from "../../src/ipt/abi.ts";
import { encodeEntry, encodeReplace } from "../../src/ipt/entry_builder.ts";
import { FILTER_VALID_HOOKS } from "../../src/ipt/initial_table.ts";
import { IptError } from "../../src/ipt/ipt_error.ts";
import { KernelNetfilter } from "../../src/service/kernel_netfilter.ts";
import { initialTableCounters } from "../../src/service/netns_tables.ts";
import { SockoptHandler } from "../../src/service/sockopt_handler.ts";
import { hostTierUnavailable } from "../host/harness.ts";
import { MemoryEnforcer } from "./memory_enforcer.ts";

const unavailable = hostTierUnavailable();
if (unavailable) console.warn(`skipping the netfilter port tests: ${unavailable}`);

/** INPUT: -s 10.0.0.1 -j DROP, then the initial chains; num_counters as given. */
function replaceWithRule(numCounters: number): Uint8Array {
  const ip = new Uint8Array(84);
  ip.set([10, 0, 0, 1], 0);
  ip.set([255, 255, 255, 255], 8);
  const rule = encodeEntry({ ip, target: { kind: "standard", verdict: STD_VERDICT.DROP } });
  const policy = encodeEntry({ target: { kind: "standard", verdict: STD_VERDICT.ACCEPT } });
  const [p, r] = [policy.length, rule.length];
  return encodeReplace(
    { name: "filter", validHooks: FILTER_VALID_HOOKS, hookEntry: [0, 0, r + p, r + 2 * p, 0], underflow: [0, r, r + p, r + 2 * p, 0], numCounters },
    [rule, policy, policy, policy, encodeEntry({ target: { kind: "error", errorName: "ERROR" } })],
  );
}

/** The errno of the IptError fn throws. */
function errnoOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof IptError) return err.errno;
    throw err;
  }
  return undefined;
}

describe.skipIf(unavailable !== undefined)("KernelNetfilter on the host kernel", () => {
  const ns = `bpft-nfport-${process.pid}`;
  let sleeper: ChildProcess;
  let netns: NetnsRef;
  const netfilter = new KernelNetfilter();
  const native = (...argv: string[]): string => execFileSync("ip", ["netns", "exec", ns, "iptables-legacy", ...argv], { encoding: "utf8" });

  beforeAll(async () => {
    execFileSync("ip", ["netns", "add", ns]);
    sleeper = spawn("ip", ["netns", "exec", ns, "sleep", "120"], { stdio: "ignore" });
    await new Promise((done) => setTimeout(done, 300)); // ip netns exec forks, then execs sleep in the netns
    netns = { cookie: inNetns(namedNetnsPath(ns), netnsCookie), path: `/proc/${sleeper.pid!}/ns/net` };
  });
  afterAll(() => {
    sleeper.kill("SIGKILL");
    execFileSync("ip", ["netns", "del", ns]);
  });

  it("reads netfilter's initial table", () => {
    const info = netfilter.info(netns, "filter");
    expect([info.numEntries, info.size, info.validHooks]).toEqual([4, 632, FILTER_VALID_HOOKS]);
    expect(initialTableCounters(netfilter.entries(netns, "filter", info.size))).toHaveLength(4);
  });

  it("replaces it, returns the old counters, adds counters, and answers netfilter's errnos", () => {
    expect(netfilter.replace(netns, replaceWithRule(4))).toHaveLength(4);
    expect(native("-S", "INPUT")).toBe("-P INPUT ACCEPT\n-A INPUT -s 10.0.0.1/32 -j DROP\n");
    expect(initialTableCounters(netfilter.entries(netns, "filter", netfilter.info(netns, "filter").size))).toBeUndefined();
    netfilter.addCounters(netns, "filter", [{ packets: 7n, bytes: 700n }, ...Array.from({ length: 4 }, () => ({ packets: 0n, bytes: 0n }))]);
    expect(native("-L", "INPUT", "-v", "-x", "-n")).toMatch(/^\s+7\s+700 DROP/m);
    expect(errnoOf(() => netfilter.replace(netns, replaceWithRule(4)))).toBe(Errno.EAGAIN); // num_counters 4, the table has 5
    expect(errnoOf(() => netfilter.addCounters(netns, "filter", []))).toBe(Errno.EINVAL);
    expect(netfilter.replace(netns, replaceWithRule(5))).toEqual([{ packets: 7n, bytes: 700n }, ...Array.from({ length: 4 }, () => ({ packets: 0n, bytes: 0n }))]);
  });

  it("hands a table bpfilter holds to netfilter, with its counters, before a 32-bit caller is answered", () => {
    const flushed = encodeReplace(
      { name: "filter", validHooks: FILTER_VALID_HOOKS, hookEntry: [0, 0, 152, 304, 0], underflow: [0, 0, 152, 304, 0], numCounters: 5 },
      [...Array.from({ length: 3 }, () => encodeEntry({ target: { kind: "standard", verdict: STD_VERDICT.ACCEPT } })), encodeEntry({ target: { kind: "error", errorName: "ERROR" } })],
    );
    netfilter.replace(netns, flushed); // back to the initial table: a netns bpfilter may serve
    const enforcer = new MemoryEnforcer();
    const log: string[] = [];
    const handler = new SockoptHandler({ enforcer, netfilter, log: (line) => log.push(line) });
    const request = replaceWithRule(4);
    expect(handler.handle({ cmd: IPT_SO_SET.REPLACE, set: true, optlen: request.length, optval: request, netns }).status).toBe(0);
    expect(native("-S", "INPUT")).toBe("-P INPUT ACCEPT\n");
    enforcer.countPacket(netns, "filter", 0, 84);
    const getinfo = new Uint8Array(IPT_GETINFO.SIZE);
    getinfo.set(Buffer.from("filter"));
    const answer = handler.handle({ cmd: IPT_SO_GET.INFO, set: false, optlen: getinfo.length, optval: getinfo, netns, compat: true });
    expect(answer.status).toBe(-Errno.ENOPROTOOPT);
    expect(native("-L", "INPUT", "-v", "-x", "-n")).toMatch(/^\s+1\s+84 DROP .*10\.0\.0\.1/m);
    expect(log.join("\n")).toContain("netfilter enforces it from now on: a 32-bit iptables asked for it");
  });
});
