/**
 * The goals of the classifying compiler (issue 10), each checked against this run's figures: met,
 * not met (with the measured figure and what limits it), or not measured (and why).
 */
import { CHANGES, type Change } from "./control_section.ts";
import { enforcers, findCase, rateRatio, rateSummary, testRunSummary, timedRatio, timedSummary, type BenchResults } from "./results.ts";
import { SHAPE_TITLES, type Shape } from "./rulesets.ts";
import { sig3, type Summary } from "./stats.ts";

/** One line of the goals table. */
export interface GoalRow {
  readonly goal: string;
  readonly measured: string;
  readonly status: "met" | "not met" | "not measured";
  readonly limit: string;
}

const LINEAR = "the compiler tests the rules one after another: the cost per packet grows with the rule count (the classifier removes it)";

function row(goal: string, value: Summary | undefined, target: number, atMost: boolean, limit: string, unit = "×", missing = "not measured in this run"): GoalRow {
  if (value === undefined) return { goal, measured: "-", status: "not measured", limit: missing };
  const met = atMost ? value.median <= target : value.median >= target;
  const measured = `${sig3(value.median)}${unit} (${sig3(value.min)}-${sig3(value.max)})`;
  return { goal, measured, status: met ? "met" : "not met", limit: met ? "" : limit };
}

/** Why a case does not measure bpfilter's own programs, or undefined when it does. */
function handedOver(results: BenchResults, shape: Shape, size: number): string | undefined {
  const by = findCase(results, shape, size)?.loads.bpfilter;
  const said = by?.helperSaid ? ` (helper: ${by.helperSaid})` : "";
  if (by && !by.ok) return `${LOAD_FAILED}: ${by.error}${said}`;
  if (!by?.enforcedBy.startsWith("netfilter")) return undefined;
  const why = shape === "conntrack" ? " (conntrack is not compiled)" : said;
  return `bpfilter handed the table to netfilter${why}: this measures netfilter`;
}

const LOAD_FAILED = "bpfilter could not load it";

/** A goal whose bpfilter side failed to load: not met, whatever the others did. */
function failedRow(goal: string, why: string): GoalRow {
  return { goal, measured: "load failed", status: "not met", limit: why };
}

function ppsGoals(results: BenchResults): GoalRow[] {
  const rows: GoalRow[] = [];
  const shapes = results.config.shapes;
  const ceiling = (shape: Shape, size: number) => rateSummary(findCase(results, shape, size) ?? ({ rates: {} } as never), "ceiling", "late");
  for (const shape of shapes) {
    for (const [size, target] of [[1, 1], [1000, 10], [10_000, 100]] as const) {
      const c = findCase(results, shape, size);
      const other = handedOver(results, shape, size);
      const atCeiling = size === 1 ? `both run near the veth ceiling (${sig3(ceiling(shape, size)?.median ?? NaN)} pps with no rules): the sender and the veth path limit` : LINEAR;
      const goal = `veth pps vs iptables-legacy, ${SHAPE_TITLES[shape]}, ${size} rules: ≥ ${target}×`;
      rows.push(other?.startsWith(LOAD_FAILED) ? failedRow(goal, other) : row(goal, c && rateRatio(c, "iptables", "late"), target, false, other ?? atCeiling));
    }
    for (const size of [1000, 10_000, 100_000]) {
      const c = findCase(results, shape, size);
      const other = handedOver(results, shape, size);
      const goal = `veth pps vs nftables sets, ${SHAPE_TITLES[shape]}, ${size} rules: ≥ 1×`;
      rows.push(other?.startsWith(LOAD_FAILED) ? failedRow(goal, other) : row(goal, c && rateRatio(c, "nft-sets", "late"), 1, false,
        other ?? "nftables looks the packet up in one set (hash or interval tree); bpfilter tests every rule in a line"));
    }
  }
  return rows;
}

function ratioOfSummaries(a: Summary | undefined, b: Summary | undefined): Summary | undefined {
  if (!a || !b || b.median <= 0) return undefined;
  return { min: a.min / b.median, median: a.median / b.median, max: a.max / b.median, n: a.n };
}

function testRunGoals(results: BenchResults): GoalRow[] {
  const rows: GoalRow[] = [];
  for (const shape of results.config.shapes) {
    const one = findCase(results, shape, 1);
    for (const [size, target] of [[10_000, 2], [100_000, 3]] as const) {
      const c = findCase(results, shape, size);
      const value = c && one ? ratioOfSummaries(testRunSummary(c, "late"), testRunSummary(one, "late")) : undefined;
      const other = handedOver(results, shape, size);
      const goal = `BPF_PROG_TEST_RUN, ${SHAPE_TITLES[shape]}: ${size} rules ≤ ${target}× 1 rule`;
      if (other?.startsWith(LOAD_FAILED)) {
        rows.push(failedRow(goal, other));
        continue;
      }
      rows.push(row(goal, value, target, true, other ?? c?.testRun?.error ?? LINEAR, "×", other ?? c?.testRun?.error ?? "not measured in this run"));
    }
  }
  return rows;
}

function controlGoals(results: BenchResults): GoalRow[] {
  const control = results.control;
  if (!control) return [];
  const rows: GoalRow[] = [];
  const restore = control.restore;
  const size = control.changeSize;
  rows.push(row(`restore of ${size} rules ≤ 2× native`, timedRatio(restore.bpfilter[size], restore.iptables[size]), 2, true,
    "every replace compiles, loads and verifies the whole table"));
  for (const change of Object.keys(CHANGES) as Change[]) {
    const entries = control.changes.bpfilter[change];
    const by = enforcers(entries);
    const limit = /(^|, )netfilter/.test(by)
      ? `the change ends in netfilter (${by}): bpfilter hands such a table over`
      : "every change is a whole-table replace: recompile and re-verify of all rules (no O(change) update yet)";
    const goal = `one ${CHANGES[change].slice(0, 2).join(" ")} … on a ${size}-rule table ≤ 3× native`;
    const failed = entries.find((t) => t.error !== undefined);
    if (failed && timedSummary(entries) === undefined && timedSummary(control.changes.iptables[change]) !== undefined) {
      rows.push({ goal, measured: `fails through bpfilter: ${failed.error}`, status: "not met", limit: "the command succeeds natively and fails through bpfilter" });
      continue;
    }
    rows.push(row(goal, timedRatio(entries, control.changes.iptables[change]), 3, true, limit));
  }
  return rows;
}

function helperGoals(results: BenchResults): GoalRow[] {
  const helper = results.helper;
  if (!helper) return [];
  const ok = helper.rounds.filter((r) => r.error === undefined);
  const cold = timedSummary(ok.map((r) => ({ ms: r.firstAnswerMs })));
  const rss = timedSummary(ok.map((r) => ({ ms: (r.rssKiB ?? NaN) / 1024 })));
  return [
    row("helper cold start (to the first answered request) ≤ 150 ms", cold, 150, true, "starting the Node runtime and loading the bundle (no V8 compile cache or snapshot yet)", " ms"),
    row(`helper RSS with a ${helper.tableSize}-rule table ≤ 120 MiB`, rss, 120, true, "the table is held as decoded rules, IR and program copies in the helper's heap", " MiB"),
  ];
}

function guestGoals(results: BenchResults): GoalRow[] {
  const guest = results.guest;
  if (!guest) return [];
  return [10_000, 100_000].map((size) => {
    const goal = `guest (kernel mode): ${size}-rule table loads within the default timeout_ms`;
    if (guest.skipped) return { goal, measured: "-", status: "not measured", limit: guest.skipped };
    const load = guest.loads.find((l) => l.size === size);
    if (!load) return { goal, measured: "-", status: "not measured", limit: "not in this run's sizes" };
    if (load.ms !== undefined) return { goal, measured: `${(load.ms / 1000).toFixed(1)} s`, status: "met", limit: "" };
    return { goal, measured: load.error ?? "-", status: "not met", limit: "the helper's compile and verify of the whole table exceed the kernel's wait" };
  });
}

/** Every goal this run can speak to. */
export function goalRows(results: BenchResults): GoalRow[] {
  return [...ppsGoals(results), ...testRunGoals(results), ...controlGoals(results), ...helperGoals(results), ...guestGoals(results)];
}
