/**
 * After make setup installs, it runs every tool that a README command calls, so that a missing
 * binary or module (git send-email without Perl's Mail::Address, say) fails setup with one line
 * that names the Debian package, instead of failing a test or a user later.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capture } from "./lib/proc.ts";

/** One tool run: the package it proves, the command, and what its output must show. */
export interface ToolCheck {
  /** The Debian package(s) that provide what the command needs. */
  readonly packages: readonly string[];
  /** Who calls it (for the message). */
  readonly usedBy: string;
  readonly argv: readonly string[];
  /** Passes when stdout+stderr match, whatever the exit status (trafgen -v exits 1). */
  readonly expect?: RegExp;
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** A C header the build or the layout tests include: compiled, not just looked for. */
function header(pkg: string, name: string, usedBy: string): ToolCheck {
  return { packages: [pkg], usedBy, argv: ["sh", "-c", `printf '#include <${name}>\\n' | gcc -E -x c - -o /dev/null`] };
}

/** The tools the README's commands run, one check each. `kernelTarball` comes from kernel/BASE. */
export function toolChecks(kernelPackage: string, kernelTarball: string): ToolCheck[] {
  const kernel = "make kernel";
  return [
    { packages: ["qemu-system-x86"], usedBy: "tools/vm", argv: ["qemu-system-x86_64", "--version"] },
    { packages: ["busybox-static"], usedBy: "tools/vm (guest init)", argv: ["/bin/busybox", "true"] },
    { packages: ["iptables"], usedBy: "tests, make run", argv: ["iptables-legacy", "-V"] },
    { packages: ["iptables"], usedBy: "tests", argv: ["iptables-legacy-save", "-V"] },
    { packages: ["iptables"], usedBy: "tests", argv: ["iptables-legacy-restore", "-V"] },
    { packages: ["bpftool"], usedBy: "make run, tests", argv: ["bpftool", "version"] },
    { packages: ["iproute2"], usedBy: "tests, make run", argv: ["ip", "-V"] },
    { packages: ["libbpf1"], usedBy: "the helper (koffi)", argv: ["sh", "-c", "ldconfig -p | grep -q 'libbpf\\.so\\.1 '"] },
    header("libbpf-dev", "bpf/libbpf.h", "layout tests"),
    header("linux-libc-dev", "linux/bpf.h", "layout tests"),
    { packages: ["gcc"], usedBy: "selftests, shim, " + kernel, argv: ["gcc", "--version"] },
    { packages: ["make"], usedBy: kernel, argv: ["make", "--version"] },
    { packages: [kernelPackage], usedBy: kernel, argv: ["test", "-s", kernelTarball] },
    { packages: ["xz-utils"], usedBy: kernel, argv: ["xz", "--version"] },
    { packages: ["flex"], usedBy: kernel, argv: ["flex", "--version"] },
    { packages: ["bison"], usedBy: kernel, argv: ["bison", "--version"] },
    { packages: ["bc"], usedBy: kernel, argv: ["bc", "--version"] },
    { packages: ["cpio"], usedBy: kernel, argv: ["cpio", "--version"] },
    { packages: ["lz4"], usedBy: kernel, argv: ["lz4", "-V"] },
    { packages: ["dwarves"], usedBy: kernel + " (BTF)", argv: ["pahole", "--version"] },
    header("libelf-dev", "libelf.h", kernel),
    header("libssl-dev", "openssl/ssl.h", kernel),
    { packages: ["gcc-i686-linux-gnu"], usedBy: "kernel builds for i386", argv: ["i686-linux-gnu-gcc", "--version"] },
    { packages: ["gcc-riscv64-linux-gnu"], usedBy: "kernel builds for riscv64", argv: ["riscv64-linux-gnu-gcc", "--version"] },
    { packages: ["git"], usedBy: "make kernel, make series", argv: ["git", "--version"] },
    // checkpatch.pl and get_maintainer.pl: the modules they `use` beyond perl-base.
    {
      packages: ["perl"],
      usedBy: "make checkpatch, make send",
      argv: ["perl", "-MCwd", "-MEncode", "-MFile::Basename", "-MFile::Find", "-MFile::Spec::Functions", "-MGetopt::Long", "-MPOSIX", "-MTerm::ANSIColor", "-e", "1"],
    },
    { packages: ["nftables"], usedBy: "the helper's conntrack reference, make bench", argv: ["nft", "--version"] },
    { packages: ["netsniff-ng"], usedBy: "make bench", argv: ["trafgen", "-v"], expect: /^trafgen \d/m },
    { packages: ["debootstrap"], usedBy: "make rehearse", argv: ["debootstrap", "--version"] },
    { packages: ["dpkg-repack"], usedBy: "make rehearse", argv: ["dpkg-repack", "--version"] },
  ];
}

const SENDER = "bpfilter setup";
const SENDER_EMAIL = "setup@localhost.localdomain";

/** A one-patch mbox that git send-email --dry-run reads as a user's patch would be. */
const FIXTURE_PATCH = `From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: bpfilter setup <setup@localhost.localdomain>
Date: Wed, 1 Jan 2020 00:00:00 +0000
Subject: [PATCH] setup: check that git send-email runs

Signed-off-by: bpfilter setup <setup@localhost.localdomain>
---
 a | 1 +
 1 file changed, 1 insertion(+)

diff --git a/a b/a
new file mode 100644
index 0000000..7898192
--- /dev/null
+++ b/a
@@ -0,0 +1 @@
+a
`;

/** Runs fn with the fixture patch written to a temp dir, then removes it. */
export function withFixturePatch<T>(fn: (dir: string, patch: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "bpfilter-setup-"));
  try {
    const patch = join(dir, "0001-setup-check.patch");
    writeFileSync(patch, FIXTURE_PATCH);
    return fn(dir, patch);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** make send's tool: a dry run of the fixture patch to a local address loads every module it needs. */
export function sendEmailCheck(dir: string, patch: string): ToolCheck {
  return {
    packages: ["git-email", "libmailtools-perl"],
    usedBy: "make send",
    argv: ["git", "send-email", "--dry-run", "--confirm=never", "--no-thread", "--suppress-cc=all", `--from=${SENDER} <${SENDER_EMAIL}>`, "--to=nobody@localhost.localdomain", patch],
    expect: /^Dry-OK\. Log says:$/m,
    cwd: dir,
    // A new machine has no git identity, and git send-email wants a committer even for a dry run.
    env: { GIT_AUTHOR_NAME: SENDER, GIT_AUTHOR_EMAIL: SENDER_EMAIL, GIT_COMMITTER_NAME: SENDER, GIT_COMMITTER_EMAIL: SENDER_EMAIL },
  };
}

/** The one-line cause of a failed check, or undefined when the tool ran. */
export function runCheck(check: ToolCheck): string | undefined {
  let r;
  try {
    r = capture(check.argv, { cwd: check.cwd, input: "", env: { ...process.env, ...check.env, LC_ALL: "C" } });
  } catch (err) {
    r = { status: 127, stdout: "", stderr: (err as Error).message };
  }
  const output = r.stdout + r.stderr;
  const ok = check.expect ? check.expect.test(output) : r.status === 0;
  if (ok) return undefined;
  const lines = output.split("\n").map((l) => l.trim()).filter(Boolean);
  // Perl and git name the missing module first and end with "BEGIN failed"; prefer the cause.
  const said = lines.find((l) => /can't locate|module is not here|not found|no such file/i.test(l)) ?? lines.at(-1) ?? `exit status ${r.status}`;
  const shown = check.argv[0] === "sh" ? check.argv[2]! : check.argv.slice(0, 3).join(" ");
  const pkgs = check.packages.join(" ");
  return `\`${shown}\` (${check.usedBy}) does not run: ${said.slice(0, 200)} [Debian package${check.packages.length > 1 ? "s" : ""}: ${pkgs}; apt-get install ${pkgs}]`;
}
