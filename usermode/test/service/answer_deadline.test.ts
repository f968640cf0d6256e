/** The kernel-mode deadline: the timeout_ms module parameter as the helper reads it, and its share. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { answerDeadline, COMPILE_SHARE, kernelTimeoutMs } from "../../src/service/answer_deadline.ts";

describe("kernelTimeoutMs", () => {
  const dir = mkdtempSync(join(tmpdir(), "bpfilter-timeout-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const param = (text: string): string => {
    const path = join(dir, `p${Math.random()}`);
    writeFileSync(path, text);
    return path;
  };

  it("reads the parameter as the kernel prints it", () => {
    expect(kernelTimeoutMs(param("5000\n"))).toBe(5000);
  });
  it("has no deadline without the parameter (host mode, a kernel without the series) or with a value that is not a wait", () => {
    expect(kernelTimeoutMs(join(dir, "absent"))).toBeUndefined();
    expect(kernelTimeoutMs(param("0\n"))).toBeUndefined();
    expect(kernelTimeoutMs(param("abc\n"))).toBeUndefined();
  });
});

describe("answerDeadline", () => {
  it("leaves the rest of the kernel's wait for handing the table to netfilter and replying", () => {
    const deadline = answerDeadline(250, 5000);
    expect(COMPILE_SHARE).toBeLessThan(1);
    expect(deadline.at).toBe(250 + 5000 * COMPILE_SHARE);
    expect(deadline.why).toMatch(/waits 5000 ms .*bpfilter\.timeout_ms.*raise it/);
  });
});
