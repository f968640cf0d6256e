/**
 * What the differential fuzzer found, shrunk to fixed bytes and run on both sides (native
 * netfilter in one netns, the handler over another): each case once diverged, and must not. Then
 * a fixed-seed slice of the fuzzer itself (make fuzz explores further).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { namedNetnsPath } from "../../src/bpf/index.ts";
import { IPT_ENTRY, IPT_REPLACE, IPT_SO_SET, STD_VERDICT, XT_ENTRY_MATCH, XT_STANDARD_TARGET_LAYOUT } from "../../src/ipt/abi.ts";
import { encodeEntry, encodeReplace } from "../../src/ipt/entry_builder.ts";
import { FILTER_VALID_HOOKS, initialFilterReplace } from "../../src/ipt/initial_table.ts";
import { hostTierUnavailable } from "../host/harness.ts";
import { describe as describeDivergence, runCase } from "./differential.ts";
import { fuzz } from "./fuzz_loop.ts";
import { HelperSide } from "./helper_side.ts";
import { NativeSocket } from "./native.ts";
import type { FuzzRequest } from "./requests.ts";
import { loadSeeds, seedSources } from "./seeds.ts";

const unavailable = hostTierUnavailable();
if (unavailable) console.warn(`skipping the fuzzer's reproducers: ${unavailable}`);

/** The initial table with one rule first in INPUT (the rule's ipt_entry in hex). */
function initialWithRule(ruleHex: readonly string[], numCounters = 4): Uint8Array {
  const rule = Uint8Array.from(Buffer.from(ruleHex.join(""), "hex"));
  const policy = encodeEntry({ target: { kind: "standard", verdict: STD_VERDICT.ACCEPT } });
  const [p, r] = [policy.length, rule.length];
  return encodeReplace(
    { name: "filter", validHooks: FILTER_VALID_HOOKS, hookEntry: [0, 0, r + p, r + 2 * p, 0], underflow: [0, r, r + p, r + 2 * p, 0], numCounters },
    [rule, policy, policy, policy, encodeEntry({ target: { kind: "error", errorName: "ERROR" } })],
  );
}

/** An unconditional standard entry of the initial table: ipt_entry + xt_standard_target. */
const POLICY_SIZE = IPT_ENTRY.SIZE + XT_STANDARD_TARGET_LAYOUT.SIZE;

const replace = (bytes: Uint8Array, mutation: string): FuzzRequest => ({ set: true, cmd: IPT_SO_SET.REPLACE, bytes, optlen: bytes.length, mutation });

/** Each was a divergence before its fix; the fuzz case that found it is named. */
const REPRODUCERS: [string, () => FuzzRequest][] = [
  [
    // FUZZ_SEED=1 FUZZ_CASE=119: netfilter EINVAL (Linux 6.18 checks multiport ranges), the helper 0
    "-p udp -m multiport --dports 2000:1000 (a reversed range)",
    () => replace(initialWithRule([
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
      "00000000000000000000000000000000000000000000000000000000000000001100000000000000c000e80000000000",
      "0000000000000000000000000000000050006d756c7469706f7274000000000000000000000000000000000000000001",
      "0102d007e803000000000000000000000000000000000000000000000000000001000000000000000000000000000000",
      "2800000000000000000000000000000000000000000000000000000000000000ffffffff00000000",
    ]), "multiport ports[0..1] = 2000:1000, pflags[0] = 1"),
  ],
  [
    // FUZZ_SEED=1 FUZZ_CASE=79: GET_ENTRIES afterwards gave back byte 12 of the udp data, netfilter zeros it
    "-p udp -m udp --dport 53 with a byte in the padding after struct xt_udp",
    () => replace(initialWithRule([
      "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
      "00000000000000000000000000000000000000000000000000000000000000001100000000000000a000c80000000000",
      "000000000000000000000000000000003000756470000000000000000000000000000000000000000000000000000000",
      "0000ffff3500350000000000200000002800000000000000000000000000000000000000000000000000000000000000",
      "ffffffff00000000",
    ]), "udp data byte 12 = 0x20"),
  ],
  [
    // FUZZ_SEED=1 FUZZ_CASE=5282: netfilter ENOMEM (xt_counters_alloc), the helper EAGAIN
    "the initial table with num_counters 33913987",
    () => {
      const b = initialFilterReplace();
      new DataView(b.buffer).setUint32(IPT_REPLACE.num_counters, 33913987, true);
      return replace(b, "num_counters = 33913987 (was 4)");
    },
  ],
  [
    // FUZZ_SEED=4 FUZZ_CASE=16813: netfilter ENOENT (no ERROR target of revision 3), the helper EAGAIN
    "the initial table with an ERROR target of revision 3 and num_counters 3",
    () => {
      const b = initialFilterReplace();
      b[IPT_REPLACE.entries + 3 * POLICY_SIZE + IPT_ENTRY.SIZE + XT_ENTRY_MATCH.revision] = 3;
      new DataView(b.buffer).setUint32(IPT_REPLACE.num_counters, 3, true);
      return replace(b, "entry 3 target 'ERROR': revision 3; num_counters = 3 (was 4)");
    },
  ],
  [
    // FUZZ_SEED=4 FUZZ_CASE=5810: netfilter refuses entry 0's target revision first, the helper entry 2's target_size
    "the initial table with a standard target of revision 1, then one of target_size 32",
    () => {
      const b = initialFilterReplace();
      b[IPT_REPLACE.entries + IPT_ENTRY.SIZE + XT_ENTRY_MATCH.revision] = 1;
      new DataView(b.buffer).setUint16(IPT_REPLACE.entries + 2 * POLICY_SIZE + IPT_ENTRY.SIZE + XT_ENTRY_MATCH.size, 32, true);
      return replace(b, "entry 0 target '': revision 1; entry 2 target '': size 32 (was 40)");
    },
  ],
  [
    // FUZZ_SEED=4 FUZZ_CASE=18850: netfilter ENOENT (no match 'nosuch'), the helper EINVAL (valid_hooks)
    "-p udp -m nosuch, with valid_hooks 0x2e",
    () => {
      const b = initialWithRule([
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000011000000000000009800c00000000000",
        "0000000000000000000000000000000028006e6f73756368000000000000000000000000000000000000000000000000",
        "00000000000000002800000000000000000000000000000000000000000000000000000000000000ffffffff00000000",
      ]);
      new DataView(b.buffer).setUint32(IPT_REPLACE.valid_hooks, 0x2e, true);
      return replace(b, "valid_hooks = 0x2e (was 0xe); a match named 'nosuch'");
    },
  ],
];

describe.skipIf(unavailable !== undefined)("the fuzzer's reproducers, netfilter against the handler", () => {
  const names = [`bpft-fuzzrep-nf-${process.pid}`, `bpft-fuzzrep-helper-${process.pid}`];
  let native: NativeSocket;
  let helper: HelperSide;
  beforeAll(() => {
    for (const n of names) execFileSync("ip", ["netns", "add", n]);
    native = new NativeSocket(namedNetnsPath(names[0]!));
    helper = new HelperSide(names[1]!);
  });
  afterAll(() => {
    native?.close();
    helper?.close();
    for (const n of names) execFileSync("ip", ["netns", "del", n]);
  });

  it.each(REPRODUCERS)("%s", (_name, request) => {
    const d = runCase(native, helper, initialFilterReplace(), request());
    expect(d === undefined ? "no divergence" : describeDivergence(d)).toBe("no divergence");
  });
});

describe.skipIf(unavailable !== undefined)("a fixed-seed slice of the fuzzer", () => {
  it("runs 300 cases from FUZZ_SEED=20261202 without a divergence", () => {
    const seeds = loadSeeds(seedSources(["docker", "server"], ["libxt_multiport.t", "libxt_udp.t", "libxt_tcp.t", "libipt_icmp.t", "libxt_iprange.t"]));
    const lines: string[] = [];
    const report = fuzz({ seed: 20261202, seeds, maxCases: 300, print: (l) => lines.push(l) });
    expect(report.cases).toBe(300);
    expect(lines.join("\n")).toBe("");
  }, 60_000);
});
