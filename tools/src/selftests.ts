/**
 * make vm-test [T=name,...]: boots the kernel, runs selftests/bpfilter/run_tests.sh in it,
 * parses the KTAP it prints, and fails on any not ok, on a malformed report, or on a failed boot.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO } from "./lib/paths.ts";
import { helperAppend } from "./lib/helper_append.ts";
import { toolMain } from "./lib/proc.ts";
import { isPass, parseKtap, subtestSkips, summarize } from "./ktap.ts";
import { skipReport } from "./skips.ts";

/** Boot + all selftests must finish within this; each test has its own bound in settings. */
const VM_TIMEOUT_SEC = 1500;

function runInVm(tests: string[], extraVmArgs: string[]): Promise<{ status: number; output: string }> {
  return new Promise((resolve) => {
    const argv = [...extraVmArgs, ...helperAppend(), "--timeout", String(VM_TIMEOUT_SEC), "--", "selftests/bpfilter/run_tests.sh", ...tests];
    const child = spawn(join(REPO, "tools/vm"), argv, { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      output += d;
      process.stdout.write(d);
    });
    child.on("close", (code) => resolve({ status: code ?? 255, output }));
  });
}

await toolMain("vm-test", async () => {
  const tests = (process.env.T ?? "").split(/[ ,]+/).filter(Boolean);
  const { status, output } = await runInVm(tests, process.argv.slice(2));
  const report = parseKtap(output);
  const { passed, failed, skipped } = summarize(report);
  for (const r of report.results.filter((r) => !r.ok || r.directive === "TIMEOUT")) console.log(`vm-test: FAILED ${r.name}`);
  const skips = report.results.filter((r) => r.directive === "SKIP");
  for (const r of skips) console.log(`vm-test: skipped ${r.name}: ${r.reason}`);
  // Under make test the guest runs the kernel and helper make test built: no skip for lack of them.
  const subtests = subtestSkips(output);
  for (const r of subtests) console.log(`vm-test: skipped subtest ${r.name}: ${r.reason}`);
  const { refused } = skipReport([...skips, ...subtests].map((r) => ({ file: "selftests", name: r.name, reason: r.reason || undefined })));
  const strict = process.env.BPFILTER_SKIPS === "strict";
  if (strict) for (const r of refused) console.log(`vm-test: FAILED ${r}`);
  for (const p of report.problems) console.log(`vm-test: malformed KTAP: ${p}`);
  console.log(`selftests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  if (status === 255) console.log("vm-test: the guest did not finish (see the tools/vm line above)");
  return isPass(report) && (status === 0 || status === 1) && !(strict && refused.length) ? 0 : 1;
});
