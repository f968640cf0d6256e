/**
 * The helper's entry point.
 *   --stdio        kernel mode: frames on stdin/stdout, logs on stderr
 *   --listen PATH  host mode: a unix socket server at PATH, for the LD_PRELOAD shim
 * BPFILTER_TRACE=1 logs every frame. BPFILTER_STATE_DIR keeps the tables across restarts
 * (default /run/bpfilter in both modes: the pinned programs keep the rules enforced across a restart,
 * so the tables that describe them must be kept too). BPFILTER_PIN_ROOT is where the programs,
 * links and counters are pinned (default /sys/fs/bpf/bpfilter).
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { listenHost } from "./ipc/host_server.ts";
import { requestNetnsOpener } from "./ipc/request_netns.ts";
import { type LoopOptions, serveSession } from "./ipc/loop.ts";
import { BPFILTER_IPC_VERSION } from "./ipc/protocol.ts";
import { BpfEnforcer } from "./enforce/bpf_enforcer.ts";
import { REGISTRY_REVISIONS } from "./table/registry_check.ts";
import { NetfilterPresence } from "./table/netfilter_presence.ts";
import { SERVED_TABLE, SockoptHandler, type SockoptRequest } from "./table/sockopt_handler.ts";
import { DirectoryTableStore, type TableStore } from "./table/table_store.ts";

/** The mode chosen on the command line. */
export type HelperMode = { readonly kind: "stdio" } | { readonly kind: "listen"; readonly path: string };

const USAGE = "usage: bpfilter-helper --stdio | --listen PATH";

/** Parses the command line; throws an Error naming the bad argument. */
export function parseArgs(args: readonly string[]): HelperMode {
  const [flag, value, ...rest] = args;
  if (flag === "--stdio" && value === undefined) return { kind: "stdio" };
  if (flag === "--listen") {
    if (value === undefined || value.startsWith("--")) throw new Error(`--listen needs a socket path\n${USAGE}`);
    if (rest.length > 0) throw new Error(`unexpected argument '${rest[0]}' after --listen ${value}\n${USAGE}`);
    return { kind: "listen", path: value };
  }
  if (flag === undefined) throw new Error(`no mode given\n${USAGE}`);
  if (flag === "--stdio") throw new Error(`unexpected argument '${value}' after --stdio\n${USAGE}`);
  throw new Error(`unknown argument '${flag}'\n${USAGE}`);
}

function log(line: string): void {
  process.stderr.write(`bpfilter: ${line}\n`);
}

/** The table store, or undefined (logged) when its directory cannot be made. */
function tableStore(): TableStore | undefined {
  const dir = process.env.BPFILTER_STATE_DIR ?? "/run/bpfilter";
  try {
    return new DirectoryTableStore(dir);
  } catch (err) {
    log(`warning: tables will not survive a restart: state dir ${dir}: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * Builds the loop options with the helper's handler. In kernel mode the helper also makes
 * netfilter list the served table in the caller's netns (the shim does it in host mode).
 */
export function helperLoopOptions(mode?: HelperMode): LoopOptions {
  const enforcer = new BpfEnforcer({ pinRoot: process.env.BPFILTER_PIN_ROOT, log });
  const handler = new SockoptHandler(enforcer, REGISTRY_REVISIONS, log, tableStore());
  const presence = mode?.kind === "stdio" ? new NetfilterPresence(SERVED_TABLE, log) : undefined;
  const answer = (req: SockoptRequest) => {
    presence?.touch(req);
    return handler.handle(req);
  };
  const netnsGone = (cookie: bigint) => handler.netnsGone(cookie);
  return { answer, log, trace: process.env.BPFILTER_TRACE === "1", openNetns: requestNetnsOpener(), netnsGone };
}

async function runStdio(opts: LoopOptions): Promise<number> {
  const write = (bytes: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())));
  const end = await serveSession(process.stdin, write, opts);
  switch (end.kind) {
    case "eof":
      return 0;
    case "version-mismatch":
      log(`the kernel speaks bpfilter protocol version ${end.peerVersion}, this helper speaks ${BPFILTER_IPC_VERSION}: exiting`);
      return 1;
    case "protocol-error":
      log(`protocol error, exiting: ${end.message}`);
      return 2;
  }
}

/** Runs the helper with `args`; resolves to the exit status (host mode runs until killed). */
export async function main(args: readonly string[]): Promise<number> {
  let mode: HelperMode;
  try {
    mode = parseArgs(args);
  } catch (err) {
    log((err as Error).message);
    return 64;
  }
  const opts = helperLoopOptions(mode);
  if (mode.kind === "stdio") return runStdio(opts);
  await listenHost(mode.path, opts);
  log(`listening on ${mode.path}`);
  return new Promise<number>(() => {});
}

/** Whether this module is the program (run directly or as the bundle), not imported by a test. */
function isProgram(): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isProgram()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`fatal: ${(err as Error).stack ?? String(err)}`);
      process.exit(70);
    },
  );
}
