/**
 * The built-in launcher: QEMU under TCG, host root read-only over 9p, the console on
 * ttyS0 into a log file, the command's output on ttyS1 streamed to our stdout, and its
 * exit status behind a per-boot marker.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { BUILD, REPO } from "../lib/paths.ts";
import { shellQuote, type VmOptions } from "./args.ts";
import { diagnoseConsole } from "./kernel-check.ts";

/** What a boot produced. */
export interface VmResult {
  status: number;
  /** Why the status is 255, when it is. */
  failure?: string;
  consoleLog: string;
}

const KEEP_RUNS = 20;
/** Environment variables passed through to the guest command. */
const PASS_ENV = /^(BPFILTER_|KSFT_|T$|V$)/;

function prepareRun(opts: VmOptions): { dir: string; nonce: string } {
  const nonce = `bpfvm-${randomBytes(6).toString("hex")}`;
  const runs = join(BUILD, "vm");
  mkdirSync(runs, { recursive: true });
  const old = readdirSync(runs).map((e) => ({ e, t: statSync(join(runs, e)).mtimeMs })).sort((a, b) => b.t - a.t);
  for (const { e } of old.slice(KEEP_RUNS - 1)) rmSync(join(runs, e), { recursive: true, force: true });
  const dir = join(runs, nonce);
  mkdirSync(dir);
  const env = Object.entries(process.env)
    .filter(([k, v]) => PASS_ENV.test(k) && v !== undefined)
    .map(([k, v]) => `export ${k}=${shellQuote([v!])}\n`)
    .join("");
  writeFileSync(join(dir, "cmd"), `${env}exec ${shellQuote(opts.command)}\n`);
  writeFileSync(join(dir, "cwd"), process.cwd());
  return { dir, nonce };
}

/** Boots the kernel, runs the command, and resolves with its status (255 on any boot failure). */
export function runQemu(opts: VmOptions): Promise<VmResult> {
  const { dir, nonce } = prepareRun(opts);
  const consolePath = join(dir, "console.log");
  const append = [
    "console=ttyS0",
    "root=root",
    "rootfstype=9p",
    "rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose",
    "ro",
    `init=${join(REPO, "tools/guest/init")}`,
    "panic=-1",
    "oops=panic",
    "loglevel=4",
    "tsc=reliable",
    "no_timer_check",
    `bpfvm.dir=${dir}`,
    `bpfvm.nonce=${nonce}`,
    `bpfvm.repo=${REPO}`,
    opts.append,
  ].join(" ");
  const args = [
    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
    "-accel", "tcg", "-cpu", "max", "-m", opts.memory, "-smp", String(opts.cpus),
    "-kernel", opts.kernel, "-append", append.trim(),
    "-virtfs", "local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap",
    "-serial", `file:${consolePath}`,
    "-chardev", "stdio,id=out,signal=off",
    "-serial", "chardev:out",
  ];
  return new Promise((resolve) => {
    const child = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
    let status: number | undefined;
    let pending = "";
    let stderr = "";
    let timedOut = false;
    // The marker may follow output that did not end its last line.
    const marker = new RegExp(`^(.*)${nonce} exit (\\d+)$`);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      pending += chunk.replace(/\r\n/g, "\n");
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const m = marker.exec(line);
        if (!m) process.stdout.write(line + "\n");
        else {
          if (m[1]) process.stdout.write(m[1] + "\n");
          status = Number(m[2]);
        }
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutSec * 1000);
    const finish = (failure?: string) => {
      clearTimeout(timer);
      if (pending) process.stdout.write(pending);
      let consoleLog = "";
      try {
        consoleLog = readFileSync(consolePath, "utf8");
      } catch {
        /* QEMU never started */
      }
      const rel = relative(REPO, consolePath);
      if (status !== undefined && !failure) return resolve({ status, consoleLog });
      const why =
        failure ??
        (timedOut ? `timed out after ${opts.timeoutSec} s (console: ${rel})` : `${diagnoseConsole(consoleLog)} (console: ${rel})`);
      resolve({ status: 255, failure: why, consoleLog });
    };
    child.on("error", (err) => finish(`cannot start qemu-system-x86_64: ${err.message} (run make setup)`));
    child.on("close", (code) => {
      if (code !== 0 && !timedOut && status === undefined) {
        const line = stderr.trim().split("\n").pop() ?? "";
        if (line) return finish(`qemu-system-x86_64 exited ${code}: ${line}`);
      }
      finish();
    });
  });
}
