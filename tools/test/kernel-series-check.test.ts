import { describe, expect, it } from "vitest";
import { crossProblems } from "../src/kernel/cross-check.ts";
import { addedLines, buildErrors, classifyWarnings, seriesCheckTable, type PatchCheck } from "../src/kernel/series-check.ts";

const DIFF = `diff --git a/net/bpfilter/helper.c b/net/bpfilter/helper.c
--- a/net/bpfilter/helper.c
+++ b/net/bpfilter/helper.c
@@ -10,0 +11,3 @@ static int x;
+a
+b
+c
@@ -40 +43 @@ int f(void)
-old
+new
diff --git a/net/bpfilter/gone.c b/net/bpfilter/gone.c
--- a/net/bpfilter/gone.c
+++ b/net/bpfilter/gone.c
@@ -5,2 +4,0 @@
-x
-y
`;

describe("series-check", () => {
  it("reads the lines a patch adds from a zero-context diff", () => {
    const added = addedLines(DIFF);
    expect([...added.get("net/bpfilter/helper.c")!]).toEqual([11, 12, 13, 43]);
    expect([...added.get("net/bpfilter/gone.c")!]).toEqual([]);
  });

  it("blames a patch only for W=1 warnings on lines it adds", () => {
    const log = [
      "/work/x/linux/net/bpfilter/helper.c:12:5: warning: no previous prototype for 'g' [-Wmissing-prototypes]",
      "/work/x/linux/net/bpfilter/helper.c:30:1: warning: old one [-Wunused]",
      "/work/x/linux/net/core/dev.c:12:1: warning: not a touched file",
      "  CC      net/bpfilter/helper.o",
    ].join("\n");
    const { mine, elsewhere } = classifyWarnings(log, addedLines(DIFF));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatch(/helper\.c:12:5: warning: no previous prototype/);
    expect(elsewhere).toHaveLength(1);
    expect(elsewhere[0]).toMatch(/helper\.c:30:1/);
  });

  it("keeps the compiler's errors from a failed build, not make's own noise", () => {
    const log = "  CC      net/bpfilter/helper.o\n/src/net/bpfilter/helper.c:7:2: error: 'y' undeclared\nmake[3]: *** [scripts/Makefile.build:250: net/bpfilter/helper.o] Error 1\nmake: *** [Makefile:2012: .] Error 2\n";
    expect(buildErrors(log)).toEqual(["/src/net/bpfilter/helper.c:7:2: error: 'y' undeclared"]);
  });

  it("says which patch broke what", () => {
    const row = (index: number, built: boolean, w1Warnings: string[] = []): PatchCheck => ({
      index, subject: `patch ${index}`, built, errors: built ? [] : ["x.c:1:1: error: boom"], w1Files: ["x.c"], w1Warnings, w1Elsewhere: [],
      cross: [{ arch: "i386", files: ["x.c"], ok: true, problems: [] }, { arch: "riscv", files: ["x.c"], ok: index !== 4, problems: index === 4 ? ["x.c:3:1: error: bad xchg"] : [] }],
      seconds: 12,
    });
    const table = seriesCheckTable([row(1, true), row(2, false), row(3, true, ["x.c:2:1: warning: w"]), row(4, true)]);
    expect(table).toContain("| 2 | patch 2 | **NO** |");
    expect(table).toContain("| 4 | patch 4 | yes | 0 on its lines (0 elsewhere) in 1 file(s) | yes | **NO** | 12 s |");
    expect(table).toContain("patch 4 (patch 4):\n  riscv:\n    x.c:3:1: error: bad xchg");
    expect(table).toContain("patch 2 (patch 2):\n  breaks the build:\n    x.c:1:1: error: boom");
    expect(table).toContain("patch 3 (patch 3):\n  W=1 warnings on lines it adds:\n    x.c:2:1: warning: w");
    expect(table).not.toContain("patch 1 (patch 1):");
  });

  it("keeps the cross compiler's errors and warnings in the touched files only", () => {
    const log = "/t/net/bpfilter/bpfilter_kern.c:90:19: error: call to '__xchg_called_with_bad_pointer'\n/t/net/core/dev.c:1:1: warning: elsewhere\n  CC      net/bpfilter/helper.o\n";
    expect(crossProblems(log, ["net/bpfilter/bpfilter_kern.c", "net/bpfilter/helper.c"])).toEqual(["/t/net/bpfilter/bpfilter_kern.c:90:19: error: call to '__xchg_called_with_bad_pointer'"]);
  });
});
