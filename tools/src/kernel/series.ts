/**
 * make series V=N: the series as it goes to the list, in build/series/vN/: git format-patch
 * --cover-letter -v N --subject-prefix="PATCH bpf-next" --base=<base>, the cover letter filled
 * from kernel/cover-letter.md, and each patch's vN changelog lines below its "---".
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { capture, mustCapture, toolMain, ToolError } from "../lib/proc.ts";
import { BUILD, KERNEL_SRC, REPO } from "../lib/paths.ts";
import { parseCoverLetter, renderChangelog, type ChangelogLine, type CoverLetter } from "./cover-letter.ts";
import { createEditTree, matchesSeries } from "./edit.ts";
import { commitsSinceBase, PATCHES_DIR, rel, seriesNames } from "./export.ts";
import { isMain } from "./main-guard.ts";
import { applySeries, BASE_TAG, BUILD_IDENTITY, git, type Identity, identityEnv, personIdentity } from "./tree.ts";

/** The tree make series applies kernel/patches to (the person's build/kernel-edit is never touched). */
export const SERIES_TREE = join(BUILD, "series-tree");
/** Formatted series go to build/series/vN/. */
export const SERIES_OUT = join(BUILD, "series");
/** The subject prefix of the series (Documentation/bpf/bpf_devel_QA.rst). */
export const SUBJECT_PREFIX = "PATCH bpf-next";
/** The cover letter and changelog. */
export const COVER_LETTER = join(REPO, "kernel", "cover-letter.md");

const SUBJECT_PLACEHOLDER = "*** SUBJECT HERE ***";
const BLURB_PLACEHOLDER = "*** BLURB HERE ***";

/** Whether every commit base..HEAD of `tree` is authored by `who`. */
function authoredBy(tree: string, who: Identity): boolean {
  const authors = git(tree, ["log", "--format=%an <%ae>", `${BASE_TAG}..HEAD`]).trim().split("\n").filter(Boolean);
  return authors.every((a) => a === `${who.name} <${who.email}>`);
}

/** Makes `tree` hold base + kernel/patches as commits authored by `who` (cloning the base on first use). */
export function prepareTree(tree: string, patchesDir: string, source: string, who: Identity = BUILD_IDENTITY): void {
  if (!existsSync(join(tree, ".git"))) createEditTree(tree, source, (m) => console.log(`series: ${m}`));
  if (matchesSeries(tree, patchesDir) && authoredBy(tree, who)) return;
  applySeries(
    tree,
    seriesNames(patchesDir).map((n) => join(patchesDir, n)),
    who,
  );
}

/** The identity a series goes out under: the person's, or a refusal that says how to set one. */
export function senderIdentity(): Identity {
  const who = personIdentity();
  if (!who) {
    throw new ToolError(
      "no git identity to sign the series with: the patches go out under your name and Signed-off-by. " +
        'Set it with git config user.name "Your Name" and git config user.email you@example.org (or GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL), then run this again',
    );
  }
  return who;
}

/** The vN lines below a patch's "---", or "" when the vN changelog does not name the patch. */
export function patchNotes(lines: readonly ChangelogLine[], subject: string, version: number): string {
  const mine = lines.filter((l) => l.patch === subject);
  return mine.length ? `Changes in v${version}:\n${mine.map((l) => l.text).join("\n")}\n\n` : "";
}

/** Checks the changelog of a version against the commits: it exists, and every patch it names is one of them. */
export function checkChangelog(cover: CoverLetter, version: number, subjects: readonly string[], coverFile: string): readonly ChangelogLine[] {
  const lines = cover.changelog.get(version);
  if (!lines || lines.length === 0) {
    throw new ToolError(`${coverFile} has no changelog entry for v${version}: add a "### v${version}" subsection under "## Changelog" saying what changed, then format again`);
  }
  for (const l of lines) {
    if (l.patch !== undefined && !subjects.includes(l.patch)) {
      throw new ToolError(
        `${coverFile}: the v${version} changelog names patch [${l.patch}], which is not in the series; its patches are:\n${subjects.map((s) => `    [${s}]`).join("\n")}`,
      );
    }
  }
  return lines;
}

/** Inserts notes right after the first "---" line of a patch (the end of its commit message). */
export function insertBelowSeparator(patch: string, notes: string, name: string): string {
  const at = patch.indexOf("\n---\n");
  if (at < 0) throw new ToolError(`${name}: no "---" line after the commit message`);
  return patch.slice(0, at + 5) + notes + patch.slice(at + 5);
}

/** Fills the cover letter format-patch wrote: subject, body and the changelog up to this version. */
export function fillCoverLetter(text: string, cover: CoverLetter, version: number): string {
  if (!text.includes(SUBJECT_PLACEHOLDER) || !text.includes(BLURB_PLACEHOLDER)) {
    throw new ToolError(`git format-patch wrote a cover letter without its placeholders (is format.coverLetter or a template configured?)`);
  }
  return text.replace(SUBJECT_PLACEHOLDER, cover.subject).replace(BLURB_PLACEHOLDER, `${cover.body}\n\n${renderChangelog(cover, version)}`);
}

/**
 * Formats base..HEAD of `tree` as version `version` into outDir, each patch signed off by `who`
 * (the commits' author); returns the file paths, cover letter first.
 */
export function formatSeries(tree: string, cover: CoverLetter, version: number, outDir: string, coverFile: string, who: Identity): string[] {
  const commits = commitsSinceBase(tree);
  if (commits.length === 0) throw new ToolError(`the series is empty: ${rel(tree)} has no commits on top of ${BASE_TAG}`);
  const lines = checkChangelog(
    cover,
    version,
    commits.map((c) => c.subject),
    coverFile,
  );
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const base = git(tree, ["rev-parse", `${BASE_TAG}^{commit}`]).trim();
  // The person sending it is the cover letter's author and signs off every patch.
  mustCapture(["git", "-C", tree,
    "-c", "format.coverLetter=false", "-c", "format.signOff=false", "-c", "format.numbered=auto",
    "format-patch", "-q", "--cover-letter", "--signoff", `-v${version}`, `--subject-prefix=${SUBJECT_PREFIX}`, `--base=${base}`,
    "--thread=shallow", "--no-to", "--no-cc", "-o", outDir, `${BASE_TAG}..HEAD`,
  ], { env: { ...process.env, ...identityEnv(who) } });
  const files = readdirSync(outDir).filter((n) => n.endsWith(".patch")).sort();
  if (files.length !== commits.length + 1) throw new ToolError(`git format-patch wrote ${files.length} files for ${commits.length} commits`);
  const coverPath = join(outDir, files[0]!);
  writeFileSync(coverPath, fillCoverLetter(readFileSync(coverPath, "utf8"), cover, version));
  commits.forEach((c, i) => {
    const path = join(outDir, files[i + 1]!);
    const notes = patchNotes(lines, c.subject, version);
    if (notes) writeFileSync(path, insertBelowSeparator(readFileSync(path, "utf8"), notes, files[i + 1]!));
  });
  return files.map((f) => join(outDir, f));
}

/** The subjects of patches whose diff changed since the previous version's formatted files (none if it was not formatted here). */
export function changedSince(previousDir: string, files: readonly string[], subjects: readonly string[]): string[] {
  if (!existsSync(previousDir)) return [];
  const idOf = (p: string) => capture(["git", "patch-id", "--stable"], { input: readFileSync(p) }).stdout.split(" ")[0] ?? "";
  const old = new Set(readdirSync(previousDir).filter((n) => /^v\d+-\d+-.*\.patch$/.test(n) && !n.includes("-0000-")).map((n) => idOf(join(previousDir, n))));
  return subjects.filter((_, i) => {
    const id = idOf(files[i + 1]!);
    return id !== "" && !old.has(id);
  });
}

/** The version asked for with V=N. */
export function parseVersion(v: string | undefined): number {
  if (!v) throw new ToolError("say which version to format: make series V=N (V=1 for the first posting)");
  if (!/^[1-9]\d*$/.test(v)) throw new ToolError(`V=${v} is not a version number (1, 2, …)`);
  return Number(v);
}

if (isMain(import.meta.url)) {
  await toolMain("series", () => {
    const version = parseVersion(process.env.V);
    const who = senderIdentity();
    const cover = parseCoverLetter(readFileSync(COVER_LETTER, "utf8"), rel(COVER_LETTER));
    prepareTree(SERIES_TREE, PATCHES_DIR, KERNEL_SRC, who);
    const outDir = join(SERIES_OUT, `v${version}`);
    const files = formatSeries(SERIES_TREE, cover, version, outDir, rel(COVER_LETTER), who);
    console.log(`series: v${version}, ${files.length - 1} patch(es) and a cover letter in ${rel(outDir)}/, from and signed off by ${who.name} <${who.email}>`);
    for (const f of files) console.log(`  ${rel(f)}`);
    const subjects = commitsSinceBase(SERIES_TREE).map((c) => c.subject);
    const mentioned = new Set(cover.changelog.get(version)!.flatMap((l) => (l.patch ? [l.patch] : [])));
    for (const s of changedSince(join(SERIES_OUT, `v${version - 1}`), files, subjects)) {
      if (!mentioned.has(s)) console.log(`series: note: [${s}] changed since v${version - 1}, and the v${version} changelog does not name it`);
    }
    return 0;
  });
}
