// System calls the bpf layer makes itself. bpf(2) for what Debian's libbpf 1.1 predates (netfilter
// links, Linux 6.4): union bpf_attr is built as bytes at the offsets of abi.ts (checked against the
// kernel's BTF by test/bpf/layout.test.ts). membarrier(2) to wait for an RCU grace period. Both run
// on the calling thread, like every libbpf call here.
import { BpfError } from "./errors.ts";
import { lastErrno, libc } from "./libc.ts";

/** __NR_bpf and __NR_membarrier on x86-64 (the helper ships for x86-64 only). */
const NR_BPF = 321;
const NR_MEMBARRIER = 324;
const MEMBARRIER_CMD_GLOBAL = 1;

const syscall = libc.func("long syscall(long number, int cmd, _Inout_ uint8_t *attr, unsigned int size)");
const membarrier = libc.func("long syscall(long number, int cmd, unsigned int flags, int cpu_id)");

/** enum bpf_cmd values the helper issues through bpf(2) itself. */
export const BPF_CMD = { LINK_CREATE: 28 } as const;

/** sizeof(union bpf_attr) as of Linux 6.1 headers: the kernel accepts a shorter or longer one with zeroed tail. */
export const BPF_ATTR_SIZE = 144;

/** Issues bpf(cmd, attr); returns the result (an fd or 0) or throws a BpfError naming `call`. */
export function bpf(cmd: number, attr: Uint8Array, call: string, explain?: (errno: number) => string | undefined): number {
  const ret = Number(syscall(NR_BPF, cmd, attr, attr.length));
  if (ret >= 0) return ret;
  const errno = lastErrno();
  throw new BpfError(call, errno, {}, explain?.(errno));
}

/**
 * Returns after an RCU grace period: membarrier(MEMBARRIER_CMD_GLOBAL) is synchronize_rcu()
 * (kernel/sched/membarrier.c). BPF programs at netfilter hooks run inside rcu_read_lock(), so once
 * it returns, every packet that entered a program before the call has left it. Throws a BpfError
 * when the kernel refuses (it does with nohz_full CPUs).
 */
export function synchronizeRcu(): void {
  if (Number(membarrier(NR_MEMBARRIER, MEMBARRIER_CMD_GLOBAL, 0, 0)) !== 0) {
    throw new BpfError("membarrier(MEMBARRIER_CMD_GLOBAL)", lastErrno(), {}, "the kernel cannot wait for an RCU grace period here");
  }
}
