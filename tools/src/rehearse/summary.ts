/** The verdict lines of make rehearse: each step's result, wall time and load average. */

/** "12 min 5 s" */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** The result of one step. */
export interface StepResult {
  readonly command: string;
  readonly status: number | "interrupted";
  readonly ms: number;
  /** 1-minute load averages sampled while it ran (start, every heartbeat, end). */
  readonly load: readonly number[];
}

/** "load 2.1 at start, mean 3.0, max 4.2" */
export function loadText(load: readonly number[]): string {
  if (!load.length) return "load not sampled";
  const mean = load.reduce((a, b) => a + b, 0) / load.length;
  return `load ${load[0]!.toFixed(1)} at start, mean ${mean.toFixed(1)}, max ${Math.max(...load).toFixed(1)}`;
}

/** One line per step and the verdict, as printed and kept in summary.txt. */
export function summaryLines(steps: readonly StepResult[], planned: readonly string[]): { lines: string[]; pass: boolean } {
  const lines = planned.map((command) => {
    const s = steps.find((r) => r.command === command);
    if (!s) return `${command.padEnd(9)} NOT RUN`;
    return `${command.padEnd(9)} ${verdictText(s.status).padEnd(13)} ${duration(s.ms).padEnd(13)} (${loadText(s.load)})`;
  });
  const pass = planned.every((c) => steps.find((r) => r.command === c)?.status === 0);
  return { lines: [...lines, `verdict: ${pass ? "PASS" : "FAIL"}`], pass };
}

/** "PASS", "FAIL (exit 2)", "INTERRUPTED" */
export function verdictText(status: StepResult["status"]): string {
  return status === 0 ? "PASS" : status === "interrupted" ? "INTERRUPTED" : `FAIL (exit ${status})`;
}
