// The kernel struct offsets a netfilter program reads through BTF-typed loads, from the running
// kernel's BTF: they differ between kernels and configs, so they are never hard-coded.
import { type Btf, BTF_KIND, KERNEL_BTF_DIR, kernelBtf } from "./btf.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { kfuncLocation, moduleBtf } from "./kfunc.ts";
import { CONNTRACK_FIELDS, type ConntrackFieldName } from "../codegen/fields.ts";
import { kernelHz } from "./kernel_hz.ts";

/**
 * Offsets of bpf_nf_ctx.{state,skb}, nf_hook_state.{hook,in,out}, net_device.name, sk_buff.len and
 * sk_buff.mark, and sk_buff._nfct where the kernel has conntrack (CONFIG_NF_CONNTRACK).
 */
export interface NetfilterContextOffsets {
  readonly ctxState: number;
  readonly ctxSkb: number;
  readonly stateHook: number;
  readonly stateIn: number;
  readonly stateOut: number;
  readonly devName: number;
  readonly skbLen: number;
  readonly skbMark: number;
  /** The byte of sk_buff's pkt_type bitfield, and the bitfield's shift in it (3 bits wide). */
  readonly skbPktType: { readonly offset: number; readonly shift: number };
  /** Absent on a kernel without conntrack: conntrack and state matches are declined there. */
  readonly skbNfct?: number;
  /**
   * Where the conntrack entry's fields (codegen/fields.ts CONNTRACK_FIELDS) lie in struct nf_conn,
   * which --ctstate SNAT/DNAT, --ctstatus and the tuple options read: from vmlinux's BTF, or module
   * nf_conntrack's once it is loaded; absent otherwise (those options are declined).
   */
  readonly ctFields?: Readonly<Record<ConntrackFieldName, { readonly offset: number; readonly size: number }>>;
  /** The series' kfuncs for netfilter programs (NF_TARGET_KFUNCS) that this kernel has; absent for none. */
  readonly kfuncs?: readonly string[];
  /** The kernel's CONFIG_HZ (kernel_hz.ts), for limit; absent when it cannot be learnt. */
  readonly hz?: number;
}

/**
 * The kfuncs of the series' CONFIG_NETFILTER_BPF_KFUNCS (net/netfilter/nf_bpf_kfuncs.c), which the
 * REJECT, LOG and MARK targets are compiled to; built in (vmlinux) or in module nf_bpf_kfuncs.
 */
export const NF_TARGET_KFUNCS = ["bpf_nf_reject_ipv4", "bpf_nf_log", "bpf_nf_set_mark"] as const;
const NF_TARGET_KFUNCS_MODULE = "nf_bpf_kfuncs";

/** Which of NF_TARGET_KFUNCS `btf` has, or the running kernel (vmlinux, then the module if it is loaded). */
function targetKfuncs(btf: Btf | undefined): string[] {
  if (btf !== undefined) return NF_TARGET_KFUNCS.filter((name) => btf.find(BTF_KIND.FUNC, name) !== undefined);
  return NF_TARGET_KFUNCS.filter((name) => kfuncLocation(name, KERNEL_BTF_DIR, [NF_TARGET_KFUNCS_MODULE]) !== undefined);
}

const CONNTRACK_MODULE = "nf_conntrack";

/** Where CONNTRACK_FIELDS lie in one BTF that has struct nf_conn. */
function conntrackFieldsIn(source: Btf): NonNullable<NetfilterContextOffsets["ctFields"]> {
  const tuplehash = source.member("nf_conn", "tuplehash");
  const perDir = tuplehash.size / 2; // tuplehash[IP_CT_DIR_MAX]
  const entries = Object.entries(CONNTRACK_FIELDS).map(([name, field]) => {
    let location = source.member("dir" in field ? "nf_conntrack_tuple_hash" : "nf_conn", field.path);
    if ("dir" in field) location = { offset: tuplehash.offset + field.dir * perDir + location.offset, size: location.size };
    if (location.size !== field.size) throw new Error(`BTF ${source.source}: ${name} (${field.path}) is ${location.size} bytes, expected ${field.size}`);
    return [name, location] as const;
  });
  return Object.fromEntries(entries) as NonNullable<NetfilterContextOffsets["ctFields"]>;
}

/**
 * CONNTRACK_FIELDS in `btf`, else in the running kernel (vmlinux, then the loaded nf_conntrack
 * module); undefined when none lays them out as expected: only the rules that read the entry are
 * then declined, not every table.
 */
function conntrackFields(btf: Btf | undefined): NetfilterContextOffsets["ctFields"] {
  try {
    const from: Btf[] = [btf ?? kernelBtf()];
    if (btf === undefined && existsSync(join(KERNEL_BTF_DIR, CONNTRACK_MODULE))) from.push(moduleBtf(KERNEL_BTF_DIR, CONNTRACK_MODULE));
    const source = from.find((candidate) => hasMember(candidate, "nf_conn", "status"));
    return source === undefined ? undefined : conntrackFieldsIn(source);
  } catch {
    return undefined;
  }
}

function hasMember(btf: Btf, struct: string, member: string): boolean {
  try {
    btf.member(struct, member);
    return true;
  } catch {
    return false;
  }
}

function pktType(btf: Btf): { offset: number; shift: number } {
  const field = btf.bitfield("sk_buff", "pkt_type");
  if (field.bits !== 3) throw new Error(`BTF ${btf.source}: sk_buff.pkt_type is ${field.bits} bits, expected 3`);
  return { offset: field.offset, shift: field.shift };
}

let cached: NetfilterContextOffsets | undefined;

/** The offsets in `btf` (default: the running kernel's, read once); throws naming a missing member. */
export function netfilterContextLayout(btf?: Btf): NetfilterContextOffsets {
  if (btf === undefined && cached !== undefined) return cached;
  const from = btf ?? kernelBtf();
  const at = (struct: string, member: string, size: number): number => {
    const location = from.member(struct, member);
    if (location.size !== size) throw new Error(`BTF ${from.source}: ${struct}.${member} is ${location.size} bytes, expected ${size}`);
    return location.offset;
  };
  const layout = {
    ctxState: at("bpf_nf_ctx", "state", 8),
    ctxSkb: at("bpf_nf_ctx", "skb", 8),
    stateHook: at("nf_hook_state", "hook", 1),
    stateIn: at("nf_hook_state", "in", 8),
    stateOut: at("nf_hook_state", "out", 8),
    devName: at("net_device", "name", 16),
    skbLen: at("sk_buff", "len", 4),
    skbMark: at("sk_buff", "mark", 4),
    skbPktType: pktType(from),
    ...(hasMember(from, "sk_buff", "_nfct") ? { skbNfct: at("sk_buff", "_nfct", 8) } : {}),
  };
  const ctFields = layout.skbNfct === undefined ? undefined : conntrackFields(btf);
  if (ctFields !== undefined) Object.assign(layout, { ctFields });
  const kfuncs = targetKfuncs(btf);
  if (kfuncs.length > 0) Object.assign(layout, { kfuncs });
  const hz = btf === undefined ? kernelHz() : undefined;
  if (hz !== undefined) Object.assign(layout, { hz });
  // Not kept while conntrack's module is still to be loaded: its BTF then has what SNAT/DNAT read.
  if (btf === undefined && (layout.skbNfct === undefined || ctFields !== undefined)) cached = layout;
  return layout;
}
