/**
 * make kernel-export: writes the commits of the edit tree (build/kernel-edit, base..HEAD) back to
 * kernel/patches/ and its series file. The output depends only on the commits: no hashes, no
 * signature, no numbering in subjects, each patch keeps its commit's author Date:, so exporting
 * an unchanged tree is byte-identical and leaves git status clean. Nor does it name anyone: the
 * From: line and the author's own Signed-off-by are dropped, and make series puts back those of
 * the person who sends the series.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { capture, toolMain, ToolError } from "../lib/proc.ts";
import { BUILD, REPO } from "../lib/paths.ts";
import { isMain } from "./main-guard.ts";
import { BASE_TAG, git } from "./tree.ts";

/** The tree people edit, separate from make kernel's build/linux. */
export const EDIT_TREE = join(BUILD, "kernel-edit");
/** Where the series lives in the repository. */
export const PATCHES_DIR = join(REPO, "kernel", "patches");
/** The branch kernel-edit puts the series on. */
export const EDIT_BRANCH = "series";

/**
 * git format-patch options of an export, chosen so that nothing depends on the time, the
 * commit hashes, the git version or the person's git config.
 */
export const EXPORT_FORMAT = ["--zero-commit", "--no-signature", "-N", "--subject-prefix=PATCH", "--no-cover-letter", "--no-thread", "--no-base", "--no-to", "--no-cc"];

/** Config that would change format-patch output, pinned for exports (the person's config may set any of it). */
const PINNED_CONFIG = [
  "format.signOff=false",
  "format.coverLetter=false",
  "format.numbered=false",
  "format.suffix=.patch",
  "diff.noprefix=false",
  "diff.mnemonicPrefix=false",
  "diff.relative=false",
  "diff.algorithm=default",
  "diff.renames=true",
  "core.abbrev=9",
].flatMap((c) => ["-c", c]);

/** Runs git format-patch with the pinned export format. */
export function formatPatch(tree: string, args: readonly string[]): string {
  return git(tree, [...PINNED_CONFIG, "format-patch", ...EXPORT_FORMAT, ...args], { GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" });
}

/** A commit of the edit tree. */
export interface EditCommit {
  readonly sha: string;
  readonly subject: string;
}

/** The commits base..rev, oldest first. */
export function commitsSinceBase(tree: string, rev = "HEAD"): EditCommit[] {
  const out = git(tree, ["log", "--reverse", "--format=%H %s", `${BASE_TAG}..${rev}`]).trim();
  if (!out) return [];
  return out.split("\n").map((l) => ({ sha: l.slice(0, 40), subject: l.slice(41) }));
}

/**
 * A formatted patch without its author: the From: header line goes, and so does a Signed-off-by
 * (or an empty line left before "---") of the same person. Other trailers stay.
 */
export function withoutAuthor(patch: string): string {
  const headerEnd = patch.indexOf("\n\n");
  if (headerEnd < 0) return patch;
  const lines = patch.slice(0, headerEnd).split("\n");
  const at = lines.findIndex((l) => l.startsWith("From: "));
  if (at < 0) return patch;
  // a long From: is folded onto lines that start with white space
  let end = at + 1;
  while (end < lines.length && /^[ \t]/.test(lines[end]!)) end++;
  const author = lines.slice(at, end).join("").slice("From: ".length);
  const header = [...lines.slice(0, at), ...lines.slice(end)].join("\n");
  let body = patch.slice(headerEnd);
  const sep = body.indexOf("\n---\n");
  if (sep >= 0) {
    const message = body
      .slice(0, sep)
      .split("\n")
      .filter((l) => l !== `Signed-off-by: ${author}`)
      .join("\n")
      .replace(/\n+$/, "");
    // a commit without a body keeps the blank line that ends the header
    body = (message || "\n") + body.slice(sep);
  }
  return header + body;
}

/** The text one commit exports to (the same bytes as its file in a whole-series export). */
export function exportText(tree: string, sha: string): string {
  return withoutAuthor(formatPatch(tree, ["--stdout", "-1", sha]));
}

/** git's blob id of a text, to compare exported patches with files and git history without writing objects. */
export function blobId(text: string | Buffer): string {
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  return createHash("sha1").update(`blob ${bytes.byteLength}\0`).update(bytes).digest("hex");
}

/** Why a tree cannot be exported or reset now, or undefined: an operation in progress, uncommitted work. */
export function treeBusy(tree: string): string | undefined {
  const gitDir = join(tree, ".git");
  const ops: [string, string][] = [
    ["rebase-merge", "a rebase"],
    ["rebase-apply", "a rebase or git am"],
    ["MERGE_HEAD", "a merge"],
    ["CHERRY_PICK_HEAD", "a cherry-pick"],
    ["REVERT_HEAD", "a revert"],
  ];
  for (const [file, what] of ops) {
    if (existsSync(join(gitDir, file))) return `${what} is in progress in ${rel(tree)}: finish it (--continue) or abort it first`;
  }
  const dirty = git(tree, ["status", "--porcelain", "--untracked-files=normal"]).trimEnd();
  if (dirty) {
    const lines = dirty.split("\n");
    const shown = lines.slice(0, 10).map((l) => `    ${l}`);
    if (lines.length > 10) shown.push(`    … and ${lines.length - 10} more`);
    return `${rel(tree)} has uncommitted changes:\n${shown.join("\n")}\n  commit them (git -C ${rel(tree)} commit -a, or --amend into the patch they belong to) or stash them, then run this again`;
  }
  return undefined;
}

/** A path as the person typed it: relative to the repository when below it. */
export function rel(path: string): string {
  return path.startsWith(REPO + "/") ? relative(REPO, path) : path;
}

/** The patch names of a series file, in order ('#' comments and blank lines skipped). */
export function seriesNames(patchesDir: string): string[] {
  const file = join(patchesDir, "series");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

/** A digest of the series as it stands: the series file and every patch it names. */
export function seriesDigest(patchesDir: string): string {
  const h = createHash("sha256");
  const file = join(patchesDir, "series");
  h.update(existsSync(file) ? readFileSync(file) : "");
  for (const name of seriesNames(patchesDir)) {
    const p = join(patchesDir, name);
    h.update(`\0${name}\0`).update(existsSync(p) ? readFileSync(p) : "(missing)");
  }
  return h.digest("hex");
}

/** What the edit tree last agreed with kernel/patches on (written by kernel-edit and kernel-export). */
export interface SyncRecord {
  /** seriesDigest of kernel/patches at that moment. */
  readonly patches: string;
  /** Commits that were in kernel/patches at that moment. */
  readonly commits: readonly string[];
}

const syncFile = (tree: string) => join(tree, ".git", "bpfilter-sync.json");

/** Reads the tree's sync record; undefined if it never synced. */
export function readSync(tree: string): SyncRecord | undefined {
  const f = syncFile(tree);
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as SyncRecord) : undefined;
}

/** Records that the tree's current commits and kernel/patches agree. */
export function writeSync(tree: string, patchesDir: string): void {
  const record: SyncRecord = { patches: seriesDigest(patchesDir), commits: commitsSinceBase(tree).map((c) => c.sha) };
  writeFileSync(syncFile(tree), JSON.stringify(record, null, 1) + "\n");
}

/** Blob ids of every version of every file below patchesDir that its git repository ever held (empty outside git). */
export function historicalPatchBlobs(patchesDir: string): Set<string> {
  const top = capture(["git", "-C", patchesDir, "rev-parse", "--show-toplevel"]);
  if (top.status !== 0) return new Set();
  const root = top.stdout.trim();
  const r = capture(["git", "-C", root, "log", "--all", "--format=", "--raw", "--no-abbrev", "--no-renames", "--", relative(root, patchesDir)]);
  const ids = new Set<string>();
  for (const m of r.stdout.matchAll(/^:\d+ \d+ ([0-9a-f]{40}) ([0-9a-f]{40}) /gm)) {
    ids.add(m[1]!);
    ids.add(m[2]!);
  }
  return ids;
}

/**
 * The commits of the tree that exist nowhere else: not in kernel/patches now, not in any
 * version of it that git has, and not applied from it by kernel-edit. Looks at HEAD and at the
 * series branch, the two refs kernel-edit would move.
 */
export function unsavedCommits(tree: string, patchesDir: string): EditCommit[] {
  const saved = new Set(readSync(tree)?.commits ?? []);
  const known = historicalPatchBlobs(patchesDir);
  for (const name of seriesNames(patchesDir)) {
    const p = join(patchesDir, name);
    if (existsSync(p)) known.add(blobId(readFileSync(p)));
  }
  const refs = ["HEAD"];
  if (capture(["git", "-C", tree, "rev-parse", "--verify", "-q", `refs/heads/${EDIT_BRANCH}`]).status === 0) refs.push(EDIT_BRANCH);
  const seen = new Set<string>();
  const out: EditCommit[] = [];
  for (const ref of refs) {
    for (const c of commitsSinceBase(tree, ref)) {
      if (seen.has(c.sha) || saved.has(c.sha)) continue;
      seen.add(c.sha);
      if (!known.has(blobId(exportText(tree, c.sha)))) out.push(c);
    }
  }
  return out;
}

/** What an export changed in kernel/patches. */
export interface ExportResult {
  readonly names: readonly string[];
  readonly written: readonly string[];
  readonly removed: readonly string[];
}

/** The header comment lines of an existing series file, kept across exports. */
function seriesHeader(patchesDir: string): string {
  const file = join(patchesDir, "series");
  if (!existsSync(file)) return "";
  const lines = readFileSync(file, "utf8").split("\n");
  const head: string[] = [];
  for (const l of lines) {
    if (!l.startsWith("#")) break;
    head.push(l);
  }
  return head.length ? head.join("\n") + "\n" : "";
}

/** Writes a file only when its bytes change (an unchanged export touches nothing, not even mtimes). */
function writeIfChanged(path: string, bytes: Buffer | string): boolean {
  const next = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  if (existsSync(path) && readFileSync(path).equals(next)) return false;
  writeFileSync(path, next);
  return true;
}

/** Formats base..HEAD of the tree into patchesDir and rewrites its series file. */
export function exportSeries(tree: string, patchesDir: string): ExportResult {
  const scratch = mkdtempSync(join(tmpdir(), "bpfilter-export-"));
  try {
    formatPatch(tree, ["-q", "-o", scratch, `${BASE_TAG}..HEAD`]);
    const names = readdirSync(scratch).filter((n) => n.endsWith(".patch")).sort();
    const written = names.filter((n) => writeIfChanged(join(patchesDir, n), withoutAuthor(readFileSync(join(scratch, n), "utf8"))));
    const removed = seriesNames(patchesDir).filter((n) => !names.includes(n) && existsSync(join(patchesDir, n)));
    for (const n of removed) unlinkSync(join(patchesDir, n));
    const series = seriesHeader(patchesDir) + names.map((n) => `${n}\n`).join("");
    if (writeIfChanged(join(patchesDir, "series"), series)) written.push("series");
    return { names, written, removed };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Checks that the tree can be exported without losing anything, then exports it. */
export function exportEditTree(tree: string, patchesDir: string, force: boolean): ExportResult {
  if (!existsSync(join(tree, ".git"))) throw new ToolError(`${rel(tree)} does not exist: run make kernel-edit first`);
  const busy = treeBusy(tree);
  if (busy) throw new ToolError(busy);
  if (capture(["git", "-C", tree, "merge-base", "--is-ancestor", BASE_TAG, "HEAD"]).status !== 0) {
    throw new ToolError(`HEAD of ${rel(tree)} does not descend from the tag ${BASE_TAG}: rebase your work onto ${BASE_TAG} first`);
  }
  const sync = readSync(tree);
  if (!force && sync && sync.patches !== seriesDigest(patchesDir)) {
    throw new ToolError(
      `${rel(patchesDir)} changed since ${rel(tree)} last synced with it (someone committed or edited patches there); ` +
        `exporting would overwrite that. Commit those changes in the repository, bring them into ${rel(tree)} ` +
        `(git am them, or rebase), then export; or export anyway with FORCE=1 (git keeps the committed versions)`,
    );
  }
  const result = exportSeries(tree, patchesDir);
  writeSync(tree, patchesDir);
  return result;
}

if (isMain(import.meta.url)) {
  await toolMain("kernel-export", () => {
    const r = exportEditTree(EDIT_TREE, PATCHES_DIR, process.env.FORCE === "1");
    const changed = r.written.length + r.removed.length;
    console.log(`kernel-export: ${r.names.length} patch(es) from ${rel(EDIT_TREE)} (${BASE_TAG}..HEAD) to ${rel(PATCHES_DIR)}`);
    for (const n of r.written) console.log(`  wrote   ${n}`);
    for (const n of r.removed) console.log(`  removed ${n}`);
    if (!changed) console.log("  unchanged: kernel/patches already holds exactly these commits");
    return 0;
  });
}
