/** Small process helpers shared by the tools: run a command, fail with a one-line cause. */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";

/** An error whose message is the whole story for the user: the tools print it as one line. */
export class ToolError extends Error {
  override name = "ToolError";
}

/** Result of a finished command. */
export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs argv to completion, capturing output; never throws for a non-zero exit. */
export function capture(argv: readonly string[], opts: SpawnSyncOptions = {}): CommandResult {
  const [cmd, ...args] = argv;
  if (!cmd) throw new ToolError("capture: empty command");
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20, ...opts });
  if (r.error) throw new ToolError(`${cmd}: ${r.error.message}`);
  return { status: r.status ?? 128, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
}

/** Runs argv and returns its stdout; throws a ToolError naming the command and its last stderr line. */
export function mustCapture(argv: readonly string[], opts: SpawnSyncOptions = {}): string {
  const r = capture(argv, opts);
  if (r.status !== 0) {
    const tail = r.stderr.trim().split("\n").slice(-3).join(" | ") || `exit status ${r.status}`;
    throw new ToolError(`${argv.join(" ")}: ${tail}`);
  }
  return r.stdout;
}

/** Runs argv with inherited stdio; throws a ToolError when it fails. */
export function mustRun(argv: readonly string[], opts: SpawnSyncOptions = {}): void {
  const [cmd, ...args] = argv;
  if (!cmd) throw new ToolError("run: empty command");
  const r = spawnSync(cmd, args, { stdio: "inherit", ...opts });
  if (r.error) throw new ToolError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new ToolError(`${argv.join(" ")} failed with exit status ${r.status ?? r.signal}`);
}

/** Whether an executable is on PATH. */
export function onPath(name: string): boolean {
  return capture(["sh", "-c", `command -v ${name}`]).status === 0;
}

/** Wraps a tool's main: a ToolError is printed as one line and exits 1. */
export async function toolMain(tool: string, main: () => Promise<number> | number): Promise<never> {
  try {
    process.exit(await main());
  } catch (err) {
    if (err instanceof ToolError) {
      process.stderr.write(`${tool}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
