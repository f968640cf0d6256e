/**
 * The helper's entry point.
 *   --stdio        kernel mode: frames on stdin/stdout, logs on stderr
 *   --listen PATH  host mode: a unix socket server at PATH, for the LD_PRELOAD shim
 * BPFILTER_TRACE=1 logs every frame. BPFILTER_STATE_DIR keeps the tables across restarts
 * (default /run/bpfilter in both modes: the pinned programs keep the rules enforced across a restart,
 * so the tables that describe them must be kept too). BPFILTER_PIN_ROOT is where the programs,
 * links and counters are pinned (default /sys/fs/bpf/bpfilter). BPFILTER_CRASH_AT=staged|swapped|promoted
 * (a replace) or handed|released|taken (a hand-over) makes the helper SIGKILL itself at that step
 * (the crash tests).
 */
import { isProgram } from "./program_entry.ts";
import { listenHost } from "./ipc/host_server.ts";
import { requestNetnsOpener } from "./ipc/request_netns.ts";
import { type LoopOptions, serveSession } from "./ipc/loop.ts";
import { BPFILTER_IPC_VERSION } from "./ipc/protocol.ts";
import { BpfEnforcer, CRASH_POINTS, type CrashPoint } from "./enforce/bpf_enforcer.ts";
import { HANDOVER_CRASH_POINTS, type HandoverCrashPoint } from "./service/handover.ts";
import { KernelNetfilter } from "./service/kernel_netfilter.ts";
import { SockoptHandler } from "./service/sockopt_handler.ts";
import { kernelTimeoutMs } from "./service/answer_deadline.ts";
import { callerNetnsInode } from "./service/netns_inode.ts";
import { StatusStore } from "./service/status_store.ts";
import { DirectoryTableStore, STATE_DIR_DEFAULT, type TableStore } from "./service/table_store.ts";

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

/**
 * BPFILTER_CRASH_AT, for the crash tests: a step of a replace (CRASH_POINTS) or of a hand-over
 * (HANDOVER_CRASH_POINTS) at which the helper SIGKILLs itself.
 */
function crashPoint(value: string | undefined): { crashAt?: CrashPoint; handoverCrashAt?: HandoverCrashPoint } {
  if (value === undefined || value === "") return {};
  if ((CRASH_POINTS as readonly string[]).includes(value)) return { crashAt: value as CrashPoint };
  if ((HANDOVER_CRASH_POINTS as readonly string[]).includes(value)) return { handoverCrashAt: value as HandoverCrashPoint };
  throw new Error(`BPFILTER_CRASH_AT=${value}: not one of ${[...CRASH_POINTS, ...HANDOVER_CRASH_POINTS].join(", ")}`);
}

function log(line: string): void {
  process.stderr.write(`bpfilter: ${line}\n`);
}

/** The table store and the status store, or undefined (logged) when the directory cannot be made. */
function stateStores(): { store?: TableStore; status?: StatusStore } {
  const dir = process.env.BPFILTER_STATE_DIR ?? STATE_DIR_DEFAULT;
  try {
    return { store: new DirectoryTableStore(dir), status: new StatusStore(dir, callerNetnsInode) };
  } catch (err) {
    log(`warning: tables will not survive a restart and bpfilter status has nothing to show: state dir ${dir}: ${(err as Error).message}`);
    return {};
  }
}

/**
 * Builds the loop options with the helper's handler (the same in kernel and host mode, except
 * that in kernel mode a replace must be answered within the kernel's bpfilter.timeout_ms).
 */
export function helperLoopOptions(mode: HelperMode["kind"] = "listen"): LoopOptions {
  const stores = stateStores();
  // The enforcer's lines about one netns ("netns <cookie>: ...") also go to that netns's status (bpfilter status).
  const enforcerLog = (line: string): void => {
    log(line);
    const about = /^netns (\d+): (.*)$/s.exec(line);
    if (about !== null) stores.status?.log(BigInt(about[1]!), about[2]!);
  };
  const { crashAt, handoverCrashAt } = crashPoint(process.env.BPFILTER_CRASH_AT);
  // A netns the reaper releases is gone: the handler forgets it (once it exists: the enforcer reaps at its start too).
  let handler: SockoptHandler | undefined;
  const reapedBefore: bigint[] = [];
  const reaped = (cookie: bigint): void => void (handler === undefined ? reapedBefore.push(cookie) : handler.netnsGone(cookie));
  const enforcer = new BpfEnforcer({ pinRoot: process.env.BPFILTER_PIN_ROOT, log: enforcerLog, reaped, ...(crashAt && { crashAt }) });
  const peerTimeoutMs = mode === "stdio" ? () => kernelTimeoutMs() : undefined;
  handler = new SockoptHandler({
    enforcer,
    netfilter: new KernelNetfilter(),
    log,
    ...stores,
    ...(peerTimeoutMs && { peerTimeoutMs }),
    ...(handoverCrashAt && { crashAt: handoverCrashAt }),
  });
  for (const cookie of reapedBefore) handler.netnsGone(cookie);
  const served = handler;
  return {
    answer: (req) => served.handle(req),
    log,
    trace: process.env.BPFILTER_TRACE === "1",
    openNetns: requestNetnsOpener(),
    netnsGone: (cookie: bigint) => served.netnsGone(cookie),
  };
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
  const opts = helperLoopOptions(mode.kind);
  if (mode.kind === "stdio") return runStdio(opts);
  await listenHost(mode.path, opts);
  log(`listening on ${mode.path}`);
  return new Promise<number>(() => {});
}

if (isProgram(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`fatal: ${(err as Error).stack ?? String(err)}`);
      process.exit(70);
    },
  );
}
