/**
 * make series-check: is the series bisectable and clean? Builds the kernel after each patch in
 * turn (make kernel's verified config, olddefconfig'd for that patch), compiles the C files each
 * patch touches again with W=1, boots the last one and runs the selftests, and reports which
 * patch broke what. It has its own tree and object dir (build/series-check/), so it never waits
 * on or disturbs make kernel's; after the first run every build is incremental.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { capture, mustCapture, toolMain, ToolError } from "../lib/proc.ts";
import { BUILD, KERNEL_CONFIG_OUT, KERNEL_SRC, REPO } from "../lib/paths.ts";
import { CROSS_ARCHES, crossCheck, type CrossResult } from "./cross-check.ts";
import { createEditTree } from "./edit.ts";
import { commitsSinceBase, PATCHES_DIR, rel, seriesNames } from "./export.ts";
import { isMain } from "./main-guard.ts";
import { prepareTree } from "./series.ts";
import { git } from "./tree.ts";

/** Its tree and object dir. */
export const CHECK_DIR = join(BUILD, "series-check");
const CHECK_TREE = join(CHECK_DIR, "linux");
const CHECK_OBJ = join(CHECK_DIR, "obj");

/** How one patch fared. */
export interface PatchCheck {
  readonly index: number;
  readonly subject: string;
  readonly built: boolean;
  /** The compiler's error lines when the build failed. */
  readonly errors: readonly string[];
  /** C files the patch touches that the config builds, compiled with W=1. */
  readonly w1Files: readonly string[];
  /** W=1 warnings on lines the patch adds or changes ("file:line:col: warning: …"): these fail the check. */
  readonly w1Warnings: readonly string[];
  /** W=1 warnings elsewhere in those files (the base already had them): shown, not failed. */
  readonly w1Elsewhere: readonly string[];
  /** The touched C files compiled for the other arches (cross-check.ts). */
  readonly cross: readonly CrossResult[];
  readonly seconds: number;
}

/** Whether a patch passed: it builds, adds no W=1 warning, and its files build on the other arches. */
export function patchPassed(r: PatchCheck): boolean {
  return r.built && r.w1Warnings.length === 0 && r.cross.every((c) => c.ok);
}

/** The compiler's error lines in a build log (what to show for a broken patch). */
export function buildErrors(log: string): string[] {
  const lines = log.split("\n").filter((l) => /(^|\s)(error|Error \d+|undefined reference)/.test(l) && !/^make(\[\d+\])?: \*\*\*/.test(l));
  return [...new Set(lines)].slice(0, 8);
}

/** The lines each file has after a patch that the patch added or changed, from its zero-context diff. */
export function addedLines(diff: string): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  let current: Set<number> | undefined;
  for (const l of diff.split("\n")) {
    const file = /^\+\+\+ b\/(.*)$/.exec(l);
    if (file) {
      current = new Set();
      out.set(file[1]!, current);
      continue;
    }
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(l);
    if (hunk && current) {
      const start = Number(hunk[1]);
      const count = hunk[2] === undefined ? 1 : Number(hunk[2]);
      for (let i = 0; i < count; i++) current.add(start + i);
    }
  }
  return out;
}

/** Splits a W=1 log's warnings in the given files into those on lines the patch added and the rest. */
export function classifyWarnings(log: string, added: ReadonlyMap<string, ReadonlySet<number>>): { mine: string[]; elsewhere: string[] } {
  const mine: string[] = [];
  const elsewhere: string[] = [];
  for (const l of new Set(log.split("\n"))) {
    const m = /^(?:.*\/)?([^\s:]+\.[ch]):(\d+):(?:\d+:)? warning: /.exec(l);
    if (!m) continue;
    const file = [...added.keys()].find((f) => l.startsWith(`${f}:`) || l.includes(`/${f}:`));
    if (!file) continue;
    (added.get(file)!.has(Number(m[2])) ? mine : elsewhere).push(l.replace(`${CHECK_TREE}/`, ""));
  }
  return { mine, elsewhere };
}

/** One row per patch, then what failed. */
export function seriesCheckTable(rows: readonly PatchCheck[]): string {
  const arches = CROSS_ARCHES.map((a) => a.arch);
  const out = [`| # | patch | builds | W=1 warnings | ${arches.join(" | ")} | time |`, `|---|---|---|---|${arches.map(() => "---|").join("")}---|`];
  for (const r of rows) {
    const w1 = r.w1Files.length ? `${r.w1Warnings.length} on its lines (${r.w1Elsewhere.length} elsewhere) in ${r.w1Files.length} file(s)` : "no C file built";
    const cross = arches.map((a) => {
      const c = r.cross.find((x) => x.arch === a);
      return !c ? "-" : !c.files.length ? "no C file" : c.ok ? "yes" : "**NO**";
    });
    out.push(`| ${r.index} | ${r.subject} | ${r.built ? "yes" : "**NO**"} | ${w1} | ${cross.join(" | ")} | ${r.seconds.toFixed(0)} s |`);
  }
  for (const r of rows.filter((r) => !patchPassed(r))) {
    out.push("", `patch ${r.index} (${r.subject}):`);
    if (!r.built) out.push("  breaks the build:", ...r.errors.map((e) => `    ${e}`));
    if (r.w1Warnings.length) out.push("  W=1 warnings on lines it adds:", ...r.w1Warnings.map((w) => `    ${w}`));
    for (const c of r.cross.filter((c) => !c.ok)) out.push(`  ${c.arch}:`, ...c.problems.map((p) => `    ${p}`));
  }
  return out.join("\n");
}

function kmake(args: readonly string[]): { ok: boolean; log: string } {
  const r = spawnSync("make", ["-C", CHECK_TREE, `O=${CHECK_OBJ}`, ...args], { encoding: "utf8", maxBuffer: 512 << 20 });
  return { ok: r.status === 0, log: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** Builds the tree as it stands at one commit: config, bzImage, then the touched C files with W=1. */
function checkCommit(index: number, sha: string, subject: string, jobs: string, log: (s: string) => void): PatchCheck {
  const t0 = Date.now();
  git(CHECK_TREE, ["checkout", "-q", "--detach", sha]);
  copyFileSync(KERNEL_CONFIG_OUT, join(CHECK_OBJ, ".config"));
  const config = kmake(["olddefconfig"]);
  if (!config.ok) return { index, subject, built: false, errors: buildErrors(config.log), w1Files: [], w1Warnings: [], w1Elsewhere: [], cross: [], seconds: (Date.now() - t0) / 1000 };
  const build = kmake([`-j${jobs}`, "bzImage"]);
  const touched = mustCapture(["git", "-C", CHECK_TREE, "diff", "--name-only", `${sha}~1`, sha, "--", "*.c"]).split("\n").filter(Boolean);
  const built = touched.filter((f) => existsSync(join(CHECK_OBJ, f.replace(/\.c$/, ".o"))));
  let warnings = { mine: [] as string[], elsewhere: [] as string[] };
  if (build.ok && built.length) {
    const w1 = kmake([`-j${jobs}`, "W=1", ...built.map((f) => f.replace(/\.c$/, ".o"))]);
    const diff = mustCapture(["git", "-C", CHECK_TREE, "diff", "-U0", `${sha}~1`, sha, "--", ...built]);
    warnings = classifyWarnings(w1.log, addedLines(diff));
    // Put the objects back to the normal flags, so the next patch's build does not redo them for nothing.
    kmake([`-j${jobs}`, ...built.map((f) => f.replace(/\.c$/, ".o"))]);
  }
  const errors = build.ok ? [] : buildErrors(build.log);
  const cross = crossCheck(CHECK_TREE, CHECK_DIR, touched, log);
  return { index, subject, built: build.ok, errors, w1Files: built, w1Warnings: warnings.mine, w1Elsewhere: warnings.elsewhere, cross, seconds: (Date.now() - t0) / 1000 };
}

/** Checks every patch of kernel/patches; returns the rows, and the bzImage of the last patch if it built. */
export function checkSeries(log: (s: string) => void): { rows: PatchCheck[]; image?: string } {
  if (!existsSync(KERNEL_CONFIG_OUT)) throw new ToolError(`${rel(KERNEL_CONFIG_OUT)} not found: run make kernel first (series-check builds with its verified config)`);
  if (!seriesNames(PATCHES_DIR).length) throw new ToolError("kernel/patches/series names no patches: nothing to check");
  mkdirSync(CHECK_OBJ, { recursive: true });
  if (!existsSync(join(CHECK_TREE, ".git"))) createEditTree(CHECK_TREE, KERNEL_SRC, log);
  prepareTree(CHECK_TREE, PATCHES_DIR, KERNEL_SRC);
  const commits = commitsSinceBase(CHECK_TREE);
  const jobs = mustCapture(["nproc"]).trim();
  const rows: PatchCheck[] = [];
  for (const [i, c] of commits.entries()) {
    log(`patch ${i + 1}/${commits.length}: ${c.subject}: building`);
    const row = checkCommit(i + 1, c.sha, c.subject, jobs, log);
    const cross = row.cross.map((c) => `${c.arch} ${c.ok ? "ok" : "FAILS"}`).join(", ");
    log(`patch ${i + 1}/${commits.length}: ${row.built ? "builds" : "BREAKS THE BUILD"}, ${row.w1Warnings.length} W=1 warning(s) in ${row.w1Files.length} touched C file(s), ${cross || "no cross build"} (${row.seconds.toFixed(0)} s)`);
    rows.push(row);
  }
  const image = join(CHECK_OBJ, "arch/x86/boot/bzImage");
  return rows.at(-1)?.built ? { rows, image } : { rows };
}

if (isMain(import.meta.url)) {
  await toolMain("series-check", () => {
    const log = (s: string) => console.log(`series-check: ${s}`);
    const { rows, image } = checkSeries(log);
    console.log(seriesCheckTable(rows));
    let selftests = "not run: the last patch does not build";
    let ok = rows.every(patchPassed);
    if (image) {
      log(`booting the last patch's kernel (${rel(image)}) and running the selftests`);
      const r = capture([join(REPO, "node_modules/.bin/tsx"), join(REPO, "tools/src/selftests.ts"), "--kernel", image], { cwd: REPO, stdio: ["ignore", "inherit", "inherit"] });
      selftests = r.status === 0 ? "pass" : `FAIL (exit ${r.status}; see the KTAP above)`;
      ok &&= r.status === 0;
    }
    const crossFails = rows.flatMap((r) => r.cross.filter((c) => !c.ok).map((c) => `${r.index}/${c.arch}`));
    console.log(`series-check: bisectable: ${rows.every((r) => r.built) ? "yes" : "NO"}; W=1: ${rows.reduce((n, r) => n + r.w1Warnings.length, 0)} warning(s); ${CROSS_ARCHES.map((a) => a.arch).join(" and ")}: ${crossFails.length ? `FAIL (${crossFails.join(", ")})` : "every patch's files build"}; selftests on the last patch: ${selftests}`);
    return ok ? 0 : 1;
  });
}
