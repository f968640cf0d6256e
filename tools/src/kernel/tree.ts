/**
 * The kernel source tree below build/linux: the Debian linux-source package that kernel/BASE
 * names, imported as a git tree with a tagged base commit, and the series applied on top with
 * git am. This tree belongs to make kernel; people edit in the tree of make kernel-edit.
 */
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { capture, mustCapture, ToolError } from "../lib/proc.ts";
import { BUILD, REPO } from "../lib/paths.ts";
import { restoreUnchangedMtimes, snapshotSeriesFiles } from "./incremental.ts";

/** The tag of the imported base commit. */
export const BASE_TAG = "base";

/** A person (or the build) as git names them: "Name <email>". */
export interface Identity {
  readonly name: string;
  readonly email: string;
}

/**
 * The stand-in identity of the trees the tools apply the series to for themselves (make kernel,
 * series-check). It never reaches kernel/patches (kernel-export drops authors) nor a formatted
 * series (make series uses the identity of the person who runs it).
 */
export const BUILD_IDENTITY: Identity = { name: "bpfilter build", email: "build@bpfilter.invalid" };

/** The git environment that makes `who` the author and committer. */
export function identityEnv(who: Identity): Record<string, string> {
  return { GIT_AUTHOR_NAME: who.name, GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email };
}

const GIT_ID = identityEnv(BUILD_IDENTITY);

/**
 * The git identity of the person running a tool (user.name and user.email of the repository's
 * git config, or GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL), or undefined when it has none.
 */
export function personIdentity(): Identity | undefined {
  const config = (key: string) => capture(["git", "-C", REPO, "config", "--get", key]).stdout.trim();
  const name = process.env.GIT_AUTHOR_NAME || config("user.name");
  const email = process.env.GIT_AUTHOR_EMAIL || config("user.email");
  return name && email ? { name, email } : undefined;
}

/**
 * A patch of kernel/patches (which names no author: kernel-export drops the From: line and the
 * author's Signed-off-by) with `who` as its author, for git am. A patch that names its author
 * is left as it is.
 */
export function withAuthor(patch: string, who: Identity): string {
  const headerEnd = patch.indexOf("\n\n");
  const header = headerEnd < 0 ? patch : patch.slice(0, headerEnd);
  if (/^From: /m.test(header)) return patch;
  const firstLine = patch.indexOf("\n") + 1;
  return `${patch.slice(0, firstLine)}From: ${who.name} <${who.email}>\n${patch.slice(firstLine)}`;
}

/** A fixed date makes the imported base commit the same on every machine. */
const BASE_DATE = "2020-01-01T00:00:00Z";

/** Runs git in a tree with a fixed identity. */
export function git(tree: string, args: readonly string[], env: Record<string, string> = {}): string {
  return mustCapture(["git", "-C", tree, ...args], { env: { ...process.env, ...GIT_ID, ...env } });
}

/** What kernel/BASE pins: a Debian linux-source package and the kernel version it carries. */
export interface KernelBase {
  /** The Debian package, e.g. "linux-source-6.12". */
  readonly pkg: string;
  /** The kernel version, e.g. "6.12.117". */
  readonly version: string;
  /** The tarball the package installs. */
  readonly tarball: string;
}

/** Parses kernel/BASE: one line "linux-source-X.Y X.Y.Z", '#' comments and blank lines aside. */
export function parseBase(text: string, file = "kernel/BASE"): KernelBase {
  const line = text.split("\n").find((l) => l.trim() && !l.startsWith("#"));
  const m = line ? /^(linux-source-(\d+\.\d+))\s+((\d+\.\d+)\.\d+)\s*$/.exec(line.trim()) : null;
  if (!m || m[2] !== m[4]) {
    throw new ToolError(`${file}: expected "linux-source-X.Y X.Y.Z" (the package and the version it carries), got ${JSON.stringify(line)}`);
  }
  return { pkg: m[1]!, version: m[3]!, tarball: `/usr/src/${m[1]}.tar.xz` };
}

/** The base pinned in kernel/BASE. */
export function pinnedBase(): KernelBase {
  return parseBase(readFileSync(join(REPO, "kernel", "BASE"), "utf8"));
}

/** The installed Debian package version of the pinned linux-source, which identifies the tarball. */
export function tarballPackageVersion(): string {
  const { pkg, tarball } = pinnedBase();
  if (!existsSync(tarball)) throw new ToolError(`${tarball} not found: run make setup (it installs ${pkg})`);
  return mustCapture(["dpkg-query", "-W", "-f", "${Version}", pkg]).trim();
}

/** The kernel version of a source tree, from its Makefile. */
export function treeVersion(tree: string): string {
  const mk = readFileSync(join(tree, "Makefile"), "utf8");
  const get = (k: string) => new RegExp(`^${k} = (\\d+)`, "m").exec(mk)?.[1] ?? "?";
  return `${get("VERSION")}.${get("PATCHLEVEL")}.${get("SUBLEVEL")}`;
}

/**
 * Unpacks the tarball into `tree` and commits it as the tagged base, unless the tree
 * already holds a base imported from the same package version.
 */
export function ensureBaseTree(tree: string, log: (s: string) => void): void {
  const base = pinnedBase();
  const pkg = tarballPackageVersion();
  const stampFile = join(tree, ".git", "bpfilter-base");
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === pkg) return;
  log(`unpacking ${base.pkg} (${pkg}) into ${tree.replace(REPO + "/", "")} and importing it as a git tree`);
  rmSync(tree, { recursive: true, force: true });
  const unpackDir = join(BUILD, ".linux-unpack");
  rmSync(unpackDir, { recursive: true, force: true });
  mustCapture(["mkdir", "-p", unpackDir]);
  mustCapture(["tar", "-C", unpackDir, "-xf", base.tarball]);
  renameSync(join(unpackDir, base.pkg), tree);
  rmSync(unpackDir, { recursive: true, force: true });
  git(tree, ["init", "-q", "-b", "master"]);
  git(tree, ["config", "core.autocrlf", "false"]);
  // Debian's top-level .gitignore ignores everything ("/*"): force, the tarball is all source.
  git(tree, ["add", "-A", "-f"]);
  const version = treeVersion(tree);
  const dates = { GIT_AUTHOR_DATE: BASE_DATE, GIT_COMMITTER_DATE: BASE_DATE };
  git(tree, ["commit", "-q", "-m", `Linux ${version} (Debian ${base.pkg} ${pkg})`], dates);
  git(tree, ["tag", "-f", BASE_TAG]);
  if (version !== base.version) {
    log(`WARNING: kernel/BASE pins ${base.version}, but the installed ${base.pkg} is ${version}; building on ${version}`);
  }
  mustCapture(["sh", "-c", `printf %s "$1" > "$2"`, "sh", pkg, stampFile]);
}

/** Debian's block at the end of the top-level .gitignore: it ignores every top-level path. */
const DEBIAN_IGNORE = /\n#\n# Debian packaging: ignore everything at the top level[^]*?\n!\/debian\/\n/;

/**
 * Makes `git add` of a new file work in a tree people edit: the working copy of .gitignore loses
 * Debian's ignore-everything block, and git is told not to look at that change (skip-worktree),
 * so the base commit stays the tarball's bytes and no patch ever carries the edit.
 */
export function relaxDebianIgnore(tree: string): void {
  const file = join(tree, ".gitignore");
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (!DEBIAN_IGNORE.test(text)) return;
  git(tree, ["update-index", "--skip-worktree", ".gitignore"]);
  mustCapture(["sh", "-c", `cat > "$1"`, "sh", file], { input: text.replace(DEBIAN_IGNORE, "\n") });
}

/** The patch files named by kernel/patches/series, in order (an absent series file is an empty series). */
export function seriesPatches(): string[] {
  const series = join(REPO, "kernel", "patches", "series");
  if (!existsSync(series)) return [];
  return readFileSync(series, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((name) => {
      const p = join(REPO, "kernel", "patches", name);
      if (!existsSync(p)) throw new ToolError(`kernel/patches/series names ${name}, which does not exist`);
      return p;
    });
}

/**
 * Resets the tree to the base and applies the patches with git am, authored by `who`; names the
 * patch and hunk that fail.
 */
export function applySeries(tree: string, patches: readonly string[], who: Identity = BUILD_IDENTITY): void {
  capture(["git", "-C", tree, "am", "--abort"]);
  const stamps = snapshotSeriesFiles(tree, BASE_TAG);
  git(tree, ["checkout", "-q", "-f", "-B", "series", BASE_TAG]);
  git(tree, ["clean", "-q", "-fdx", "-e", ".git"]);
  for (const p of patches) {
    const r = capture(["git", "-C", tree, "am", "-q", "--keep-cr"], {
      env: { ...process.env, ...identityEnv(who) },
      input: withAuthor(readFileSync(p, "utf8"), who),
    });
    if (r.status !== 0) {
      capture(["git", "-C", tree, "am", "--abort"]);
      throw new ToolError(`patch ${basename(p)} does not apply to ${BASE_TAG} ${treeVersion(tree)}: ${amFailure(r.stdout + r.stderr)}`);
    }
  }
  // Files whose bytes did not change keep their mtimes, so make rebuilds only what changed.
  restoreUnchangedMtimes(tree, stamps);
}

/** Extracts the failing file and hunk from git am's output. */
export function amFailure(output: string): string {
  const hunks = [...output.matchAll(/error: patch failed: (\S+)/g)].map((m) => `hunk at ${m[1]} failed`);
  const missing = [...output.matchAll(/error: (\S+): (does not exist in index|No such file or directory|already exists in working directory)/g)].map(
    (m) => `${m[1]}: ${m[2]}`,
  );
  const found = [...hunks, ...missing];
  if (found.length) return found.join("; ");
  const line = output.split("\n").find((l) => /^(error|fatal):/.test(l));
  return line ?? output.trim().split("\n").slice(-1)[0] ?? "git am failed";
}
