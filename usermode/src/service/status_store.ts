/**
 * What `bpfilter status` and `bpfilter dump` show, kept by the helper in its state directory next
 * to the table store: per netns, <cookie>.status.json (who enforces the filter table and why, how
 * many rules it has and how many the programs compiled, the programs, and the recent log lines of
 * that netns, at most LOG_LINES) and <cookie>.listing.json (the programs' instructions, written only
 * when they change: the status is rewritten at every log line). The CLI reads these files and the
 * pins; in kernel mode it has no other way to ask the helper, which only has pipes to the kernel.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NetnsRef } from "../ipc/sockopt_call.ts";
import type { ProgramListing } from "./enforcer.ts";

/** The most log lines kept per netns. */
export const LOG_LINES = 50;

const SUFFIX = ".status.json";
const LISTING_SUFFIX = ".listing.json";

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
  /** Rules that have code in the programs (a rule after an unconditional verdict may have none). */
  readonly compiled?: number;
  /** The programs that run, as the enforcer loaded them (their instructions: readListing). */
  readonly programs?: readonly ProgramSummary[];
  /** Recent log lines, oldest first, each with its ISO time. */
  readonly log: readonly { readonly time: string; readonly line: string }[];
  /** When this file was last written (ISO time). */
  readonly updated: string;
}

/** A program of the status: its name, id, chains and size. */
export interface ProgramSummary {
  readonly name: string;
  readonly id: number;
  readonly chains: readonly string[];
  readonly instructions: number;
}

/** What changes in a netns's status (with the programs' full listings, when they changed); log lines are added with log(). */
export type StatusChange = Omit<NetnsStatus, "cookie" | "log" | "updated" | "inode" | "pid" | "programs"> & {
  readonly programs?: readonly ProgramListing[];
};

/** The listings of a netns's programs (bpfilter dump), or [] when none was written. */
export function readListing(dir: string, cookie: string): ProgramListing[] {
  const path = join(dir, `${cookie}${LISTING_SUFFIX}`);
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as ProgramListing[]) : [];
}

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

/** The caller's pid when the request's netns path names it (host mode: /proc/<pid>/fd/N), for display. */
function callerPid(netns: NetnsRef): number | undefined {
  const m = /^\/proc\/(\d+)\//.exec(netns.path ?? "");
  return m === null ? undefined : Number(m[1]);
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
    const pid = callerPid(netns) ?? old?.pid;
    // A table taken over from pins keeps the listing its programs were loaded with.
    const kept = change.owner === "bpfilter" && change.enforced === true;
    const programs = change.programs?.map((p) => ({ name: p.name, id: p.id, chains: p.chains, instructions: p.text.length })) ?? (kept ? old?.programs : undefined);
    const compiled = change.compiled ?? (kept ? old?.compiled : undefined);
    const listing = join(this.dir, `${netns.cookie}${LISTING_SUFFIX}`);
    if (change.programs !== undefined) atomicWrite(listing, JSON.stringify(change.programs));
    else if (!kept) rmSync(listing, { force: true });
    const { programs: _listings, ...rest } = change;
    this.write({ ...rest, programs, compiled, cookie: String(netns.cookie), inode, pid, log: old?.log ?? [], updated: new Date().toISOString() });
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
    rmSync(join(this.dir, `${cookie}${LISTING_SUFFIX}`), { force: true });
  }

  private file(cookie: string): string {
    return join(this.dir, `${cookie}${SUFFIX}`);
  }

  private write(status: NetnsStatus): void {
    this.byCookie.set(BigInt(status.cookie), status);
    atomicWrite(this.file(status.cookie), JSON.stringify(status));
  }
}

/** Writes a file so that a reader sees the old or the new contents, never a part. */
function atomicWrite(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
