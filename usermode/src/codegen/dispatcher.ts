/**
 * The dispatcher: the one program the netfilter links of a netns run. It tail-calls the program of
 * the current generation for the packet's hook: slot generation * SLOTS_PER_GENERATION + hook of the
 * prog array. A replace fills the other generation's slots, then flips the generation: every hook of
 * the table switches at once (a netfilter link cannot be updated in place). An empty slot falls
 * through to NF_ACCEPT, as netfilter does without a table.
 */
import { add, and, assemble, call, disassemble, exit, jeq, ldMapFd, ldx, lsh, mov, st } from "./asm/index.ts";
import { HELPER, NF_VERDICT, REG, type NetfilterContextLayout } from "./layout.ts";
import { NF_HOOK_NUMBER } from "./hooks.ts";
import type { FilterHook } from "./hooks.ts";

/** Name of the prog array in mapRefs. */
export const PROGRAMS_MAP = "programs";
/** Name of the generation map in mapRefs. */
export const GENERATION_MAP = "generation";
/** Prog array slots per generation: indexed by NF_INET hook number (0..4; 3 are used). */
export const SLOTS_PER_GENERATION = 4;
/** Generations: the enforced one and the one a replace fills. */
export const GENERATIONS = 2;

/** The kernel's names of the dispatcher and its maps (bpftool prog/map show). */
export const DISPATCHER_NAMES = { program: "bpfilter_disp", programs: "bpfilter_progs", generation: "bpfilter_gen" } as const;

/**
 * The generation map's value: u32 generation, u32 0, then, for reaping (enforce/orphans.ts), u64 the
 * netns's nsfs inode and u64 the inode of its /proc/net/dev entry.
 */
export const GENERATION_VALUE = { SIZE: 24, GENERATION: 0, NETNS_INODE: 8, PROC_NET_DEV_INODE: 16 } as const;

/** The prog array slot of `hook`'s program in `generation`. */
export function dispatchSlot(generation: number, hook: FilterHook): number {
  return generation * SLOTS_PER_GENERATION + NF_HOOK_NUMBER[hook];
}

/** The assembled dispatcher. */
export interface Dispatcher {
  readonly insns: Uint8Array;
  readonly mapRefs: readonly { readonly insn: number; readonly map: string }[];
  readonly text: readonly string[];
}

const KEY = -4;

/** Builds the dispatcher for a kernel laid out as `layout`. */
export function buildDispatcher(layout: NetfilterContextLayout): Dispatcher {
  const out = "no_generation";
  const { insns, mapRefs } = assemble([
    mov.reg(REG.ctx, 1),
    st("u32", 10, KEY, 0),
    ldMapFd(1, GENERATION_MAP),
    mov.reg(2, 10),
    add.imm(2, KEY),
    call(HELPER.MAP_LOOKUP_ELEM),
    jeq.imm(0, 0, out),
    ldx("u32", 3, 0, GENERATION_VALUE.GENERATION),
    and.imm(3, GENERATIONS - 1),
    lsh.imm(3, Math.log2(SLOTS_PER_GENERATION)),
    ldx("u64", 1, REG.ctx, layout.ctxState),
    ldx("u8", 1, 1, layout.stateHook),
    add.reg(3, 1),
    mov.reg(1, REG.ctx),
    ldMapFd(2, PROGRAMS_MAP),
    call(HELPER.TAIL_CALL),
    { ...mov.imm(0, NF_VERDICT.ACCEPT), labels: [out] },
    exit(),
  ]);
  return { insns, mapRefs, text: disassemble(insns, mapRefs) };
}
