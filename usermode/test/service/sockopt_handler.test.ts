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
import { fromPredicate, NO_EXTENSIONS } from "../../src/service/revisions.ts";
import { type SockoptAnswer, SockoptHandler } from "../../src/service/sockopt_handler.ts";

const NETNS = { cookie: 77n, pid: 1 };
const OTHER = { cookie: 78n, pid: 2 };

function setup(decide?: (t: Table) => Decision) {
  const enforcer = new MemoryEnforcer(decide);
  const log: string[] = [];
  const handler = new SockoptHandler(
    enforcer,
    fromPredicate((kind, name, rev) => kind === "match" && ((name === "udp" && (rev === 0 || rev === 2)) || (name === "icmp" && rev === 0))),
    (l) => log.push(l),
  );
  return { enforcer, handler, log };
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
    ["REPLACE with other valid_hooks", (h) => set(h, IPT_SO_SET.REPLACE, (() => { const b = initialFilterReplace(); new DataView(b.buffer).setUint32(IPT_REPLACE.valid_hooks, 0x1f, true); return b; })()), -Errno.EINVAL],
    ["ADD_COUNTERS with the wrong count", (h) => set(h, IPT_SO_SET.ADD_COUNTERS, addCounters(5, 1n)), -Errno.EINVAL],
    ["ADD_COUNTERS with no counters", (h) => set(h, IPT_SO_SET.ADD_COUNTERS, named("filter", XT_COUNTERS_INFO.SIZE)), -Errno.EINVAL],
    ["an unknown set command", (h) => set(h, 70, named("filter", 40)), -Errno.EINVAL],
    ["an unknown get command", (h) => get(h, 70, named("filter", 40)), -Errno.EINVAL],
    ["GET_REVISION with a wrong optlen", (h) => get(h, IPT_SO_GET.REVISION_MATCH, named("udp", 31)), -Errno.EINVAL],
  ];
  it.each(errnoCases)("%s", (_name, call, status) => {
    const { handler } = setup();
    expect(call(handler).status).toBe(status);
    expect(info(handler)).toEqual({ status: 0, numEntries: 4, size: 632 });
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
    expect(table.chains[0]!.rules[0]).toMatchObject({ counterIndex: 0, ip: { src: 0x0a000001, srcMask: 0xffffffff }, target: { kind: "verdict", verdict: { kind: "drop" } } });
    enforcer.countPacket(NETNS, "filter", 0, 60);
    expect(set(handler, IPT_SO_SET.ADD_COUNTERS, addCounters(5, 2n)).status).toBe(0);
    const second = set(handler, IPT_SO_SET.REPLACE, replaceWithRule(5));
    expect(counters(second.out)).toEqual([3n, 260n, 2n, 200n, 2n, 200n, 2n, 200n, 2n, 200n]);
    expect(info(handler, OTHER)).toEqual({ status: 0, numEntries: 4, size: 632 });
  });

  it("hands an initial table to netfilter on a decline, and declines that table from then on", () => {
    const { handler, log } = setup(() => ({ kind: "declined", reason: "rule 1 in chain INPUT: match 'owner' is not supported" }));
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(4, "owner")).status).toBe(-Errno.ENOPROTOOPT);
    expect(info(handler).status).toBe(-Errno.ENOPROTOOPT);
    expect(set(handler, IPT_SO_SET.ADD_COUNTERS, addCounters(4, 1n)).status).toBe(-Errno.ENOPROTOOPT);
    expect(log.join("\n")).toContain("match 'owner' is not supported");
    expect(info(handler, OTHER).status).toBe(0);
  });

  it("refuses (EOPNOTSUPP) to hand over a table that holds rules it enforces, and keeps them", () => {
    let declining = false;
    const { handler, log } = setup(() => (declining ? { kind: "declined", reason: "match 'owner' is not supported" } : { kind: "ok" }));
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(4)).status).toBe(0);
    declining = true;
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(5, "owner")).status).toBe(-Errno.EOPNOTSUPP);
    expect(info(handler)).toEqual({ status: 0, numEntries: 5, size: 784 });
    expect(log.join("\n")).toContain("not handed to netfilter");
  });

  it("keeps the old table when the enforcer fails", () => {
    const { handler } = setup(() => ({ kind: "error", errno: Errno.EINVAL, message: "verifier said no" }));
    expect(set(handler, IPT_SO_SET.REPLACE, replaceWithRule(4)).status).toBe(-Errno.EINVAL);
    expect(info(handler)).toEqual({ status: 0, numEntries: 4, size: 632 });
  });

  it("describes the same tables after a restart when given a table store", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfilter-store-"));
    try {
      const decide = (t: Table): Decision => (t.chains[0]!.rules[0]?.matches.length ? { kind: "declined", reason: "no" } : { kind: "ok" });
      const first = new SockoptHandler(new MemoryEnforcer(decide), NO_EXTENSIONS, () => {}, new DirectoryTableStore(dir));
      expect(set(first, IPT_SO_SET.REPLACE, replaceWithRule(4)).status).toBe(0);
      expect(set(first, IPT_SO_SET.REPLACE, replaceWithRule(4, "owner"), OTHER).status).toBe(-Errno.ENOPROTOOPT);
      const restarted = new SockoptHandler(new MemoryEnforcer(), NO_EXTENSIONS, () => {}, new DirectoryTableStore(dir));
      expect(info(restarted)).toEqual({ status: 0, numEntries: 5, size: 784 });
      expect(info(restarted, OTHER).status).toBe(-Errno.ENOPROTOOPT);
      expect(info(restarted, { cookie: 99n, pid: 3 })).toEqual({ status: 0, numEntries: 4, size: 632 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers GET_REVISION as xt_find_revision for known extensions, declines unknown ones and best revisions above 0", () => {
    const { handler } = setup();
    const rev = (kind: number, name: string, r: number) => {
      const b = named(name, 30);
      b[29] = r;
      return get(handler, kind, b).status;
    };
    // udp: revisions 0 and 2 known; the best (2) cannot be a status, so netfilter answers.
    expect(rev(IPT_SO_GET.REVISION_MATCH, "udp", 0)).toBe(-Errno.ENOPROTOOPT);
    expect(rev(IPT_SO_GET.REVISION_MATCH, "udp", 1)).toBe(-Errno.EPROTONOSUPPORT);
    expect(rev(IPT_SO_GET.REVISION_MATCH, "icmp", 0)).toBe(0);
    expect(rev(IPT_SO_GET.REVISION_MATCH, "icmp", 1)).toBe(-Errno.EPROTONOSUPPORT);
    expect(rev(IPT_SO_GET.REVISION_MATCH, "owner", 0)).toBe(-Errno.ENOPROTOOPT);
    expect(rev(IPT_SO_GET.REVISION_TARGET, "udp", 0)).toBe(-Errno.ENOPROTOOPT);
    const none = new SockoptHandler(new MemoryEnforcer(), NO_EXTENSIONS, () => {});
    expect(none.handle({ cmd: IPT_SO_GET.REVISION_MATCH, set: false, optlen: 30, optval: named("udp", 30), netns: NETNS }).status).toBe(-Errno.ENOPROTOOPT);
  });
});
