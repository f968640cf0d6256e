/**
 * The cross builds of make series-check: the C files a patch touches, compiled with W=1 for a 32-bit
 * arch (i386) and a non-x86 arch (riscv), which catch what x86_64 lets through (xchg() on a bool,
 * u64 divisions, pointer-size assumptions, missing includes that x86 headers pull in). Each arch has
 * its own object dir below build/series-check/, configured once from tinyconfig plus
 * kernel/config/cross.config, and kept between runs, so each patch compiles only its own files.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { onPath, ToolError } from "../lib/proc.ts";
import { REPO } from "../lib/paths.ts";

/** An arch the touched files are also built for, and why. */
export interface CrossArch {
  readonly arch: string;
  readonly crossCompile: string;
  readonly why: string;
}

/** The two arches, with the Debian cross compilers make setup installs. */
export const CROSS_ARCHES: readonly CrossArch[] = [
  { arch: "i386", crossCompile: "i686-linux-gnu-", why: "32-bit" },
  { arch: "riscv", crossCompile: "riscv64-linux-gnu-", why: "not x86" },
];

/** The fragment merged over each arch's tinyconfig: what the touched files need to be built. */
export const CROSS_FRAGMENT = join(REPO, "kernel", "config", "cross.config");

/** How the touched files of one patch fared on one arch. */
export interface CrossResult {
  readonly arch: string;
  /** The C files of the patch this arch's config builds. */
  readonly files: readonly string[];
  readonly ok: boolean;
  /** Compiler errors, and warnings on any line of those files ("file:line:col: ..."). */
  readonly problems: readonly string[];
}

function kmake(tree: string, obj: string, a: CrossArch, args: readonly string[]): { ok: boolean; log: string } {
  const r = spawnSync("make", ["-C", tree, `O=${obj}`, `ARCH=${a.arch}`, `CROSS_COMPILE=${a.crossCompile}`, ...args], {
    encoding: "utf8",
    maxBuffer: 256 << 20,
  });
  return { ok: r.status === 0, log: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** The object dir of an arch. */
export function crossObj(checkDir: string, a: CrossArch): string {
  return join(checkDir, `obj-${a.arch}`);
}

/** Configures the arch's object dir for the tree as it stands (cheap when nothing changed). */
function configure(tree: string, obj: string, a: CrossArch): void {
  mkdirSync(obj, { recursive: true });
  if (!existsSync(join(obj, ".config"))) {
    const tiny = kmake(tree, obj, a, ["tinyconfig"]);
    if (!tiny.ok) throw new ToolError(`${a.arch}: make tinyconfig failed:\n${tiny.log.split("\n").slice(-5).join("\n")}`);
  }
  const merge = spawnSync(join(tree, "scripts/kconfig/merge_config.sh"), ["-m", "-O", obj, join(obj, ".config"), CROSS_FRAGMENT], {
    cwd: tree,
    encoding: "utf8",
    env: { ...process.env, ARCH: a.arch, CROSS_COMPILE: a.crossCompile },
  });
  if (merge.status !== 0) throw new ToolError(`${a.arch}: merge_config.sh failed: ${merge.stderr.trim().split("\n").slice(-2).join(" | ")}`);
  for (const step of [["olddefconfig"], ["prepare"]]) {
    const r = kmake(tree, obj, a, step);
    if (!r.ok) throw new ToolError(`${a.arch}: make ${step.join(" ")} failed:\n${r.log.split("\n").filter((l) => /error/i.test(l)).slice(-5).join("\n")}`);
  }
}

/** The compiler's errors and warnings in a log that name one of `files`. */
export function crossProblems(log: string, files: readonly string[]): string[] {
  const lines = log.split("\n").filter((l) => /: (error|warning): /.test(l) && files.some((f) => l.includes(f)));
  return [...new Set(lines)];
}

/** Compiles the touched C files of the tree's current commit for each arch; the tree is checked out already. */
export function crossCheck(tree: string, checkDir: string, touched: readonly string[], log: (s: string) => void): CrossResult[] {
  const results: CrossResult[] = [];
  for (const a of CROSS_ARCHES) {
    if (!onPath(`${a.crossCompile}gcc`)) throw new ToolError(`${a.crossCompile}gcc not found: run make setup (it installs the ${a.arch} cross compiler)`);
    const obj = crossObj(checkDir, a);
    configure(tree, obj, a);
    // kbuild compiles a single object whether or not the config builds it; tools/ is userspace
    const files = touched.filter((f) => f.endsWith(".c") && !f.startsWith("tools/"));
    if (!files.length) {
      results.push({ arch: a.arch, files, ok: true, problems: [] });
      continue;
    }
    const r = kmake(tree, obj, a, ["W=1", ...files.map((f) => f.replace(/\.c$/, ".o"))]);
    const problems = crossProblems(r.log, files);
    results.push({ arch: a.arch, files, ok: r.ok && !problems.length, problems: r.ok || problems.length ? problems : [r.log.split("\n").slice(-3).join(" | ")] });
    log(`  ${a.arch} (${a.why}): ${files.length} file(s) ${r.ok && !problems.length ? "build cleanly" : "FAIL"}`);
  }
  return results;
}
