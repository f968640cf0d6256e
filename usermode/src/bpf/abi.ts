// Constants and opts-struct layouts from <linux/bpf.h>, <linux/if_link.h> and libbpf 1.1's <bpf/bpf.h>,
// <bpf/libbpf.h>. Every layout and value here is checked against the real headers by
// usermode/test/bpf/layout.test.ts, which compiles a C program that prints offsetof/sizeof.
import koffi from "koffi";

/** enum bpf_prog_type values used by the helper. */
export const BPF_PROG_TYPE = { sched_cls: 3, xdp: 6 } as const;

/** enum bpf_map_type values used by the helper. */
export const BPF_MAP_TYPE = { hash: 1, array: 2, percpu_array: 6 } as const;

/** enum bpf_attach_type BPF_XDP: the attach type of an XDP bpf_link. */
export const BPF_XDP = 37;

/** BPF_PSEUDO_MAP_FD: src_reg of a BPF_LD_IMM64 whose imm is a map fd. */
export const BPF_PSEUDO_MAP_FD = 1;

/** Opcode of BPF_LD | BPF_DW | BPF_IMM (the first slot of a 64-bit immediate load). */
export const BPF_LD_IMM64_OPCODE = 0x18;

/** Size of one struct bpf_insn. */
export const BPF_INSN_SIZE = 8;

/** BPF_OBJ_NAME_LEN: program and map names are at most 15 characters plus NUL. */
export const BPF_OBJ_NAME_LEN = 16;

/** XDP_FLAGS_SKB_MODE and XDP_FLAGS_DRV_MODE from <linux/if_link.h>. */
export const XDP_FLAGS = { skb: 1 << 1, native: 1 << 2 } as const;

/** enum bpf_tc_attach_point BPF_TC_EGRESS. */
export const BPF_TC_EGRESS = 1 << 1;

/** enum bpf_tc_attach_point BPF_TC_INGRESS. */
export const BPF_TC_INGRESS = 1 << 0;

/** enum bpf_tc_flags BPF_TC_F_REPLACE. */
export const BPF_TC_F_REPLACE = 1 << 0;

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

/** struct bpf_link_create_opts (libbpf 1.1); the anonymous union is modelled by its largest member. */
export const bpf_link_create_opts = koffi.struct("bpf_link_create_opts", {
  sz: "size_t",
  flags: "uint32_t",
  iter_info: "void *",
  iter_info_len: "uint32_t",
  target_btf_id: "uint32_t",
  kprobe_multi: koffi.struct("bpf_link_create_opts_kprobe_multi", {
    flags: "uint32_t",
    cnt: "uint32_t",
    syms: "void *",
    addrs: "void *",
    cookies: "void *",
  }),
});

/** struct bpf_link_update_opts (libbpf 1.1). */
export const bpf_link_update_opts = koffi.struct("bpf_link_update_opts", {
  sz: "size_t",
  flags: "uint32_t",
  old_prog_fd: "uint32_t",
});

/** struct bpf_tc_hook (libbpf 1.1). */
export const bpf_tc_hook = koffi.struct("bpf_tc_hook", {
  sz: "size_t",
  ifindex: "int",
  attach_point: "int",
  parent: "uint32_t",
});

/** struct bpf_tc_opts (libbpf 1.1). */
export const bpf_tc_opts = koffi.struct("bpf_tc_opts", {
  sz: "size_t",
  prog_fd: "int",
  flags: "uint32_t",
  prog_id: "uint32_t",
  handle: "uint32_t",
  priority: "uint32_t",
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
