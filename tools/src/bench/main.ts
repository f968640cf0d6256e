/**
 * make bench: bpfilter against iptables-legacy and nftables (linear and with sets) on the same
 * rulesets, in one run, interleaved; prints the report and writes build/bench/results.json,
 * report.md and plot.svg. Settings: config.ts (BENCH=quick for a short run). Needs root.
 * `main.ts --report` only renders report.md and plot.svg again from results.json (make bench-report).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { toolMain, ToolError } from "../lib/proc.ts";
import { benchConfig, type BenchConfig } from "./config.ts";
import { measureControl } from "./control_section.ts";
import { measureGuest } from "./guest_section.ts";
import { Helper, HELPER_EXE, SHIM } from "./helper.ts";
import { measureHelper } from "./helper_section.ts";
import { benchFigure } from "./plot.ts";
import { measureCase } from "./pps_section.ts";
import { renderReport } from "./report.ts";
import type { BenchResults } from "./results.ts";
import { buildRuleset } from "./rulesets.ts";
import { renderFigure } from "./svg_plot.ts";
import { createTopology, destroyTopology, type Topology } from "./topology.ts";
import { trafgenRate } from "./trafgen_check.ts";
import { probeFrame, SENDER_EXE } from "./veth_rate.ts";

function prerequisites(): void {
  if (process.getuid?.() !== 0) throw new ToolError("make bench needs root (netns, BPF, iptables, nft)");
  for (const [path, how] of [[HELPER_EXE, "make helper"], [SHIM, "make shim"], [SENDER_EXE, "make bench builds it"]] as const) {
    if (!existsSync(path)) throw new ToolError(`${path} is missing (${how})`);
  }
  for (const tool of ["iptables-legacy-restore", "nft", "bpftool", "taskset", "trafgen"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      throw new ToolError(`${tool} is not installed (make setup installs it)`);
    }
  }
}

/** A rough duration, printed at the start so that nobody waits blind. */
function estimateMinutes(config: BenchConfig): number {
  const sections = new Set(config.sections);
  const cases = config.shapes.length * config.sizes.length;
  const big = config.shapes.length * config.sizes.filter((n) => n >= 100_000).length;
  const pps = sections.has("pps") ? cases * (config.rounds * 9 * (config.seconds + 0.5) + 8) + big * 300 : 0;
  const control = sections.has("control") ? config.rounds * config.controlSizes.reduce((t, n) => t + 6 + n / 2000, 0) : 0;
  const helper = sections.has("helper") ? config.rounds * 5 : 0;
  return Math.ceil((pps + control + helper) / 60);
}

function write(config: BenchConfig, results: BenchResults): void {
  mkdirSync(config.outDir, { recursive: true });
  writeFileSync(join(config.outDir, "results.json"), `${JSON.stringify(results, null, 1)}\n`);
}

/** Writes report.md and plot.svg from the results; returns the report. */
function render(outDir: string, results: BenchResults): string {
  const report = renderReport(results);
  writeFileSync(join(outDir, "report.md"), report);
  writeFileSync(join(outDir, "plot.svg"), renderFigure(benchFigure(results)));
  return report;
}

await toolMain("bench", async () => {
  if (process.argv[2] === "--report") {
    const outDir = benchConfig({}).outDir;
    const file = join(outDir, "results.json");
    if (!existsSync(file)) throw new ToolError(`${file} is missing: run make bench first`);
    console.log(render(outDir, JSON.parse(readFileSync(file, "utf8")) as BenchResults));
    return 0;
  }
  let config: BenchConfig;
  try {
    config = benchConfig(process.env);
  } catch (error) {
    throw new ToolError((error as Error).message);
  }
  prerequisites();
  const started = performance.now();
  const results: BenchResults = {
    version: 1,
    startedAt: new Date().toISOString(),
    host: { kernel: execFileSync("uname", ["-r"], { encoding: "utf8" }).trim(), cpus: cpus().length },
    config,
    loadAverage: { start: loadavg() },
  };
  const say = (line: string) => console.log(`bench: ${line}`);
  say(`${config.mode} run: sizes ${config.sizes.join(",")}, shapes ${config.shapes.join(",")}, ${config.rounds} rounds, ` +
    `sections ${config.sections.join(",")}; about ${estimateMinutes(config)} min; load ${loadavg().map((v) => v.toFixed(2)).join(" ")}`);
  const helper = new Helper();
  let ceiling: Topology | undefined;
  const cleanup = async () => {
    if (ceiling) destroyTopology(ceiling);
    await helper.close();
  };
  process.once("SIGINT", () => {
    void cleanup().finally(() => process.exit(130));
  });
  try {
    await helper.start();
    if (config.sections.includes("pps")) {
      // The ceiling: no rules at all, only netfilter's INPUT policy DROP (what every netfilter filter pays).
      ceiling = createTopology("n");
      execFileSync("ip", ["netns", "exec", ceiling.receiver, "iptables-legacy", "-P", "INPUT", "DROP"]);
      results.pps = [];
      const first = buildRuleset(config.shapes[0]!, config.sizes[0]!);
      const tg = await trafgenRate(ceiling, "ceiling", probeFrame(ceiling, first.late), 200_000, config.cpu);
      results.trafgen = tg;
      say(`trafgen cross-check into the ceiling pair: ${tg.pps !== undefined ? `${Math.round(tg.pps)} pps, all ${tg.sent} counted` : tg.error}`);
      for (const shape of config.shapes) {
        for (const size of config.sizes) {
          try {
            results.pps.push(await measureCase(config, helper, ceiling, shape, size, say));
          } catch (error) {
            // One case that breaks (a tool that misbehaves) is reported; the others still run.
            say(`${shape} ${size}: failed: ${(error as Error).message.split("\n")[0]}`);
            results.pps.push({ shape, size, loads: {}, rates: {}, error: (error as Error).message.split("\n")[0] });
          }
          write(config, results);
        }
      }
    }
    if (config.sections.includes("control")) {
      results.control = await measureControl(config, helper, say);
      write(config, results);
    }
    if (config.sections.includes("helper")) {
      results.helper = await measureHelper(config, say);
      write(config, results);
    }
    if (config.sections.includes("guest")) {
      results.guest = await measureGuest(config, say);
      if (results.guest.skipped) say(`guest: not measured: ${results.guest.skipped}`);
    }
  } finally {
    await cleanup();
  }
  results.loadAverage.end = loadavg();
  results.finishedAt = new Date().toISOString();
  results.durationSeconds = (performance.now() - started) / 1000;
  write(config, results);
  console.log(`\n${render(config.outDir, results)}`);
  say(`wrote ${join(config.outDir, "results.json")}, report.md and plot.svg in ${Math.round(results.durationSeconds)} s`);
  return 0;
});
