/** tools/vm: boot a kernel, run one command in it, exit with its status (255 for a failed boot). */
import { KERNEL_IMAGE } from "../lib/paths.ts";
import { onPath } from "../lib/proc.ts";
import { parseVmArgs, UsageError, USAGE } from "./args.ts";
import { checkKernelConfig, checkKernelImage } from "./kernel-check.ts";
import { runQemu } from "./qemu.ts";
import { runVng } from "./vng.ts";

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseVmArgs(process.argv.slice(2), KERNEL_IMAGE);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message === "") {
      console.log(USAGE);
      return 0;
    }
    console.error(`tools/vm: ${err.message} (see tools/vm --help)`);
    return 2;
  }
  const problem = checkKernelImage(opts.kernel) ?? checkKernelConfig(opts.kernel);
  if (problem) {
    console.error(`tools/vm: ${problem}`);
    return 255;
  }
  const useVng = opts.launcher === "vng" || (opts.launcher === "auto" && process.env.BPFILTER_VM !== "qemu" && onPath("vng"));
  if (!useVng && !onPath("qemu-system-x86_64")) {
    console.error("tools/vm: qemu-system-x86_64 not found (run make setup)");
    return 255;
  }
  const result = await (useVng ? runVng(opts) : runQemu(opts));
  if (result.failure) {
    console.error(`tools/vm: ${result.failure}`);
    const tail = result.consoleLog.trimEnd().split("\n").slice(-15);
    if (tail.length && tail[0] !== "") console.error(`tools/vm: console tail:\n${tail.map((l) => `  | ${l}`).join("\n")}`);
  }
  return result.status;
}

process.exit(await main());
