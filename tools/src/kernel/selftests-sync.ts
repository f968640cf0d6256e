/**
 * The series carries the selftests under tools/testing/selftests/bpfilter/: exactly the files of
 * selftests/bpfilter/, plus a kselftest Makefile that lists them. `make selftests-sync` folds the
 * repository's selftests into the series' selftests patch (a fixup of the commit that touches that
 * folder, in build/kernel-edit) and exports the series; `selftestsDrift` is the check.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { toolMain, ToolError } from "../lib/proc.ts";
import { KERNEL_SRC, REPO } from "../lib/paths.ts";
import { editTree } from "./edit.ts";
import { EDIT_TREE, exportEditTree, PATCHES_DIR } from "./export.ts";
import { isMain } from "./main-guard.ts";
import { BASE_TAG, git } from "./tree.ts";

/** Where the selftests live in the repository and in a kernel tree. */
export const REPO_SELFTESTS = join(REPO, "selftests", "bpfilter");
export const TREE_SELFTESTS = join("tools", "testing", "selftests", "bpfilter");

/** Files below a folder, relative to it, sorted. */
export function listFiles(dir: string, sub = ""): string[] {
  return readdirSync(join(dir, sub))
    .flatMap((e) => (statSync(join(dir, sub, e)).isDirectory() ? listFiles(dir, join(sub, e)) : [join(sub, e)]))
    .sort();
}

/** The kselftest Makefile for a list of files: test_*.sh run, the rest are installed beside them. */
export function kselftestMakefile(files: readonly string[]): string {
  const progs = files.filter((f) => /^test_[^/]*\.sh$/.test(f));
  const rest = files.filter((f) => !progs.includes(f));
  const list = (name: string, xs: readonly string[]) => `${name} := \\\n${xs.map((x) => `\t${x}`).join(" \\\n")}\n`;
  return [
    "# SPDX-License-Identifier: GPL-2.0",
    "# Each test_*.sh is one test; they build fake/fake_helper.c when",
    "# they need it, against the installed uapi headers.",
    list("TEST_PROGS", progs) + list("TEST_FILES", rest),
    "include ../lib.mk",
    "",
  ].join("\n");
}

/** What differs between selftests/bpfilter/ and a kernel tree's copy (empty when in sync). */
export function selftestsDrift(kernelTree: string): string[] {
  const inTree = join(kernelTree, TREE_SELFTESTS);
  if (!existsSync(inTree)) return [`${TREE_SELFTESTS}/ is missing from the series`];
  const ours = listFiles(REPO_SELFTESTS);
  const theirs = listFiles(inTree).filter((f) => f !== "Makefile");
  const drift = [
    ...ours.filter((f) => !theirs.includes(f)).map((f) => `${f}: only in selftests/bpfilter/`),
    ...theirs.filter((f) => !ours.includes(f)).map((f) => `${f}: only in the series`),
    ...ours
      .filter((f) => theirs.includes(f))
      .filter((f) => !readFileSync(join(REPO_SELFTESTS, f)).equals(readFileSync(join(inTree, f))))
      .map((f) => `${f}: differs`),
  ];
  const makefile = join(inTree, "Makefile");
  if (!existsSync(makefile) || readFileSync(makefile, "utf8") !== kselftestMakefile(ours)) drift.push("Makefile: does not list the selftests");
  return drift;
}

/** Copies selftests/bpfilter/ over the tree's copy, removing what the repository no longer has. */
function copyInto(kernelTree: string): void {
  const dst = join(kernelTree, TREE_SELFTESTS);
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(dst, { recursive: true });
  cpSync(REPO_SELFTESTS, dst, { recursive: true });
  writeFileSync(join(dst, "Makefile"), kselftestMakefile(listFiles(REPO_SELFTESTS)));
}

if (isMain(import.meta.url)) {
  await toolMain("selftests-sync", () => {
    editTree(EDIT_TREE, PATCHES_DIR, KERNEL_SRC);
    const owner = git(EDIT_TREE, ["log", "--format=%H", `${BASE_TAG}..HEAD`, "--", TREE_SELFTESTS]).trim().split("\n")[0];
    if (!owner) throw new ToolError(`no patch of the series touches ${TREE_SELFTESTS}: add the selftests patch first`);
    copyInto(EDIT_TREE);
    if (git(EDIT_TREE, ["status", "--porcelain", "--", TREE_SELFTESTS]).trim() === "") {
      console.log(`selftests-sync: the series already carries selftests/bpfilter/ exactly`);
      return 0;
    }
    git(EDIT_TREE, ["add", "-A", "--", TREE_SELFTESTS]);
    git(EDIT_TREE, ["commit", "-q", `--fixup=${owner}`]);
    git(EDIT_TREE, ["rebase", "-q", "-i", "--autosquash", BASE_TAG], { GIT_SEQUENCE_EDITOR: "true" });
    const subject = git(EDIT_TREE, ["log", "-1", "--format=%s", "HEAD"]).trim();
    const { written } = exportEditTree(EDIT_TREE, PATCHES_DIR, false);
    console.log(`selftests-sync: folded selftests/bpfilter/ into its patch; rewrote ${written.join(", ") || "nothing"} (tip: ${subject})`);
    console.log(`selftests-sync: now run make checkpatch, and commit ${relative(REPO, PATCHES_DIR)}/`);
    return 0;
  });
}
