/** Tiny git trees standing in for the kernel tree in the workflow tests (no kernel source needed). */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { KERNEL_SRC, REPO } from "../src/lib/paths.ts";
import { mustCapture } from "../src/lib/proc.ts";

/**
 * The tree that make kernel unpacks (build/linux), for the tests that run the kernel's own
 * scripts (checkpatch.pl, get_maintainer.pl); undefined until make kernel has run. make test
 * builds the kernel before the unit tests, so there this is never undefined.
 */
export function builtKernelTree(script: string): string | undefined {
  return existsSync(join(KERNEL_SRC, script)) ? KERNEL_SRC : undefined;
}

/** The skip line of a test that needs builtKernelTree(script); make test refuses it. */
export function kernelTreeSkip(test: string, script: string): string {
  return `${test}: skipped: not built yet: ${KERNEL_SRC.replace(REPO + "/", "")}/${script} is missing (make kernel builds it)`;
}

/** A fixed author, and a fixed date per commit, so that fixture patches are reproducible. */
export function fixtureEnv(date: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_AUTHOR_NAME: "Ada Dev",
    GIT_AUTHOR_EMAIL: "ada@example.org",
    GIT_COMMITTER_NAME: "Ada Dev",
    GIT_COMMITTER_EMAIL: "ada@example.org",
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  };
}

/** Runs git in a fixture tree. */
export function fgit(tree: string, args: readonly string[], date = "2024-03-01T10:00:00Z"): string {
  return mustCapture(["git", "-C", tree, ...args], { env: fixtureEnv(date) });
}

/** Writes files (path → text) below a tree, creating folders. */
export function writeFiles(tree: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), text);
  }
}

/** The base: a small "kernel" with net/bpfilter, a MAINTAINERS entry and a get_maintainer stand-in. */
export const BASE_FILES: Record<string, string> = {
  Makefile: "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\n",
  "net/bpfilter/bpfilter_kern.c": "// SPDX-License-Identifier: GPL-2.0\nstatic int timeout_ms = 5000;\n\nint bpfilter_timeout(void)\n{\n\treturn timeout_ms;\n}\n",
  "net/bpfilter/Kconfig": "config BPFILTER_UMH\n\ttristate \"bpfilter helper\"\n",
  "include/uapi/linux/bpfilter_ipc.h": "/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */\n#define BPFILTER_IPC_VERSION 1\n",
};

/** Creates a git tree holding BASE_FILES as one commit tagged "base". */
export function makeBaseTree(root: string, name = "tree", extra: Record<string, string> = {}): string {
  const tree = join(root, name);
  mkdirSync(tree, { recursive: true });
  fgit(tree, ["init", "-q", "-b", "master"]);
  writeFiles(tree, { ...BASE_FILES, ...extra });
  fgit(tree, ["add", "-A"]);
  fgit(tree, ["commit", "-q", "-m", "Linux 6.12.0 (fixture)"], "2020-01-01T00:00:00Z");
  fgit(tree, ["tag", "base"]);
  fgit(tree, ["checkout", "-q", "-b", "series"]);
  return tree;
}

/** Commits files with a message and date in a fixture tree. */
export function commit(tree: string, files: Record<string, string>, message: string, date: string): void {
  writeFiles(tree, files);
  fgit(tree, ["add", "-A"]);
  fgit(tree, ["commit", "-q", "-m", message], date);
}

/** The two-patch series the fixtures use: a timeout parameter, then a Kconfig help text. */
export function commitTwoPatches(tree: string): void {
  commit(
    tree,
    { "net/bpfilter/bpfilter_kern.c": BASE_FILES["net/bpfilter/bpfilter_kern.c"]!.replace("5000", "2000") },
    "bpfilter: shorten the default helper timeout\n\nA helper that hangs blocks iptables for five seconds; two are\nenough for any request the helper answers.\n\nSigned-off-by: Ada Dev <ada@example.org>",
    "2024-03-02T09:00:00Z",
  );
  commit(
    tree,
    { "net/bpfilter/Kconfig": BASE_FILES["net/bpfilter/Kconfig"]! + "\thelp\n\t  The user-mode helper of bpfilter.\n" },
    "bpfilter: describe the helper in Kconfig\n\nSay what the option builds.\n\nSigned-off-by: Ada Dev <ada@example.org>",
    "2024-03-03T09:00:00Z",
  );
}

/** A fresh temporary folder for one test. */
export function scratch(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `bpfilter-${prefix}-`));
}
