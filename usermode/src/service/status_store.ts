/**
 * What `bpfilter status` and `bpfilter dump` show, kept by the helper in its state directory next
 * to the table store (one <cookie>.status.json per netns): who enforces the filter table and why,
 * how many rules it has and how many the programs compiled, the programs' listings, and the recent
 * log lines of that netns (at most LOG_LINES). The CLI reads these files and the pins; in kernel
 * mode it has no other way to ask the helper, which only has pipes to the kernel.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NetnsRef } from "../ipc/sockopt_call.ts";
import type { ProgramListing } from "./enforcer.ts";

/** The most log lines kept per netns. */
export const LOG_LINES = 50;

const SUFFIX = ".status.json";

/** One netns as the status file holds it. */
export interface NetnsStatus {
  /** The netns cookie (decimal; the pins' directory name). */
  readonly cookie: string;
  /** The netns inode, as `ls -l /proc/<pid>/ns/net` and lsns show it, when the helper could read it. */
  readonly inode?: number;
  /** The last caller's pid, when the request carried one (host mode). */
  readonly pid?: number;
  readonly owner: "bpfilter" | "netfilter";
  /** Why netfilter holds the table ("rule 3 in chain INPUT: match 'conntrack' revision 3 is not supported"). */
  readonly reason?: string;
  /** Rules in the table (entries that are not chain heads, policies or the end). */
  readonly rules?: number;
  /** Whether bpfilter's programs enforce it (a netns whose table is still the initial one is served unenforced). */
  readonly enforced?: boolean;
  /** The programs that run, as the enforcer loaded them. */
  readonly programs?: readonly ProgramListing[];
  /** Recent log lines, oldest first, each with its ISO time. */
  readonly log: readonly { readonly time: string; readonly line: string }[];
  /** When this file was last written (ISO time). */
  readonly updated: string;
}

/** What changes in a netns's status; log lines are added with log(). */
export type StatusChange = Omit<NetnsStatus, "cookie" | "log" | "updated" | "inode" | "pid">;

/** Reads every status file of `dir` (the CLI); a file that does not parse is reported, not fatal. */
export function readStatusDir(dir: string): { statuses: NetnsStatus[]; problems: string[] } {
  const statuses: NetnsStatus[] = [];
  const problems: string[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith(SUFFIX)).sort()) {
    try {
      statuses.push(JSON.parse(readFileSync(join(dir, name), "utf8")) as NetnsStatus);
    } catch (err) {
      problems.push(`${join(dir, name)}: ${(err as Error).message}`);
    }
  }
  return { statuses, problems };
}

/** The helper's side: keeps one status per netns in memory and writes it through to `dir`. */
export class StatusStore {
  private readonly byCookie = new Map<bigint, NetnsStatus>();

  /** Creates `dir` if needed and loads the statuses a previous helper left. */
  constructor(
    private readonly dir: string,
    /** The inode of a caller's netns, or undefined when it cannot be read. */
    private readonly inodeOf: (netns: NetnsRef) => number | undefined = () => undefined,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const status of readStatusDir(dir).statuses) this.byCookie.set(BigInt(status.cookie), status);
  }

  /** Records the state of the filter table of a netns. */
  update(netns: NetnsRef, change: StatusChange): void {
    const old = this.byCookie.get(netns.cookie);
    const inode = old?.inode ?? this.inodeOf(netns);
    const pid = netns.pid > 0 ? netns.pid : old?.pid;
    // A table taken over from pins keeps the listing its programs were loaded with.
    const programs = change.programs ?? (change.owner === "bpfilter" && change.enforced === true ? old?.programs : undefined);
    this.write({ ...change, programs, cookie: String(netns.cookie), inode, pid, log: old?.log ?? [], updated: new Date().toISOString() });
  }

  /** Adds a log line about a netns (the oldest go beyond LOG_LINES). */
  log(cookie: bigint, line: string): void {
    const old = this.byCookie.get(cookie) ?? { cookie: String(cookie), owner: "bpfilter", log: [], updated: "" };
    const log = [...old.log, { time: new Date().toISOString(), line }].slice(-LOG_LINES);
    this.write({ ...old, log, updated: new Date().toISOString() });
  }

  /** Forgets a netns (it is gone). */
  forget(cookie: bigint): void {
    this.byCookie.delete(cookie);
    rmSync(this.file(String(cookie)), { force: true });
  }

  private file(cookie: string): string {
    return join(this.dir, `${cookie}${SUFFIX}`);
  }

  private write(status: NetnsStatus): void {
    this.byCookie.set(BigInt(status.cookie), status);
    const path = this.file(status.cookie);
    writeFileSync(`${path}.tmp`, JSON.stringify(status), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }
}
