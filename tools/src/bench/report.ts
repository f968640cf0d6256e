/**
 * The report make bench prints (and writes to build/bench/report.md): markdown tables of the figures,
 * medians with min-max over the rounds, ratios taken round by round, errors as footnotes, the goals.
 */
import { CHANGES, CONTROL_SYSTEMS, type Change } from "./control_section.ts";
import { goalRows } from "./goals.ts";
import { PROBES, TEST_RUN_PROBES, type ProbeName } from "./pps_section.ts";
import { enforcers, errorsOf, rateRatio, rateSummary, testRunSummary, timedRatio, timedSummary, type BenchResults } from "./results.ts";
import { SHAPE_TITLES } from "./rulesets.ts";
import { sig3, spread, summarize } from "./stats.ts";
import { SYSTEM_IDS, SYSTEM_TITLES } from "./systems.ts";

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

const loadText = (load: readonly number[] | undefined) => (load ? load.map((v) => v.toFixed(2)).join(" ") : "-");

function ppsTable(results: BenchResults, probe: ProbeName, notes: string[]): string[] {
  const rows = (results.pps ?? []).map((c) => {
    if (c.error) {
      notes.push(`${SHAPE_TITLES[c.shape]}, ${c.size} rules: the case failed: ${c.error}`);
      return [SHAPE_TITLES[c.shape], String(c.size), `failed [${notes.length}]`, "-", "-", "-", "-", "-", "-", "-"];
    }
    const cells = SYSTEM_IDS.map((id) => {
      const s = rateSummary(c, id, probe);
      const errors = errorsOf(c.rates[id]?.[probe]);
      if (s === undefined) {
        notes.push(`${SHAPE_TITLES[c.shape]}, ${c.size} rules, ${SYSTEM_TITLES[id]}: ${errors.join("; ") || "no rate"}`);
        return `n/a [${notes.length}]`;
      }
      if (errors.length) notes.push(`${SHAPE_TITLES[c.shape]}, ${c.size} rules, ${SYSTEM_TITLES[id]}: ${s.n} of ${results.config.rounds} rounds; ${errors.join("; ")}`);
      return sig3(s.median) + (errors.length ? ` [${notes.length}]` : "");
    });
    const by = c.loads.bpfilter?.ok ? c.loads.bpfilter.enforcedBy : "not loaded";
    return [SHAPE_TITLES[c.shape], String(c.size), ...cells, by,
      spread(rateRatio(c, "iptables", probe), "×"), spread(rateRatio(c, "nft-linear", probe), "×"), spread(rateRatio(c, "nft-sets", probe), "×")];
  });
  return table(["shape", "rules", ...SYSTEM_IDS.map((id) => `${SYSTEM_TITLES[id]} pps`), "bpfilter enforced by",
    "bpfilter / iptables", "bpfilter / nft linear", "bpfilter / nft sets"], rows);
}

function samples(results: BenchResults) {
  return (results.pps ?? []).flatMap((c) => Object.values(c.rates).flatMap((probes) => Object.values(probes).flat()));
}

const refusals = (results: BenchResults) => samples(results).reduce((n, s) => n + (s?.refused ?? 0), 0);
const mismatches = (results: BenchResults) => samples(results).filter((s) => s?.error !== undefined && !s.error.startsWith("not loaded")).length;

function trafgenLine(results: BenchResults): string {
  const tg = results.trafgen;
  if (!tg) return "";
  return tg.pps !== undefined
    ? ` trafgen (PACKET_TX_RING, for comparison) into the ceiling pair: ${sig3(tg.pps)} pps, all ${tg.sent} frames counted.`
    : ` trafgen (for comparison) into the ceiling pair: ${tg.error}.`;
}

function ppsSection(results: BenchResults, out: string[]): void {
  if (!results.pps?.length) return;
  const ceiling = summarize(results.pps.flatMap((c) => (c.rates.ceiling?.late ?? []).flatMap((s) => (s.pps === undefined ? [] : [s.pps]))));
  out.push("## Packets/s over veth", "",
    `One UDP frame, sent for ${results.config.seconds} s per measurement from a netns over veth into the receiver netns, the sender pinned to CPU ${results.config.cpu} ` +
    `(the receive path runs in its softirq); medians of ${results.config.rounds} interleaved rounds, ratios taken round by round (median, min-max). ` +
    `Every rate counts only packets that the receiver's interface and the system's own counter both counted. ` +
    `Ceiling (veth, no rules: iptables-legacy INPUT policy DROP only): ${spread(ceiling, " pps")}. ` +
    `Frames the device refused and the sender sent again: ${refusals(results)}; measurements whose counts did not match (left out): ${mismatches(results)}.` +
    trafgenLine(results), "");
  for (const probe of PROBES) {
    const notes: string[] = [];
    out.push(`### The packet ${probe === "late" ? "matches only the last rule" : "matches no rule (policy DROP)"}`, "", ...ppsTable(results, probe, notes), "");
    notes.forEach((n, i) => out.push(`[${i + 1}] ${n}`));
    if (notes.length) out.push("");
  }
  const loads = results.pps.flatMap((c) => SYSTEM_IDS.flatMap((id) => {
    const l = c.loads[id];
    return l ? [[SHAPE_TITLES[c.shape], String(c.size), SYSTEM_TITLES[id], l.ok ? `${(l.ms / 1000).toFixed(2)} s` : l.error ?? "failed"]] : [];
  }));
  const failed = loads.filter((r) => !r[3]!.endsWith(" s"));
  if (failed.length) out.push("Loads that failed:", "", ...table(["shape", "rules", "system", "outcome"], failed), "");
  const said = results.pps.flatMap((c) => (c.loads.bpfilter?.helperSaid ? [[SHAPE_TITLES[c.shape], String(c.size), c.loads.bpfilter.enforcedBy, c.loads.bpfilter.helperSaid.replace(/\|/g, "/")]] : []));
  if (said.length) out.push("What the helper logged for the tables it handed over or failed:", "", ...table(["shape", "rules", "enforced by", "helper log"], said), "");
}

function testRunSection(results: BenchResults, out: string[]): void {
  const cases = (results.pps ?? []).filter((c) => c.loads.bpfilter?.ok);
  if (!cases.length) return;
  const notes: string[] = [];
  const rows = cases.map((c) => {
    const programs = c.testRun?.programs.map((p) => `${p.name} (${p.type})`).join(", ") || "-";
    if (c.testRun?.error) notes.push(`${SHAPE_TITLES[c.shape]}, ${c.size} rules: ${c.testRun.error}`);
    const cells = TEST_RUN_PROBES.map((p) => spread(testRunSummary(c, p), " ns"));
    return [SHAPE_TITLES[c.shape], String(c.size), ...cells, programs + (c.testRun?.error ? ` [${notes.length}]` : "")];
  });
  out.push("## BPF_PROG_TEST_RUN ns/packet", "",
    "The programs the helper pinned for the receiver netns (found under its pin root, run with `bpftool prog run` in that netns); " +
    "early: matches the first rule, late: only the last, never: none. The sum over the programs a local packet goes through.", "",
    ...table(["shape", "rules", "early", "late", "never", "programs"], rows), "");
  notes.forEach((n, i) => out.push(`[${i + 1}] ${n}`));
  if (notes.length) out.push("");
}

const ms = (s: ReturnType<typeof timedSummary>) => spread(s, " ms");

function controlSection(results: BenchResults, out: string[]): void {
  const control = results.control;
  if (!control) return;
  const notes: string[] = [];
  const cell = (entries: Parameters<typeof timedSummary>[0]) => {
    const errors = errorsOf(entries);
    if (errors.length) notes.push(errors.join("; "));
    return ms(timedSummary(entries)) + (errors.length ? ` [${notes.length}]` : "");
  };
  const restoreRows = Object.keys(control.restore.bpfilter).map(Number).map((size) => [
    `restore ${size} rules`, ...CONTROL_SYSTEMS.map((s) => cell(control.restore[s][size])),
    spread(timedRatio(control.restore.bpfilter[size], control.restore.iptables[size]), "×"), enforcers(control.restore.bpfilter[size] ?? []),
  ]);
  const changeRows = (Object.keys(CHANGES) as Change[]).map((change) => [
    `${CHANGES[change].join(" ")} (on ${control.changeSize})`, cell(control.changes.bpfilter[change]), cell(control.changes.iptables[change]), "-",
    spread(timedRatio(control.changes.bpfilter[change], control.changes.iptables[change]), "×"), enforcers(control.changes.bpfilter[change]),
  ]);
  out.push("## Control path", "",
    "Wall clock of the unmodified command (bpfilter: under the preload shim, answered by the helper), fresh netns each round; " +
    "the table is a -s blocklist with fail2ban's chain; nft -f loads the same addresses as one set.", "",
    ...table(["command", "bpfilter", "iptables-legacy", "nft -f (sets)", "bpfilter / native", "bpfilter table after it"], [...restoreRows, ...changeRows]), "");
  notes.forEach((n, i) => out.push(`[${i + 1}] ${n}`));
  if (notes.length) out.push("");
}

function helperSection(results: BenchResults, out: string[]): void {
  const helper = results.helper;
  if (!helper) return;
  const ok = helper.rounds.filter((r) => r.error === undefined);
  const pick = (f: (r: (typeof ok)[number]) => number | undefined) => summarize(ok.flatMap((r) => (f(r) === undefined ? [] : [f(r)!])));
  out.push("## Helper", "", ...table(["what", "median (min-max)"], [
    ["spawn to listening", spread(pick((r) => r.listenMs), " ms")],
    ["spawn to the first answered request (iptables-legacy -S through the shim)", spread(pick((r) => r.firstAnswerMs), " ms")],
    ["the same iptables-legacy -S, natively", spread(pick((r) => r.nativeCommandMs), " ms")],
    ["RSS, idle after the first request", spread(pick((r) => (r.idleRssKiB ?? NaN) / 1024), " MiB")],
    [`RSS with a ${helper.tableSize}-rule table loaded`, spread(pick((r) => (r.rssKiB ?? NaN) / 1024), " MiB")],
    [`peak RSS (VmHWM) after loading it`, spread(pick((r) => (r.peakKiB ?? NaN) / 1024), " MiB")],
  ]), "");
  for (const e of errorsOf(helper.rounds)) out.push(`- failed round: ${e}`);
}

function guestSection(results: BenchResults, out: string[]): void {
  const guest = results.guest;
  if (!guest) return;
  out.push("## Kernel mode (guest)", "");
  if (guest.skipped) out.push(`Not measured: ${guest.skipped}.`, "");
  else out.push(...table(["table", "load time", "enforced by"], guest.loads.map((l) => [`${l.size} rules`, l.ms !== undefined ? `${(l.ms / 1000).toFixed(1)} s` : l.error ?? "-", l.enforcedBy ?? "-"])), "");
}

/** The report as markdown. */
export function renderReport(results: BenchResults): string {
  const c = results.config;
  const out = [
    `# make bench (${c.mode}): ${results.startedAt}`,
    "",
    `Host kernel ${results.host.kernel}, ${results.host.cpus} CPUs (shared). Load average (1/5/15 min) at start: ${loadText(results.loadAverage.start)}, ` +
      `at end: ${loadText(results.loadAverage.end)}. ${c.rounds} rounds, ${c.seconds} s per packet measurement, ${c.limitSeconds} s limit per case. ` +
      `Took ${results.durationSeconds !== undefined ? `${Math.round(results.durationSeconds)} s` : "-"}.`,
    "",
  ];
  ppsSection(results, out);
  testRunSection(results, out);
  controlSection(results, out);
  helperSection(results, out);
  guestSection(results, out);
  out.push("## Goals (issue 10)", "", ...table(["goal", "measured: median (min-max)", "", "what limits it"],
    goalRows(results).map((g) => [g.goal, g.measured, g.status, g.limit])), "");
  return out.join("\n");
}
