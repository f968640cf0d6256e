import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["usermode/test/**/*.test.ts", "tools/test/**/*.test.ts"],
    testTimeout: 30_000,
    // Host BPF and netns tests share kernel state (interfaces, namespaces): run files one at a time.
    fileParallelism: false,
    // Lists every skip with its reason; BPFILTER_SKIPS=strict fails on a "not built yet" one.
    reporters: ["default", "./tools/src/vitest-skips.ts"],
  },
});
