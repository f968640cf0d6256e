/**
 * Host-mode harness: builds the preload shim and the raw sockopt tool ipt_probe.c into a temp
 * dir, runs the helper in-process on a unix socket, and runs real iptables-legacy commands in
 * two fresh netns: one native (netfilter), one through the shim (bpfilter).
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { listenHost } from "../../src/ipc/host_server.ts";
import { requestNetnsOpener } from "../../src/ipc/request_netns.ts";
import type { ExtensionRevisions } from "../../src/table/revisions.ts";
import type { Enforcer } from "../../src/table/enforcer.ts";
import { MemoryEnforcer } from "../../src/table/memory_enforcer.ts";
import { SockoptHandler } from "../../src/table/sockopt_handler.ts";

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
  /** The ipt_probe tool (ipt_probe.c): `dump`, or `replace REQUEST INITIAL`. */
  readonly probe: string;
  readonly nativeNs: string;
  bpfNs: string;
  readonly enforcer: Enforcer;
  readonly log: string[] = [];
  private server: Server | undefined;
  private readonly namespaces: string[] = [];

  /** `enforcer` is the enforcing side the helper uses (the in-memory test double by default). */
  constructor(enforcer: Enforcer = new MemoryEnforcer()) {
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
  private renewals = 0;

  /** Replaces the bpfilter-side netns with a fresh one (new cookie: a table bpfilter serves again). */
  renewBpfNamespace(): void {
    execFileSync("ip", ["netns", "del", this.bpfNs]);
    this.namespaces.splice(this.namespaces.indexOf(this.bpfNs), 1);
    this.bpfNs = `bpft-bpf-${this.tag}-${++this.renewals}`;
    execFileSync("ip", ["netns", "add", this.bpfNs]);
    this.namespaces.push(this.bpfNs);
  }

  /** Makes netfilter list the filter table in both netns (/proc/net/ip_tables_names, read by iptables-save). */
  async touchFilterTables(): Promise<void> {
    await this.both(["iptables-legacy", "-S", "INPUT"]);
  }

  /** Builds the shim and ipt_probe, starts the helper and creates both netns. */
  async start(extensions: ExtensionRevisions): Promise<void> {
    const cc = ["-O2", "-Wall", "-Wextra", "-Werror"];
    execFileSync("cc", [...cc, "-shared", "-fPIC", "-o", this.shim, join(repo, "usermode/shim/bpfilter_preload.c"), "-ldl"]);
    execFileSync("cc", [...cc, "-o", this.probe, join(repo, "usermode/test/host/ipt_probe.c")]);
    const handler = new SockoptHandler(this.enforcer, extensions, (line) => this.log.push(line));
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
    const env = via === "native" ? [] : [`LD_PRELOAD=${this.shim}`, `BPFILTER_SOCKET=${this.socket}`];
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
