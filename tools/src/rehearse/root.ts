/**
 * The clean root of make rehearse: a minimal Debian 12 from debootstrap (cached as a tarball, so
 * a second rehearsal downloads nothing, but unpacked anew every time), the Node.js and npm that
 * a new machine of this kind comes with, and a way to run commands in it with /proc, /sys, /dev,
 * a private bpffs and a tmpfs /run mounted in a private mount namespace: the mounts vanish with
 * the last process in it, so nothing stays mounted after a failure or a Ctrl-C.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { capture, mustCapture, mustRun, ToolError } from "../lib/proc.ts";
import { renderDeb822, type AptSource } from "./sources.ts";

/** Tarballs of debootstrap's result and the repacked Node.js; outlives make clean. */
export const CACHE = "/var/cache/bpfilter-rehearse";
const SUITE = "bookworm";
const VARIANT = "minbase";
/**
 * Beyond minbase: make, which is how the two commands start, and what nodejs depends on
 * (python3, ca-certificates). A new machine of this kind has more (g++, git, …); the root
 * leaves them out, so that make setup must install whatever the project uses.
 */
export const INCLUDE = ["make", "python3", "ca-certificates"] as const;
/** The PATH and environment of root's login shell on a fresh Debian 12. */
export const LOGIN_ENV = [
  "HOME=/root",
  "USER=root",
  "LOGNAME=root",
  "SHELL=/bin/bash",
  "LANG=C.UTF-8",
  "TERM=dumb",
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
];

/** Mounts the pseudo filesystems below $1 and runs the rest of argv chrooted there, with a login env. */
const ENTER = `set -eu
root=$1; shift
# The root must be a mount point, as / is on a machine: ip netns exec and ip -n make / a slave mount.
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount -t bpf bpf "$root/sys/fs/bpf"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
mount -t tmpfs -o mode=755 tmpfs "$root/run"
mkdir -p "$root/run/lock"
modules=/lib/modules/$(uname -r)
if [ -d "$modules" ]; then mkdir -p "$root$modules" && mount --bind -o ro "$modules" "$root$modules"; fi
exec chroot "$root" /usr/bin/env -i ${LOGIN_ENV.join(" ")} "$@"
`;

/**
 * argv that runs `command` (a shell command line) in the root. unshare gives it a private mount
 * namespace; --kill-child ends it when unshare dies.
 */
export function enterArgv(root: string, command: string): string[] {
  return ["unshare", "--mount", "--propagation", "private", "--fork", "--kill-child", "bash", "-c", ENTER, "enter", root, "/bin/bash", "-c", command];
}

/** Runs a command in the root to completion, output to the log; throws on failure. */
export function inRoot(root: string, command: string, log: (s: string) => void): void {
  const r = capture(enterArgv(root, command));
  log(r.stdout + r.stderr);
  if (r.status !== 0) throw new ToolError(`in the clean root, \`${command}\` failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split("\n").slice(-2).join(" | ")}`);
}

/** The cache key of a debootstrap result: what went into it. */
function baseKey(mirror: string): string {
  return createHash("sha256").update(JSON.stringify({ SUITE, VARIANT, INCLUDE, mirror })).digest("hex").slice(0, 12);
}

/**
 * The cached debootstrap tarball for this mirror, made first when missing. Returns its path and
 * whether it was made now.
 */
export function baseTarball(work: string, mirror: string, logFile: string): { tarball: string; made: boolean } {
  const tarball = join(CACHE, `${SUITE}-${VARIANT}-${baseKey(mirror)}.tar.gz`);
  if (existsSync(tarball)) return { tarball, made: false };
  mkdirSync(CACHE, { recursive: true });
  const tmp = join(work, "debootstrap");
  removeTree(tmp);
  const r = capture(["debootstrap", `--variant=${VARIANT}`, `--include=${INCLUDE.join(",")}`, SUITE, tmp, mirror]);
  writeFileSync(logFile, r.stdout + r.stderr);
  if (r.status !== 0) throw new ToolError(`debootstrap ${SUITE} from ${mirror} failed (exit ${r.status}): ${r.stdout.trim().split("\n").slice(-1)[0]} (log: ${logFile})`);
  mustRun(["tar", "--numeric-owner", "--xattrs", "-C", tmp, "-czf", `${tarball}.tmp`, "."]);
  renameSync(`${tarball}.tmp`, tarball);
  removeTree(tmp);
  return { tarball, made: true };
}

/** Processes whose root directory is `root` (the rehearsal's commands and what they left running). */
export function processesIn(root: string): number[] {
  return readdirSync("/proc").flatMap((pid) => {
    if (!/^\d+$/.test(pid)) return [];
    try {
      return readlinkSync(`/proc/${pid}/root`) === root ? [Number(pid)] : [];
    } catch {
      return []; // gone, or not ours to read
    }
  });
}

/** Ends every process left in the root (by pid: they were started there by the rehearsal). */
export async function endProcessesIn(root: string): Promise<number> {
  let ended = 0;
  for (let round = 0; round < 50; round++) {
    const pids = processesIn(root);
    if (!pids.length) return ended;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
        ended++;
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new ToolError(`processes ${processesIn(root).join(" ")} still run in ${root}: not removing it`);
}

/** Mount points of this mount namespace at or below `dir`. */
function mountsBelow(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(dir + "/"));
}

/** Removes a root, refusing while anything is mounted below it; never crosses into another filesystem. */
export function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  const mounted = mountsBelow(dir);
  if (mounted.length) throw new ToolError(`${mounted[0]} is mounted: not removing ${dir}`);
  mustRun(["rm", "-rf", "--one-file-system", dir]);
}

/** A pristine root from the tarball. */
export function unpackRoot(tarball: string, root: string): void {
  removeTree(root);
  mkdirSync(root, { recursive: true });
  mustRun(["tar", "--numeric-owner", "--xattrs", "-C", root, "-xzf", tarball]);
}

/** Writes the fresh Debian 12 apt sources into the root, replacing debootstrap's sources.list. */
export function writeSources(root: string, sources: readonly AptSource[]): void {
  rmSync(join(root, "etc/apt/sources.list"), { force: true });
  writeFileSync(join(root, "etc/apt/sources.list.d/debian.sources"), renderDeb822(sources));
}

/** What installNode put into the root, for the summary. */
export interface NodeInstall {
  readonly pkg: string;
  readonly version: string;
  readonly node: string;
  readonly npm: string;
  readonly copied: readonly string[];
}

/**
 * This machine's Node.js in the root, as a new machine of this kind has it: the nodejs package
 * repacked from this machine with dpkg-repack (its own archive is not reachable) and installed
 * with dpkg, then npm as this machine has it now (it upgrades npm in place after installing the
 * package), npm's global config, and the CA certificates added locally (/usr/local/share/
 * ca-certificates), without which TLS to the npm registry fails on this network.
 */
export function installNode(root: string, work: string, log: (s: string) => void): NodeInstall {
  const nodeBin = mustCapture(["sh", "-c", "command -v node"]).trim();
  const owner = capture(["dpkg-query", "-S", nodeBin]);
  if (owner.status !== 0) throw new ToolError(`${nodeBin} is not from a Debian package, so the rehearsal cannot install it as a new machine has it`);
  const pkg = owner.stdout.split(":")[0]!.trim();
  const version = mustCapture(["dpkg-query", "-W", "-f", "${Version}", pkg]).trim();
  const arch = mustCapture(["dpkg-query", "-W", "-f", "${Architecture}", pkg]).trim();
  const deb = join(CACHE, `${pkg}_${version.replace(/:/g, "%3a")}_${arch}.deb`);
  if (!existsSync(deb)) {
    const dir = join(work, "repack");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // Files that npm's in-place upgrade replaced are missing: dpkg-repack warns, and npm is copied whole below.
    const r = capture(["dpkg-repack", "--deb-option=-Znone", pkg], { cwd: dir });
    log(r.stdout + r.stderr);
    const built = readdirSync(dir).find((n) => n.endsWith(".deb"));
    if (r.status !== 0 || !built) throw new ToolError(`dpkg-repack ${pkg} failed (exit ${r.status}): ${r.stderr.trim().split("\n").slice(-1)[0]}`);
    mkdirSync(CACHE, { recursive: true });
    renameSync(join(dir, built), deb);
    rmSync(dir, { recursive: true, force: true });
  }
  cpSync(deb, join(root, "tmp", basename(deb)));
  inRoot(root, `dpkg -i /tmp/${basename(deb)} && rm /tmp/${basename(deb)}`, log);
  const copied = [`${pkg} ${version} (repacked from this machine)`];
  const npmDir = "/usr/lib/node_modules/npm";
  if (existsSync(npmDir)) {
    rmSync(join(root, npmDir), { recursive: true, force: true });
    cpSync(npmDir, join(root, npmDir), { recursive: true, verbatimSymlinks: true });
    copied.push(npmDir);
  }
  for (const rc of ["/etc/npmrc", "/usr/etc/npmrc"]) {
    if (!existsSync(rc)) continue;
    mkdirSync(join(root, rc, ".."), { recursive: true });
    cpSync(rc, join(root, rc));
    copied.push(rc);
  }
  const cas = "/usr/local/share/ca-certificates";
  const local = existsSync(cas) ? readdirSync(cas).filter((n) => n.endsWith(".crt")) : [];
  if (local.length) {
    for (const n of local) cpSync(join(cas, n), join(root, cas, n));
    inRoot(root, "update-ca-certificates", log);
    copied.push(`${local.length} CA certificate(s) from ${cas}`);
  }
  const versions = capture(enterArgv(root, "node --version && npm --version"));
  const [node, npm] = versions.stdout.trim().split("\n");
  if (versions.status !== 0 || !node || !npm) throw new ToolError(`node or npm does not run in the clean root: ${(versions.stderr || versions.stdout).trim().split("\n").slice(-1)[0]}`);
  return { pkg, version, node, npm, copied };
}
