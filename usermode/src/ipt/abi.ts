/**
 * The iptables ABI of <linux/netfilter_ipv4/ip_tables.h> and <linux/netfilter/x_tables.h> on
 * x86_64: sockopt numbers, struct field offsets and sizes. test/ipc/layout.test.ts checks every
 * constant here against the C headers with offsetof/sizeof.
 */

/** IPT_SO_* setsockopt commands. */
export const IPT_SO_SET = { REPLACE: 64, ADD_COUNTERS: 65 } as const;
/** IPT_SO_* getsockopt commands. */
export const IPT_SO_GET = { INFO: 64, ENTRIES: 65, REVISION_MATCH: 66, REVISION_TARGET: 67 } as const;

/** Names of IPT_SO_* commands, for logs. */
export function sockoptName(cmd: number, set: boolean): string {
  const table: Record<number, string> = set
    ? { [IPT_SO_SET.REPLACE]: "IPT_SO_SET_REPLACE", [IPT_SO_SET.ADD_COUNTERS]: "IPT_SO_SET_ADD_COUNTERS" }
    : {
        [IPT_SO_GET.INFO]: "IPT_SO_GET_INFO",
        [IPT_SO_GET.ENTRIES]: "IPT_SO_GET_ENTRIES",
        [IPT_SO_GET.REVISION_MATCH]: "IPT_SO_GET_REVISION_MATCH",
        [IPT_SO_GET.REVISION_TARGET]: "IPT_SO_GET_REVISION_TARGET",
      };
  return table[cmd] ?? `${set ? "set" : "get"}sockopt ${cmd}`;
}

/** XT_TABLE_MAXNAMELEN. */
export const XT_TABLE_MAXNAMELEN = 32;
/** XT_EXTENSION_MAXNAMELEN: bytes of a match/target name. */
export const XT_EXTENSION_MAXNAMELEN = 29;
/** XT_FUNCTION_MAXNAMELEN: bytes of an ERROR target's errorname. */
export const XT_FUNCTION_MAXNAMELEN = 30;
/** NF_INET_NUMHOOKS. */
export const NF_INET_NUMHOOKS = 5;
/** XT_STANDARD_TARGET: the empty name. */
export const XT_STANDARD_TARGET = "";
/** XT_ERROR_TARGET. */
export const XT_ERROR_TARGET = "ERROR";
/** XT_MAX_TABLE_SIZE of x_tables.c. */
export const XT_MAX_TABLE_SIZE = 512 * 1024 * 1024;
/** sizeof(struct xt_table_info) on x86_64, for xt_alloc_table_info's size bound. */
export const XT_TABLE_INFO_SIZE = 64;
/** INT_MAX. */
export const INT_MAX = 0x7fffffff;

/** Standard verdicts as stored in xt_standard_target.verdict (-NF_x - 1, XT_RETURN). */
export const STD_VERDICT = { DROP: -1, ACCEPT: -2, QUEUE: -4, RETURN: -5 } as const;

/** XT_ALIGN: round up to the alignment of struct _xt_align (8 on x86_64). */
export function xtAlign(size: number): number {
  return (size + 7) & ~7;
}

/** struct ipt_ip. */
export const IPT_IP = {
  src: 0,
  dst: 4,
  smsk: 8,
  dmsk: 12,
  iniface: 16,
  outiface: 32,
  iniface_mask: 48,
  outiface_mask: 64,
  proto: 80,
  flags: 82,
  invflags: 83,
  IFNAMSIZ: 16,
  SIZE: 84,
} as const;

/** IPT_F_MASK and IPT_INV_MASK. */
export const IPT_F_MASK = 0x03;
/** IPT_INV_MASK. */
export const IPT_INV_MASK = 0x7f;

/** struct ipt_entry (elems = first match). */
export const IPT_ENTRY = {
  ip: 0,
  nfcache: 84,
  target_offset: 88,
  next_offset: 90,
  comefrom: 92,
  counters: 96,
  elems: 112,
  SIZE: 112,
  ALIGN: 8,
} as const;

/** struct xt_counters. */
export const XT_COUNTERS = { pcnt: 0, bcnt: 8, SIZE: 16 } as const;

/** struct xt_entry_match and struct xt_entry_target share this layout. */
export const XT_ENTRY_MATCH = { size: 0, name: 2, revision: 31, data: 32, SIZE: 32, ALIGN: 8 } as const;
/** struct xt_entry_target. */
export const XT_ENTRY_TARGET = { size: 0, name: 2, revision: 31, data: 32, SIZE: 32 } as const;
/** struct xt_standard_target. */
export const XT_STANDARD_TARGET_LAYOUT = { verdict: 32, SIZE: 40 } as const;
/** struct xt_error_target. */
export const XT_ERROR_TARGET_LAYOUT = { errorname: 32, SIZE: 64 } as const;

/** struct ipt_getinfo. */
export const IPT_GETINFO = {
  name: 0,
  valid_hooks: 32,
  hook_entry: 36,
  underflow: 56,
  num_entries: 76,
  size: 80,
  SIZE: 84,
} as const;

/** struct ipt_replace (entries = the entry blob). */
export const IPT_REPLACE = {
  name: 0,
  valid_hooks: 32,
  num_entries: 36,
  size: 40,
  hook_entry: 44,
  underflow: 64,
  num_counters: 84,
  counters: 88,
  entries: 96,
  SIZE: 96,
} as const;

/** struct ipt_get_entries (entrytable = the entry blob). */
export const IPT_GET_ENTRIES = { name: 0, size: 32, entrytable: 40, SIZE: 40 } as const;

/** struct xt_counters_info (counters = the xt_counters array). */
export const XT_COUNTERS_INFO = { name: 0, num_counters: 32, counters: 40, SIZE: 40 } as const;

/** struct xt_get_revision. */
export const XT_GET_REVISION = { name: 0, revision: 29, SIZE: 30 } as const;

/** errno values of the kernel (x86_64, asm-generic). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EINVAL: 22,
  ELOOP: 40,
  EPROTO: 71,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
} as const;

/** Reads a NUL-terminated string from a fixed-size char array, as strcmp/strlen would see it. */
export function readCString(bytes: Uint8Array, offset: number, size: number): string {
  let end = offset;
  const limit = Math.min(offset + size, bytes.byteLength);
  while (end < limit && bytes[end] !== 0) end++;
  return new TextDecoder("latin1").decode(bytes.subarray(offset, end));
}

/** Writes a string into a fixed-size char array, NUL-padded (the caller checks the length). */
export function writeCString(bytes: Uint8Array, offset: number, size: number, text: string): void {
  bytes.fill(0, offset, offset + size);
  for (let i = 0; i < text.length && i < size; i++) bytes[offset + i] = text.charCodeAt(i) & 0xff;
}
