/**
 * What keeps make kernel's rebuild after a small change small. applySeries resets the tree to the
 * base and re-applies every patch, which rewrites every file the series touches; the mtimes of
 * the files whose bytes did not change are put back, so make recompiles only what really changed.
 * And the tinyconfig + fragments + olddefconfig step is skipped when nothing it reads changed.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { capture, mustCapture } from "../lib/proc.ts";

/** A file's blob id and mtime before the reset. */
interface FileStamp {
  readonly blob: string;
  readonly atime: Date;
  readonly mtime: Date;
}

/** Blob ids at a commit of the given paths (path → blob). */
function blobsAt(tree: string, rev: string, paths: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (!paths.length) return out;
  const listing = mustCapture(["git", "-C", tree, "ls-tree", "-r", "-z", rev, "--", ...paths]);
  for (const entry of listing.split("\0").filter(Boolean)) {
    const tab = entry.indexOf("\t");
    out.set(entry.slice(tab + 1), entry.slice(0, tab).split(" ")[2]!);
  }
  return out;
}

/**
 * Records the files the current series changed against `base` that are clean in the work tree
 * (their bytes are HEAD's), with their mtimes. Empty when HEAD is the base or the tree is new.
 */
export function snapshotSeriesFiles(tree: string, base: string): Map<string, FileStamp> {
  const stamps = new Map<string, FileStamp>();
  if (capture(["git", "-C", tree, "rev-parse", "--verify", "-q", "HEAD"]).status !== 0) return stamps;
  const changed = mustCapture(["git", "-C", tree, "diff", "--name-only", "-z", base, "HEAD"]).split("\0").filter(Boolean);
  const dirty = new Set(mustCapture(["git", "-C", tree, "diff", "--name-only", "-z", "HEAD"]).split("\0").filter(Boolean));
  const clean = changed.filter((f) => !dirty.has(f) && existsSync(join(tree, f)));
  for (const [path, blob] of blobsAt(tree, "HEAD", clean)) {
    const st = statSync(join(tree, path));
    stamps.set(path, { blob, atime: st.atime, mtime: st.mtime });
  }
  return stamps;
}

/** Puts back the mtime of every recorded file whose bytes at HEAD are the same as before; returns how many. */
export function restoreUnchangedMtimes(tree: string, stamps: ReadonlyMap<string, FileStamp>): number {
  let restored = 0;
  for (const [path, blob] of blobsAt(tree, "HEAD", [...stamps.keys()].filter((p) => existsSync(join(tree, p))))) {
    const before = stamps.get(path)!;
    if (before.blob !== blob) continue;
    utimesSync(join(tree, path), before.atime, before.mtime);
    restored++;
  }
  return restored;
}

/** Kconfig inputs in a tree listing: every Kconfig file, the config fragments below configs/, and scripts/kconfig. */
const KCONFIG_INPUT = /(^|\/)Kconfig[^/]*$|\/configs\/[^/]+\.config$|^scripts\/kconfig\//;

/**
 * A key of everything the configure step reads: the fragments, every Kconfig input of the
 * tree's HEAD (by blob id), and the compiler and linker (Kconfig probes them).
 */
export function configInputsKey(tree: string, fragments: readonly string[]): string {
  const h = createHash("sha256");
  for (const f of fragments) h.update(`\0fragment\0${f}\0`).update(readFileSync(f));
  for (const entry of mustCapture(["git", "-C", tree, "ls-tree", "-r", "HEAD"]).split("\n")) {
    if (KCONFIG_INPUT.test(entry.slice(entry.indexOf("\t") + 1))) h.update(entry).update("\n");
  }
  h.update(mustCapture(["gcc", "--version"]).split("\n")[0]!).update(mustCapture(["ld", "--version"]).split("\n")[0]!);
  return h.digest("hex");
}
