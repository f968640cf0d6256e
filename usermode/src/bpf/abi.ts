// Constants and opts-struct layouts from <linux/bpf.h> and libbpf 1.1's <bpf/bpf.h>. Every layout and
// value here is checked by usermode/test/bpf/layout.test.ts: against the C headers (a program that prints
// offsetof/sizeof) where Debian's 6.1 headers have them, against the running kernel's BTF where they are
// newer (netfilter links, Linux 6.4).
import koffi from "koffi";

/** enum bpf_prog_type values used by the helper. */
export const BPF_PROG_TYPE = { netfilter: 32 } as const;

/** enum bpf_map_type values used by the helper. */
export const BPF_MAP_TYPE = { hash: 1, array: 2, prog_array: 3, percpu_array: 6 } as const;

/** enum bpf_attach_type BPF_NETFILTER: expected attach type of a netfilter program, attach type of its link. */
export const BPF_NETFILTER = 45;

/** enum bpf_link_type BPF_LINK_TYPE_NETFILTER. */
export const BPF_LINK_TYPE_NETFILTER = 10;

/** Offsets in union bpf_attr of BPF_LINK_CREATE's fields, netfilter's among them (Linux 6.4). */
export const BPF_LINK_CREATE_ATTR = {
  PROG_FD: 0,
  TARGET_FD: 4,
  ATTACH_TYPE: 8,
  FLAGS: 12,
  NF_PF: 16,
  NF_HOOKNUM: 20,
  NF_PRIORITY: 24,
  NF_FLAGS: 28,
} as const;

/** Offsets of struct bpf_link_info's netfilter member, from the start of its union (at byte 16). */
export const LINK_INFO_NETFILTER = { PF: 0, HOOKNUM: 4, PRIORITY: 8, FLAGS: 12 } as const;

/** BPF_PSEUDO_MAP_FD: src_reg of a BPF_LD_IMM64 whose imm is a map fd. */
export const BPF_PSEUDO_MAP_FD = 1;

/** BPF_PSEUDO_KFUNC_CALL: src_reg of a BPF_CALL whose imm is the BTF id of a kernel function. */
export const BPF_PSEUDO_KFUNC_CALL = 2;

/** Opcode of BPF_JMP | BPF_CALL. */
export const BPF_CALL_OPCODE = 0x85;

/** Opcode of BPF_LD | BPF_DW | BPF_IMM (the first slot of a 64-bit immediate load). */
export const BPF_LD_IMM64_OPCODE = 0x18;

/** Size of one struct bpf_insn. */
export const BPF_INSN_SIZE = 8;

/** BPF_OBJ_NAME_LEN: program and map names are at most 15 characters plus NUL. */
export const BPF_OBJ_NAME_LEN = 16;

/** BPF_FS_MAGIC from <linux/magic.h>: f_type of a bpffs mount. */
export const BPF_FS_MAGIC = 0xcafe4a11;

/** struct bpf_map_create_opts (libbpf 1.1). */
export const bpf_map_create_opts = koffi.struct("bpf_map_create_opts", {
  sz: "size_t",
  btf_fd: "uint32_t",
  btf_key_type_id: "uint32_t",
  btf_value_type_id: "uint32_t",
  btf_vmlinux_value_type_id: "uint32_t",
  inner_map_fd: "uint32_t",
  map_flags: "uint32_t",
  map_extra: "uint64_t",
  numa_node: "uint32_t",
  map_ifindex: "uint32_t",
});

/** struct bpf_prog_load_opts (libbpf 1.1). */
export const bpf_prog_load_opts = koffi.struct("bpf_prog_load_opts", {
  sz: "size_t",
  attempts: "int",
  expected_attach_type: "int",
  prog_btf_fd: "uint32_t",
  prog_flags: "uint32_t",
  prog_ifindex: "uint32_t",
  kern_version: "uint32_t",
  attach_btf_id: "uint32_t",
  attach_prog_fd: "uint32_t",
  attach_btf_obj_fd: "uint32_t",
  fd_array: "void *",
  func_info: "void *",
  func_info_cnt: "uint32_t",
  func_info_rec_size: "uint32_t",
  line_info: "void *",
  line_info_cnt: "uint32_t",
  line_info_rec_size: "uint32_t",
  log_level: "uint32_t",
  log_size: "uint32_t",
  log_buf: "void *",
});

/** struct bpf_test_run_opts (libbpf 1.1). */
export const bpf_test_run_opts = koffi.struct("bpf_test_run_opts", {
  sz: "size_t",
  data_in: "void *",
  data_out: "void *",
  data_size_in: "uint32_t",
  data_size_out: "uint32_t",
  ctx_in: "void *",
  ctx_out: "void *",
  ctx_size_in: "uint32_t",
  ctx_size_out: "uint32_t",
  retval: "uint32_t",
  repeat: "int",
  duration: "uint32_t",
  flags: "uint32_t",
  cpu: "uint32_t",
  batch_size: "uint32_t",
});

/** struct bpf_link_update_opts (libbpf 1.1). */
export const bpf_link_update_opts = koffi.struct("bpf_link_update_opts", {
  sz: "size_t",
  flags: "uint32_t",
  old_prog_fd: "uint32_t",
});

/** struct if_nameindex from <net/if.h>. */
export const if_nameindex = koffi.struct("if_nameindex", {
  if_index: "unsigned int",
  if_name: "const char *",
});

/** struct bpf_map_info from <linux/bpf.h> (as of 6.1; the kernel copies at most this many bytes). */
export const bpf_map_info = koffi.struct("bpf_map_info", {
  type: "uint32_t",
  id: "uint32_t",
  key_size: "uint32_t",
  value_size: "uint32_t",
  max_entries: "uint32_t",
  map_flags: "uint32_t",
  name: koffi.array("char", BPF_OBJ_NAME_LEN, "String"),
  ifindex: "uint32_t",
  btf_vmlinux_value_type_id: "uint32_t",
  netns_dev: "uint64_t",
  netns_ino: "uint64_t",
  btf_id: "uint32_t",
  btf_key_type_id: "uint32_t",
  btf_value_type_id: "uint32_t",
  map_extra: "uint64_t",
});

/** struct bpf_map_batch_opts (libbpf 1.1). */
export const bpf_map_batch_opts = koffi.struct("bpf_map_batch_opts", {
  sz: "size_t",
  elem_flags: "uint64_t",
  flags: "uint64_t",
});
