/**
 * make fastloop: measures the kernel developer's inner loop. In a scratch copy of the repository
 * (so kernel/patches and build/kernel/bzImage are never touched), it changes one line of a
 * net/bpfilter file in the edit tree, folds it into its patch with git, exports, rebuilds with
 * make kernel (build/linux and build/kernel-obj are shared, under make kernel's lock, so the
 * build is the real incremental one) and runs one selftest in the VM. It prints each step's
 * time and the machine's load, then removes the scratch copy.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { mustCapture, toolMain, ToolError } from "../lib/proc.ts";
import { BUILD, REPO } from "../lib/paths.ts";
import { isMain } from "./main-guard.ts";

/** The file the loop changes, and the selftest it runs. */
export const FASTLOOP_FILE = "net/bpfilter/bpfilter_kern.c";
const DEFAULT_TEST = "test_iptables_basic";
/**
 * build/ entries the scratch copy gets its own of; every other one is shared through a symlink.
 * helper/ is private: its wrapper names absolute paths, and the scratch copy is deleted after.
 */
const PRIVATE_BUILD = new Set(["helper", "kernel", "kernel-cache", "kernel-edit", "series", "series-tree", "series-check", "fastloop"]);

/** One timed step. */
export interface LoopStep {
  readonly step: string;
  readonly seconds: number;
}

/** The one-line change: a comment line the loop appends to the file's first block comment. */
export function oneLineChange(source: string, file: string): string {
  const at = source.indexOf(" */\n");
  if (at < 0) throw new ToolError(`${file}: no block comment to add the fastloop line to`);
  return `${source.slice(0, at)} * (fastloop: a one-line change)\n${source.slice(at)}`;
}

function run(cwd: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, env, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new ToolError(`${argv.join(" ")} (in ${cwd}) failed with exit status ${r.status ?? r.signal}`);
}

/** Copies the repository's files (tracked and untracked, not ignored) and links node_modules and the shared build dirs. */
export function makeScratch(scratch: string): void {
  const files = mustCapture(["git", "-C", REPO, "ls-files", "-co", "--exclude-standard", "-z"]).split("\0").filter(Boolean);
  const list = join(dirname(scratch), "fastloop-files");
  writeFileSync(list, files.filter((f) => existsSync(join(REPO, f))).join("\0"));
  mustCapture(["rsync", "-a", "--from0", `--files-from=${list}`, `${REPO}/`, `${scratch}/`]);
  symlinkSync(join(REPO, "node_modules"), join(scratch, "node_modules"));
  mkdirSync(join(scratch, "build"), { recursive: true });
  for (const e of readdirSync(BUILD)) {
    if (!PRIVATE_BUILD.has(e)) symlinkSync(join(BUILD, e), join(scratch, "build", e));
  }
}

/** Runs the loop in a scratch copy; returns the timed steps. */
export function fastloop(test: string): LoopStep[] {
  if (!existsSync(join(BUILD, "linux", ".git")) || !existsSync(join(BUILD, "kernel-obj", "vmlinux"))) {
    throw new ToolError("make kernel has not built yet (build/linux, build/kernel-obj): run it once first, the loop measures the incremental rebuild");
  }
  const root = join(BUILD, "fastloop");
  rmSync(root, { recursive: true, force: true });
  const scratch = join(root, "repo");
  mkdirSync(scratch, { recursive: true });
  try {
    makeScratch(scratch);
    const make = (target: string, ...vars: string[]) => run(scratch, ["make", "--no-print-directory", target, ...vars]);
    console.log("fastloop: setting up (untimed): kernel-edit in the scratch copy, then a make kernel of the current series");
    make("kernel-edit");
    make("kernel");
    const edit = join(scratch, "build", "kernel-edit");
    const target = mustCapture(["git", "-C", edit, "log", "-1", "--format=%H", "base..HEAD", "--", FASTLOOP_FILE]).trim();
    if (!target) throw new ToolError(`no patch of the series touches ${FASTLOOP_FILE}`);
    const steps: LoopStep[] = [];
    const timed = (step: string, fn: () => void) => {
      const t0 = performance.now();
      fn();
      steps.push({ step, seconds: (performance.now() - t0) / 1000 });
    };
    timed(`edit ${FASTLOOP_FILE}, git commit --fixup, git rebase -i --autosquash`, () => {
      const path = join(edit, FASTLOOP_FILE);
      writeFileSync(path, oneLineChange(readFileSync(path, "utf8"), FASTLOOP_FILE));
      run(edit, ["git", "commit", "-q", "-a", `--fixup=${target}`]);
      run(edit, ["git", "rebase", "-q", "-i", "--autosquash", "base"], { ...process.env, GIT_SEQUENCE_EDITOR: "true" });
    });
    timed("make kernel-export", () => make("kernel-export"));
    timed("make kernel (incremental)", () => make("kernel"));
    timed(`make vm-test T=${test}`, () => make("vm-test", `T=${test}`));
    return steps;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  await toolMain("fastloop", () => {
    const test = process.env.T ?? DEFAULT_TEST;
    const before = loadavg()[0]!;
    const steps = fastloop(test);
    const total = steps.reduce((s, x) => s + x.seconds, 0);
    console.log("\nfastloop: one-line change in net/bpfilter → export → make kernel → one selftest");
    for (const s of steps) console.log(`  ${s.seconds.toFixed(1).padStart(6)} s  ${s.step}`);
    console.log(`  ${total.toFixed(1).padStart(6)} s  total`);
    console.log(`fastloop: load average ${before.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after, on ${mustCapture(["nproc"]).trim()} cores`);
    return 0;
  });
}
