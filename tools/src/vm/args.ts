/** tools/vm's command line: parsed strictly, so that a wrong flag is a one-line error naming it. */

/** What tools/vm was asked to do. */
export interface VmOptions {
  kernel: string;
  memory: string;
  cpus: number;
  timeoutSec: number;
  append: string;
  launcher: "auto" | "qemu" | "vng";
  command: string[];
}

/** Thrown for a bad command line; the message names the flag or value. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const USAGE = `usage: tools/vm [options] -- CMD [ARGS...]

Boots a kernel under QEMU (TCG) with the host root shared read-only over 9p,
runs CMD as root in the repository, streams its output, and exits with CMD's
exit status. A panic, a boot failure or a timeout exits 255 with the tail of
the console log.

options:
  --kernel PATH     bzImage to boot (default: build/kernel/bzImage, from make kernel)
  --memory SIZE     guest memory, e.g. 512M or 2G (default: 1G; the host has 24 GiB)
  --cpus N          guest CPUs, 1..16 (default: 2)
  --timeout SEC     wall-clock bound for boot + CMD, 1..7200 (default: 300)
  --append ARGS     extra kernel command line, e.g. bpfilter.timeout_ms=500
  --launcher WHICH  auto (vng when installed, else the built-in QEMU launcher), qemu, or vng
  -h, --help        this text

bounds: the guest writes only to tmpfs (its memory); the host disk gets the
console log below build/vm/ (a few KiB per boot, the last 20 boots kept).
Boot to command takes about 2.5 s under TCG on these machines.`;

const SIZE = /^[1-9][0-9]*[MG]$/;

/** Parses argv (without node and script). */
export function parseVmArgs(argv: readonly string[], defaultKernel: string): VmOptions {
  const o: VmOptions = { kernel: defaultKernel, memory: "1G", cpus: 2, timeoutSec: 300, append: "", launcher: "auto", command: [] };
  let i = 0;
  const value = (flag: string): string => {
    const v = argv[++i];
    if (v === undefined || v === "--") throw new UsageError(`${flag} needs a value`);
    return v;
  };
  const int = (flag: string, v: string, lo: number, hi: number): number => {
    if (!/^[0-9]+$/.test(v) || Number(v) < lo || Number(v) > hi) throw new UsageError(`${flag} ${v}: expected a whole number from ${lo} to ${hi}`);
    return Number(v);
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case "--kernel":
        o.kernel = value(a);
        break;
      case "--memory": {
        const v = value(a);
        if (!SIZE.test(v)) throw new UsageError(`--memory ${v}: expected a size like 512M or 2G`);
        o.memory = v;
        break;
      }
      case "--cpus":
        o.cpus = int(a, value(a), 1, 16);
        break;
      case "--timeout":
        o.timeoutSec = int(a, value(a), 1, 7200);
        break;
      case "--append":
        o.append = value(a);
        break;
      case "--launcher": {
        const v = value(a);
        if (v !== "auto" && v !== "qemu" && v !== "vng") throw new UsageError(`--launcher ${v}: expected auto, qemu or vng`);
        o.launcher = v;
        break;
      }
      case "-h":
      case "--help":
        throw new UsageError("");
      case "--":
        o.command = argv.slice(i + 1);
        i = argv.length;
        break;
      default:
        throw new UsageError(`unknown option ${a}`);
    }
  }
  if (o.command.length === 0) throw new UsageError("no command: put it after --, e.g. tools/vm -- uname -r");
  return o;
}

/** Quotes argv for sh so that the guest runs exactly these words. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./=:,+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
