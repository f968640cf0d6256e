import { describe, expect, it } from "vitest";
import { judgeSkip, skipReport } from "../src/skips.ts";
import { skipReason } from "../src/vitest-skips.ts";

describe("which skips make test accepts", () => {
  it.each([
    "host tests need root (netns, iptables-legacy)",
    "no /dev/kvm",
    "user namespaces are not available",
    "known gap, not tested: with forwarding off, bpf_fib_lookup answers FWD_DISABLED",
  ])("accepts a cause outside the project: %s", (reason) => {
    expect(judgeSkip(reason)).toEqual({ accepted: true });
  });

  it.each([
    "not built yet: build/linux has no scripts/checkpatch.pl (make kernel builds it)",
    "no kernel tree with scripts/checkpatch.pl (run make kernel)",
    "/usr/sbin/iptables-legacy is not installed (apt-get install iptables bpftool)",
    "needs trafgen (apt-get install netsniff-ng)",
    "no /sys/module/bpfilter/parameters/helper: this kernel lacks the bpfilter helper series",
  ])("refuses a step of make setup or make test that did not run: %s", (reason) => {
    expect(judgeSkip(reason)).toMatchObject({ accepted: false, why: expect.stringMatching(/names a step of make setup or make test/) });
  });

  it("refuses a skip without a reason", () => {
    expect(judgeSkip(undefined)).toEqual({ accepted: false, why: "it printed no reason" });
    expect(judgeSkip("  ")).toEqual({ accepted: false, why: "it printed no reason" });
    expect(judgeSkip("no reason given")).toEqual({ accepted: false, why: "it printed no reason" });
  });

  it("groups skips by file and reason, and lists the refused ones", () => {
    const { lines, refused } = skipReport([
      { file: "a.test.ts", name: "one", reason: "needs root" },
      { file: "a.test.ts", name: "two", reason: "needs root" },
      { file: "b.test.ts", name: "three", reason: "not built yet: run make kernel" },
      { file: "c.test.ts", name: "four", reason: undefined },
      { file: "d.test.ts", name: "known gap: x", reason: "d tests: known gap: x" },
    ]);
    expect(lines).toEqual([
      "a.test.ts: skipped 2 tests: needs root",
      'b.test.ts: skipped "three": not built yet: run make kernel',
      'c.test.ts: skipped "four": (no reason printed)',
      "d.test.ts: skipped 1 test: d tests: known gap: x",
    ]);
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatch(/^b\.test\.ts: .*\[refused: its reason names a step/);
    expect(refused[1]).toMatch(/^c\.test\.ts: .*\[refused: it printed no reason\]$/);
  });
});

describe("a skipped test's reason", () => {
  it("is its ctx.skip note first", () => {
    expect(skipReason({ name: "t", note: "no /dev/kvm" }, ["skipping: something else"])).toBe("no /dev/kvm");
  });

  it("else what its file printed about skipping, or a line carrying the test's name", () => {
    expect(skipReason({ name: "the counters agree", note: undefined }, ["starting", "skipping BpfEnforcer host tests: needs root (BPF, netns)\n"])).toBe(
      "skipping BpfEnforcer host tests: needs root (BPF, netns)",
    );
    expect(skipReason({ name: "known gap, not tested: x", note: undefined }, ["differential tests: known gap, not tested: x"])).toBe(
      "differential tests: known gap, not tested: x",
    );
  });

  it("is undefined when the file printed nothing about it", () => {
    expect(skipReason({ name: "the counters agree", note: undefined }, ["hello", "the counters"])).toBeUndefined();
  });
});
