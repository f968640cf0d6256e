/** Runs the command through virtme-ng when it is installed (it does the same job, with its own init). */
import { spawn } from "node:child_process";
import { shellQuote, type VmOptions } from "./args.ts";
import type { VmResult } from "./qemu.ts";

/** Boots with vng --run; vng returns the command's exit status. KVM is disabled: it hangs on these machines. */
export function runVng(opts: VmOptions): Promise<VmResult> {
  const args = [
    "--run", opts.kernel, "--disable-kvm", "--cpus", String(opts.cpus), "--memory", opts.memory,
    "--cwd", process.cwd(), ...(opts.append ? ["--append", opts.append] : []), "--exec", shellQuote(opts.command),
  ];
  return new Promise((resolve) => {
    const child = spawn("vng", args, { stdio: ["ignore", "inherit", "inherit"] });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutSec * 1000);
    child.on("error", (err) => resolve({ status: 255, failure: `cannot start vng: ${err.message}`, consoleLog: "" }));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (signal) resolve({ status: 255, failure: `vng timed out after ${opts.timeoutSec} s`, consoleLog: "" });
      else resolve({ status: code ?? 255, consoleLog: "" });
    });
  });
}
