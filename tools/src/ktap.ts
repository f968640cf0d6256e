/**
 * A KTAP (kselftest TAP) parser for the host side of the selftests: it reads what the guest's
 * runner printed and decides pass or fail. Only the top level is judged, and indented subtests are
 * kept as diagnostics, except their skips (subtestSkips), which make vm-test judges too.
 */

/** One top-level test line. */
export interface KtapResult {
  readonly number: number;
  readonly ok: boolean;
  readonly name: string;
  readonly directive?: "SKIP" | "TODO" | "XFAIL" | "TIMEOUT";
  readonly reason?: string;
}

/** A parsed KTAP report, with what is wrong with its form. */
export interface KtapReport {
  readonly version?: string;
  readonly plan?: number;
  readonly results: readonly KtapResult[];
  readonly problems: readonly string[];
}

const RESULT = /^(not ok|ok) (\d+)(?: -)? ?([^#]*?)\s*(?:#\s*(.*))?$/i;
const DIRECTIVE = /^(SKIP|TODO|XFAIL|TIMEOUT)\b\s*(.*)$/i;

/** Parses KTAP text (lines before "TAP version" are ignored, such as boot noise). */
export function parseKtap(text: string): KtapReport {
  const problems: string[] = [];
  const results: KtapResult[] = [];
  let version: string | undefined;
  let plan: number | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (version === undefined) {
      const v = /^(?:KTAP|TAP) version (\d+)/.exec(raw);
      if (v) version = v[1];
      continue;
    }
    if (/^\s/.test(raw) || raw.startsWith("#") || raw === "") continue; // subtests and diagnostics
    const p = /^1\.\.(\d+)/.exec(raw);
    if (p) {
      if (plan !== undefined) problems.push(`second plan line: ${raw}`);
      plan = Number(p[1]);
      continue;
    }
    const m = RESULT.exec(raw);
    if (!m) continue;
    const d = DIRECTIVE.exec(m[4] ?? "");
    const directive = d?.[1]?.toUpperCase() as KtapResult["directive"];
    results.push({
      number: Number(m[2]),
      ok: m[1]!.toLowerCase() === "ok",
      name: m[3]!.trim(),
      ...(directive ? { directive, reason: d?.[2]?.trim() ?? "" } : {}),
    });
  }
  if (version === undefined) problems.push("no 'TAP version' line: the runner did not start");
  else if (plan === undefined) problems.push("no plan line (1..N)");
  else if (results.length !== plan) problems.push(`plan says ${plan} tests, ${results.length} reported`);
  results.forEach((r, i) => {
    if (r.number !== i + 1) problems.push(`test ${r.name} is numbered ${r.number}, expected ${i + 1}`);
  });
  return { version, plan, results, problems };
}

/**
 * The skipped subtests (kselftest_harness prints them indented under their program, "# ok 17
 * helper.compat_callers # SKIP reason"): a subtest can skip for a missing build step too.
 */
export function subtestSkips(text: string): { name: string; reason: string }[] {
  const out: { name: string; reason: string }[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const m = /^(?:#\s*)+ok \d+ (\S+) # SKIP\s*(.*)$/.exec(raw);
    if (m) out.push({ name: m[1]!, reason: m[2]!.trim() });
  }
  return out;
}

/** Counts of a report: skipped tests are ok; a TIMEOUT or not ok is a failure. */
export function summarize(report: KtapReport): { passed: number; failed: number; skipped: number } {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const r of report.results) {
    if (!r.ok || r.directive === "TIMEOUT") failed++;
    else if (r.directive === "SKIP") skipped++;
    else passed++;
  }
  return { passed, failed, skipped };
}

/** Whether a report is a pass: well-formed, and no test failed. */
export function isPass(report: KtapReport): boolean {
  return report.problems.length === 0 && summarize(report).failed === 0 && report.results.length > 0;
}
