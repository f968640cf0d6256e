/**
 * The series carries three things that live in this repository, byte for byte: the selftests
 * (selftests/bpfilter/ as tools/testing/selftests/bpfilter/), the protocol header
 * (uapi/linux/bpfilter_ipc.h as include/uapi/linux/bpfilter_ipc.h) and its documentation
 * (kernel/doc/bpfilter.rst as Documentation/networking/bpfilter.rst). `make selftests-sync` folds
 * the repository's copies into the patches that carry them (a fixup of the commit that last
 * touches each, in build/kernel-edit) and exports the series; `carriedDrift` is the check.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { toolMain, ToolError } from "../lib/proc.ts";
import { KERNEL_SRC, REPO } from "../lib/paths.ts";
import { editTree } from "./edit.ts";
import { EDIT_TREE, exportEditTree, PATCHES_DIR } from "./export.ts";
import { isMain } from "./main-guard.ts";
import { BASE_TAG, git } from "./tree.ts";

/** A file or folder of the repository and where the series carries it. */
export interface Carried {
  readonly repo: string;
  readonly tree: string;
}

/** Everything the series carries from the repository. */
export const CARRIED: readonly Carried[] = [
  { repo: "selftests/bpfilter", tree: "tools/testing/selftests/bpfilter" },
  { repo: "uapi/linux/bpfilter_ipc.h", tree: "include/uapi/linux/bpfilter_ipc.h" },
  { repo: "kernel/doc/bpfilter.rst", tree: "Documentation/networking/bpfilter.rst" },
];

/** Files below a folder, relative to it, sorted ([""] for a file). */
export function listFiles(path: string, sub = ""): string[] {
  if (!statSync(join(path, sub)).isDirectory()) return [sub];
  return readdirSync(join(path, sub))
    .flatMap((e) => listFiles(path, join(sub, e)))
    .sort();
}

/** What differs between the repository's copy of `c` and a kernel tree's (empty when in sync). */
export function drift(c: Carried, kernelTree: string, repo = REPO): string[] {
  const ours = join(repo, c.repo);
  const theirs = join(kernelTree, c.tree);
  if (!existsSync(theirs)) return [`${c.tree} is missing from the series`];
  const name = (f: string) => (f ? `${c.repo}/${f}` : c.repo);
  const mine = listFiles(ours);
  const carried = listFiles(theirs);
  return [
    ...mine.filter((f) => !carried.includes(f)).map((f) => `${name(f)}: not in the series`),
    ...carried.filter((f) => !mine.includes(f)).map((f) => `${name(f)}: only in the series (${c.tree})`),
    ...mine
      .filter((f) => carried.includes(f))
      .filter((f) => !readFileSync(join(ours, f)).equals(readFileSync(join(theirs, f))))
      .map((f) => `${name(f)}: differs from the series' ${join(c.tree, f)}`),
  ];
}

/** Everything that differs between the repository and what a kernel tree's series carries. */
export function carriedDrift(kernelTree: string, repo = REPO): string[] {
  return CARRIED.flatMap((c) => drift(c, kernelTree, repo));
}

/** Copies the repository's copy of `c` over the tree's, removing what the repository no longer has. */
function copyInto(c: Carried, kernelTree: string): void {
  const dst = join(kernelTree, c.tree);
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(dirname(dst), { recursive: true });
  cpSync(join(REPO, c.repo), dst, { recursive: true });
}

/**
 * The commit each changed path of the edit tree is folded into: the last one that touches that
 * path, or for a new file the last one that touches its carried folder, so that a change to one
 * patch's files (the kfunc selftests, say) never lands in another patch.
 */
function owners(c: Carried): Map<string, string[]> {
  const byOwner = new Map<string, string[]>();
  const changed = git(EDIT_TREE, ["status", "--porcelain", "-z", "--untracked-files=all", "--", c.tree])
    .split("\0")
    .filter(Boolean)
    .map((l) => l.slice(3));
  for (const path of changed) {
    const last = (p: string) => git(EDIT_TREE, ["log", "-1", "--format=%H", `${BASE_TAG}..HEAD`, "--", p]).trim();
    const owner = last(path) || last(c.tree);
    if (!owner) throw new ToolError(`no patch of the series adds ${c.tree}: add the patch that carries ${c.repo} first`);
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), path]);
  }
  return byOwner;
}

if (isMain(import.meta.url)) {
  await toolMain("selftests-sync", () => {
    editTree(EDIT_TREE, PATCHES_DIR, KERNEL_SRC);
    const folded: string[] = [];
    for (const c of CARRIED) {
      copyInto(c, EDIT_TREE);
      for (const [owner, paths] of owners(c)) {
        git(EDIT_TREE, ["add", "-A", "--", ...paths]);
        git(EDIT_TREE, ["commit", "-q", `--fixup=${owner}`]);
        folded.push(...paths);
      }
    }
    if (!folded.length) {
      console.log(`selftests-sync: the series already carries ${CARRIED.map((c) => c.repo).join(", ")} exactly`);
      return 0;
    }
    git(EDIT_TREE, ["rebase", "-q", "-i", "--autosquash", BASE_TAG], { GIT_SEQUENCE_EDITOR: "true" });
    const { written } = exportEditTree(EDIT_TREE, PATCHES_DIR, false);
    console.log(`selftests-sync: folded ${folded.length} file(s) into the patches that carry them; rewrote ${written.join(", ") || "nothing"}`);
    console.log(`selftests-sync: now run make checkpatch, and commit ${relative(REPO, PATCHES_DIR)}/`);
    return 0;
  });
}
