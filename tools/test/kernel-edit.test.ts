import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { editTree } from "../src/kernel/edit.ts";
import { exportEditTree, exportSeries, seriesNames, unsavedCommits } from "../src/kernel/export.ts";
import { commit, commitTwoPatches, fgit, makeBaseTree, scratch } from "./kernel-fixture.ts";

const roots: string[] = [];
function root(): string {
  const r = scratch("edit");
  roots.push(r);
  return r;
}
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** Every file of a folder with its bytes and mtime. */
function snapshot(dir: string): Map<string, { bytes: string; mtime: number }> {
  return new Map(readdirSync(dir).map((n) => [n, { bytes: readFileSync(join(dir, n), "latin1"), mtime: statSync(join(dir, n)).mtimeMs }]));
}

/** A tree with the two fixture patches exported to <root>/patches. */
function exported(): { r: string; tree: string; patches: string } {
  const r = root();
  const tree = makeBaseTree(r);
  commitTwoPatches(tree);
  const patches = join(r, "patches");
  mkdirSync(patches);
  writeFileSync(join(patches, "series"), "# the bpfilter series, in order\n");
  exportSeries(tree, patches);
  return { r, tree, patches };
}

describe("kernel-export", () => {
  it("writes one patch per commit, a series file, and keeps the series header", () => {
    const { patches } = exported();
    expect(seriesNames(patches)).toEqual(["0001-bpfilter-shorten-the-default-helper-timeout.patch", "0002-bpfilter-describe-the-helper-in-Kconfig.patch"]);
    expect(readFileSync(join(patches, "series"), "utf8").split("\n")[0]).toBe("# the bpfilter series, in order");
    const first = readFileSync(join(patches, seriesNames(patches)[0]!), "utf8");
    // no author: make series signs the patches as the person who sends them
    expect(first.split("\n").slice(0, 4)).toEqual([
      "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001",
      "Date: Sat, 2 Mar 2024 09:00:00 +0000",
      "Subject: [PATCH] bpfilter: shorten the default helper timeout",
      "",
    ]);
    expect(first).not.toMatch(/Ada Dev/);
    expect(first).not.toMatch(/^-- \n/m);
  });

  it("a second export of an unchanged tree is byte-identical and touches no file", () => {
    const { tree, patches } = exported();
    const before = snapshot(patches);
    const again = exportSeries(tree, patches);
    expect(again.written).toEqual([]);
    expect(again.removed).toEqual([]);
    expect(snapshot(patches)).toEqual(before);
  });

  it("kernel-edit then kernel-export round-trips the series without a byte of churn", () => {
    const { r, patches } = exported();
    const before = snapshot(patches);
    const fresh = makeBaseTree(r, "fresh");
    expect(editTree(fresh, patches, "/nonexistent")).toBe("reset");
    const result = exportEditTree(fresh, patches, false);
    expect(result.written).toEqual([]);
    expect(snapshot(patches)).toEqual(before);
  });

  it("an amended commit rewrites only its own patch; a dropped commit removes its file", () => {
    const { r, patches } = exported();
    const tree = makeBaseTree(r, "fresh");
    editTree(tree, patches, "/nonexistent");
    fgit(tree, ["commit", "-q", "--amend", "-m", "bpfilter: describe the helper in Kconfig\n\nSay what the option builds, in one line.\n\nSigned-off-by: Ada Dev <ada@example.org>"]);
    const amended = exportEditTree(tree, patches, false);
    expect(amended.written).toEqual(["0002-bpfilter-describe-the-helper-in-Kconfig.patch"]);
    expect(readFileSync(join(patches, amended.written[0]!), "utf8")).toContain("Date: Sun, 3 Mar 2024 09:00:00 +0000");
    fgit(tree, ["reset", "-q", "--hard", "HEAD~1"]);
    const dropped = exportEditTree(tree, patches, false);
    expect(dropped.removed).toEqual(["0002-bpfilter-describe-the-helper-in-Kconfig.patch"]);
    expect(dropped.written).toEqual(["series"]);
    expect(readdirSync(patches).sort()).toEqual(["0001-bpfilter-shorten-the-default-helper-timeout.patch", "series"]);
  });

  it("refuses a tree with uncommitted changes, naming the file", () => {
    const { tree, patches } = exported();
    writeFileSync(join(tree, "net/bpfilter/Kconfig"), "changed\n");
    expect(() => exportEditTree(tree, patches, false)).toThrow(/uncommitted changes:\n\s+M net\/bpfilter\/Kconfig/);
  });

  it("refuses to overwrite patches that changed since the last sync, unless forced", () => {
    const { r, patches } = exported();
    const tree = makeBaseTree(r, "fresh");
    editTree(tree, patches, "/nonexistent");
    const name = join(patches, seriesNames(patches)[1]!);
    writeFileSync(name, readFileSync(name, "utf8").replace("Say what", "Tell what"));
    expect(() => exportEditTree(tree, patches, false)).toThrow(/changed since .* last synced .* FORCE=1/);
    expect(exportEditTree(tree, patches, true).written).toEqual([seriesNames(patches)[1]]);
  });
});

describe("kernel-edit", () => {
  it("does nothing to a tree that already holds the series", () => {
    const { tree, patches } = exported();
    const head = fgit(tree, ["rev-parse", "HEAD"]);
    expect(editTree(tree, patches, "/nonexistent")).toBe("unchanged");
    expect(fgit(tree, ["rev-parse", "HEAD"])).toBe(head);
  });

  it("refuses to reset a tree with commits not in kernel/patches, naming them", () => {
    const { tree, patches } = exported();
    commit(tree, { "net/bpfilter/notes.txt": "x\n" }, "bpfilter: work in progress", "2024-03-04T09:00:00Z");
    const head = fgit(tree, ["rev-parse", "HEAD"]);
    expect(() => editTree(tree, patches, "/nonexistent")).toThrow(/1 commit\(s\) that are not in kernel\/patches:\n\s+[0-9a-f]{12} bpfilter: work in progress\n.*make kernel-export/);
    expect(fgit(tree, ["rev-parse", "HEAD"])).toBe(head);
    exportEditTree(tree, patches, false);
    expect(editTree(tree, patches, "/nonexistent")).toBe("unchanged");
  });

  it("refuses a tree with uncommitted work or a rebase in progress, and leaves it alone", () => {
    const { tree, patches } = exported();
    writeFileSync(join(tree, "net/bpfilter/new.c"), "int x;\n");
    expect(() => editTree(tree, patches, "/nonexistent")).toThrow(/uncommitted changes:\n\s+\?\? net\/bpfilter\/new\.c/);
    rmSync(join(tree, "net/bpfilter/new.c"));
    mkdirSync(join(tree, ".git", "rebase-merge"));
    expect(() => editTree(tree, patches, "/nonexistent")).toThrow(/a rebase is in progress/);
  });

  it("counts a commit whose patch git history of kernel/patches holds as saved", () => {
    const r = root();
    const repo = join(r, "repo");
    mkdirSync(join(repo, "kernel", "patches"), { recursive: true });
    fgit(repo, ["init", "-q"]);
    const patches = join(repo, "kernel", "patches");
    const tree = makeBaseTree(r);
    commitTwoPatches(tree);
    exportSeries(tree, patches);
    fgit(repo, ["add", "-A"]);
    fgit(repo, ["commit", "-q", "-m", "kernel: two patches"]);
    // kernel/patches moves on (a pull dropped patch 2); the tree's commits are still in git history.
    rmSync(join(patches, seriesNames(patches)[1]!));
    writeFileSync(join(patches, "series"), seriesNames(patches)[0] + "\n");
    expect(unsavedCommits(tree, patches)).toEqual([]);
    expect(editTree(tree, patches, "/nonexistent")).toBe("reset");
    expect(fgit(tree, ["log", "--format=%s", "base..HEAD"]).trim()).toBe("bpfilter: shorten the default helper timeout");
  });

  it("names the patch and file of a patch that no longer applies", () => {
    const { r, patches } = exported();
    const tree = makeBaseTree(r, "other");
    commit(tree, { "net/bpfilter/Kconfig": "config BPFILTER_UMH\n\tbool \"changed base\"\n" }, "base moved", "2024-01-01T00:00:00Z");
    fgit(tree, ["tag", "-f", "base"]);
    expect(() => editTree(tree, patches, "/nonexistent")).toThrow(/patch 0002-bpfilter-describe-the-helper-in-Kconfig\.patch does not apply .*net\/bpfilter\/Kconfig/);
  });
});
