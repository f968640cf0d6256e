/**
 * The series carries the selftests, the protocol header and its documentation exactly as this
 * repository holds them (make selftests-sync folds changes in). Run after make kernel, which
 * leaves build/linux = base + series.
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KERNEL_SRC } from "../src/lib/paths.ts";
import { CARRIED, drift } from "../src/kernel/selftests-sync.ts";

describe("the series", () => {
  it.each(CARRIED.map((c) => [c.repo, c] as const))("carries %s exactly", (_repo, carried) => {
    expect(existsSync(KERNEL_SRC), `${KERNEL_SRC} missing: run make kernel first`).toBe(true);
    expect(drift(carried, KERNEL_SRC)).toEqual([]);
  });
});
