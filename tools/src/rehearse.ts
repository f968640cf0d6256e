/**
 * make rehearse: what a new user sees on a fresh Debian 12 machine of this kind. A clean root
 * (rehearse/root.ts) gets a clean clone of this checkout's HEAD (committed work only) at
 * /work/bpfilter and a copy of ../shared beside it; then `make run` and `make test` run there as
 * root, one after the other. It prints each one's verdict, wall time and load average, and keeps
 * the full logs and a summary in build/rehearse/<date>/. KEEP=1 keeps the root afterwards.
 */
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { BUILD, REPO } from "./lib/paths.ts";
import { capture, mustCapture, mustRun, toolMain, ToolError } from "./lib/proc.ts";
import { baseTarball, endProcessesIn, enterArgv, installNode, removeTree, unpackRoot, writeSources } from "./rehearse/root.ts";
import { freshDebianSources, hostSources } from "./rehearse/sources.ts";
import { duration, loadText, summaryLines, verdictText, type StepResult } from "./rehearse/summary.ts";

const WORK = join(BUILD, "rehearse");
const ROOT = join(WORK, "root");
/** Where the clone sits in the root: beside shared/, as on the machines of this project. */
const CLONE = "/work/bpfilter";
/** The commands a new user types, in order; STEPS="make setup" rehearses less, to try the rehearsal itself. */
const STEPS = (process.env.STEPS ?? "make run,make test").split(",").map((s) => s.trim()).filter(Boolean);
/** How often a running step reports that it is alive. */
const HEARTBEAT_MS = 120_000;

let interrupted = false;
let running: ReturnType<typeof spawn> | undefined;

/** Ends the running step's process group: SIGTERM, then SIGKILL after a grace period. */
function interrupt(): void {
  interrupted = true;
  const pid = running?.pid;
  if (pid === undefined) return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      // the group is gone
    }
  };
  signal("SIGTERM");
  setTimeout(() => signal("SIGKILL"), 10_000).unref();
}

/** Runs one step in the root, its output to `logFile`; heartbeats with elapsed time, load and the log's last line. */
function runStep(command: string, logFile: string, say: (s: string) => void): Promise<StepResult> {
  const start = Date.now();
  const load = [loadavg()[0]!];
  writeFileSync(logFile, `# ${command} in ${CLONE}, clean root, started ${new Date(start).toISOString()}\n`);
  return new Promise((done) => {
    const [cmd, ...args] = enterArgv(ROOT, `cd ${CLONE} && exec ${command}`);
    // Its own process group: unshare ignores SIGTERM while its child runs, so an interrupt ends the group.
    const child = spawn(cmd!, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    running = child;
    const write = (d: Buffer) => appendFileSync(logFile, d);
    child.stdout!.on("data", write);
    child.stderr!.on("data", write);
    const beat = setInterval(() => {
      load.push(loadavg()[0]!);
      const last = readFileSync(logFile, "utf8").trimEnd().split("\n").pop()?.slice(0, 120) ?? "";
      say(`${command}: ${duration(Date.now() - start)}, load ${load.at(-1)!.toFixed(1)}: ${last}`);
    }, HEARTBEAT_MS);
    // On exit, not close: a process the step left behind may hold its output open.
    child.on("exit", (code, signal) => {
      clearInterval(beat);
      running = undefined;
      load.push(loadavg()[0]!);
      const ms = Date.now() - start;
      const status = interrupted ? "interrupted" : (code ?? (signal ? 128 : 255));
      endProcessesIn(ROOT).then(
        (left) => left && say(`${command} left ${left} process(es) running in the root; ended them`),
        (err: Error) => say(err.message),
      ).finally(() => done({ command, status, ms, load }));
    });
  });
}

/** The tail of a log, for a failed step. */
function tail(file: string, n: number): string[] {
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-n);
}

function preflight(): { head: string; dirty: boolean } {
  if (process.getuid?.() !== 0) throw new ToolError("needs root (debootstrap, chroot, mounts)");
  for (const tool of ["debootstrap", "dpkg-repack", "unshare", "chroot"]) {
    if (capture(["sh", "-c", `command -v ${tool}`]).status !== 0) throw new ToolError(`${tool} is not installed: run make setup`);
  }
  if (!existsSync(resolve(REPO, "../shared"))) throw new ToolError(`${resolve(REPO, "../shared")} is missing: the tests read ../shared`);
  const head = mustCapture(["git", "-C", REPO, "log", "-1", "--format=%h %s"]).trim();
  const dirty = mustCapture(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"]).trim() !== "";
  return { head, dirty };
}

await toolMain("rehearse", async () => {
  const { head, dirty } = preflight();
  const stamp = new Date().toISOString().replace(/[:T]/g, "-").slice(0, 19);
  const logs = join(WORK, stamp);
  mkdirSync(logs, { recursive: true });
  rmSync(join(WORK, "latest"), { force: true });
  symlinkSync(stamp, join(WORK, "latest"));
  const say = (s: string) => {
    console.log(`rehearse: ${s}`);
    appendFileSync(join(logs, "summary.txt"), `${s}\n`);
  };
  const prepLog = join(logs, "prepare.log");
  const log = (s: string) => appendFileSync(prepLog, s);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, interrupt);
  }

  say(`${new Date().toISOString()}, ${REPO}: ${head}${dirty ? " (uncommitted changes are not rehearsed)" : ""}; logs in ${logs.replace(REPO + "/", "")}/`);
  const prepStart = Date.now();
  const sources = freshDebianSources(hostSources());
  const mirror = sources[0]!.uri;
  const { tarball, made } = baseTarball(WORK, mirror, join(logs, "debootstrap.log"));
  say(`${made ? "made" : "reused"} the Debian 12 base (debootstrap --variant=minbase bookworm + make, python3, ca-certificates): ${tarball}`);
  const steps: StepResult[] = [];
  try {
    unpackRoot(tarball, ROOT);
    writeSources(ROOT, sources);
    const node = installNode(ROOT, WORK, log);
    say(`node ${node.node}, npm ${node.npm} in the root: copied from this machine (its package source is not reachable): ${node.copied.join(", ")}`);
    mkdirSync(join(ROOT, "work"), { recursive: true });
    mustRun(["git", "clone", "-q", "--no-hardlinks", REPO, join(ROOT, CLONE)]);
    mustRun(["cp", "-a", resolve(REPO, "../shared"), join(ROOT, "work/shared")]);
    mustRun(["chmod", "-R", "a-w", join(ROOT, "work/shared")]);
    say(`root ready in ${duration(Date.now() - prepStart)}: ${CLONE} (clean clone of HEAD), /work/shared (read-only copy)`);

    for (const command of STEPS) {
      if (interrupted) break;
      const file = join(logs, `${command.replace(/\s+/g, "-")}.log`);
      say(`${command}: running (log: ${file.replace(REPO + "/", "")})`);
      const r = await runStep(command, file, say);
      steps.push(r);
      say(`${command}: ${verdictText(r.status)} in ${duration(r.ms)} (${loadText(r.load)})`);
      if (r.status !== 0 && r.status !== "interrupted") for (const l of tail(file, 25)) console.log(`  | ${l}`);
    }
  } finally {
    const ended = await endProcessesIn(ROOT);
    if (ended) say(`ended ${ended} process(es) left in the root`);
    if (process.env.KEEP === "1") say(`kept the root: ${ROOT}`);
    else removeTree(ROOT);
  }
  const { lines, pass } = summaryLines(steps, STEPS);
  for (const l of lines) say(l);
  if (interrupted) return 130;
  return pass ? 0 : 1;
});
