/**
 * make checkpatch [V=N]: scripts/checkpatch.pl --strict on every patch of kernel/patches (or of the
 * formatted series build/series/vN/), one table row per patch: errors, warnings, checks. Any
 * error or warning fails it; checks are shown, and listed, but do not fail. A patch of
 * kernel/patches names no author (make series adds the sender's); it is checked as make series
 * would send it, from and signed off by the person running this, or the build's stand-in.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { capture, toolMain, ToolError } from "../lib/proc.ts";
import { KERNEL_SRC } from "../lib/paths.ts";
import { EDIT_TREE, PATCHES_DIR, rel, seriesNames } from "./export.ts";
import { isMain } from "./main-guard.ts";
import { SERIES_OUT, SERIES_TREE } from "./series.ts";
import { BASE_TAG, BUILD_IDENTITY, type Identity, personIdentity, withAuthor } from "./tree.ts";

/** What checkpatch.pl said about one patch. */
export interface CheckpatchRow {
  readonly patch: string;
  readonly errors: number;
  readonly warnings: number;
  readonly checks: number;
  /** The ERROR/WARNING/CHECK messages, each with its location line. */
  readonly messages: readonly string[];
}

/** Parses checkpatch.pl's report of one patch (its "total:" line and its messages). */
export function parseCheckpatch(patch: string, output: string): CheckpatchRow {
  const total = /^total: (\d+) errors, (\d+) warnings, (?:(\d+) checks, )?\d+ lines checked$/m.exec(output);
  if (!total) throw new ToolError(`checkpatch.pl printed no "total:" line for ${patch}:\n${output.trim().split("\n").slice(-5).join("\n")}`);
  const messages = output
    .split(/\n\n/)
    .map((b) => b.trim())
    .filter((b) => /^(ERROR|WARNING|CHECK):/.test(b));
  return { patch, errors: Number(total[1]), warnings: Number(total[2]), checks: Number(total[3] ?? 0), messages };
}

/** A kernel tree whose scripts/checkpatch.pl to use: make kernel's, else the series or edit tree. */
export function checkpatchTree(): string {
  const tree = [KERNEL_SRC, SERIES_TREE, EDIT_TREE].find((t) => existsSync(join(t, "scripts", "checkpatch.pl")));
  if (!tree) throw new ToolError("no kernel tree with scripts/checkpatch.pl: run make kernel (or make kernel-edit) once first");
  return tree;
}

/** A patch as make series would send it: with `who` as its author and Signed-off-by, if it names no author. */
export function asSent(patch: string, who: Identity): string {
  const authored = withAuthor(patch, who);
  if (authored === patch) return patch;
  const sep = authored.indexOf("\n---\n");
  const signoff = `Signed-off-by: ${who.name} <${who.email}>`;
  if (sep < 0 || authored.slice(0, sep).split("\n").includes(signoff)) return authored;
  // the sign-off joins the last trailer block, or starts one
  const lastLine = authored.slice(0, sep).split("\n").at(-1) ?? "";
  const joins = /^[A-Za-z-]+: /.test(lastLine);
  return `${authored.slice(0, sep)}${joins ? "" : "\n"}\n${signoff}${authored.slice(sep)}`;
}

/**
 * Whether checkpatch.pl can check commit ids in `tree`: the trees here are the base tarball as one
 * commit, without upstream history, where every Fixes: tag would be an "unknown commit id".
 */
export function knowsCommitIds(tree: string): boolean {
  return capture(["git", "-C", tree, "rev-parse", "--verify", "-q", `${BASE_TAG}^`]).status === 0;
}

/** Runs checkpatch.pl --strict from `tree` on each patch file, as `who` would send it. */
export function checkpatch(tree: string, patches: readonly string[], who: Identity = personIdentity() ?? BUILD_IDENTITY): CheckpatchRow[] {
  const scratch = mkdtempSync(join(tmpdir(), "bpfilter-checkpatch-"));
  const ignore = knowsCommitIds(tree) ? [] : ["--ignore", "UNKNOWN_COMMIT_ID"];
  try {
    return patches.map((p) => {
      const sent = join(scratch, basename(p));
      writeFileSync(sent, asSent(readFileSync(p, "utf8"), who));
      const r = capture(["perl", join(tree, "scripts", "checkpatch.pl"), "--strict", "--show-types", "--no-color", ...ignore, `--root=${tree}`, sent], { cwd: tree });
      return parseCheckpatch(basename(p), r.stdout + r.stderr);
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The table: one row per patch, then a total. */
export function checkpatchTable(rows: readonly CheckpatchRow[]): string {
  const width = Math.max(5, ...rows.map((r) => r.patch.length));
  const line = (p: string, e: string, w: string, c: string) => `| ${p.padEnd(width)} | ${e.padStart(6)} | ${w.padStart(8)} | ${c.padStart(6)} |`;
  const sum = (k: "errors" | "warnings" | "checks") => String(rows.reduce((n, r) => n + r[k], 0));
  return [
    line("patch", "errors", "warnings", "checks"),
    `|${"-".repeat(width + 2)}|--------|----------|--------|`,
    ...rows.map((r) => line(r.patch, String(r.errors), String(r.warnings), String(r.checks))),
    line("total", sum("errors"), sum("warnings"), sum("checks")),
  ].join("\n");
}

/** The patch files to check: build/series/vN/ for V=N, else kernel/patches/series. */
export function patchesToCheck(v: string | undefined): string[] {
  if (v) {
    const dir = join(SERIES_OUT, `v${v}`);
    if (!existsSync(dir)) throw new ToolError(`${rel(dir)} does not exist: make series V=${v} first (or leave V out to check kernel/patches)`);
    return readdirSync(dir)
      .filter((n) => n.endsWith(".patch") && !n.includes("-0000-"))
      .sort()
      .map((n) => join(dir, n));
  }
  const names = seriesNames(PATCHES_DIR);
  if (!names.length) throw new ToolError("kernel/patches/series names no patches: nothing to check");
  return names.map((n) => join(PATCHES_DIR, n));
}

if (isMain(import.meta.url)) {
  await toolMain("checkpatch", () => {
    const patches = patchesToCheck(process.env.V);
    const tree = checkpatchTree();
    const rows = checkpatch(tree, patches);
    console.log(`checkpatch: ${rel(tree)}/scripts/checkpatch.pl --strict on ${patches.length} patch(es)`);
    if (!knowsCommitIds(tree)) {
      console.log(`checkpatch: ${rel(tree)} has no history before its base, so commit ids (Fixes:, "commit <sha>") cannot be looked up there: check them in a kernel git tree`);
    }
    console.log(checkpatchTable(rows));
    for (const r of rows.filter((r) => r.messages.length)) {
      console.log(`\n${r.patch}:`);
      for (const m of r.messages) console.log(m.replace(/^/gm, "  "));
    }
    const bad = rows.filter((r) => r.errors || r.warnings);
    if (bad.length) {
      console.log(`\ncheckpatch: FAILED: ${bad.map((r) => r.patch).join(", ")} ha${bad.length === 1 ? "s" : "ve"} errors or warnings`);
      return 1;
    }
    console.log("checkpatch: clean (no errors, no warnings)");
    return 0;
  });
}
