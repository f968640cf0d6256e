/**
 * Where the enforced filter table of a netns is pinned, so that it stays enforced when the helper
 * dies and a restarted helper can take it over: <root>/<netns cookie>/filter/ holds the three
 * netfilter links, the dispatcher, its prog array and generation map, the enforced generation's
 * programs, and its counters and offsets maps (see /work/coord/nfhook.md and enforce/README.md).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureBpffs, pinObject } from "../bpf/index.ts";
import { FILTER_HOOK_NAMES, type FilterHook } from "../codegen/index.ts";

/** The default root of the helper's pins. */
export const PIN_ROOT = "/sys/fs/bpf/bpfilter";

/** Names of the pins in a table's pin directory (bpffs refuses '.' in a name). */
export const PIN = {
  counters: "counters",
  offsets: "offsets",
  dispatcher: "dispatcher",
  programs: "programs",
  generation: "generation",
} as const;


/**
 * The name a table's pin has while staged for generation `generation`: pinned before the swap to
 * that generation, renamed to `name` after it. A restarted helper finds staged pins of the enforced
 * generation when the swap was done and the renames were not (it finishes them), and of the other
 * generation when the swap was not (it removes them).
 */
export function stagedPin(name: string, generation: number): string {
  return `staged${generation}_${name}`;
}

/** The pin of each hook's link and of each hook's enforced program. */
export const HOOK_PIN: Readonly<Record<FilterHook, { readonly link: string; readonly program: string }>> = {
  INPUT: { link: "link_input", program: "input" },
  FORWARD: { link: "link_forward", program: "forward" },
  OUTPUT: { link: "link_output", program: "output" },
};

/** The pins of one generation's table: its programs and counter maps (the counters pin last: TablePins.exists). */
export const TABLE_PINS: readonly string[] = [PIN.offsets, ...FILTER_HOOK_NAMES.map((hook) => HOOK_PIN[hook].program), PIN.counters];

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

  /** Whether a previous apply left a complete directory here (its counters map, pinned last, is the mark). */
  exists(): boolean {
    return existsSync(this.path(PIN.counters));
  }

  /** Whether pin `name` is there. */
  has(name: string): boolean {
    return existsSync(this.path(name));
  }

  /** The pins in the directory (none when it does not exist). */
  names(): string[] {
    return existsSync(this.dir) ? readdirSync(this.dir) : [];
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

  /** Pins fd under `name`, replacing an older pin of that name in one rename (never a moment without one). */
  replace(fd: number, name: string): void {
    const next = this.path(`${name}_next`);
    rmSync(next, { force: true });
    pinObject(fd, next);
    renameSync(next, this.path(name));
  }

  /**
   * Renames the staged pins of `generation` to their names (each rename replaces the older pin at
   * once); whether there were any.
   */
  promote(generation: number): boolean {
    const staged = this.stagedOf(generation);
    for (const [path, name] of staged) renameSync(path, this.path(name));
    return staged.length > 0;
  }

  /** Removes the staged pins of `generation`; whether there were any. */
  dropStaged(generation: number): boolean {
    const staged = this.stagedOf(generation);
    for (const [path] of staged) rmSync(path, { force: true });
    return staged.length > 0;
  }

  /** The staged pins of `generation` that are there, with the names they stand for. */
  private stagedOf(generation: number): [string, string][] {
    return TABLE_PINS.map((name): [string, string] => [this.path(stagedPin(name, generation)), name]).filter(([staged]) => existsSync(staged));
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

/** Every table directory under `root`, as TablePins (for recovery and reaping). */
export function allTablePins(root: string): TablePins[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((cookie) => /^\d+$/.test(cookie))
    .flatMap((cookie) => readdirSync(join(root, cookie)).map((table) => new TablePins(root, BigInt(cookie), table)));
}
