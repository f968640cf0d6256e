/**
 * The instruction value of the assembler: one immutable struct bpf_insn, with
 * optional symbolic metadata (labels on it, a jump target, a map or kfunc reference).
 */

/** A BPF register number: r0..r10 (r10 is the read-only frame pointer). */
export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;

/** One instruction. LD_IMM64 is one Insn that occupies two slots. */
export interface Insn {
  readonly op: number;
  readonly dst: Reg;
  readonly src: Reg;
  readonly off: number;
  /** s32 immediate; for LD_IMM64 the full 64-bit value (low half first in slot 0). */
  readonly imm: bigint;
  /** Labels that name this instruction as a jump target. */
  readonly labels?: readonly string[];
  /** Label this jump goes to; assemble() computes off from it. */
  readonly target?: string;
  /** Map this LD_IMM64 (src = BPF_PSEUDO_MAP_FD) refers to; the loader patches its fd. */
  readonly map?: string;
  /** Kernel function this call (src = BPF_PSEUDO_KFUNC_CALL) calls; the loader patches its BTF id. */
  readonly kfunc?: string;
}

/** Builds an instruction from its fields (imm defaults to 0, regs and off to 0). */
export function insn(op: number, fields: Partial<Omit<Insn, "op">> = {}): Insn {
  return { op, dst: 0, src: 0, off: 0, imm: 0n, ...fields };
}

/** A copy of an instruction that also carries the given label. */
export function withLabel(ins: Insn, label: string): Insn {
  return { ...ins, labels: [...(ins.labels ?? []), label] };
}
