/**
 * The BPF objects pinned for one table (<pin root>/<cookie>/<table>/*), named as bpftool names
 * them: kind, id, type, name, and for a link the program it runs. Read generically (every pin,
 * whatever the enforcer's layout), from /proc/self/fdinfo (kind, type, ids) and
 * bpf_obj_get_info_by_fd (names; offsets checked by test/cli/layout.test.ts).
 */
import { closeSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { bpf_obj_get_info_by_fd } from "../bpf/libbpf.ts";
import { getPinned } from "../bpf/index.ts";

/** Offsets of struct bpf_prog_info and bpf_map_info fields read here. */
export const OBJ_INFO = { PROG_NAME: 64, MAP_NAME: 24, NAME_LEN: 16, SIZE: 256 } as const;

/** bpftool's names of the program and map types the helper uses (others print as their number). */
const PROG_TYPES: Readonly<Record<number, string>> = { 3: "sched_cls", 6: "xdp", 32: "netfilter" };
const MAP_TYPES: Readonly<Record<number, string>> = { 1: "hash", 2: "array", 3: "prog_array", 6: "percpu_array" };

/** One pinned object. */
export interface PinnedObject {
  /** The pin's file name. */
  readonly pin: string;
  readonly kind: "prog" | "map" | "link" | "other";
  readonly id: number;
  /** bpftool's type name ("xdp", "percpu_array", "netfilter"). */
  readonly type: string;
  /** The object's name (programs and maps). */
  readonly name?: string;
  /** A link's program id. */
  readonly progId?: number;
  /** The program tag (programs and links), as bpftool prints it. */
  readonly tag?: string;
}

function fdinfo(fd: number): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of readFileSync(`/proc/self/fdinfo/${fd}`, "utf8").split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return fields;
}

function objectName(fd: number, at: number): string | undefined {
  const info = new Uint8Array(OBJ_INFO.SIZE);
  if ((bpf_obj_get_info_by_fd(fd, info, [info.length]) as number) !== 0) return undefined;
  const bytes = info.subarray(at, at + OBJ_INFO.NAME_LEN);
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString("latin1");
}

/** Describes the object pinned at `path`. */
export function pinnedObject(path: string, pin: string): PinnedObject {
  const fd = getPinned(path);
  try {
    const f = fdinfo(fd);
    const num = (key: string): number => Number(f.get(key) ?? Number.NaN);
    if (f.has("link_type")) return { pin, kind: "link", id: num("link_id"), type: f.get("link_type")!, progId: num("prog_id"), tag: f.get("prog_tag") };
    if (f.has("prog_type")) {
      const type = num("prog_type");
      return { pin, kind: "prog", id: num("prog_id"), type: PROG_TYPES[type] ?? `type ${type}`, name: objectName(fd, OBJ_INFO.PROG_NAME), tag: f.get("prog_tag") };
    }
    if (f.has("map_type")) {
      const type = num("map_type");
      return { pin, kind: "map", id: num("map_id"), type: MAP_TYPES[type] ?? `type ${type}`, name: objectName(fd, OBJ_INFO.MAP_NAME) };
    }
    return { pin, kind: "other", id: 0, type: "unknown" };
  } finally {
    closeSync(fd);
  }
}

/** Every object pinned in `dir` (sorted by pin name); [] when the directory does not exist. */
export function pinnedObjects(dir: string): PinnedObject[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .filter((pin) => !statSync(join(dir, pin)).isDirectory())
    .map((pin) => pinnedObject(join(dir, pin), pin));
}
