import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkpatch, checkpatchTable, parseCheckpatch } from "../src/kernel/checkpatch.ts";
import { exportSeries, seriesNames } from "../src/kernel/export.ts";
import { builtKernelTree, commit, commitTwoPatches, kernelTreeSkip, makeBaseTree, scratch } from "./kernel-fixture.ts";

/** The tree make kernel builds, whose scripts/checkpatch.pl the test runs. */
const KERNEL = builtKernelTree("scripts/checkpatch.pl");
const root = scratch("checkpatch");
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("parseCheckpatch", () => {
  it.each([
    ["a clean patch", "total: 0 errors, 0 warnings, 0 checks, 12 lines checked\n", [0, 0, 0, 0]],
    [
      "an error and a check",
      "ERROR:TRAILING_WHITESPACE: trailing whitespace\n#20: FILE: a.c:3:\n+int x; $\n\nCHECK:SPACING: spaces preferred\n#21: FILE: a.c:4:\n\ntotal: 1 errors, 0 warnings, 1 checks, 8 lines checked\n",
      [1, 0, 1, 2],
    ],
    ["checkpatch without --strict's checks column", "total: 0 errors, 2 warnings, 5 lines checked\n", [0, 2, 0, 0]],
  ])("counts %s", (_, out, [e, w, c, m]) => {
    const row = parseCheckpatch("p.patch", out as string);
    expect([row.errors, row.warnings, row.checks, row.messages.length]).toEqual([e, w, c, m]);
  });
  it("refuses output without a total line, naming the patch", () => {
    expect(() => parseCheckpatch("0003-x.patch", "Must be run from the top-level dir. of a kernel tree\n")).toThrow(/no "total:" line for 0003-x\.patch/);
  });
  it("renders one row per patch and a total", () => {
    const t = checkpatchTable([
      { patch: "0001-a.patch", errors: 0, warnings: 1, checks: 2, messages: [] },
      { patch: "0002-b.patch", errors: 3, warnings: 0, checks: 0, messages: [] },
    ]);
    expect(t.split("\n")).toEqual([
      "| patch        | errors | warnings | checks |",
      "|--------------|--------|----------|--------|",
      "| 0001-a.patch |      0 |        1 |      2 |",
      "| 0002-b.patch |      3 |        0 |      0 |",
      "| total        |      3 |        1 |      2 |",
    ]);
  });
});

describe.runIf(KERNEL)("checkpatch.pl --strict on fixture patches", () => {
  it("passes the clean patches and flags the sloppy one", () => {
    const tree = makeBaseTree(root);
    commitTwoPatches(tree);
    commit(tree, { "net/bpfilter/extra.c": "// SPDX-License-Identifier: GPL-2.0\nint bpfilter_extra( void ) { return 1; } \n" }, "bpfilter: sloppy\n\nSigned-off-by: Ada Dev <ada@example.org>", "2024-03-04T09:00:00Z");
    const patches = join(root, "patches");
    mkdirSync(patches);
    exportSeries(tree, patches);
    const rows = checkpatch(KERNEL!, seriesNames(patches).map((n) => join(patches, n)));
    expect(rows.map((r) => [r.patch, r.errors + r.warnings > 0])).toEqual([
      ["0001-bpfilter-shorten-the-default-helper-timeout.patch", false],
      ["0002-bpfilter-describe-the-helper-in-Kconfig.patch", false],
      ["0003-bpfilter-sloppy.patch", true],
    ]);
    expect(rows[2]!.messages.join("\n")).toMatch(/TRAILING_WHITESPACE/);
  });
});
if (!KERNEL) console.log(kernelTreeSkip("the checkpatch.pl run", "scripts/checkpatch.pl"));
