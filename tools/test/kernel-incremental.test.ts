import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exportSeries, seriesNames } from "../src/kernel/export.ts";
import { configInputsKey } from "../src/kernel/incremental.ts";
import { applySeries } from "../src/kernel/tree.ts";
import { commit, commitTwoPatches, fgit, makeBaseTree, scratch } from "./kernel-fixture.ts";

const root = scratch("incremental");
afterAll(() => rmSync(root, { recursive: true, force: true }));
const LONG_AGO = new Date("2021-01-01T00:00:00Z");

describe("applySeries keeps make's view of unchanged files", () => {
  it("re-applying a series where one patch changed gives only that patch's file a new mtime", () => {
    const tree = makeBaseTree(root);
    commitTwoPatches(tree);
    const patches = join(root, "patches");
    mkdirSync(patches);
    exportSeries(tree, patches);
    const files = ["net/bpfilter/bpfilter_kern.c", "net/bpfilter/Kconfig"];
    for (const f of files) utimesSync(join(tree, f), LONG_AGO, LONG_AGO);
    // The first patch changes by one line; the second is the same.
    const first = join(patches, seriesNames(patches)[0]!);
    writeFileSync(first, readFileSync(first, "utf8").replace("+static int timeout_ms = 2000;", "+static int timeout_ms = 3000;"));
    applySeries(tree, seriesNames(patches).map((n) => join(patches, n)));
    expect(readFileSync(join(tree, files[0]!), "utf8")).toContain("3000");
    expect(statSync(join(tree, files[0]!)).mtime.getTime()).toBeGreaterThan(LONG_AGO.getTime());
    expect(statSync(join(tree, files[1]!)).mtime).toEqual(LONG_AGO);
  });

  it("does not restore the mtime of a file that was dirty before (its object was built from other bytes)", () => {
    const tree = makeBaseTree(root, "dirty");
    commitTwoPatches(tree);
    const patches = join(root, "patches-dirty");
    mkdirSync(patches);
    exportSeries(tree, patches);
    writeFileSync(join(tree, "net/bpfilter/Kconfig"), "local edit\n");
    utimesSync(join(tree, "net/bpfilter/Kconfig"), LONG_AGO, LONG_AGO);
    applySeries(tree, seriesNames(patches).map((n) => join(patches, n)));
    expect(statSync(join(tree, "net/bpfilter/Kconfig")).mtime.getTime()).toBeGreaterThan(LONG_AGO.getTime());
  });
});

describe("configInputsKey", () => {
  it("changes with a Kconfig file or a fragment, not with a C file", () => {
    const tree = makeBaseTree(root, "kconfig");
    const fragment = join(root, "frag.config");
    writeFileSync(fragment, "CONFIG_BPFILTER=y\n");
    const k0 = configInputsKey(tree, [fragment]);
    commit(tree, { "net/bpfilter/bpfilter_kern.c": "// changed\n" }, "c only", "2024-03-04T00:00:00Z");
    expect(configInputsKey(tree, [fragment])).toBe(k0);
    commit(tree, { "net/bpfilter/Kconfig": "config BPFILTER_UMH\n\tbool \"x\"\n" }, "kconfig", "2024-03-05T00:00:00Z");
    const k1 = configInputsKey(tree, [fragment]);
    expect(k1).not.toBe(k0);
    writeFileSync(fragment, "CONFIG_BPFILTER=n\n");
    expect(configInputsKey(tree, [fragment])).not.toBe(k1);
    expect(fgit(tree, ["status", "--porcelain"])).toBe("");
  });
});
