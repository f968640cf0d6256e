// TC (cls_bpf, direct-action) programs on a clsact qdisc: attach, atomic replace, detach.
// A TC filter is held by the qdisc, not by an fd: it stays after the helper exits, until detach().
import koffi from "koffi";
import { BPF_TC_EGRESS, BPF_TC_F_REPLACE, BPF_TC_INGRESS, bpf_tc_hook, bpf_tc_opts } from "./abi.ts";
import { check } from "./errors.ts";
import { bpf_tc_attach, bpf_tc_detach, bpf_tc_hook_create, bpf_tc_query } from "./libbpf.ts";
import type { BpfProgram } from "./loader.ts";
import { missingIfindexNote } from "./netns.ts";

/** Which side of the clsact qdisc a filter sits on. */
export type TcDirection = "ingress" | "egress";

/** A cls_bpf filter on a clsact qdisc, named by (ifindex, direction, handle, priority). */
export interface TcAttachment {
  readonly ifindex: number;
  readonly direction: TcDirection;
  /** The filter's handle (chosen by the kernel unless given at attach). */
  readonly handle: number;
  /** The filter's priority (chosen by the kernel unless given at attach). */
  readonly priority: number;
  /** Atomically replaces the filter's program (BPF_TC_F_REPLACE): no packet sees neither program. */
  replace(newProg: BpfProgram): void;
  /** The id of the program the filter runs now. */
  progId(): number;
  /** Removes the filter (the clsact qdisc stays: other filters may use it). */
  detach(): void;
}

/** Where to put a filter; without handle and priority the kernel picks free ones. */
export interface TcAttachOptions {
  handle?: number;
  priority?: number;
}

const EEXIST = 17;

function hookOf(ifindex: number, direction: TcDirection): Record<string, number> {
  const attach_point = direction === "egress" ? BPF_TC_EGRESS : BPF_TC_INGRESS;
  return { sz: koffi.sizeof(bpf_tc_hook), ifindex, attach_point, parent: 0 };
}

/** Creates the clsact qdisc on ifindex (in the calling thread's netns) unless it is already there. */
export function ensureClsact(ifindex: number, direction: TcDirection): void {
  const ret = bpf_tc_hook_create(hookOf(ifindex, direction));
  if (ret !== -EEXIST) check(`bpf_tc_hook_create(clsact qdisc, ifindex ${ifindex})`, ret, () => missingIfindexNote(ifindex));
}

/** Attaches `prog` (sched_cls) as a direct-action filter on the given side of ifindex's clsact qdisc. */
export function attachTc(ifindex: number, direction: TcDirection, prog: BpfProgram, where: TcAttachOptions = {}): TcAttachment {
  ensureClsact(ifindex, direction);
  const opts = {
    sz: koffi.sizeof(bpf_tc_opts),
    prog_fd: prog.fd,
    flags: 0,
    prog_id: 0,
    handle: where.handle ?? 0,
    priority: where.priority ?? 0,
  };
  check(`bpf_tc_attach(program '${prog.name}', ifindex ${ifindex} ${direction})`, bpf_tc_attach(hookOf(ifindex, direction), opts));
  return tcFilter(ifindex, direction, opts.handle, opts.priority);
}

/** Attaches `prog` (sched_cls) to ifindex's TC egress: clsact qdisc plus a direct-action cls_bpf filter. */
export function attachTcEgress(ifindex: number, prog: BpfProgram): TcAttachment {
  return attachTc(ifindex, "egress", prog);
}

/** Names an existing filter (e.g. one a previous helper attached) so it can be replaced or detached. */
export function tcFilter(ifindex: number, direction: TcDirection, handle: number, priority: number): TcAttachment {
  const label = `TC ${direction} filter on ifindex ${ifindex} (handle ${handle}, priority ${priority})`;
  const hook = hookOf(ifindex, direction);
  const base = { sz: koffi.sizeof(bpf_tc_opts), prog_fd: 0, flags: 0, prog_id: 0, handle, priority };
  return {
    ifindex,
    direction,
    handle,
    priority,
    replace(newProg) {
      const opts = { ...base, prog_fd: newProg.fd, flags: BPF_TC_F_REPLACE };
      check(`bpf_tc_attach(replace ${label} with program '${newProg.name}')`, bpf_tc_attach(hook, opts));
    },
    progId() {
      const opts = { ...base };
      check(`bpf_tc_query(${label})`, bpf_tc_query(hook, opts));
      return opts.prog_id;
    },
    detach() {
      check(`bpf_tc_detach(${label})`, bpf_tc_detach(hook, base));
    },
  };
}
