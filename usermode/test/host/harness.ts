/**
 * Host-mode harness: builds the preload shim and the raw sockopt tool ipt_probe.c into a temp
 * dir, runs the helper in-process on a unix socket, and runs real iptables-legacy commands in
 * two fresh netns: one native (netfilter), one through the shim (bpfilter).
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { listenHost } from "../../src/ipc/host_server.ts";
import { requestNetnsOpener } from "../../src/ipc/request_netns.ts";
import type { Enforcer } from "../../src/service/enforcer.ts";
import { MemoryEnforcer } from "../service/memory_enforcer.ts";
import { KernelNetfilter } from "../../src/service/kernel_netfilter.ts";
import { callerNetnsInode } from "../../src/service/netns_inode.ts";
import { SockoptHandler } from "../../src/service/sockopt_handler.ts";
import { StatusStore } from "../../src/service/status_store.ts";
import { DirectoryTableStore } from "../../src/service/table_store.ts";

const repo = resolve(import.meta.dirname, "../../..");

/** Why the host tier cannot run here, or undefined if it can. */
export function hostTierUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "host tests need root (netns, iptables-legacy)";
  for (const tool of ["/usr/sbin/iptables-legacy", "/usr/sbin/iptables-legacy-save", "/usr/sbin/iptables-legacy-restore"]) {
    if (!existsSync(tool)) return `${tool} is not installed`;
  }
  return undefined;
}

/** Why BPF programs cannot be pinned here (no bpffs at /sys/fs/bpf), or undefined. */
export function bpffsUnavailable(): string | undefined {
  try {
    const type = execFileSync("stat", ["-f", "-c", "%T", "/sys/fs/bpf"], { encoding: "utf8" }).trim();
    return type === "bpf_fs" ? undefined : "bpffs is not mounted at /sys/fs/bpf";
  } catch {
    return "/sys/fs/bpf is missing";
  }
}

/** The result of one command. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running host-mode setup; close() removes everything it created. */
export class HostBench {
  readonly dir: string;
  readonly socket: string;
  readonly shim: string;
  /** The ipt_probe tool (ipt_probe.c): `dump`, `replace REQUEST INITIAL`, `badlen` or `badcounters INITIAL`. */
  readonly probe: string;
  readonly nativeNs: string;
  readonly bpfNs: string;
  readonly enforcer: Enforcer;
  readonly log: string[] = [];
  private server: Server | undefined;
  private readonly namespaces: string[] = [];

  /** The status store, when the bench keeps a state directory (bpfilter status reads it). */
  status: StatusStore | undefined;

  /**
   * `enforcer` is the enforcing side the helper uses (the in-memory test double by default);
   * with `stateDir`, the helper keeps its table store and status files there, as main.ts does.
   */
  constructor(
    enforcer: Enforcer = new MemoryEnforcer(),
    private readonly stateDir?: string,
  ) {
    this.enforcer = enforcer;
    this.dir = mkdtempSync(join(tmpdir(), "bpfilter-host-"));
    this.socket = join(this.dir, "helper.sock");
    this.shim = join(this.dir, "libbpfilter-preload.so");
    this.probe = join(this.dir, "ipt_probe");
    this.tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.nativeNs = `bpft-nf-${this.tag}`;
    this.bpfNs = `bpft-bpf-${this.tag}`;
  }

  private readonly tag: string;

  /** Makes netfilter list the filter table in both netns (/proc/net/ip_tables_names, read by iptables-save). */
  async touchFilterTables(): Promise<void> {
    await this.both(["iptables-legacy", "-S", "INPUT"]);
  }

  /**
   * Builds the shim and ipt_probe, starts the helper and creates both netns. Commands run with
   * bin/ first in PATH, where iptables, iptables-save and iptables-restore are the legacy ones
   * (so replays can say "iptables" as the tools do), and with their own xtables lock file (other
   * iptables users on the machine never make a command fail with "holding the xtables lock").
   */
  async start(): Promise<void> {
    mkdirSync(join(this.dir, "bin"));
    for (const tool of ["iptables", "iptables-save", "iptables-restore"]) symlinkSync("/usr/sbin/xtables-legacy-multi", join(this.dir, "bin", tool));
    const cc = ["-O2", "-Wall", "-Wextra", "-Werror"];
    execFileSync("cc", [...cc, "-shared", "-fPIC", "-o", this.shim, join(repo, "usermode/shim/bpfilter_preload.c"), "-ldl"]);
    execFileSync("cc", [...cc, "-o", this.probe, join(repo, "usermode/test/host/ipt_probe.c")]);
    const store = this.stateDir === undefined ? undefined : new DirectoryTableStore(this.stateDir);
    this.status = this.stateDir === undefined ? undefined : new StatusStore(this.stateDir, callerNetnsInode);
    const log = (line: string): void => void this.log.push(line);
    const handler = new SockoptHandler({ enforcer: this.enforcer, netfilter: new KernelNetfilter(), log, store, status: this.status });
    this.server = await listenHost(this.socket, {
      answer: (req) => handler.handle(req),
      log: (line) => this.log.push(line),
      trace: false,
      openNetns: requestNetnsOpener(),
      netnsGone: (cookie) => handler.netnsGone(cookie),
    });
    for (const ns of [this.nativeNs, this.bpfNs]) {
      execFileSync("ip", ["netns", "add", ns]);
      this.namespaces.push(ns);
    }
  }

  /** Runs a command in a netns, through bpfilter (the shim) or natively; never throws on exit codes. */
  run(via: "native" | "bpfilter", argv: readonly string[], stdin?: string): Promise<CommandResult> {
    const ns = via === "native" ? this.nativeNs : this.bpfNs;
    const common = [`PATH=${join(this.dir, "bin")}:/usr/sbin:/usr/bin:/sbin:/bin`, `XTABLES_LOCKFILE=${join(this.dir, "xtables.lock")}`];
    const env = via === "native" ? common : [...common, `LD_PRELOAD=${this.shim}`, `BPFILTER_SOCKET=${this.socket}`];
    return new Promise((done) => {
      const child = execFile(
        "ip",
        ["netns", "exec", ns, "env", ...env, ...argv],
        { encoding: "utf8", maxBuffer: 64 << 20 },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === "number" ? err.code : 255;
          done({ code, stdout, stderr });
        },
      );
      if (stdin !== undefined) child.stdin?.end(stdin);
      else child.stdin?.end();
    });
  }

  /**
   * Gives both netns an eth0 (10.201.0.2/24) joined by a veth pair to a peer netns of its own
   * (10.201.0.1/24, its end also named eth0), so that the same packets can go through both.
   * Returns the peers' netns names, native first.
   */
  connectPeers(): { native: string; bpfilter: string } {
    const peers = [this.nativeNs, this.bpfNs].map((ns) => {
      const peer = `${ns}-p`;
      execFileSync("ip", ["netns", "add", peer]);
      this.namespaces.push(peer);
      execFileSync("ip", ["link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", "eth0", "netns", peer]);
      for (const [where, address] of [[ns, "10.201.0.2/24"], [peer, "10.201.0.1/24"]] as const) {
        execFileSync("ip", ["-n", where, "addr", "add", address, "dev", "eth0"]);
        execFileSync("ip", ["-n", where, "link", "set", "eth0", "up"]);
        execFileSync("ip", ["-n", where, "link", "set", "lo", "up"]);
      }
      return peer;
    });
    return { native: peers[0]!, bpfilter: peers[1]! };
  }

  /** Runs the same command both ways. */
  async both(argv: readonly string[], stdin?: string): Promise<{ native: CommandResult; bpfilter: CommandResult }> {
    const native = await this.run("native", argv, stdin);
    const bpfilter = await this.run("bpfilter", argv, stdin);
    return { native, bpfilter };
  }

  /** Stops the helper and deletes the netns and the temp dir. */
  async close(): Promise<void> {
    for (const ns of this.namespaces) {
      try {
        execFileSync("ip", ["netns", "del", ns]);
      } catch {
        // already gone
      }
    }
    await new Promise<void>((done) => (this.server ? this.server.close(() => done()) : done()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** iptables-save output without its timestamp comment lines. */
export function maskSave(text: string): string {
  return text
    .split("\n")
    .filter((line) => !line.startsWith("# Generated by") && !line.startsWith("# Completed on"))
    .join("\n");
}
