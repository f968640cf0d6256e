import { describe, expect, it } from "vitest";
import { isPass, parseKtap, summarize, subtestSkips } from "../src/ktap.ts";

const ok = `boot noise
TAP version 13
1..3
# selftests: bpfilter: test_a.sh
# some output
ok 1 selftests: bpfilter: test_a.sh
ok 2 selftests: bpfilter: test_b.sh # SKIP needs root
  # nested subtest
  not ok 1 inner
ok 3 selftests: bpfilter: test_c.sh
`;

describe("parseKtap", () => {
  it("reads a well-formed report, ignoring noise before the version and indented subtests", () => {
    const r = parseKtap(ok);
    expect(r.problems).toEqual([]);
    expect(r.plan).toBe(3);
    expect(r.results.map((x) => [x.number, x.ok, x.name, x.directive])).toEqual([
      [1, true, "selftests: bpfilter: test_a.sh", undefined],
      [2, true, "selftests: bpfilter: test_b.sh", "SKIP"],
      [3, true, "selftests: bpfilter: test_c.sh", undefined],
    ]);
    expect(r.results[1]!.reason).toBe("needs root");
    expect(summarize(r)).toEqual({ passed: 2, failed: 0, skipped: 1 });
    expect(isPass(r)).toBe(true);
  });

  it.each([
    ["a not ok line", "TAP version 13\n1..2\nok 1 a\nnot ok 2 b # exit=1\n", { passed: 1, failed: 1, skipped: 0 }, []],
    ["a timeout", "TAP version 13\n1..1\nnot ok 1 a # TIMEOUT 120 seconds\n", { passed: 0, failed: 1, skipped: 0 }, []],
    ["an ok that says TIMEOUT", "TAP version 13\n1..1\nok 1 a # TIMEOUT\n", { passed: 0, failed: 1, skipped: 0 }, []],
    ["a short report", "TAP version 13\n1..3\nok 1 a\n", { passed: 1, failed: 0, skipped: 0 }, ["plan says 3 tests, 1 reported"]],
    ["no plan", "TAP version 13\nok 1 a\n", { passed: 1, failed: 0, skipped: 0 }, ["no plan line (1..N)"]],
    ["no version", "ok 1 a\n", { passed: 0, failed: 0, skipped: 0 }, ["no 'TAP version' line: the runner did not start"]],
    ["misnumbered", "TAP version 13\n1..2\nok 1 a\nok 3 b\n", { passed: 2, failed: 0, skipped: 0 }, ["test b is numbered 3, expected 2"]],
  ])("fails %s", (_what, text, counts, problems) => {
    const r = parseKtap(text);
    expect(summarize(r)).toEqual(counts);
    expect(r.problems).toEqual(problems);
    expect(isPass(r)).toBe(false);
  });
});

describe("subtestSkips", () => {
  it("finds a harness subtest's skip and its reason, at any nesting", () => {
    const text = "TAP version 13\n1..1\n# # SKIP      x\n# ok 17 helper.compat_callers # SKIP compat_probe not built: it needs i686-linux-gnu-gcc\n# ok 18 helper.other\n# # ok 2 a.b # SKIP no root\nok 1 selftests: bpfilter: test_helper\n";
    expect(subtestSkips(text)).toEqual([
      { name: "helper.compat_callers", reason: "compat_probe not built: it needs i686-linux-gnu-gcc" },
      { name: "a.b", reason: "no root" },
    ]);
  });
});
