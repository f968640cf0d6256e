/** The sockopt handler: ownership, counters through replace and ADD_COUNTERS, declines and errnos. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Table } from "../../src/ir/types.ts";
import { DirectoryTableStore } from "../../src/service/table_store.ts";
import { Errno, IPT_GETINFO, IPT_REPLACE, IPT_SO_GET, IPT_SO_SET, STD_VERDICT, XT_COUNTERS_INFO } from "../../src/ipt/abi.ts";
import { encodeEntry, encodeReplace } from "../../src/ipt/entry_builder.ts";
import { FILTER_VALID_HOOKS, initialFilterReplace } from "../../src/ipt/initial_table.ts";
import type { Decision } from "../../src/service/enforcer.ts";
import { MemoryEnforcer } from "./memory_enforcer.ts";
import { type SockoptAnswer, SockoptHandler } from "../../src/service/sockopt_handler.ts";
import type { TranslatedTable } from "../../src/ipt/translate.ts";
import { MemoryNetfilter } from "./memory_netfilter.ts";

const NETNS = { cookie: 77n, pid: 1 };
const OTHER = { cookie: 78n, pid: 2 };

function setup(decide?: (t: Table) => Decision, refuse?: (t: TranslatedTable) => number) {
  const enforcer = new MemoryEnforcer(decide);
  const netfilter = new MemoryNetfilter(refuse);
  const log: string[] = [];
  const handler = new SockoptHandler({ enforcer, netfilter, log: (l) => log.push(l) });
  return { enforcer, netfilter, handler, log };
}

function named(name: string, size: number): Uint8Array {
  const b = new Uint8Array(size);
  b.set(Buffer.from(name));
  return b;
}

const get = (h: SockoptHandler, cmd: number, optval: Uint8Array, netns = NETNS, optlen = optval.length): SockoptAnswer =>
  h.handle({ cmd, set: false, optlen, optval, netns });
const set = (h: SockoptHandler, cmd: number, optval: Uint8Array, netns = NETNS): SockoptAnswer =>
  h.handle({ cmd, set: true, optlen: optval.length, optval, netns });

function info(h: SockoptHandler, netns = NETNS): { status: number; numEntries: number; size: number } {
  const a = get(h, IPT_SO_GET.INFO, named("filter", IPT_GETINFO.SIZE), netns);
  const view = new DataView(a.out.buffer, a.out.byteOffset);
  return a.status === 0
    ? { status: 0, numEntries: view.getUint32(IPT_GETINFO.num_entries, true), size: view.getUint32(IPT_GETINFO.size, true) }
    : { status: a.status, numEntries: -1, size: -1 };
}

/** INPUT: one DROP rule for 10.0.0.1, then the initial chains. */
function replaceWithRule(numCounters: number, matchName?: string): Uint8Array {
  const ip = new Uint8Array(84);
  ip.set([10, 0, 0, 1], 0);
  ip.set([255, 255, 255, 255], 8);
  const rule = encodeEntry({
    ip,
    matches: matchName ? [{ name: matchName, revision: 0, data: new Uint8Array(8) }] : [],
    target: { kind: "standard", verdict: STD_VERDICT.DROP },
  });
  const policy = encodeEntry({ target: { kind: "standard", verdict: STD_VERDICT.ACCEPT } });
  const p = policy.length;
  const r = rule.length;
  return encodeReplace(
    { name: "filter", validHooks: FILTER_VALID_HOOKS, hookEntry: [0, 0, r + p, r + 2 * p, 0], underflow: [0, r, r + p, r + 2 * p, 0], numCounters },
    [rule, policy, policy, policy, encodeEntry({ target: { kind: "error", errorName: "ERROR" } })],
  );
}

/** INPUT: `rules` DROP rules for 10.0.x.y, then the initial chains. */
function replaceWithRules(rules: number, numCounters: number): Uint8Array {
  const entries = Array.from({ length: rules }, (_, i) => {
    const ip = new Uint8Array(84);
    ip.set([10, 0, i >> 8, i & 255], 0);
    ip.set([255, 255, 255, 255], 8);
    return encodeEntry({ ip, matches: [], target: { kind: "standard", verdict: STD_VERDICT.DROP } });
  });
  const policy = encodeEntry({ target: { kind: "standard", verdict: STD_VERDICT.ACCEPT } });
  const r = entries.reduce((n, e) => n + e.length, 0);
  const p = policy.length;
  return encodeReplace(
    { name: "filter", validHooks: FILTER_VALID_HOOKS, hookEntry: [0, 0, r + p, r + 2 * p, 0], underflow: [0, r, r + p, r + 2 * p, 0], numCounters },
    [...entries, policy, policy, policy, encodeEntry({ target: { kind: "error", errorName: "ERROR" } })],
  );
}

/** A copy of a replace with another num_counters. */
function withCounters(replace: Uint8Array, numCounters: number): Uint8Array {
  const copy = replace.slice();
  new DataView(copy.buffer).setUint32(IPT_REPLACE.num_counters, numCounters, true);
  return copy;
}

function addCounters(n: number, packets: bigint): Uint8Array {
  const b = named("filter", XT_COUNTERS_INFO.SIZE + 16 * n);
  const view = new DataView(b.buffer);
  view.setUint32(XT_COUNTERS_INFO.num_counters, n, true);
  for (let i = 0; i < n; i++) {
    view.setBigUint64(XT_COUNTERS_INFO.counters + 16 * i, packets, true);
    view.setBigUint64(XT_COUNTERS_INFO.counters + 16 * i + 8, packets * 100n, true);
  }
  return b;
}

function counters(out: Uint8Array): bigint[] {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  return Array.from({ length: out.length / 8 }, (_, i) => view.getBigUint64(8 * i, true));
}

describe("SockoptHandler", () => {
  it("declines every table but filter, so that netfilter answers it", () => {
    const { handler } = setup();
    for (const name of ["nat", "mangle", "raw", "nosuch", ""]) {
      expect(get(handler, IPT_SO_GET.INFO, named(name, IPT_GETINFO.SIZE)).status).toBe(-Errno.ENOPROTOOPT);
    }
    expect(get(handler, IPT_SO_GET.INFO, new Uint8Array(8), NETNS, 8).status).toBe(-Errno.ENOPROTOOPT);
  });

  it("describes a fresh netns with netfilter's initial table", () => {
    const { handler } = setup();
    expect(info(handler)).toEqual({ status: 0, numEntries: 4, size: 632 });
  });

  const errnoCases: [string, (h: SockoptHandler) => SockoptAnswer, number][] = [
    ["GET_INFO with a wrong optlen", (h) => get(h, IPT_SO_GET.INFO, named("filter", 90)), -Errno.EINVAL],
    ["GET_ENTRIES of a stale size", (h) => get(h, IPT_SO_GET.ENTRIES, (() => { const b = named("filter", 40 + 100); new DataView(b.buffer).setUint32(32, 100, true); return b; })()), -Errno.EAGAIN],
    ["GET_ENTRIES with optlen not header + size", (h) => get(h, IPT_SO_GET.ENTRIES, (() => { const b = named("filter", 40 + 100); new DataView(b.buffer).setUint32(32, 632, true); return b; })()), -Errno.EINVAL],
    ["REPLACE with a stale num_counters", (h) => set(h, IPT_SO_SET.REPLACE, replaceWithRule(5)), -Errno.EAGAIN],
    ["REPLACE with more counters than XT_MAX_TABLE_SIZE holds", (h) => set(h, IPT_SO_SET.REPLACE, (() => { const b = initialFilterReplace(); new DataView(b.buffer).setUint32(IPT_REPLACE.num_counters, 33554433, true); return b; })()), -Errno.ENOMEM],
    ["REPLACE with other valid_hooks", (h) => set(h, IPT_SO_SET.REPLACE, (() => { const b = initialFilterReplace(); new DataView(b.buffer).setUint32(IPT_REPLACE.valid_hooks, 0x1f, true); return b; })()), -Errno.EINVAL],
    ["ADD_COUNTERS with the wrong count", (h) => set(h, IPT_SO_SET.ADD_COUNTERS, addCounters(5, 1n)), -Errno.EINVAL],
    ["ADD_COUNTERS with no counters", (h) => set(h, IPT_SO_SET.ADD_COUNTERS, named("filter", XT_COUNTERS_INFO.SIZE)), -Errno.EINVAL],
    ["an unknown set command", (h) => set(h, 70, named("filter", 40)), -Errno.EINVAL],
    ["an unknown get command", (h) => get(h, 70, named("filter", 40)), -Errno.EINVAL],
  ];
  it.each(errnoCases)("%s", (_name, call, status) => {
    const { handler } = setup();
    expect(call(handler).status).toBe(status);
    expect(info(handler)).toEqual({ status: 0, numEntries: 4, size: 632 });
  });

  it("lets netfilter answer first when a refused replace has extensions netfilter judges", () => {
    const { handler, netfilter } = setup(undefined, (t) => (t.entries.some((e) => e.matches.some((m) => m.name === "nosuch")) ? Errno.ENOENT : 0));
    // num_counters 5 where the table has 4: EAGAIN, but netfilter finds the unknown match before that count
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(5, "nosuch")).status).toBe(-Errno.ENOENT);
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(5)).status).toBe(-Errno.EAGAIN);
    expect(info(handler)).toEqual({ status: 0, numEntries: 4, size: 632 });
    expect(netfilter.calls.filter((c) => c.startsWith("replace"))).toHaveLength(1);
  });

  /** Replaces the table with `rule` first in INPUT, then GET_ENTRIES of it. */
  function replaceAndGet(handler: SockoptHandler, rule: Uint8Array): Uint8Array {
    const policy = encodeEntry({ target: { kind: "standard", verdict: STD_VERDICT.ACCEPT } });
    const [p, r] = [policy.length, rule.length];
    const request = encodeReplace(
      { name: "filter", validHooks: FILTER_VALID_HOOKS, hookEntry: [0, 0, r + p, r + 2 * p, 0], underflow: [0, r, r + p, r + 2 * p, 0], numCounters: 4 },
      [rule, policy, policy, policy, encodeEntry({ target: { kind: "error", errorName: "ERROR" } })],
    );
    expect(set(handler, IPT_SO_SET.REPLACE, request).status).toBe(0);
    const size = info(handler).size;
    const q = named("filter", 40 + size);
    new DataView(q.buffer).setUint32(32, size, true);
    return get(handler, IPT_SO_GET.ENTRIES, q).out;
  }

  it("gives back a match's data up to its struct and zeros in the padding after it, as xt_data_to_user", () => {
    const { handler } = setup();
    const ip = new Uint8Array(84);
    ip[80] = 17; // -p udp
    const udp = new Uint8Array(16).fill(0xaa, 10); // struct xt_udp is 10 bytes; the rest is padding
    new DataView(udp.buffer).setUint16(2, 0xffff, true);
    const out = replaceAndGet(handler, encodeEntry({ ip, matches: [{ name: "udp", revision: 0, data: udp }], target: { kind: "standard", verdict: STD_VERDICT.DROP } }));
    const data = 40 + 112 + 32; // ipt_get_entries, ipt_entry, xt_entry_match
    expect(Buffer.from(out.subarray(data, data + 16)).toString("hex")).toBe("0000ffff000000000000000000000000");
  });

  it("gives back a target's data up to its targetsize and zeros after it (REJECT: 4 bytes)", () => {
    const { handler } = setup();
    const reject = new Uint8Array(8).fill(0xaa, 4); // struct ipt_reject_info is 4 bytes; the rest is padding
    new DataView(reject.buffer).setUint32(0, 3, true); // icmp-port-unreachable
    const out = replaceAndGet(handler, encodeEntry({ target: { kind: "ext", name: "REJECT", revision: 0, data: reject } }));
    const data = 40 + 112 + 32; // ipt_get_entries, ipt_entry, xt_entry_target
    expect(Buffer.from(out.subarray(data, data + 8)).toString("hex")).toBe("0300000000000000");
  });

  it("returns the old counters from a replace and serves the enforcer's counters after it", () => {
    const { handler, enforcer } = setup();
    expect(set(handler, IPT_SO_SET.ADD_COUNTERS, addCounters(4, 3n)).status).toBe(0);
    const first = set(handler, IPT_SO_SET.REPLACE, replaceWithRule(4));
    expect(first.status).toBe(0);
    expect(counters(first.out)).toEqual([3n, 300n, 3n, 300n, 3n, 300n, 3n, 300n]);
    expect(info(handler)).toEqual({ status: 0, numEntries: 5, size: 632 + 152 });
    const table = enforcer.appliedTable(NETNS, "filter")!;
    expect(table.chains[0]).toMatchObject({ name: "INPUT", hook: "INPUT", policy: "accept", policyCounterIndex: 1 });
    expect(table.chains[0]!.rules[0]).toMatchObject({ counterIndex: 0, ip: { src: 0x0a000001, srcMask: 0xffffffff }, verdict: { kind: "drop" } });
    enforcer.countPacket(NETNS, "filter", 0, 60);
    expect(set(handler, IPT_SO_SET.ADD_COUNTERS, addCounters(5, 2n)).status).toBe(0);
    const second = set(handler, IPT_SO_SET.REPLACE, replaceWithRule(5));
    expect(counters(second.out)).toEqual([3n, 260n, 2n, 200n, 2n, 200n, 2n, 200n, 2n, 200n]);
    expect(info(handler, OTHER)).toEqual({ status: 0, numEntries: 4, size: 632 });
  });

  it("hands a table it does not compile to netfilter, with bpfilter's counters, and declines that table from then on", () => {
    const { handler, enforcer, netfilter, log } = setup();
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(4)).status).toBe(0);
    enforcer.countPacket(NETNS, "filter", 0, 60);
    const handed = set(handler, IPT_SO_SET.REPLACE, replaceWithRule(5, "owner"));
    expect(handed.status).toBe(0);
    expect(counters(handed.out)).toEqual([1n, 60n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
    expect(enforcer.appliedTable(NETNS, "filter")).toBeUndefined();
    expect(netfilter.tableOf(NETNS).entries.length).toBe(5);
    // netfilter's replace came with netfilter's own num_counters (its initial 4 entries).
    expect(netfilter.calls).toEqual(["info 77", "entries 77", "info 77", "replace 77 5 entries"]);
    expect(info(handler).status).toBe(-Errno.ENOPROTOOPT);
    expect(set(handler, IPT_SO_SET.ADD_COUNTERS, addCounters(5, 1n)).status).toBe(-Errno.ENOPROTOOPT);
    expect(log.join("\n")).toContain("netfilter enforces it from now on: rule 1 in chain INPUT: match 'owner' revision 0 is not supported");
    expect(info(handler, OTHER).status).toBe(0);
  });

  it("keeps enforcing, and answers netfilter's errno, when netfilter refuses the table too", () => {
    const { handler, enforcer, netfilter } = setup(undefined, (t) => (t.entries.length === 5 ? Errno.ENOENT : 0));
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(4)).status).toBe(0);
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(5, "owner")).status).toBe(-Errno.ENOENT);
    expect(enforcer.appliedTable(NETNS, "filter")).toBeDefined();
    expect(info(handler)).toEqual({ status: 0, numEntries: 5, size: 784 });
    expect(netfilter.tableOf(NETNS).entries.length).toBe(4);
  });

  it("gives the enforcer the kernel's deadline, from when the request was read, and hands a table it misses to netfilter", () => {
    const enforcer = new MemoryEnforcer((t) => (t.chains[0]!.rules.length > 0 ? { kind: "declined", reason: "INPUT program: not compiled in time: the kernel waits" } : { kind: "ok" }));
    const netfilter = new MemoryNetfilter();
    const log: string[] = [];
    const handler = new SockoptHandler({ enforcer, netfilter, log: (l) => log.push(l), peerTimeoutMs: () => 5000 });
    const replace = (optval: Uint8Array, receivedAt?: number) =>
      handler.handle({ cmd: IPT_SO_SET.REPLACE, set: true, optlen: optval.length, optval, netns: NETNS, ...(receivedAt === undefined ? {} : { receivedAt }) });
    expect(replace(initialFilterReplace(), 1000).status).toBe(0);
    expect(enforcer.deadlines[0]?.at).toBe(1000 + 5000 * 0.6);
    expect(enforcer.deadlines[0]?.why).toContain("bpfilter.timeout_ms");
    expect(replace(replaceWithRule(4), 2000).status).toBe(0); // netfilter enforces it: the command succeeds
    expect(netfilter.tableOf(NETNS).entries.length).toBe(5);
    expect(log.join("\n")).toContain("netfilter enforces it from now on: INPUT program: not compiled in time");
    // A request without its reception time (host mode) has no deadline.
    expect(replace(replaceWithRule(5)).status).toBe(-Errno.ENOPROTOOPT); // netfilter's now: declined, after a try
    expect(enforcer.deadlines.at(-1)).toBeUndefined();
  });

  it("past the deadline before compiling, declines a first big replace so that netfilter does it outside the kernel's wait", () => {
    const { enforcer, netfilter } = setup();
    const log: string[] = [];
    const handler = new SockoptHandler({ enforcer, netfilter, log: (l) => log.push(l), peerTimeoutMs: () => 5000 });
    const big = replaceWithRules(2000, 4);
    const late = handler.handle({ cmd: IPT_SO_SET.REPLACE, set: true, optlen: big.length, optval: big, netns: NETNS, receivedAt: performance.now() - 10_000 });
    expect(late.status).toBe(-Errno.ENOPROTOOPT);
    expect(enforcer.deadlines).toEqual([]); // nothing was compiled
    expect(log.join("\n")).toMatch(/netfilter enforces it from now on, and does the replace itself: translating entry \d+ of 2004: not compiled in time/);
    expect(info(handler).status).toBe(-Errno.ENOPROTOOPT); // netfilter's table now
    // In time, the same table is taken back from netfilter (whose table the declined replace set).
    netfilter.replace(NETNS, big);
    const back = handler.handle({ cmd: IPT_SO_SET.REPLACE, set: true, optlen: big.length, optval: withCounters(big, 2004), netns: NETNS, receivedAt: performance.now() });
    expect(back.status).toBe(0);
    expect(enforcer.appliedTable(NETNS, "filter")!.chains[0]!.rules).toHaveLength(2000);
  });

  it("takes a compilable replace back from netfilter, with netfilter's counters, and serves the table again", () => {
    const { handler, enforcer, netfilter, log } = setup();
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(4, "owner")).status).toBe(0);
    netfilter.countPacket(NETNS, 0, 80);
    // A replace with num_counters other than netfilter's is netfilter's to refuse (EAGAIN).
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(4)).status).toBe(-Errno.ENOPROTOOPT);
    const back = set(handler, IPT_SO_SET.REPLACE, replaceWithRule(5));
    expect(back.status).toBe(0);
    expect(counters(back.out)).toEqual([1n, 80n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
    expect(enforcer.appliedTable(NETNS, "filter")!.chains[0]!.rules).toHaveLength(1);
    expect(netfilter.tableOf(NETNS).entries.length).toBe(4); // the initial table again
    expect(info(handler)).toEqual({ status: 0, numEntries: 5, size: 784 });
    expect(set(handler, IPT_SO_SET.ADD_COUNTERS, addCounters(5, 1n)).status).toBe(0);
    expect(log.join("\n")).toContain("bpfilter enforces it from now on");
  });

  it("leaves the table with netfilter when taking it back fails at any step", () => {
    let failApply = true;
    const { handler, enforcer, netfilter } = setup(() => (failApply ? { kind: "error", errno: Errno.ENOMEM, message: "no memory" } : { kind: "ok" }), (t) => (t.entries.length === 4 ? Errno.EAGAIN : 0));
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(4, "owner")).status).toBe(0);
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(5)).status).toBe(-Errno.ENOPROTOOPT);
    failApply = false;
    // netfilter refuses its initial table (another process changed it): the new programs go again.
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(5)).status).toBe(-Errno.ENOPROTOOPT);
    expect(enforcer.appliedTable(NETNS, "filter")).toBeUndefined();
    expect(info(handler).status).toBe(-Errno.ENOPROTOOPT);
    expect(netfilter.tableOf(NETNS).entries.length).toBe(5);
  });

  it("leaves a netns to netfilter that held rules before the helper met it, and serves netfilter's initial counters otherwise", () => {
    const { handler, netfilter, log } = setup();
    netfilter.install(OTHER, replaceWithRule(4));
    expect(info(handler, OTHER).status).toBe(-Errno.ENOPROTOOPT);
    expect(log.join("\n")).toContain("netfilter held a filter table of 5 entries in this netns before bpfilter served it");
    netfilter.countPacket(NETNS, 2, 40);
    const entries = named("filter", 40 + 632);
    new DataView(entries.buffer).setUint32(32, 632, true);
    const out = get(handler, IPT_SO_GET.ENTRIES, entries);
    expect(out.status).toBe(0);
    expect(new DataView(out.out.buffer).getBigUint64(40 + 2 * 152 + 96, true)).toBe(1n);
  });

  it("hands the table to netfilter when the enforcer fails, as netfilter would take it", () => {
    const { handler, netfilter } = setup(() => ({ kind: "error", errno: Errno.EINVAL, message: "verifier said no" }));
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(4)).status).toBe(0);
    expect(info(handler).status).toBe(-Errno.ENOPROTOOPT);
    expect(netfilter.tableOf(NETNS).entries.length).toBe(5);
  });

  it("describes the same tables after a restart when given a table store", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfilter-store-"));
    try {
      const netfilter = new MemoryNetfilter();
      const first = new SockoptHandler({ enforcer: new MemoryEnforcer(), netfilter, log: () => {}, store: new DirectoryTableStore(dir) });
      expect(set(first, IPT_SO_SET.REPLACE, replaceWithRule(4)).status).toBe(0);
      expect(set(first, IPT_SO_SET.REPLACE, replaceWithRule(4, "owner"), OTHER).status).toBe(0);
      const restarted = new SockoptHandler({ enforcer: new MemoryEnforcer(), netfilter, log: () => {}, store: new DirectoryTableStore(dir) });
      expect(info(restarted)).toEqual({ status: 0, numEntries: 5, size: 784 });
      expect(info(restarted, OTHER).status).toBe(-Errno.ENOPROTOOPT);
      expect(info(restarted, { cookie: 99n, pid: 3 })).toEqual({ status: 0, numEntries: 4, size: 632 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("settles a replace that the helper died in by the generation the enforcing side enforces", () => {
    for (const swapped of [false, true]) {
      const dir = mkdtempSync(join(tmpdir(), "bpfilter-store-"));
      try {
        const netfilter = new MemoryNetfilter();
        const enforcer = new MemoryEnforcer();
        const first = new SockoptHandler({ enforcer, netfilter, log: () => {}, store: new DirectoryTableStore(dir) });
        expect(set(first, IPT_SO_SET.REPLACE, replaceWithRule(4)).status).toBe(0); // 5 entries, enforced at generation 1
        // The helper dies after staging the next replace (7 entries), before or after its swap.
        const dying = Object.assign(new MemoryEnforcer(), {
          generation: () => enforcer.generation(NETNS.cookie, "filter"),
          apply: (_netns: typeof NETNS, t: Table, _deadline: unknown, staged?: (g: number) => void) => {
            staged?.(0);
            throw new Error(`died after staging ${t.entryCount} entries`);
          },
        });
        const second = new SockoptHandler({ enforcer: dying, netfilter, log: () => {}, store: new DirectoryTableStore(dir) });
        expect(() => set(second, IPT_SO_SET.REPLACE, replaceWithRules(3, 5))).toThrow(/died after staging 7 entries/);
        const record = new DirectoryTableStore(dir).load().get(NETNS.cookie);
        expect(record).toMatchObject({ owner: "bpfilter", staged: { generation: 0 } });
        const log: string[] = [];
        const restarted = new SockoptHandler({ enforcer: Object.assign(new MemoryEnforcer(), { generation: () => (swapped ? 0 : 1) }), netfilter, log: (l) => log.push(l), store: new DirectoryTableStore(dir) });
        expect(info(restarted).numEntries).toBe(swapped ? 7 : 5);
        expect(log.join("\n")).toContain(swapped ? "it was swapped in (generation 0): it is the table" : "it was not swapped in: the table before it stays");
        expect(new DirectoryTableStore(dir).load().get(NETNS.cookie)).not.toHaveProperty("staged"); // written again, settled
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it("settles a first replace that the helper died in: kept if swapped in, else the netns is new again", () => {
    for (const swapped of [false, true]) {
      const dir = mkdtempSync(join(tmpdir(), "bpfilter-store-"));
      try {
        const netfilter = new MemoryNetfilter();
        const dying = Object.assign(new MemoryEnforcer(), {
          apply: (_netns: typeof NETNS, _t: Table, _deadline: unknown, staged?: (g: number) => void) => {
            staged?.(1);
            throw new Error("died");
          },
        });
        const first = new SockoptHandler({ enforcer: dying, netfilter, log: () => {}, store: new DirectoryTableStore(dir) });
        expect(() => set(first, IPT_SO_SET.REPLACE, replaceWithRule(4))).toThrow(/died/);
        expect(new DirectoryTableStore(dir).load().get(NETNS.cookie)).toMatchObject({ owner: "none", staged: { generation: 1 } });
        const restarted = new SockoptHandler({ enforcer: Object.assign(new MemoryEnforcer(), { generation: () => (swapped ? 1 : undefined) }), netfilter, log: () => {}, store: new DirectoryTableStore(dir) });
        expect(info(restarted).numEntries).toBe(swapped ? 5 : 4);
        expect(new DirectoryTableStore(dir).load().has(NETNS.cookie)).toBe(swapped);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it("hands a table it enforces to netfilter, counters included, before declining a 32-bit caller's request", () => {
    const { handler, enforcer, netfilter } = setup();
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(4)).status).toBe(0);
    enforcer.countPacket(NETNS, "filter", 0, 60);
    const compat = handler.handle({ cmd: IPT_SO_GET.INFO, set: false, optlen: IPT_GETINFO.SIZE, optval: named("filter", IPT_GETINFO.SIZE), netns: NETNS, compat: true });
    expect(compat.status).toBe(-Errno.ENOPROTOOPT);
    expect(enforcer.appliedTable(NETNS, "filter")).toBeUndefined();
    expect(netfilter.tableOf(NETNS).entries.length).toBe(5);
    expect(netfilter.countersOf(NETNS)[0]).toEqual({ packets: 1n, bytes: 60n });
    expect(info(handler).status).toBe(-Errno.ENOPROTOOPT); // a 64-bit caller now sees netfilter's table too
    // A 32-bit caller of a table netfilter holds, or of another table, changes nothing.
    expect(handler.handle({ cmd: IPT_SO_GET.INFO, set: false, optlen: IPT_GETINFO.SIZE, optval: named("nat", IPT_GETINFO.SIZE), netns: OTHER, compat: true }).status).toBe(-Errno.ENOPROTOOPT);
    expect(info(handler, OTHER)).toEqual({ status: 0, numEntries: 4, size: 632 });
  });

  it("forgets a netns that is gone, releasing what it enforced there", () => {
    const { handler, enforcer } = setup();
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(4)).status).toBe(0);
    handler.netnsGone(NETNS.cookie);
    expect(enforcer.appliedTable(NETNS, "filter")).toBeUndefined();
    expect(info(handler)).toEqual({ status: 0, numEntries: 4, size: 632 });
  });

  it("declines every GET_REVISION query: netfilter judges which revisions it takes", () => {
    const { handler } = setup();
    for (const kind of [IPT_SO_GET.REVISION_MATCH, IPT_SO_GET.REVISION_TARGET]) {
      for (const [name, r] of [["udp", 0], ["udp", 1], ["", 200], ["owner", 0]] as const) {
        const b = named(name, 30);
        b[29] = r;
        expect(get(handler, kind, b).status).toBe(-Errno.ENOPROTOOPT);
      }
    }
  });
});
