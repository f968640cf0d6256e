/**
 * bpfilter: what the helper enforces, read from its state directory and its pins (it works in
 * kernel mode too, where the helper only has pipes to the kernel).
 *   bpfilter status [NETNS]   per netns: who enforces the filter table and why, each rule with its
 *                             counters, the programs, maps and links with their ids, the recent log
 *   bpfilter dump [NETNS]     the same, and the programs' instructions annotated with their rules
 * NETNS is a netns inode (lsns, ls -l /proc/PID/ns/net) or cookie. Options: --state-dir DIR
 * (BPFILTER_STATE_DIR, default /run/bpfilter), --pin-root DIR (BPFILTER_PIN_ROOT, default
 * /sys/fs/bpf/bpfilter), --log N (log lines per netns, default 5).
 */
import { existsSync } from "node:fs";
import { isProgram } from "../program_entry.ts";
import { Dispatch } from "../enforce/dispatch.ts";
import { PIN_ROOT, TablePins } from "../enforce/pins.ts";
import { readListing, readStatusDir } from "../service/status_store.ts";
import { DirectoryTableStore, settleStored, STATE_DIR_DEFAULT } from "../service/table_store.ts";
import { dumpText, gather, statusText } from "./report.ts";

const USAGE = "usage: bpfilter status|dump [NETNS] [--state-dir DIR] [--pin-root DIR] [--log N]";

/** The parsed command line. */
export interface CliArgs {
  readonly command: "status" | "dump";
  readonly netns?: string;
  readonly stateDir: string;
  readonly pinRoot: string;
  readonly logLines: number;
}

/** Parses the command line; throws an Error naming the bad argument. */
export function parseCliArgs(args: readonly string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  const [command, ...rest] = args;
  if (command !== "status" && command !== "dump") throw new Error(command === undefined ? `no command given\n${USAGE}` : `unknown command '${command}'\n${USAGE}`);
  let netns: string | undefined;
  let stateDir = env.BPFILTER_STATE_DIR ?? STATE_DIR_DEFAULT;
  let pinRoot = env.BPFILTER_PIN_ROOT ?? PIN_ROOT;
  let logLines = 5;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    if (arg === "--state-dir") stateDir = value();
    else if (arg === "--pin-root") pinRoot = value();
    else if (arg === "--log") {
      logLines = Number(value());
      if (!Number.isInteger(logLines) || logLines < 0) throw new Error(`--log needs a number of lines, not '${rest[i]}'\n${USAGE}`);
    } else if (arg.startsWith("--")) throw new Error(`unknown option '${arg}'\n${USAGE}`);
    else if (netns === undefined) netns = arg;
    else throw new Error(`unexpected argument '${arg}' after ${netns}\n${USAGE}`);
  }
  return { command, netns, stateDir, pinRoot, logLines };
}

/** Runs the CLI; returns the exit status and writes to `out`/`err`. */
export function runCli(args: readonly string[], out: (line: string) => void, err: (line: string) => void, env: NodeJS.ProcessEnv = process.env): number {
  let cli: CliArgs;
  try {
    cli = parseCliArgs(args, env);
  } catch (e) {
    err(`bpfilter: ${(e as Error).message}`);
    return 64;
  }
  if (!existsSync(cli.stateDir)) {
    err(`bpfilter: no helper state in ${cli.stateDir}: the helper has not served any iptables request with this state directory (it keeps its state there; see --state-dir and BPFILTER_STATE_DIR)`);
    return 1;
  }
  const { statuses, problems } = readStatusDir(cli.stateDir);
  for (const p of problems) err(`bpfilter: cannot read ${p}`);
  const chosen = statuses.filter((s) => cli.netns === undefined || s.cookie === cli.netns || String(s.inode) === cli.netns);
  if (statuses.length === 0) {
    err(`bpfilter: no netns in ${cli.stateDir}: the helper has not served an iptables request for the filter table yet`);
    return 1;
  }
  if (chosen.length === 0) {
    err(`bpfilter: no netns ${cli.netns} in ${cli.stateDir}; known: ${statuses.map((s) => (s.inode !== undefined ? `${s.inode} (cookie ${s.cookie})` : `cookie ${s.cookie}`)).join(", ")}`);
    return 1;
  }
  const stored = new DirectoryTableStore(cli.stateDir).load();
  for (const status of chosen) {
    const record = stored.get(BigInt(status.cookie));
    const report = gather(status, record && settleStored(record, pinnedGeneration(cli.pinRoot, BigInt(status.cookie))), cli.pinRoot);
    for (const line of statusText(report, cli.logLines)) out(line);
    if (cli.command === "dump") for (const line of dumpText(report, readListing(cli.stateDir, status.cookie))) out(line);
  }
  return 0;
}


/** The generation the pins of a netns's filter table enforce, or undefined when there are none. */
function pinnedGeneration(pinRoot: string, cookie: bigint): number | undefined {
  const pins = new TablePins(pinRoot, cookie, "filter");
  return Dispatch.pinned(pins) ? Dispatch.pinnedGeneration(pins) : undefined;
}

if (isProgram(import.meta.url)) {
  // bpfilter status | head: a reader that stops early is not an error.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => process.exit(e.code === "EPIPE" ? 0 : 1));
  process.exitCode = runCli(
    process.argv.slice(2),
    (line) => process.stdout.write(`${line}\n`),
    (line) => process.stderr.write(`${line}\n`),
  );
}
