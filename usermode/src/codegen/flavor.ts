/**
 * A flavor is what one kind of program supplies to buildProgram (program.ts): its program type,
 * its prologue and packet access, its verdict codes, how it reads the packet's devices and length.
 * Everything else (rules, chains, counters, emit modes) is the same for every flavor. There is one
 * flavor today, netfilter's (netfilter.ts); an XDP accelerator in front would be another.
 */
import type { Insn, Reg } from "./asm/index.ts";
import type { ProgramBuilder } from "./builder.ts";
import type { FilterHook } from "./hooks.ts";
import type { ConntrackFieldName, KernelFieldName } from "./fields.ts";

export type { FilterHook } from "./hooks.ts";

/** Return codes of a program for the two final verdicts. */
export interface VerdictCodes {
  readonly accept: number;
  readonly drop: number;
}

/** A device of the packet at a hook: the instructions that leave a pointer to it in a register, and where its name is. */
export interface DeviceAccess {
  readonly insns: readonly Insn[];
  /** Offset of char name[IFNAMSIZ] from that pointer. */
  readonly nameOffset: number;
}

/** What buildProgram needs from a kind of program (see the file comment). */
export interface Flavor {
  readonly name: string;
  /** The bpf/ program type the program is loaded as. */
  readonly progType: "netfilter";
  readonly codes: VerdictCodes;
  /**
   * Emits the prologue: ctx in REG.ctx, the IPv4 header in REG.iph, the transport facts in
   * TRANSPORT registers. Jumps to `pass` with a packet the filter table would not judge.
   */
  prologue(b: ProgramBuilder, pass: string): void;
  /** Instructions that leave the packet's length as the table counts it (skb->len) in reg; may clobber r0-r5. */
  packetBytes(reg: Reg): readonly Insn[];
  /** The input or output device at `hook`, leaving its pointer in `reg`; undefined where the hook has none. */
  device(hook: FilterHook, which: "in" | "out", reg: Reg): DeviceAccess | undefined;
  /**
   * Instructions that leave kernel field `field` (fields.ts KERNEL_FIELDS) in reg, zero-extended,
   * clobbering nothing else; undefined when this kernel has no such field (the rule is declined).
   */
  kernelField(field: KernelFieldName, reg: Reg): readonly Insn[] | undefined;
  /**
   * Instructions that leave field `field` of the packet's conntrack entry (fields.ts
   * CONNTRACK_FIELDS) in reg, zero-extended, 0 when it has none, through a helper call and the
   * stack slot STACK.CT_FIELD: they clobber r0-r5. Undefined when this kernel's BTF does not say
   * where the field is.
   */
  conntrackField(field: ConntrackFieldName, reg: Reg): readonly Insn[] | undefined;
  /** The kernel's HZ (CONFIG_HZ), which limit's arithmetic depends on; undefined when not known. */
  readonly hz?: number;
  /** Whether the kernel has kfunc `name` for this kind of program (a target's, codegen/targets.ts). */
  hasKfunc(name: string): boolean;
  /** Instructions that end the program with return code `code`. */
  epilogue(code: number): readonly Insn[];
}
