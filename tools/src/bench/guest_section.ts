/**
 * Kernel mode: load times of blocklist tables in the guest, on the patched kernel, with the default
 * bpfilter.timeout_ms (only hello_timeout_ms is raised, for the helper's start under TCG). When no
 * patched kernel image is there, the section says so and measures nothing.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../lib/paths.ts";
import type { BenchConfig } from "./config.ts";
import { HELPER_EXE } from "./helper.ts";
import { lastLines, runBounded } from "./run.ts";

/** One size loaded in the guest. */
export interface GuestLoad {
  readonly size: number;
  readonly ms?: number;
  readonly error?: string;
  readonly enforcedBy?: string;
}

/** The section's result: loads, or why there are none. */
export interface GuestResult {
  readonly kernel: string;
  readonly loads: GuestLoad[];
  readonly skipped?: string;
}

/** Sizes loaded in the guest (TCG is slow: 100k only in the full run). */
export function guestSizes(config: BenchConfig): number[] {
  return config.mode === "quick" ? [1000] : [1000, 10_000, 100_000];
}

/** Runs the section. */
export async function measureGuest(config: BenchConfig, progress: (line: string) => void): Promise<GuestResult> {
  if (!existsSync(config.kernel)) {
    return { kernel: config.kernel, loads: [], skipped: `no patched kernel at ${config.kernel} (make kernel builds one; BENCH_KERNEL=PATH names another)` };
  }
  const sizes = guestSizes(config);
  const limit = config.limitSeconds * sizes.length + 120;
  const outcome = await runBounded(
    [join(REPO, "tools/vm"), "--kernel", config.kernel, "--timeout", String(limit), "--append", `bpfilter.helper=${HELPER_EXE} bpfilter.hello_timeout_ms=60000`,
      "--", join(REPO, "node_modules/.bin/tsx"), join(REPO, "tools/src/bench/guest_load.ts"), ...sizes.map(String)],
    { limitSeconds: limit + 30 },
  );
  const loads: GuestLoad[] = [];
  for (const line of outcome.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { size: number; ms: number; code: number | null; stderr: string; enforcedBy: string };
    const ok = entry.code === 0;
    loads.push({ size: entry.size, ...(ok ? { ms: entry.ms, enforcedBy: entry.enforcedBy } : { error: `exit ${entry.code}: ${entry.stderr}` }) });
    progress(`guest: ${entry.size} rules: ${ok ? `${(entry.ms / 1000).toFixed(1)} s (${entry.enforcedBy})` : entry.stderr}`);
  }
  for (const size of sizes) {
    if (!loads.some((l) => l.size === size)) {
      const why = outcome.timedOutAfter !== undefined ? `timed out after ${outcome.timedOutAfter} s` : `the guest ended (exit ${outcome.code}): ${lastLines(outcome.stderr)}`;
      loads.push({ size, error: why });
    }
  }
  return { kernel: config.kernel, loads };
}
