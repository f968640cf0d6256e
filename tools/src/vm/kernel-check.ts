/** Checks, before booting, that a kernel image can boot the tools/vm way; each failure is one line. */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { readFileSync } from "node:fs";

/** Options a kernel needs to boot with the host root on 9p and run the guest init. */
export const REQUIRED_OPTIONS: Readonly<Record<string, string>> = {
  CONFIG_VIRTIO_PCI: "9p rides on virtio-pci",
  CONFIG_NET_9P_VIRTIO: "the 9p transport",
  CONFIG_9P_FS: "the host root is mounted over 9p",
  CONFIG_SERIAL_8250_CONSOLE: "the console and the command's output use serial ports",
  CONFIG_BINFMT_SCRIPT: "the guest init is a shell script",
  CONFIG_DEVTMPFS: "/dev in the guest",
  CONFIG_TMPFS: "the guest writes to tmpfs",
};

/** Returns the problem with a kernel image, or undefined if it looks bootable. */
export function checkKernelImage(path: string): string | undefined {
  if (!existsSync(path)) return `kernel ${path} not found (run make kernel, or pass --kernel PATH)`;
  if (!statSync(path).isFile()) return `kernel ${path} is not a file`;
  const fd = openSync(path, "r");
  const hdr = Buffer.alloc(4);
  try {
    readSync(fd, hdr, 0, 4, 0x202);
  } finally {
    closeSync(fd);
  }
  if (hdr.toString("latin1") !== "HdrS") return `kernel ${path} is not an x86 bzImage (no HdrS boot header)`;
  return undefined;
}

/** The .config of an image, when one sits beside it (build/kernel/config, or config/.config next to it). */
export function findConfig(kernel: string): string | undefined {
  const dir = dirname(kernel);
  return ["config", ".config", `${kernel}.config`].map((n) => (n.startsWith("/") ? n : join(dir, n))).find((p) => existsSync(p));
}

/** The first required option a config lacks, as a one-line cause, or undefined. */
export function missingBootOption(configText: string, configPath: string): string | undefined {
  for (const [opt, why] of Object.entries(REQUIRED_OPTIONS)) {
    if (!new RegExp(`^${opt}=y$`, "m").test(configText)) return `kernel config ${configPath} lacks ${opt}=y (${why})`;
  }
  return undefined;
}

/** Checks the config beside a kernel, if there is one. */
export function checkKernelConfig(kernel: string): string | undefined {
  const cfg = findConfig(kernel);
  return cfg ? missingBootOption(readFileSync(cfg, "utf8"), cfg) : undefined;
}

/** Reads a console log and names why a guest gave no status: panic, no 9p root, no init. */
export function diagnoseConsole(consoleText: string): string {
  const lines = consoleText.split(/\r?\n/);
  const find = (re: RegExp) => lines.find((l) => re.test(l));
  const noRoot = find(/VFS: Unable to mount root fs|Cannot open root device|Unable to mount root/);
  if (noRoot) return `the kernel could not mount the host root over 9p (does it have CONFIG_9P_FS, CONFIG_NET_9P_VIRTIO, CONFIG_VIRTIO_PCI?): ${noRoot.trim()}`;
  const noInit = find(/No working init found|Requested init .* failed/);
  if (noInit) return `the guest init could not run: ${noInit.trim()}`;
  const panic = find(/Kernel panic - not syncing/);
  if (panic) return `kernel panic: ${panic.replace(/^.*Kernel panic - not syncing:?\s*/, "").trim()}`;
  return "the guest stopped without reporting an exit status";
}
