/**
 * The bpfilter helper as a user runs it in host mode: `build/helper/bpfilter-helper --listen SOCK`
 * with its own state dir and pin root, and iptables-legacy under the LD_PRELOAD shim. The bench
 * treats it as a black box: it starts it, sends it iptables commands, reads its RSS, kills it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILD } from "../lib/paths.ts";

export const HELPER_EXE = join(BUILD, "helper", "bpfilter-helper");
export const SHIM = join(BUILD, "shim", "libbpfilter-preload.so");

let helpers = 0;

/** One helper process and its private socket, state dir and pin root. */
export class Helper {
  readonly dir = mkdtempSync(join(tmpdir(), "bpfilter-bench-"));
  readonly socket = join(this.dir, "helper.sock");
  readonly stateDir = join(this.dir, "state");
  readonly pinRoot = `/sys/fs/bpf/bpfilter-bench-${process.pid}-${++helpers}`;
  /** The tail of what the helper wrote on stderr. */
  log = "";
  /** How many characters it wrote in all (a mark for logSince). */
  logged = 0;
  private child: ChildProcess | undefined;
  /** Milliseconds from spawn until it printed "listening on". */
  listenMs = 0;

  /** The environment that makes iptables-legacy talk to this helper. */
  shimEnv(): Record<string, string> {
    return { LD_PRELOAD: SHIM, BPFILTER_SOCKET: this.socket };
  }

  /** Starts the helper; resolves once it listens (within `limitSeconds`). */
  async start(limitSeconds = 30): Promise<void> {
    const start = performance.now();
    this.listenMs = 0;
    const child = spawn(HELPER_EXE, ["--listen", this.socket], {
      env: { ...process.env, BPFILTER_STATE_DIR: this.stateDir, BPFILTER_PIN_ROOT: this.pinRoot },
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child = child;
    await new Promise<void>((ready, failed) => {
      const timer = setTimeout(() => failed(new Error(`the helper did not listen within ${limitSeconds} s: ${this.log}`)), limitSeconds * 1000);
      child.stderr!.on("data", (chunk: Buffer) => {
        this.logged += chunk.toString().length;
        this.log = (this.log + chunk.toString()).slice(-8000);
        if (this.listenMs === 0 && this.log.includes(`listening on ${this.socket}`)) {
          clearTimeout(timer);
          this.listenMs = performance.now() - start;
          ready();
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        failed(new Error(`the helper exited with ${code} before it listened: ${this.log}`));
      });
    });
  }

  /** What it wrote since `mark` (an earlier value of `logged`), as far as the kept tail reaches. */
  logSince(mark: number): string {
    return this.log.slice(Math.max(0, this.log.length - (this.logged - mark)));
  }

  /** The helper's pid (the pinned node, which the wrapper script execs). */
  get pid(): number {
    if (this.child?.pid === undefined) throw new Error("the helper is not running");
    return this.child.pid;
  }

  /** Whether the process is still there. */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** VmRSS and VmHWM (peak) of the helper, in KiB. */
  memory(): { rssKiB: number; peakKiB: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { rssKiB: field("VmRSS"), peakKiB: field("VmHWM") };
  }

  /** Kills the helper and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const gone = new Promise((done) => child.once("exit", done));
    child.kill("SIGKILL");
    await gone;
  }

  /** Kills it and starts it again on the same socket, state and pins (after a request that timed out). */
  async restart(): Promise<void> {
    await this.stop();
    rmSync(this.socket, { force: true });
    await this.start();
  }

  /** Stops the helper and removes its directory and its pins (the programs go with the netns). */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
    if (existsSync(this.pinRoot)) rmSync(this.pinRoot, { recursive: true, force: true });
  }
}
