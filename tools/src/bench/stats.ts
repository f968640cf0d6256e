/** Summaries of repeated measurements: min, median, max over the rounds. */

/** Min, median and max of some rounds; n is how many there were. */
export interface Summary {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly n: number;
}

/** The summary of `values` (non-finite values are left out); undefined when none is left. */
export function summarize(values: readonly number[]): Summary | undefined {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]!, n: sorted.length };
}

/**
 * Per-round ratios a[i] / b[i] (the two measured in the same round, so that drift cancels), summarized.
 * A round where either side is missing is left out.
 */
export function pairedRatio(a: readonly (number | undefined)[], b: readonly (number | undefined)[]): Summary | undefined {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x !== undefined && y !== undefined && y > 0) ratios.push(x / y);
  }
  return summarize(ratios);
}

/** A number with 3 significant digits (1.23, 12.3, 123, 1.23k, 4.56M), for tables. */
export function sig3(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e4) return `${trim(value / 1e3)}k`;
  return trim(value);
}

function trim(value: number): string {
  const abs = Math.abs(value);
  if (abs === 0) return "0";
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(abs)));
  return value.toFixed(digits);
}

/** "median (min–max)" of a summary, with 3 significant digits. */
export function spread(summary: Summary | undefined, unit = ""): string {
  if (summary === undefined) return "-";
  return `${sig3(summary.median)}${unit} (${sig3(summary.min)}-${sig3(summary.max)})`;
}
