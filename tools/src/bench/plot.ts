/** The bench's figure from its results: packets/s and ratios against rule count, and test-run ns. */
import { rateRatio, rateSummary, testRunSummary, type BenchResults } from "./results.ts";
import { SHAPE_TITLES, type Shape } from "./rulesets.ts";
import { tickLabel, type Figure, type Panel, type Series } from "./svg_plot.ts";
import { SYSTEM_IDS, SYSTEM_TITLES } from "./systems.ts";

const COLORS: Readonly<Record<string, string>> = {
  bpfilter: "#d62728",
  iptables: "#1f77b4",
  "nft-linear": "#2ca02c",
  "nft-sets": "#9467bd",
  ceiling: "#7f7f7f",
};
const SHAPE_COLORS = ["#ff7f0e", "#8c564b", "#e377c2", "#bcbd22", "#17becf"];

function points(results: BenchResults, shape: Shape, value: (c: NonNullable<BenchResults["pps"]>[number]) => number | undefined) {
  return (results.pps ?? [])
    .filter((c) => c.shape === shape)
    .flatMap((c) => {
      const y = value(c);
      return y === undefined ? [] : [{ x: c.size, y }];
    });
}

/** The figure for a run. */
export function benchFigure(results: BenchResults): Figure {
  const shapes = [...new Set((results.pps ?? []).map((c) => c.shape))];
  // A size at which bpfilter handed the table to netfilter is named in the title: it plots netfilter there.
  const handedOver = (shape: Shape) => {
    const sizes = (results.pps ?? []).filter((c) => c.shape === shape && c.loads.bpfilter?.enforcedBy.startsWith("netfilter")).map((c) => c.size);
    if (sizes.length === 0) return "";
    return sizes.length === (results.pps ?? []).filter((c) => c.shape === shape).length ? " (bpfilter: netfilter)" : ` (bpfilter: netfilter at ${sizes.map(tickLabel).join(", ")})`;
  };
  const ppsPanels: Panel[] = shapes.map((shape) => ({
    title: `${SHAPE_TITLES[shape]}${handedOver(shape) || ": packets/s"}`,
    yLabel: "packets/s (last rule matches)",
    series: [
      ...SYSTEM_IDS.map((id): Series => ({ name: SYSTEM_TITLES[id], color: COLORS[id]!, points: points(results, shape, (c) => rateSummary(c, id, "late")?.median) })),
      { name: "no rules (policy DROP)", color: COLORS.ceiling!, dashed: true, points: points(results, shape, (c) => rateSummary(c, "ceiling", "late")?.median) },
    ],
  }));
  const ratioPanels: Panel[] = shapes.map((shape) => ({
    title: `${SHAPE_TITLES[shape]}: bpfilter / other`,
    yLabel: "ratio of packets/s",
    guides: [{ y: 1, label: "1×" }, { y: 10, label: "goal 10× ipt @1k" }, { y: 100, label: "goal 100× ipt @10k" }],
    series: (["iptables", "nft-linear", "nft-sets"] as const).map((id) => ({
      name: `bpfilter / ${SYSTEM_TITLES[id]}`,
      color: COLORS[id]!,
      dashed: true,
      points: points(results, shape, (c) => rateRatio(c, id, "late")?.median),
    })),
  }));
  const testRun: Panel = {
    title: "BPF_PROG_TEST_RUN, last rule matches",
    yLabel: "ns per packet",
    series: shapes.map((shape, i) => ({ name: `test run: ${SHAPE_TITLES[shape]}`, color: SHAPE_COLORS[i % SHAPE_COLORS.length]!, points: points(results, shape, (c) => testRunSummary(c, "late")?.median) })),
  };
  return {
    title: `make bench ${results.startedAt.slice(0, 10)}: bpfilter vs iptables-legacy and nftables (load ${results.loadAverage.start.map((v) => v.toFixed(1)).join("/")} at start)`,
    xLabel: "rules (log)",
    columns: Math.max(shapes.length, 1),
    panels: [...ppsPanels, ...ratioPanels, testRun],
  };
}
