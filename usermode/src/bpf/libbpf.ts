// koffi bindings to Debian's libbpf.so.1 (1.1): the low-level bpf.h API (syscall.ts does what 1.1 lacks).
// libbpf 1.x returns -errno from every call here (fds are >= 0 on success); see errors.ts.
// All calls are synchronous and run on the calling thread, which is the JS main thread: inNetns() relies on it.
import koffi from "koffi";
import "./abi.ts"; // registers the opts struct types named in the prototypes below

/** dlopen()s a system library through koffi; a missing one is reported with the Debian package to install. */
export function openSharedLibrary(soname: string, debianPackage: string): koffi.IKoffiLib {
  try {
    return koffi.load(soname);
  } catch (error) {
    throw new Error(`bpf layer: cannot load ${soname} (Debian package ${debianPackage}): ${(error as Error).message}`);
  }
}

/** The libbpf shared library every binding here comes from. */
export const libbpf = openSharedLibrary("libbpf.so.1", "libbpf1");

/** int bpf_prog_load(type, name, license, insns, insn_cnt, opts). */
export const bpf_prog_load = libbpf.func(
  "int bpf_prog_load(int prog_type, const char *prog_name, const char *license, const void *insns, size_t insn_cnt, _Inout_ bpf_prog_load_opts *opts)",
);

/** int bpf_map_create(type, name, key_size, value_size, max_entries, opts). */
export const bpf_map_create = libbpf.func(
  "int bpf_map_create(int map_type, const char *map_name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, const bpf_map_create_opts *opts)",
);

/** int bpf_map_lookup_elem(fd, key, value): value is written in place. */
export const bpf_map_lookup_elem = libbpf.func("int bpf_map_lookup_elem(int fd, const void *key, void *value)");

/** int bpf_map_update_elem(fd, key, value, flags). */
export const bpf_map_update_elem = libbpf.func(
  "int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)",
);

/** int bpf_map_delete_elem(fd, key). */
export const bpf_map_delete_elem = libbpf.func("int bpf_map_delete_elem(int fd, const void *key)");

/** int bpf_map_get_next_key(fd, key, next_key): key NULL gives the first key. */
export const bpf_map_get_next_key = libbpf.func("int bpf_map_get_next_key(int fd, const void *key, void *next_key)");

/** int bpf_map_lookup_batch(fd, in_batch, out_batch, keys, values, count, opts): count is in/out. */
export const bpf_map_lookup_batch = libbpf.func(
  "int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, uint32_t *count, const bpf_map_batch_opts *opts)",
);

/** int bpf_map_update_batch(fd, keys, values, count, opts): count is in/out. */
export const bpf_map_update_batch = libbpf.func(
  "int bpf_map_update_batch(int fd, const void *keys, const void *values, uint32_t *count, const bpf_map_batch_opts *opts)",
);

/** int bpf_prog_test_run_opts(prog_fd, opts): data_out is written in place, the out fields are copied back. */
export const bpf_prog_test_run_opts = libbpf.func("int bpf_prog_test_run_opts(int prog_fd, _Inout_ bpf_test_run_opts *opts)");

/** int bpf_link_update(link_fd, new_prog_fd, opts). */
export const bpf_link_update = libbpf.func(
  "int bpf_link_update(int link_fd, int new_prog_fd, const bpf_link_update_opts *opts)",
);

/** int bpf_link_detach(link_fd): detaches even a pinned link. */
export const bpf_link_detach = libbpf.func("int bpf_link_detach(int link_fd)");

/** int bpf_obj_pin(fd, path). */
export const bpf_obj_pin = libbpf.func("int bpf_obj_pin(int fd, const char *pathname)");

/** int bpf_obj_get(path). */
export const bpf_obj_get = libbpf.func("int bpf_obj_get(const char *pathname)");

/** int bpf_obj_get_info_by_fd(fd, info, info_len). */
export const bpf_obj_get_info_by_fd = libbpf.func(
  "int bpf_obj_get_info_by_fd(int bpf_fd, void *info, uint32_t *info_len)",
);

/** int bpf_btf_get_next_id(start_id, next_id): the BTF objects loaded in the kernel (vmlinux, modules). */
export const bpf_btf_get_next_id = libbpf.func("int bpf_btf_get_next_id(uint32_t start_id, _Out_ uint32_t *next_id)");

/** int bpf_btf_get_fd_by_id(id): an fd of a loaded BTF object (a module's, for its kfuncs). */
export const bpf_btf_get_fd_by_id = libbpf.func("int bpf_btf_get_fd_by_id(uint32_t id)");

/** int libbpf_num_possible_cpus(void). */
export const libbpf_num_possible_cpus = libbpf.func("int libbpf_num_possible_cpus(void)");

/** int libbpf_strerror(err, buf, size): also knows libbpf's own error codes. */
export const libbpf_strerror = libbpf.func("int libbpf_strerror(int err, void *buf, size_t size)");
