import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { amFailure, parseBase, pinnedBase, relaxDebianIgnore } from "../src/kernel/tree.ts";
import { allPackages } from "../src/setup.ts";
import { isStep, KbuildProgress } from "../src/kernel/progress.ts";

describe("kernel/BASE", () => {
  it("names a Debian linux-source package, the version it carries and its tarball", () => {
    expect(parseBase("# comment\nlinux-source-6.12 6.12.117\n")).toEqual({
      pkg: "linux-source-6.12",
      version: "6.12.117",
      tarball: "/usr/src/linux-source-6.12.tar.xz",
    });
  });
  it("refuses a version that is not of the package's series, naming the file", () => {
    expect(() => parseBase("linux-source-6.12 6.1.192\n")).toThrow(/kernel\/BASE: expected "linux-source-X.Y X.Y.Z"/);
    expect(() => parseBase("linux 6.12.1\n")).toThrow(/got "linux 6.12.1"/);
  });
  it("pins a package that make setup installs", () => {
    expect(Object.keys(allPackages())).toContain(pinnedBase().pkg);
  });
});

describe("amFailure", () => {
  it("names the file and hunk of a failed patch", () => {
    const out = "Applying: bpfilter: x\nerror: patch failed: net/bpfilter/bpfilter_kern.c:42\nerror: net/bpfilter/bpfilter_kern.c: patch does not apply\nPatch failed at 0001 bpfilter: x\n";
    expect(amFailure(out)).toBe("hunk at net/bpfilter/bpfilter_kern.c:42 failed");
  });
  it("names a file the patch expects but the base lacks", () => {
    expect(amFailure("error: net/bpfilter/gone.c: does not exist in index\n")).toBe("net/bpfilter/gone.c: does not exist in index");
  });
  it("falls back to git's own error line", () => {
    expect(amFailure("fatal: corrupt patch at line 7\n")).toBe("fatal: corrupt patch at line 7");
  });
});

describe("KbuildProgress", () => {
  it("counts only step lines", () => {
    expect(isStep("  CC      net/core/dev.o")).toBe(true);
    expect(isStep("  LD [M]  net/foo.ko")).toBe(true);
    expect(isStep("make[1]: Entering directory")).toBe(false);
    expect(isStep("net/core/dev.c:12: warning: x")).toBe(false);
  });
  it("prints every 10% when not on a terminal, and 100% at the end", () => {
    const out: string[] = [];
    const p = new KbuildProgress(20, (s) => out.push(s), false);
    for (let i = 0; i < 20; i++) p.line(`  CC      f${i}.o`);
    p.line("warning: not a step");
    p.done(true);
    expect(p.steps).toBe(20);
    expect(out[0]).toBe("   0% (1 steps)\n");
    expect(out.at(-1)).toBe("  100% (20 steps)\n");
    expect(out.length).toBe(11);
  });
});

describe("relaxDebianIgnore", () => {
  it("lets git add a new top-level file past Debian's ignore-everything block, without a diff", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfilter-ignore-"));
    const git = (...args: string[]) => spawnSync("git", ["-C", dir, ...args], { encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
    try {
      git("init", "-q");
      writeFileSync(join(dir, ".gitignore"), "*.o\n\n#\n# Debian packaging: ignore everything at the top level, since it isn't\n# included in our repository\n#\n/*\n!/debian/\n");
      git("add", "-f", ".gitignore");
      git("commit", "-q", "-m", "base");
      mkdirSync(join(dir, "Documentation"));
      writeFileSync(join(dir, "Documentation", "new.rst"), "x\n");
      expect(git("add", "Documentation/new.rst").status).not.toBe(0);
      relaxDebianIgnore(dir);
      expect(git("add", "Documentation/new.rst").status).toBe(0);
      expect(git("status", "--porcelain").stdout).toBe("A  Documentation/new.rst\n");
      writeFileSync(join(dir, "x.o"), "");
      expect(git("status", "--porcelain", "--ignored").stdout).toMatch(/^!! x\.o$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("leaves a tree without .gitignore alone", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfilter-ignore-"));
    try {
      expect(() => relaxDebianIgnore(dir)).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
