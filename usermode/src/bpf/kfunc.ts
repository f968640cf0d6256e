// Kernel functions a program calls (kfuncs): BPF_CALL with src_reg BPF_PSEUDO_KFUNC_CALL, imm the BTF id
// of the function, off 0 for vmlinux or the index in the load's fd_array of the BTF object of the module
// that defines it. A kfunc is looked up by name, in vmlinux first and then in the modules' split BTF
// (/sys/kernel/btf/<module>), so that kfuncs a module adds (the series' netfilter kfuncs, say) need no
// code here.
import { closeSync, readdirSync } from "node:fs";
import koffi from "koffi";
import { join } from "node:path";
import { Btf, BTF_KIND, KERNEL_BTF_DIR, kernelBtf } from "./btf.ts";
import { check } from "./errors.ts";
import { bpf_btf_get_fd_by_id, bpf_btf_get_next_id, bpf_obj_get_info_by_fd } from "./libbpf.ts";

/** Where a kfunc lives: its BTF id and, for a module's, the module (whose BTF fd the load passes). */
export interface KfuncLocation {
  readonly name: string;
  readonly btfId: number;
  /** The module that defines it; undefined for vmlinux. */
  readonly module?: string;
}

const modules = new Map<string, Btf>();
const moduleFds = new Map<string, number>();

/** The split BTF of a loaded module (dir/module, on top of vmlinux's), read once. */
export function moduleBtf(dir: string, module: string): Btf {
  const path = join(dir, module);
  let btf = modules.get(path);
  if (btf === undefined) {
    btf = Btf.load(path, kernelBtf());
    modules.set(path, btf);
  }
  return btf;
}

/**
 * Where kfunc `name` (a BTF FUNC) is: in vmlinux, else in the BTF files of the loaded modules in
 * `dir` (split BTF on top of vmlinux), of only `modules` when given; undefined when in none.
 * `searched` gets the names looked in.
 */
export function kfuncLocation(name: string, dir = KERNEL_BTF_DIR, modules?: readonly string[], searched: string[] = []): KfuncLocation | undefined {
  searched.push("vmlinux");
  const vmlinux = kernelBtf().find(BTF_KIND.FUNC, name);
  if (vmlinux !== undefined) return { name, btfId: vmlinux };
  const loaded = readdirSync(dir).filter((entry) => entry !== "vmlinux" && (modules === undefined || modules.includes(entry)));
  for (const module of loaded.sort()) {
    searched.push(module);
    const id = moduleBtf(dir, module).find(BTF_KIND.FUNC, name);
    if (id !== undefined) return { name, btfId: id, module };
  }
  return undefined;
}

/** kfuncLocation over every loaded module; throws naming what was searched. */
export function findKfunc(name: string, dir = KERNEL_BTF_DIR): KfuncLocation {
  const searched: string[] = [];
  const location = kfuncLocation(name, dir, undefined, searched);
  if (location === undefined) throw new Error(`kfunc '${name}': no such function in the kernel's BTF (searched ${searched.join(", ")})`);
  return location;
}

/** struct bpf_btf_info: u64 btf, u32 btf_size, u32 id, u64 name, u32 name_len, u32 kernel_btf. */
const BTF_INFO = { SIZE: 32, NAME: 16, NAME_LEN: 24 } as const;

const NAME_MAX = 64;

/** The name the kernel gives a loaded BTF object ("vmlinux", a module's name, "" for a program's). */
function btfObjectName(fd: number): string {
  // The kernel writes the name to the user address in info.name: a buffer koffi allocates, at a fixed address.
  const name = koffi.alloc("char", NAME_MAX);
  try {
    const info = new Uint8Array(BTF_INFO.SIZE);
    const view = new DataView(info.buffer);
    view.setBigUint64(BTF_INFO.NAME, koffi.address(name) as bigint, true);
    view.setUint32(BTF_INFO.NAME_LEN, NAME_MAX, true);
    const length = Uint32Array.of(info.length);
    check(`bpf_obj_get_info_by_fd(BTF fd ${fd})`, bpf_obj_get_info_by_fd(fd, info, length));
    const bytes = Uint8Array.from(koffi.decode(name, "uint8_t", NAME_MAX) as number[]);
    const end = bytes.indexOf(0);
    return Buffer.from(bytes.subarray(0, end < 0 ? NAME_MAX : end)).toString("latin1");
  } finally {
    koffi.free(name);
  }
}

/** An fd of the kernel BTF object of `module` (kept open for the helper's life: loads reuse it). */
export function moduleBtfFd(module: string): number {
  const known = moduleFds.get(module);
  if (known !== undefined) return known;
  const next = new Uint32Array(1);
  let id = 0;
  for (;;) {
    if (bpf_btf_get_next_id(id, next) !== 0) break;
    id = next[0]!;
    const fd = bpf_btf_get_fd_by_id(id);
    if (fd < 0) continue; // gone meanwhile
    if (btfObjectName(fd) === module) {
      moduleFds.set(module, fd);
      return fd;
    }
    closeSync(fd);
  }
  throw new Error(`kfunc: no loaded BTF object is named '${module}'`);
}
