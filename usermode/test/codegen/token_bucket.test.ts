// xt_limit's arithmetic (user2credits, CREDITS_PER_JIFFY, limit_mt_check) worked by hand from
// net/netfilter/xt_limit.c, the limit match's decoding and words, and where the bucket runs.
import { describe, expect, it } from "vitest";
import { bucketParams, bucketSlots, creditsPerJiffy, LIMIT_RETRIES, user2credits } from "../../src/codegen/token_bucket.ts";
import { compileHook, type CompiledProgram, type Decline, type NetfilterContextLayout } from "../../src/codegen/index.ts";
import { limit, XT_RATEINFO_SIZE } from "../../src/ext/limit.ts";
import { matchDataSize } from "../../src/ext/registry.ts";
import type { LimitMatch } from "../../src/ir/matches.ts";
import type { XtMatch } from "../../src/ipt/chains.ts";
import { ACCEPT, filterTable, lengthMatch, jump } from "./ir-builders.ts";

const KERNEL: NetfilterContextLayout = { ctxState: 0, ctxSkb: 8, stateHook: 0, stateIn: 8, stateOut: 16, devName: 280, skbLen: 112, skbMark: 164, skbNfct: 104, skbPktType: { offset: 128, shift: 0 }, hz: 250 };

function limitMatch(avg: number, burst: number): XtMatch {
  const data = new Uint8Array(XT_RATEINFO_SIZE);
  const view = new DataView(data.buffer);
  view.setUint32(0, avg, true);
  view.setUint32(4, burst, true);
  return { name: "limit", revision: 0, data };
}

const lm = (avg: number, burst: number, creditCap = 0, cost = 0): LimitMatch => ({ kind: "limit", avg, burst, creditCap, cost });

function compiled(result: CompiledProgram | Decline): CompiledProgram {
  if (result.declined === true) throw new Error(`unexpected decline: ${result.reason}`);
  return result;
}

describe("xt_limit's arithmetic", () => {
  it("CREDITS_PER_JIFFY is the power of two below 0xFFFFFFFF / (HZ * 86400)", () => {
    expect(creditsPerJiffy(100)).toBe(256); // 497
    expect(creditsPerJiffy(250)).toBe(128); // 198
    expect(creditsPerJiffy(300)).toBe(128); // 165
    expect(creditsPerJiffy(1000)).toBe(32); // 49
  });
  it("user2credits multiplies first unless that overflows, then divides first", () => {
    expect(user2credits(1000, 250)).toBe(3200); // 10/sec: 1000 * 250 * 128 / 10000
    expect(user2credits(600000, 250)).toBe(1_920_000); // 1/min: (600000 / 10000) * 250 * 128
    expect(user2credits(134217, 250)).toBe(Math.floor((134217 * 32000) / 10000)); // the last value multiplied first
  });
  it("limit_mt_check: full credit, cap and cost, or ERANGE on overflow", () => {
    expect(bucketParams(lm(600000, 5), 250)).toEqual({ credit: 9_600_000, cap: 9_600_000, cost: 1_920_000 });
    expect(bucketParams(lm(1000, 2, 7, 9), 250)).toEqual({ credit: 6400, cap: 7, cost: 9 }); // cost given: kept, with its cap
    expect(() => bucketParams(lm(1000, 0), 250)).toThrow(/ERANGE/);
    expect(() => bucketParams(lm(864_000_000, 10), 250)).toThrow(/ERANGE/); // avg * burst wraps in u32
  });
});

describe("the limit match", () => {
  it("decodes avg and burst, and gives back only them (usersize 8)", () => {
    expect(limit.decode(limitMatch(600000, 10).data, 0)).toEqual(lm(600000, 10));
    expect(matchDataSize("limit", 0)).toBe(8);
  });
  it("says its rate as iptables-save does", () => {
    expect(limit.describe(lm(600000, 5))).toBe("-m limit --limit 1/min");
    expect(limit.describe(lm(200000, 10))).toBe("-m limit --limit 3/min --limit-burst 10");
    expect(limit.describe(lm(1000, 2))).toBe("-m limit --limit 10/sec --limit-burst 2");
    expect(limit.describe(lm(36_000_000, 5))).toBe("-m limit --limit 1/hour");
  });
});

describe("the token bucket in a program", () => {
  it("gives each limit match of the table one slot, a user chain's once however many jumps reach it", () => {
    const table = filterTable({
      INPUT: { rules: [{ matches: [limitMatch(1000, 2)], target: ACCEPT }, { target: jump("A") }] },
      FORWARD: { rules: [{ target: jump("A") }] },
      user: { A: [{ matches: [limitMatch(600000, 5)], target: ACCEPT }] },
    });
    expect([...bucketSlots(table).values()]).toEqual([0, 1]);
    const input = compiled(compileHook(table, "INPUT", { kernel: KERNEL }));
    const forward = compiled(compileHook(table, "FORWARD", { kernel: KERNEL }));
    expect(input.text.filter((l) => /^\*\(u32 \*\)\(r10 -116\) = \d$/.test(l))).toEqual(["*(u32 *)(r10 -116) = 0", "*(u32 *)(r10 -116) = 1"]);
    expect(forward.text.filter((l) => /^\*\(u32 \*\)\(r10 -116\) = \d$/.test(l))).toEqual(["*(u32 *)(r10 -116) = 1"]);
    expect(input.mapRefs.map((r) => r.map)).toContain("limits");
    expect(input.text.filter((l) => l.includes("= xchg(")).length).toBe(2 * LIMIT_RETRIES);
  });

  it("runs only after the tests before it hold, in compact mode too (it takes credit)", () => {
    const table = filterTable({ OUTPUT: { rules: [{ matches: [lengthMatch(1, 10), limitMatch(1000, 2)], target: ACCEPT }] } });
    const text = compiled(compileHook(table, "OUTPUT", { kernel: KERNEL, mode: "compact" })).text;
    const jiffies = text.indexOf("call 118");
    // the folded length test branches out before the bucket's first helper call
    expect(text.slice(jiffies - 2, jiffies).some((l) => /^if r5 != 0 goto/.test(l))).toBe(true);
  });

  it("leaves the table to netfilter on a kernel whose HZ is not known", () => {
    const { hz: _hz, ...noHz } = KERNEL;
    const table = filterTable({ INPUT: { rules: [{ matches: [limitMatch(1000, 2)], target: ACCEPT }] } });
    expect(compileHook(table, "INPUT", { kernel: noHz })).toEqual({ declined: true, reason: expect.stringMatching(/^rule 1 in chain INPUT: match 'limit' needs the kernel's HZ/) });
  });
});
