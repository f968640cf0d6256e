// make bench's parsing, statistics, goals and plot: the code that turns measurements into figures.
import { describe, expect, it } from "vitest";
import { benchConfig } from "../src/bench/config.ts";
import { parseIptablesListing, parseNftCounters } from "../src/bench/counters.ts";
import { goalRows } from "../src/bench/goals.ts";
import { benchFigure } from "../src/bench/plot.ts";
import type { PpsCase } from "../src/bench/pps_section.ts";
import { renderReport } from "../src/bench/report.ts";
import type { BenchResults } from "../src/bench/results.ts";
import { pairedRatio, sig3, spread, summarize } from "../src/bench/stats.ts";
import { decades, logScale, renderFigure, tickLabel } from "../src/bench/svg_plot.ts";
import { inputPrograms, nfHookState, parseProgRun, programType } from "../src/bench/test_run.ts";
import { trafgenConfig } from "../src/bench/trafgen_check.ts";
import { parseSenderReport } from "../src/bench/veth_rate.ts";

describe("parsers", () => {
  it("reads the policy and last rule counters from iptables -L INPUT -v -x -n", () => {
    const listing = [
      "Chain INPUT (policy DROP 1273152 packets, 58564992 bytes)",
      "    pkts      bytes target     prot opt in     out     source               destination",
      "       0        0 DROP       0    --  *      *       198.18.0.3           0.0.0.0/0",
      "    4021   185000 DROP       0    --  *      *       198.18.0.2           0.0.0.0/0",
      "",
    ].join("\n");
    expect(parseIptablesListing(listing)).toEqual({ last: 4021, miss: 1273152 });
    expect(parseIptablesListing(listing.split("\n").slice(0, 2).join("\n"))).toEqual({ last: 0, miss: 1273152 });
    expect(() => parseIptablesListing("iptables: No chain")).toThrow("no policy line");
  });

  it("reads nft's named counters and says which is missing", () => {
    const json = JSON.stringify({ nftables: [{ metainfo: {} }, { counter: { name: "last", packets: 7 } }, { counter: { name: "miss", packets: 3 } }] });
    expect(parseNftCounters(json)).toEqual({ last: 7, miss: 3 });
    expect(() => parseNftCounters(JSON.stringify({ nftables: [{ counter: { name: "last", packets: 1 } }] }))).toThrow("no counter named miss");
  });

  it("reads the sender's report and bpftool prog run's output", () => {
    expect(parseSenderReport('{"sent":5,"elapsed_ns":10,"refused":0,"backoff_ns":0,"frame_bytes":60}\n').sent).toBe(5);
    expect(() => parseSenderReport('{"sent":5}')).toThrow("no elapsed_ns");
    expect(parseProgRun("Return value: 1, duration (average): 27ns\n")).toEqual({ retval: 1, ns: 27 });
    expect(parseProgRun("Return value: 0, duration: 204000ns")).toEqual({ retval: 0, ns: 204000 });
    expect(() => parseProgRun("Error: failed")).toThrow("no return value");
  });

  it("builds the netfilter test-run context and picks the programs a local packet meets", () => {
    const ctx = nfHookState(1);
    expect([ctx.length, ctx[0], ctx[1]]).toEqual([48, 1, 2]);
    expect(programType(32)).toBe("netfilter");
    const programs = [
      { id: 1, type: "xdp", name: "bpfilter_in" },
      { id: 2, type: "sched_cls", name: "bpfilter_out" },
      { id: 3, type: "netfilter", name: "in", hook: 1 },
      { id: 4, type: "netfilter", name: "out", hook: 3 },
    ];
    expect(inputPrograms(programs).map((p) => p.id)).toEqual([1, 3]);
    // A dispatcher attached by links tail-calls the chains: only it is run.
    const dispatched = [
      { id: 7, type: "netfilter", name: "bpfilter_disp", linked: true },
      { id: 8, type: "netfilter", name: "bpfilter_input" },
      { id: 9, type: "netfilter", name: "bpfilter_output" },
    ];
    expect(inputPrograms(dispatched).map((p) => p.id)).toEqual([7]);
    expect(trafgenConfig(Uint8Array.from([2, 0xbe]))).toBe("{ 0x02, 0xbe }\n");
  });
});

describe("config", () => {
  it("defaults to the full run and takes a quick one", () => {
    expect(benchConfig({}).sizes).toEqual([1, 100, 1000, 10_000, 100_000]);
    const quick = benchConfig({ BENCH: "quick" });
    expect([quick.sizes, quick.controlSizes, quick.rounds]).toEqual([[1, 100, 1000], [1000], 3]);
    expect(benchConfig({ BENCH_SIZES: "1,10k", BENCH_SHAPES: "cidr" })).toMatchObject({ sizes: [1, 10_000], shapes: ["cidr"] });
  });

  it("names the bad setting", () => {
    expect(() => benchConfig({ BENCH: "fast" })).toThrow("BENCH=fast: must be quick or full");
    expect(() => benchConfig({ BENCH_ROUNDS: "2" })).toThrow("BENCH_ROUNDS=2: must be a number from 3 to 50");
    expect(() => benchConfig({ BENCH_SHAPES: "ports" })).toThrow("'ports' is not one of dport");
    expect(() => benchConfig({ BENCH_SIZES: "1,0" })).toThrow("BENCH_SIZES: '0'");
  });
});

describe("stats", () => {
  it("summarizes rounds and takes ratios round by round", () => {
    expect(summarize([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3, n: 3 });
    expect(summarize([4, 1, 2, 3])?.median).toBe(2.5);
    expect(summarize([NaN])).toBeUndefined();
    // Round by round: 10/5, 30/10, 20/20 → 2, 3, 1 (not 20/10 of the medians).
    expect(pairedRatio([10, 30, 20, undefined], [5, 10, 20, 7])).toEqual({ min: 1, median: 2, max: 3, n: 3 });
    expect([sig3(0.004123), sig3(1.234), sig3(12.34), sig3(123.4), sig3(12345), sig3(4_560_000)]).toEqual(["0.00412", "1.23", "12.3", "123", "12.3k", "4.56M"]);
    expect(spread({ min: 1, median: 2, max: 3, n: 3 }, "×")).toBe("2.00× (1.00-3.00)");
  });
});

describe("svg", () => {
  it("lays out log axes on whole decades", () => {
    expect(decades(3, 120_000)).toEqual([1, 10, 100, 1000, 10_000, 100_000, 1_000_000]);
    const s = logScale(1, 1000, 0, 300);
    expect([s(1), s(10), s(1000)]).toEqual([0, 100, 300]);
    expect([tickLabel(100), tickLabel(10_000), tickLabel(1e6)]).toEqual(["100", "10k", "1M"]);
    expect(decades(0.0003, 0.05).map(tickLabel)).toEqual(["0.0001", "0.001", "0.01", "0.1"]);
    expect(() => decades(0, 10)).toThrow("positive bounds");
  });

  it("draws one polyline per series with points, escapes text, and survives an empty panel", () => {
    const svg = renderFigure({
      title: "a <b> & c",
      xLabel: "rules",
      columns: 2,
      panels: [
        { title: "p", yLabel: "pps", series: [{ name: "x", color: "#000", points: [{ x: 1, y: 10 }, { x: 100, y: 1000 }] }], guides: [{ y: 10, label: "goal" }] },
        { title: "empty", yLabel: "pps", series: [] },
      ],
    });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("a &lt;b&gt; &amp; c");
    expect(svg.match(/<polyline/g)?.length).toBe(1);
    expect(svg.match(/<circle/g)?.length).toBe(2);
    expect(svg).toContain("no data");
    expect(svg.trim().endsWith("</svg>")).toBe(true);
  });
});

function sample(pps: number) {
  return { pps, sent: pps, received: pps, counted: pps, refused: 0 };
}

function ppsCase(shape: PpsCase["shape"], size: number, bpf: number, ipt: number, sets: number): PpsCase {
  const load = (enforcedBy: string) => ({ ok: true, ms: 10, enforcedBy });
  const rates = (v: number) => ({ late: [sample(v), sample(v), sample(v)], never: [sample(v), sample(v), sample(v)] });
  return {
    shape,
    size,
    loads: { bpfilter: load("bpfilter xdp+tc"), iptables: load("netfilter"), "nft-linear": load("nftables"), "nft-sets": load("nftables") },
    rates: { ceiling: { late: [sample(500), sample(500), sample(500)] }, bpfilter: rates(bpf), iptables: rates(ipt), "nft-linear": rates(ipt), "nft-sets": rates(sets) },
    testRun: { programs: [{ id: 1, type: "xdp", name: "bpfilter_in" }], samples: { early: [], late: [[{ program: "bpfilter_in", ns: size === 1 ? 30 : 300, retval: 1, repeat: 100 }]], never: [] } },
  };
}

describe("goals and report", () => {
  const results: BenchResults = {
    version: 1,
    startedAt: "2026-01-01T00:00:00.000Z",
    durationSeconds: 60,
    host: { kernel: "6.18", cpus: 2 },
    config: benchConfig({ BENCH_SHAPES: "blocklist", BENCH_SIZES: "1,1000,10000" }),
    loadAverage: { start: [1, 1, 1], end: [2, 2, 2] },
    pps: [ppsCase("blocklist", 1, 200, 100, 100), ppsCase("blocklist", 1000, 200, 100, 100), ppsCase("blocklist", 10_000, 100, 200, 400)],
  };

  it("says which goals are met, with the measured figure and the limit of the others", () => {
    const rows = goalRows(results);
    const find = (prefix: string) => rows.find((r) => r.goal.startsWith(prefix))!;
    expect(find("veth pps vs iptables-legacy, -s /32 blocklist, 1 rules")).toMatchObject({ status: "met", measured: "2.00× (2.00-2.00)" });
    expect(find("veth pps vs iptables-legacy, -s /32 blocklist, 1000 rules")).toMatchObject({ status: "not met", measured: "2.00× (2.00-2.00)" });
    expect(find("veth pps vs iptables-legacy, -s /32 blocklist, 1000 rules").limit).toContain("one after another");
    expect(find("veth pps vs nftables sets, -s /32 blocklist, 100000 rules")).toMatchObject({ status: "not measured" });
    // A table bpfilter fails to load is a goal not met, and the row says why.
    const failed = ppsCase("blocklist", 100_000, 1, 1, 1);
    const withFailure = { ...results, pps: [...results.pps!, { ...failed, loads: { ...failed.loads, bpfilter: { ok: false, ms: 1, enforcedBy: "-", error: "exit 1: line 100005 failed", helperSaid: "BPF program is too large" } } }] };
    const row = goalRows(withFailure).find((r) => r.goal.startsWith("veth pps vs nftables sets, -s /32 blocklist, 100000 rules"))!;
    expect(row).toMatchObject({ status: "not met", measured: "load failed" });
    expect(row.limit).toBe("bpfilter could not load it: exit 1: line 100005 failed (helper: BPF program is too large)");
    expect(find("BPF_PROG_TEST_RUN, -s /32 blocklist: 10000 rules")).toMatchObject({ status: "not met", measured: "10.0× (10.0-10.0)" });
  });

  it("prints the tables with the load average and plots every system", () => {
    const report = renderReport(results);
    expect(report).toContain("Load average (1/5/15 min) at start: 1.00 1.00 1.00, at end: 2.00 2.00 2.00");
    expect(report).toContain("| -s /32 blocklist | 10000 | 100 | 200 | 200 | 400 | bpfilter xdp+tc | 0.500× (0.500-0.500) |");
    const svg = renderFigure(benchFigure(results));
    for (const name of ["bpfilter", "iptables-legacy", "nftables sets", "no rules (policy DROP)", "bpfilter / nftables sets"]) expect(svg).toContain(name);
  });
});
