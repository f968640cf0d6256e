/**
 * The real path on the host: the helper (main.ts --listen) as its own process, the LD_PRELOAD shim
 * and selftests/bpfilter/udp_flow.c built into a temp dir, and two netns "a" and "b" joined by a
 * veth pair (10.77.0.1 and 10.77.0.2). Pins and the table store go to private directories, so a
 * killed and restarted helper finds them again; close() removes everything.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../../..");

/** Why the real-path tests cannot run here, or undefined when they can. */
export function realPathUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (netns, BPF, iptables-legacy)";
  for (const tool of ["/usr/sbin/iptables-legacy", "/usr/sbin/bpftool"]) {
    if (!existsSync(tool)) return `${tool} is not installed (apt-get install iptables bpftool)`;
  }
  return undefined;
}

/** What a command printed and how it exited. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** UDP destination port of the flows. */
export const FLOW_PORT = 5000;

let benches = 0;

/** Helper process, shim, udp_flow and a netns pair; see the file comment. */
export class HelperBench {
  readonly dir = mkdtempSync(join(tmpdir(), "bpfilter-enforce-"));
  readonly socket = join(this.dir, "helper.sock");
  readonly shim = join(this.dir, "libbpfilter-preload.so");
  readonly udpFlow = join(this.dir, "udp_flow");
  readonly stateDir = join(this.dir, "state");
  readonly tag = `${process.pid}x${++benches}`;
  readonly pinRoot = `/sys/fs/bpf/bpfilter-test-${this.tag}`;
  readonly nsA = `bpfe-a-${this.tag}`;
  readonly nsB = `bpfe-b-${this.tag}`;
  readonly addrB = "10.77.0.2";
  /** The veth's name (the same on both ends). */
  readonly veth = `bpfe${this.tag}`.slice(0, 15);
  /** The name of a veth the differential tests create after a replace (bpfl+ matches it, bpfe+ does not). */
  readonly lateVeth = `bpfl${this.tag}`.slice(0, 15);
  /** Everything the helper wrote on stderr, across restarts. */
  helperLog = "";
  private helper: ChildProcess | undefined;

  /** Builds the shim and udp_flow, creates the netns pair, starts the helper (unless `helper` is false: a netfilter-only bench). */
  async start(helper = true): Promise<void> {
    const cc = ["-O2", "-Wall", "-Werror"];
    execFileSync("cc", [...cc, "-shared", "-fPIC", "-o", this.shim, join(repo, "usermode/shim/bpfilter_preload.c"), "-ldl"]);
    execFileSync("cc", [...cc, "-o", this.udpFlow, join(repo, "selftests/bpfilter/udp_flow.c")]);
    const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
    ip("netns", "add", this.nsA);
    ip("netns", "add", this.nsB);
    const veth = this.veth;
    ip("-n", this.nsA, "link", "add", veth, "type", "veth", "peer", "name", veth, "netns", this.nsB);
    ip("-n", this.nsA, "addr", "add", "10.77.0.1/24", "dev", veth);
    ip("-n", this.nsB, "addr", "add", `${this.addrB}/24`, "dev", veth);
    for (const ns of [this.nsA, this.nsB]) {
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "link", "set", veth, "up");
    }
    if (helper) await this.startHelper();
  }

  /** Starts the helper and resolves once it listens; `env` adds to its environment (BPFILTER_CRASH_AT). */
  async startHelper(env: Readonly<Record<string, string>> = {}): Promise<void> {
    // node --import tsx runs main.ts in this one process (the tsx CLI would run it in a child), so that
    // killHelper() kills the helper itself.
    const child = spawn(process.execPath, ["--import", "tsx", join(repo, "usermode/src/main.ts"), "--listen", this.socket], {
      cwd: repo,
      env: { ...process.env, BPFILTER_STATE_DIR: this.stateDir, BPFILTER_PIN_ROOT: this.pinRoot, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.helper = child;
    await new Promise<void>((ready, failed) => {
      const timer = setTimeout(() => failed(new Error(`helper did not listen within 20 s:\n${this.helperLog}`)), 20_000);
      let own = ""; // this process's stderr: helperLog holds earlier helpers' "listening" lines too
      child.stderr!.on("data", (chunk: Buffer) => {
        this.helperLog += chunk.toString();
        own += chunk.toString();
        if (own.includes(`listening on ${this.socket}`)) {
          clearTimeout(timer);
          ready();
        }
      });
      child.on("exit", (code) => failed(new Error(`helper exited with ${code} before listening:\n${this.helperLog}`)));
    });
  }

  /** Resolves once the helper has exited (it killed itself: BPFILTER_CRASH_AT), with its signal. */
  async helperExit(): Promise<string | null> {
    const child = this.helper;
    if (child === undefined) return null;
    if (child.exitCode === null && child.signalCode === null) await new Promise((done) => child.once("exit", done));
    this.helper = undefined;
    return child.signalCode;
  }

  /** SIGKILLs the helper (it gets no chance to clean up) and waits until it is gone. */
  async killHelper(): Promise<void> {
    const child = this.helper;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((done) => child.once("exit", done));
    child.kill("SIGKILL");
    await gone;
    this.helper = undefined;
  }

  /** Runs argv in netns `ns`; `via: "shim"` preloads the shim (bpfilter), "native" does not (netfilter). */
  run(ns: string, via: "shim" | "native", argv: readonly string[]): Promise<CommandResult> {
    const env = via === "shim" ? [`LD_PRELOAD=${this.shim}`, `BPFILTER_SOCKET=${this.socket}`] : [];
    return new Promise((done) => {
      execFile("ip", ["netns", "exec", ns, "env", ...env, ...argv], { encoding: "utf8" }, (err, stdout, stderr) => {
        done({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 255, stdout, stderr });
      });
    });
  }

  /** iptables-legacy in netns b, through the shim; throws with stderr when it fails. */
  async iptables(...args: string[]): Promise<string> {
    const result = await this.run(this.nsB, "shim", ["iptables-legacy", ...args]);
    if (result.code !== 0) throw new Error(`iptables-legacy ${args.join(" ")} (through the shim) exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  /** Sends `count` UDP datagrams a → b:5000; returns how many arrived. */
  flow(count = 20): number {
    const out = execFileSync(this.udpFlow, [
      "--from-ns", `/run/netns/${this.nsA}`, "--to-ns", `/run/netns/${this.nsB}`,
      "--to", this.addrB, "--port", String(FLOW_PORT), "--count", String(count), "--wait-ms", "300",
    ], { encoding: "utf8" });
    const match = /^sent (\d+) received (\d+)$/.exec(out.trim());
    if (match === null || Number(match[1]) !== count) throw new Error(`udp_flow printed '${out.trim()}'`);
    return Number(match[2]);
  }

  /** Stops the helper, deletes both netns, the pins and the temp dir. */
  async close(): Promise<void> {
    await this.killHelper();
    for (const ns of [this.nsA, this.nsB]) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // never created
      }
    }
    rmSync(this.pinRoot, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
