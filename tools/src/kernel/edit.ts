/**
 * make kernel-edit: build/kernel-edit becomes a git tree holding the base and the series as
 * commits on the branch "series", where a person edits, commits and rebases with ordinary git;
 * make kernel-export writes the commits back. It never throws away work: uncommitted changes,
 * an operation in progress, or commits that are not in kernel/patches make it refuse.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { capture, toolMain, ToolError } from "../lib/proc.ts";
import { KERNEL_SRC } from "../lib/paths.ts";
import { isMain } from "./main-guard.ts";
import {
  blobId,
  commitsSinceBase,
  EDIT_BRANCH,
  EDIT_TREE,
  exportText,
  PATCHES_DIR,
  rel,
  seriesNames,
  treeBusy,
  unsavedCommits,
  writeSync,
} from "./export.ts";
import { applySeries, BASE_TAG, BUILD_IDENTITY, ensureBaseTree, git, personIdentity, relaxDebianIgnore, tarballPackageVersion } from "./tree.ts";

const log = (s: string) => console.log(`kernel-edit: ${s}`);
const STAMP = "bpfilter-base";

/** Whether `tree` holds a base imported from this package version (ensureBaseTree's stamp). */
function hasBase(tree: string, pkg: string): boolean {
  const stamp = join(tree, ".git", STAMP);
  return existsSync(stamp) && readFileSync(stamp, "utf8") === pkg;
}

/**
 * Creates the edit tree: a local clone of make kernel's tree (objects are hard links, so it
 * costs seconds and little disk) when that one holds the right base, else a fresh import.
 */
export function createEditTree(tree: string, source: string, say: (s: string) => void = log): void {
  const pkg = tarballPackageVersion();
  if (hasBase(source, pkg) && capture(["git", "-C", source, "rev-parse", "--verify", "-q", `refs/tags/${BASE_TAG}`]).status === 0) {
    say(`cloning the base from ${rel(source)} into ${rel(tree)}`);
    rmSync(tree, { recursive: true, force: true });
    const base = git(source, ["rev-parse", `${BASE_TAG}^{commit}`]).trim();
    git(source, ["clone", "-q", "--no-checkout", source, tree]);
    git(tree, ["remote", "remove", "origin"]);
    git(tree, ["tag", "-f", BASE_TAG, base]);
    git(tree, ["checkout", "-q", "-B", EDIT_BRANCH, BASE_TAG]);
    writeFileSync(join(tree, ".git", STAMP), pkg);
  } else {
    ensureBaseTree(tree, say);
  }
}

/** Whether the tree's commits already export to exactly the series in patchesDir. */
export function matchesSeries(tree: string, patchesDir: string): boolean {
  const names = seriesNames(patchesDir);
  const commits = commitsSinceBase(tree);
  if (commits.length !== names.length) return false;
  return commits.every((c, i) => {
    const p = join(patchesDir, names[i]!);
    return existsSync(p) && blobId(readFileSync(p)) === blobId(exportText(tree, c.sha));
  });
}

/** The refusal for commits that exist only in the edit tree, naming each and how to save it. */
export function describeUnsaved(tree: string, commits: readonly { sha: string; subject: string }[]): string {
  const list = commits.map((c) => `    ${c.sha.slice(0, 12)} ${c.subject}`).join("\n");
  return (
    `${rel(tree)} has ${commits.length} commit(s) that are not in kernel/patches:\n${list}\n` +
    `  resetting the tree would lose them. Save them first with make kernel-export ` +
    `(then commit kernel/patches), or drop them yourself with git if you really mean to`
  );
}

/** Brings the edit tree to base + series, refusing whenever that would lose work. Returns what it did. */
export function editTree(tree: string, patchesDir: string, source: string): "created" | "unchanged" | "reset" {
  const patches = seriesNames(patchesDir).map((n) => {
    const p = join(patchesDir, n);
    if (!existsSync(p)) throw new ToolError(`${rel(patchesDir)}/series names ${n}, which does not exist`);
    return p;
  });
  let created = false;
  if (!existsSync(join(tree, ".git"))) {
    createEditTree(tree, source);
    created = true;
  } else {
    const busy = treeBusy(tree);
    if (busy) throw new ToolError(busy);
    if (matchesSeries(tree, patchesDir)) {
      relaxDebianIgnore(tree);
      writeSync(tree, patchesDir);
      return "unchanged";
    }
    const unsaved = unsavedCommits(tree, patchesDir);
    if (unsaved.length) throw new ToolError(describeUnsaved(tree, unsaved));
  }
  // The person's commits are theirs; kernel-export drops the author again.
  applySeries(tree, patches, personIdentity() ?? BUILD_IDENTITY);
  relaxDebianIgnore(tree);
  writeSync(tree, patchesDir);
  return created ? "created" : "reset";
}

if (isMain(import.meta.url)) {
  await toolMain("kernel-edit", () => {
    const what = editTree(EDIT_TREE, PATCHES_DIR, KERNEL_SRC);
    const n = seriesNames(PATCHES_DIR).length;
    if (what === "unchanged") log(`${rel(EDIT_TREE)} already holds ${BASE_TAG} + the ${n} patch(es) of kernel/patches; nothing to do`);
    else log(`${rel(EDIT_TREE)}: branch ${EDIT_BRANCH} = ${BASE_TAG} + ${n} patch(es) from kernel/patches (${what})`);
    console.log(
      [
        `  edit there with ordinary git, for example:`,
        `    cd ${rel(EDIT_TREE)} && $EDITOR net/bpfilter/bpfilter_kern.c`,
        `    git commit -a --fixup=<commit> && git rebase -i --autosquash ${BASE_TAG}`,
        `  then write the commits back:  make kernel-export`,
      ].join("\n"),
    );
    return 0;
  });
}
