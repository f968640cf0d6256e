/**
 * make kernel: base tree + series → configured, verified, built bzImage, cached by
 * (base package version, series, config fragments), so an unchanged rebuild takes seconds.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { mustCapture, toolMain, ToolError } from "../lib/proc.ts";
import { BUILD, KERNEL_CACHE, KERNEL_CONFIG_OUT, KERNEL_IMAGE, KERNEL_OBJ, KERNEL_SRC, REPO } from "../lib/paths.ts";
import { describeMismatch, parseFragment, verifyConfig } from "./config.ts";
import { configInputsKey } from "./incremental.ts";
import { KbuildProgress } from "./progress.ts";
import { applySeries, ensureBaseTree, pinnedBase, seriesPatches, tarballPackageVersion } from "./tree.ts";

/** The config fragments merged over tinyconfig, in order. */
export const FRAGMENTS = ["kernel/config/base.config", "kernel/config/bpfilter.config"];
/** Bump when the way an image is produced changes, to invalidate cached images. */
const RECIPE = "tinyconfig+fragments v1";
/** Steps of a cold build of this config, measured; refined from each full build. */
const COLD_STEPS_ESTIMATE = 1650;
const CACHE_KEEP = 6;

const log = (s: string) => console.log(`kernel: ${s}`);

/** The cache key of an image: everything that decides its bytes. */
export function cacheKey(pkgVersion: string, patches: readonly string[], fragments: readonly string[]): string {
  const h = createHash("sha256").update(RECIPE).update("\0").update(pkgVersion);
  for (const p of patches) h.update("\0patch\0").update(basename(p)).update(readFileSync(p));
  for (const f of fragments) h.update("\0config\0").update(f).update(readFileSync(join(REPO, f)));
  return h.digest("hex").slice(0, 16);
}

function make(args: readonly string[], logFile: string, progress?: KbuildProgress): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(logFile, { flags: "a" });
    const child = spawn("make", ["-C", KERNEL_SRC, `O=${KERNEL_OBJ}`, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    for (const s of [child.stdout, child.stderr]) {
      s.pipe(out, { end: false });
      createInterface({ input: s }).on("line", (l) => progress?.line(l));
    }
    child.on("error", reject);
    child.on("close", (code) => {
      out.end();
      if (code === 0) resolve();
      else {
        const tail = readFileSync(logFile, "utf8").split("\n").filter((l) => /error|Error/.test(l)).slice(-5);
        reject(new ToolError(`make ${args.join(" ")} failed (exit ${code}); full log: ${logFile.replace(REPO + "/", "")}\n${tail.join("\n")}`));
      }
    });
  });
}

async function configure(logFile: string): Promise<void> {
  const dotconfig = join(KERNEL_OBJ, ".config");
  // Skipping an unchanged configure saves ~15 s of the edit-build-test loop.
  const inputs = configInputsKey(KERNEL_SRC, FRAGMENTS.map((f) => join(REPO, f)));
  const inputsFile = join(KERNEL_OBJ, ".bpfilter-config-inputs");
  if (existsSync(dotconfig) && existsSync(inputsFile) && readFileSync(inputsFile, "utf8") === inputs) {
    log("config inputs unchanged (fragments, Kconfig files, compiler): keeping build/kernel-obj/.config");
  } else {
    log(`configuring: tinyconfig + ${FRAGMENTS.map((f) => basename(f)).join(" + ")}`);
    await make(["tinyconfig"], logFile);
    mustCapture([join(KERNEL_SRC, "scripts/kconfig/merge_config.sh"), "-m", "-O", KERNEL_OBJ, dotconfig, ...FRAGMENTS.map((f) => join(REPO, f))], {
      cwd: KERNEL_SRC,
    });
    await make(["olddefconfig"], logFile);
  }
  const wanted = FRAGMENTS.flatMap((f) => parseFragment(readFileSync(join(REPO, f), "utf8"), f));
  const missing = verifyConfig(wanted, readFileSync(dotconfig, "utf8"));
  if (missing.length) {
    throw new ToolError(`config fragment options did not end up set:\n  ${missing.map(describeMismatch).join("\n  ")}`);
  }
  log(`config verified: all ${wanted.length} fragment options are set`);
  writeFileSync(inputsFile, inputs);
}

async function build(): Promise<void> {
  const t0 = Date.now();
  const pkg = tarballPackageVersion();
  const patches = seriesPatches();
  const key = cacheKey(pkg, patches, FRAGMENTS);
  const cached = join(KERNEL_CACHE, key);
  log(`base ${pinnedBase().pkg} ${pkg}, ${patches.length} patch(es) in kernel/patches/series, key ${key}`);
  if (!existsSync(join(cached, "bzImage"))) {
    mkdirSync(BUILD, { recursive: true });
    ensureBaseTree(KERNEL_SRC, log);
    log(`applying ${patches.length} patch(es) with git am`);
    applySeries(KERNEL_SRC, patches);
    writeFileSync(seriesStamp(), key);
    mkdirSync(KERNEL_OBJ, { recursive: true });
    const logFile = join(BUILD, "kernel", "build.log");
    mkdirSync(join(BUILD, "kernel"), { recursive: true });
    writeFileSync(logFile, "");
    await configure(logFile);
    const stepsFile = join(KERNEL_OBJ, ".bpfilter-steps");
    const fresh = !existsSync(join(KERNEL_OBJ, "vmlinux"));
    const expected = existsSync(stepsFile) && fresh ? Number(readFileSync(stepsFile, "utf8")) : COLD_STEPS_ESTIMATE;
    log(`building bzImage with ${mustCapture(["nproc"]).trim()} jobs (full log: build/kernel/build.log)`);
    const progress = new KbuildProgress(fresh ? expected : Math.max(50, expected / 10), (s) => process.stdout.write(s), process.stdout.isTTY === true);
    try {
      await make([`-j${mustCapture(["nproc"]).trim()}`, "bzImage"], logFile, progress);
    } finally {
      progress.done(existsSync(join(KERNEL_OBJ, "arch/x86/boot/bzImage")));
    }
    if (fresh) writeFileSync(stepsFile, String(progress.steps));
    mkdirSync(cached, { recursive: true });
    copyFileSync(join(KERNEL_OBJ, "arch/x86/boot/bzImage"), join(cached, "bzImage"));
    copyFileSync(join(KERNEL_OBJ, ".config"), join(cached, "config"));
  } else {
    log(`cached image found (build/kernel-cache/${key})`);
    // The tree is left as the series is, for the selftests and checks that read it.
    if (!treeHoldsSeries(key)) {
      ensureBaseTree(KERNEL_SRC, log);
      log(`applying ${patches.length} patch(es) with git am (build/linux held another series)`);
      applySeries(KERNEL_SRC, patches);
      writeFileSync(seriesStamp(), key);
    }
    const now = new Date();
    utimesSync(cached, now, now);
  }
  mkdirSync(join(BUILD, "kernel"), { recursive: true });
  copyFileSync(join(cached, "bzImage"), KERNEL_IMAGE);
  copyFileSync(join(cached, "config"), KERNEL_CONFIG_OUT);
  pruneCache();
  log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s: build/kernel/bzImage`);
}

/** Where make kernel notes the key of the series build/linux holds. */
function seriesStamp(): string {
  return join(KERNEL_SRC, ".git", "bpfilter-series-key");
}

/** Whether build/linux holds the series (and config) of `key`. */
function treeHoldsSeries(key: string): boolean {
  return existsSync(seriesStamp()) && readFileSync(seriesStamp(), "utf8") === key;
}

/** Keeps the most recently used images only. */
function pruneCache(): void {
  const entries = readdirSync(KERNEL_CACHE).map((e) => ({ e, t: statSync(join(KERNEL_CACHE, e)).mtimeMs }));
  entries.sort((a, b) => b.t - a.t);
  for (const { e } of entries.slice(CACHE_KEEP)) rmSync(join(KERNEL_CACHE, e), { recursive: true, force: true });
}

await toolMain("kernel", async () => {
  if (process.argv.length > 2) throw new ToolError(`unexpected argument ${process.argv[2]} (make kernel takes none)`);
  await build();
  return 0;
});
