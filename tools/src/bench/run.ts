/**
 * Commands with a time limit: a command that runs past its limit is killed (its whole process group)
 * and reported as timed out, never waited for. Times are wall-clock milliseconds.
 */
import { spawn } from "node:child_process";

/** How a bounded command ended. */
export interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** Set when the limit killed it: the limit in seconds. */
  readonly timedOutAfter?: number;
}

/** Options of one command. */
export interface RunOptions {
  readonly stdin?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly limitSeconds: number;
}

/** Runs argv to completion or to its limit; never throws for an exit status. */
export function runBounded(argv: readonly string[], options: RunOptions): Promise<Outcome> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error("runBounded: empty command");
  const start = performance.now();
  return new Promise((done) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, options.limitSeconds * 1000);
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.stdin.on("error", () => {
      // the command exited before reading all of its input: its exit status says why
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      done({ code: 127, stdout: "", stderr: `${cmd}: ${error.message}`, ms: performance.now() - start });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - start;
      const result = { code: code ?? 128 + (signal ? 9 : 0), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms };
      done(timedOut ? { ...result, timedOutAfter: options.limitSeconds } : result);
    });
    child.stdin.end(options.stdin ?? "");
  });
}

/** Like runBounded, but throws an Error naming the command and its stderr when it fails or times out. */
export async function mustRunBounded(argv: readonly string[], options: RunOptions): Promise<Outcome> {
  const outcome = await runBounded(argv, options);
  if (outcome.timedOutAfter !== undefined) throw new Error(`${argv.join(" ")}: timed out after ${outcome.timedOutAfter} s`);
  if (outcome.code !== 0) throw new Error(`${argv.join(" ")}: exit ${outcome.code}: ${lastLines(outcome.stderr)}`);
  return outcome;
}

/** The last lines of a command's output, on one line, for an error message. */
export function lastLines(text: string, count = 3): string {
  return text.trim().split("\n").slice(-count).join(" | ") || "(no output)";
}
