// Pinning BPF objects (programs, maps, links) in bpffs so that they outlive the helper process.
import { mkdirSync, statfsSync } from "node:fs";
import { basename } from "node:path";
import { BPF_FS_MAGIC } from "./abi.ts";
import { BpfError, check } from "./errors.ts";
import { bpf_obj_get, bpf_obj_pin } from "./libbpf.ts";
import { lastErrno, mount } from "./libc.ts";

const EPERM = 1;

/** Where bpffs is mounted by convention. */
export const BPFFS_ROOT = "/sys/fs/bpf";

/** Pins the object behind `fd` at `path` (in bpffs; the path must not exist yet, its name has no '.'). */
export function pinObject(fd: number, path: string): void {
  check(`bpf_obj_pin(fd ${fd}, '${path}')`, bpf_obj_pin(fd, path), (errno) =>
    errno === EPERM && basename(path).includes(".") ? "bpffs refuses '.' in the name of a pin" : undefined,
  );
}

/** Opens the object pinned at `path` and returns a new fd the caller owns. */
export function getPinned(path: string): number {
  return check(`bpf_obj_get('${path}')`, bpf_obj_get(path));
}

/** True when `path` is the root of, or inside, a bpffs mount. */
export function isBpffs(path: string): boolean {
  try {
    return Number(statfsSync(path).type) === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/** Makes sure bpffs is mounted at `root` (default /sys/fs/bpf), mounting it when it is not. */
export function ensureBpffs(root: string = BPFFS_ROOT): void {
  if (isBpffs(root)) return;
  mkdirSync(root, { recursive: true });
  if (mount("bpf", root, "bpf", 0, null) !== 0) {
    throw new BpfError(`mount(bpf, '${root}')`, lastErrno());
  }
}
