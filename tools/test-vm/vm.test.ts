/**
 * tools/vm against a real kernel (build/kernel/bzImage from make kernel): exit statuses, panics,
 * timeouts and bad kernels. Run by `make vm-launcher-test`, after the kernel is built.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KERNEL_CONFIG_OUT, KERNEL_IMAGE, REPO } from "../src/lib/paths.ts";
import { pinnedBase } from "../src/kernel/tree.ts";

/** "6.12." for the pinned base: what uname -r of the built kernel starts with. */
const RELEASE = `${pinnedBase().version.split(".").slice(0, 2).join(".")}.`;

function vm(args: string[], timeoutMs = 120_000) {
  const t0 = Date.now();
  const r = spawnSync(join(REPO, "tools/vm"), args, { cwd: REPO, encoding: "utf8", timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - t0) / 1000 };
}

describe("tools/vm on the built kernel", () => {
  beforeAll(() => {
    if (!existsSync(KERNEL_IMAGE)) throw new Error(`${KERNEL_IMAGE} missing: run make kernel first`);
  });

  it("returns the command's exit status and streams its output", () => {
    const r = vm(["--", "sh", "-c", "echo hello from $(uname -r); exit 7"]);
    expect(r.stdout).toMatch(new RegExp(`^hello from ${RELEASE.replace(/\./g, "\\.")}\\d+`, "m"));
    expect(r.status).toBe(7);
  });

  it("boots with the host root read-only on 9p, tmpfs where the guest writes, and bpffs", () => {
    const r = vm(["--", "sh", "-c", "grep -E ' / 9p | /tmp tmpfs | /sys/fs/bpf bpf ' /proc/mounts | cut -d' ' -f2,3,4 | cut -d, -f1; echo probe > /tmp/probe && cat /tmp/probe"]);
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean).sort()).toEqual(["/ 9p ro", "/sys/fs/bpf bpf rw", "/tmp tmpfs rw", "probe"]);
  });

  it("finds the exit status after output that does not end its line", () => {
    const r = vm(["--", "sh", "-c", "printf 'no newline'; exit 3"]);
    expect(r.stdout).toBe("no newline\n");
    expect(r.status).toBe(3);
  });

  it("returns 0 for a command that succeeds, in the caller's directory", () => {
    const r = vm(["--", "sh", "-c", 'test "$(pwd)" = "$0"', REPO]);
    expect(r.status).toBe(0);
  });

  it("keeps a working directory below /tmp visible, though the guest mounts tmpfs there", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfvm-cwd-"));
    try {
      writeFileSync(join(dir, "marker"), "seen from the guest\n");
      const r = spawnSync(join(REPO, "tools/vm"), ["--", "sh", "-c", 'pwd; cat marker'], { cwd: dir, encoding: "utf8", timeout: 120_000 });
      expect(r.stdout).toBe(`${dir}\nseen from the guest\n`);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 255 with the cause when the guest kernel panics", () => {
    const r = vm(["--timeout", "60", "--", "sh", "-c", "echo c > /proc/sysrq-trigger; sleep 100"]);
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(/tools\/vm: kernel panic/);
    expect(r.seconds).toBeLessThan(60);
  });

  it("exits 255 when the kernel panics at boot (no init)", () => {
    const r = vm(["--timeout", "60", "--append", "init=/nonexistent/init", "--", "true"]);
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(/init could not run|kernel panic/);
  });

  it("exits 255 when the command outlives --timeout", () => {
    const r = vm(["--timeout", "8", "--", "sleep", "600"]);
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(/timed out after 8 s/);
    expect(r.seconds).toBeLessThan(30);
  });

  describe("bad kernels", () => {
    let dir = "";
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "bpfvm-test-"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("refuses a kernel whose config lacks 9p, in one line", () => {
      copyFileSync(KERNEL_IMAGE, join(dir, "bzImage"));
      writeFileSync(join(dir, "config"), readFileSync(KERNEL_CONFIG_OUT, "utf8").replace(/^CONFIG_9P_FS=y$/m, "# CONFIG_9P_FS is not set"));
      const r = vm(["--kernel", join(dir, "bzImage"), "--", "true"]);
      expect(r.status).toBe(255);
      expect(r.stderr.trim()).toBe(`tools/vm: kernel config ${join(dir, "config")} lacks CONFIG_9P_FS=y (the host root is mounted over 9p)`);
    });

    it("refuses a missing kernel and a file that is not a bzImage", () => {
      expect(vm(["--kernel", join(dir, "nope"), "--", "true"]).stderr.trim()).toBe(
        `tools/vm: kernel ${join(dir, "nope")} not found (run make kernel, or pass --kernel PATH)`,
      );
      writeFileSync(join(dir, "junk"), "x".repeat(1024));
      expect(vm(["--kernel", join(dir, "junk"), "--", "true"]).stderr.trim()).toMatch(/is not an x86 bzImage/);
    });

    it("rejects a wrong flag without booting", () => {
      const r = vm(["--kernal", "x", "--", "true"]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe("tools/vm: unknown option --kernal (see tools/vm --help)");
    });
  });
});
