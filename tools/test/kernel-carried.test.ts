/** What selftests-sync checks: the series' copies of the repository's carried files, byte for byte. */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { drift } from "../src/kernel/selftests-sync.ts";
import { scratch } from "./kernel-fixture.ts";

const root = scratch("carried");
afterAll(() => rmSync(root, { recursive: true, force: true }));

function files(base: string, list: Record<string, string>): void {
  for (const [p, text] of Object.entries(list)) {
    mkdirSync(dirname(join(base, p)), { recursive: true });
    writeFileSync(join(base, p), text);
  }
}

describe("drift", () => {
  const repo = join(root, "repo");
  const tree = join(root, "tree");
  files(repo, { "st/a.sh": "a\n", "st/sub/b.c": "b\n", "st/c.h": "c\n", "u/x.h": "x\n" });
  files(tree, { "t/st/a.sh": "a\n", "t/st/sub/b.c": "B\n", "t/st/old.sh": "o\n", "inc/x.h": "x\n" });

  it("names each file that is missing, extra or different, folders and single files alike", () => {
    expect(drift({ repo: "st", tree: "t/st" }, tree, repo)).toEqual([
      "st/c.h: not in the series",
      "st/old.sh: only in the series (t/st)",
      "st/sub/b.c: differs from the series' t/st/sub/b.c",
    ]);
    expect(drift({ repo: "u/x.h", tree: "inc/x.h" }, tree, repo)).toEqual([]);
    expect(drift({ repo: "u/x.h", tree: "inc/y.h" }, tree, repo)).toEqual(["inc/y.h is missing from the series"]);
  });
});
