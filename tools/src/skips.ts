/**
 * Which skipped tests make test accepts. A test may skip only for a cause outside the project
 * (no root, no /dev/kvm, no user namespaces), and it must say so where it skips. A skip because
 * something that make setup installs or make test builds is missing ("not built yet", "not
 * installed", "run make kernel") hides a missing step, so it fails the run; so does a skip that
 * gives no reason. Used by the vitest reporter (vitest-skips.ts) and by make vm-test (KTAP).
 */

/** A skip that make test accepts, or the reason it does not. */
export type SkipVerdict = { readonly accepted: true } | { readonly accepted: false; readonly why: string };

/**
 * Reasons that name a step of make setup or make test: the thing would be there had that step
 * run. Each pattern is a phrase the project's own skip messages use.
 */
const NOT_DONE: readonly RegExp[] = [
  /\bnot built\b/i,
  /\bnot installed\b/i,
  /\bapt-get install\b/i,
  /\b(?:run )?make (?:setup|kernel|helper|shim|selftests-build)\b/i,
  /\bno kernel tree\b/i,
  /\blacks the bpfilter (?:helper )?series\b/i,
];

/** The verdict on one skipped test, given the reason it printed (undefined: it printed none). */
export function judgeSkip(reason: string | undefined): SkipVerdict {
  // run_tests.sh writes "no reason given" for a test that skipped without a SKIP: line.
  if (reason === undefined || /^\s*(?:no reason given)?\s*$/i.test(reason)) return { accepted: false, why: "it printed no reason" };
  const hit = NOT_DONE.find((re) => re.test(reason));
  if (hit) return { accepted: false, why: "its reason names a step of make setup or make test that did not run" };
  return { accepted: true };
}

/** One skipped test as a report lists it. */
export interface SkippedTest {
  /** Where it is: a test file, or "selftests" for KTAP. */
  readonly file: string;
  readonly name: string;
  readonly reason: string | undefined;
}

/** The lines that report skips (grouped by file and reason) and the ones that make the run fail. */
export function skipReport(skipped: readonly SkippedTest[]): { lines: string[]; refused: string[] } {
  const groups = new Map<string, { file: string; reason: string | undefined; names: string[] }>();
  for (const s of skipped) {
    const key = `${s.file}\0${s.reason ?? ""}`;
    const g = groups.get(key) ?? { file: s.file, reason: s.reason, names: [] };
    g.names.push(s.name);
    groups.set(key, g);
  }
  const lines: string[] = [];
  const refused: string[] = [];
  for (const g of groups.values()) {
    // A test whose name is its reason (it.skip(REASON)) is not named twice.
    const named = g.names.length === 1 && !g.reason?.includes(g.names[0]!);
    const count = named ? `"${g.names[0]}"` : g.names.length === 1 ? "1 test" : `${g.names.length} tests`;
    const line = `${g.file}: skipped ${count}: ${g.reason ?? "(no reason printed)"}`;
    lines.push(line);
    const verdict = judgeSkip(g.reason);
    if (!verdict.accepted) refused.push(`${line} [refused: ${verdict.why}]`);
  }
  return { lines, refused };
}
