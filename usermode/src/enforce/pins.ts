/**
 * Where the enforced filter table of a netns is pinned, so that it stays enforced when the helper
 * dies and a restarted helper can take it over: /sys/fs/bpf/bpfilter/<netns cookie>/filter/ holds
 * the counters and offsets maps, the ingress and egress programs, and one XDP link per interface
 * (xdp_<ifindex>). TC filters are held by their qdisc, at a fixed handle and priority (tc_filters.ts).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureBpffs, pinObject } from "../bpf/index.ts";

/** The default root of the helper's pins. */
export const PIN_ROOT = "/sys/fs/bpf/bpfilter";

/** Names of the pins in a table's pin directory (bpffs refuses '.' in a name). */
export const PIN = {
  counters: "counters",
  offsets: "offsets",
  ingress: "ingress",
  egress: "egress",
} as const;

const XDP_LINK_PREFIX = "xdp_";

/** The pin directory of one table in one netns. */
export class TablePins {
  /** The directory: <root>/<cookie>/<table>. */
  readonly dir: string;

  /** `root` must be in bpffs (it is mounted at /sys/fs/bpf when missing, see ensure()). */
  constructor(
    readonly root: string,
    readonly cookie: bigint,
    readonly tableName: string,
  ) {
    this.dir = join(root, String(cookie), tableName);
  }

  /** Whether a previous apply left pins here (its counters map is the mark). */
  exists(): boolean {
    return existsSync(this.path(PIN.counters));
  }

  /** Mounts bpffs at /sys/fs/bpf when the root lies under it and it is not mounted, then creates the directory. */
  ensure(): void {
    if (this.root.startsWith("/sys/fs/bpf/") || this.root === "/sys/fs/bpf") ensureBpffs();
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** The path of a pin in the directory. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** The pin name of the XDP link on ifindex. */
  xdpLink(ifindex: number): string {
    return `${XDP_LINK_PREFIX}${ifindex}`;
  }

  /** The ifindexes of every pinned XDP link. */
  xdpLinkIfindexes(): number[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((name) => name.startsWith(XDP_LINK_PREFIX))
      .map((name) => Number(name.slice(XDP_LINK_PREFIX.length)))
      .filter((ifindex) => Number.isInteger(ifindex) && ifindex > 0);
  }

  /** Pins fd under `name`, replacing an older pin of that name in one rename (never a moment without one). */
  replace(fd: number, name: string): void {
    const next = this.path(`${name}_next`);
    rmSync(next, { force: true });
    pinObject(fd, next);
    renameSync(next, this.path(name));
  }

  /** Removes one pin (what it held lives on while an fd or an attachment holds it). */
  remove(name: string): void {
    rmSync(this.path(name), { force: true });
  }

  /** Removes the directory and, when no other table is left, the netns directory. */
  removeAll(): void {
    rmSync(this.dir, { recursive: true, force: true });
    const netnsDir = join(this.root, String(this.cookie));
    if (existsSync(netnsDir) && readdirSync(netnsDir).length === 0) rmSync(netnsDir, { recursive: true, force: true });
  }
}
