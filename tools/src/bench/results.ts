/**
 * What one run wrote to build/bench/results.json, and the figures derived from it (medians and
 * per-round ratios) that the report, the goals and the plot share.
 */
import type { BenchConfig } from "./config.ts";
import type { ControlResult, Timed } from "./control_section.ts";
import type { GuestResult } from "./guest_section.ts";
import type { HelperRound } from "./helper_section.ts";
import type { PpsCase, ProbeName, TestRunProbe } from "./pps_section.ts";
import type { Shape } from "./rulesets.ts";
import { pairedRatio, summarize, type Summary } from "./stats.ts";
import type { TrafgenSample } from "./trafgen_check.ts";

/** The whole run. */
export interface BenchResults {
  readonly version: 1;
  readonly startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  readonly host: { readonly kernel: string; readonly cpus: number };
  readonly config: BenchConfig;
  readonly loadAverage: { readonly start: readonly number[]; end?: readonly number[] };
  pps?: PpsCase[];
  /** trafgen's run into the ceiling pair, beside the bench's own sender. */
  trafgen?: TrafgenSample;
  control?: ControlResult;
  helper?: { rounds: HelperRound[]; tableSize: number };
  guest?: GuestResult;
}

/** The per-round packets/s of one system in one case (undefined where a round has no rate). */
export function rateRounds(c: PpsCase, system: string, probe: ProbeName): (number | undefined)[] {
  return (c.rates[system]?.[probe] ?? []).map((s) => s.pps);
}

/** The median and spread of one system's packets/s. */
export function rateSummary(c: PpsCase, system: string, probe: ProbeName): Summary | undefined {
  return summarize(rateRounds(c, system, probe).filter((v): v is number => v !== undefined));
}

/** bpfilter's packets/s over another system's, per round. */
export function rateRatio(c: PpsCase, other: string, probe: ProbeName): Summary | undefined {
  return pairedRatio(rateRounds(c, "bpfilter", probe), rateRounds(c, other, probe));
}

/** The ns/packet of one probe: per round, the sum over the input programs. */
export function testRunSummary(c: PpsCase, probe: TestRunProbe): Summary | undefined {
  const rounds = c.testRun?.samples[probe] ?? [];
  return summarize(rounds.map((perProgram) => perProgram.reduce((sum, s) => sum + s.ns, 0)));
}

/** The case of a shape and size, if it was measured. */
export function findCase(results: BenchResults, shape: Shape, size: number): PpsCase | undefined {
  return results.pps?.find((c) => c.shape === shape && c.size === size);
}

/** The median and spread of timed commands, in ms. */
export function timedSummary(entries: readonly Timed[] | undefined): Summary | undefined {
  return summarize((entries ?? []).flatMap((t) => (t.ms === undefined ? [] : [t.ms])));
}

/** Per-round ratio of two lists of timed commands (a / b). */
export function timedRatio(a: readonly Timed[] | undefined, b: readonly Timed[] | undefined): Summary | undefined {
  return pairedRatio((a ?? []).map((t) => t.ms), (b ?? []).map((t) => t.ms));
}

/** The distinct errors of some samples, for footnotes. */
export function errorsOf(entries: readonly { error?: string }[] | undefined): string[] {
  return [...new Set((entries ?? []).flatMap((e) => (e.error ? [e.error] : [])))];
}

/** Who enforced bpfilter's table(s), joined. */
export function enforcers(entries: readonly { enforcedBy?: string }[]): string {
  return [...new Set(entries.flatMap((e) => (e.enforcedBy ? [e.enforcedBy] : [])))].join(", ");
}
