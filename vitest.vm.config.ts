import { defineConfig } from "vitest/config";

/** Tests that boot the built kernel: run after make kernel (make vm-launcher-test). */
export default defineConfig({
  test: {
    include: ["tools/test-vm/**/*.test.ts"],
    testTimeout: 180_000,
    fileParallelism: false,
    // Lists every skip with its reason; BPFILTER_SKIPS=strict fails on a "not built yet" one.
    reporters: ["default", "./tools/src/vitest-skips.ts"],
  },
});
