/**
 * The series carries the selftests (tools/testing/selftests/bpfilter/) exactly as selftests/bpfilter/
 * holds them. Run after make kernel, which leaves build/linux = base + series.
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KERNEL_SRC } from "../src/lib/paths.ts";
import { kselftestMakefile, selftestsDrift } from "../src/kernel/selftests-sync.ts";

describe("the series' selftests patch", () => {
  it("carries exactly selftests/bpfilter/ (make selftests-sync folds changes in)", () => {
    expect(existsSync(KERNEL_SRC), `${KERNEL_SRC} missing: run make kernel first`).toBe(true);
    expect(selftestsDrift(KERNEL_SRC)).toEqual([]);
  });

  it("lists test_*.sh as TEST_PROGS and everything else as TEST_FILES", () => {
    expect(kselftestMakefile(["fake/f.c", "lib.sh", "test_a.sh", "test_b.sh"])).toBe(
      "# SPDX-License-Identifier: GPL-2.0\n# Each test_*.sh is one test; they build fake/fake_helper.c when\n" +
        "# they need it, against the installed uapi headers.\n" +
        "TEST_PROGS := \\\n\ttest_a.sh \\\n\ttest_b.sh\nTEST_FILES := \\\n\tfake/f.c \\\n\tlib.sh\n\ninclude ../lib.mk\n",
    );
  });
});
