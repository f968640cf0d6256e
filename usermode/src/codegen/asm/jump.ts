/** Jump, call and exit builders. A jump names its target label; assemble() fills in the offset. */
import { BPF_CLASS, BPF_JMP_OP, BPF_PSEUDO_CALL, BPF_SRC } from "./opcode.ts";
import { insn, type Insn, type Reg } from "./insn.ts";
import { imm32 } from "./alu.ts";

/** Where a jump goes: a label (resolved by assemble) or a raw slot offset. */
export type JumpTarget = string | number;

function targetFields(to: JumpTarget): { off: number; target?: string } {
  if (typeof to === "string") return { off: 0, target: to };
  if (!Number.isInteger(to) || to < -0x8000 || to > 0x7fff) {
    throw new RangeError(`jump offset ${to} does not fit in s16`);
  }
  return { off: to };
}

/** Builders of one conditional jump: "if dst OP operand goto target". */
export interface CondJump {
  /** 64-bit compare with a sign-extended immediate. */
  imm(dst: Reg, k: number, to: JumpTarget): Insn;
  /** 64-bit compare of two registers. */
  reg(dst: Reg, src: Reg, to: JumpTarget): Insn;
  /** 32-bit compare (wN) with an immediate. */
  imm32(dst: Reg, k: number, to: JumpTarget): Insn;
  /** 32-bit compare of two registers. */
  reg32(dst: Reg, src: Reg, to: JumpTarget): Insn;
}

function condJump(code: number): CondJump {
  const j64 = BPF_CLASS.JMP | code;
  const j32 = BPF_CLASS.JMP32 | code;
  return {
    imm: (dst, k, to) => insn(j64 | BPF_SRC.K, { dst, imm: imm32(k), ...targetFields(to) }),
    reg: (dst, src, to) => insn(j64 | BPF_SRC.X, { dst, src, ...targetFields(to) }),
    imm32: (dst, k, to) => insn(j32 | BPF_SRC.K, { dst, imm: imm32(k), ...targetFields(to) }),
    reg32: (dst, src, to) => insn(j32 | BPF_SRC.X, { dst, src, ...targetFields(to) }),
  };
}

/** Jump if equal. */
export const jeq = condJump(BPF_JMP_OP.JEQ);
/** Jump if not equal. */
export const jne = condJump(BPF_JMP_OP.JNE);
/** Jump if greater (unsigned). */
export const jgt = condJump(BPF_JMP_OP.JGT);
/** Jump if greater or equal (unsigned). */
export const jge = condJump(BPF_JMP_OP.JGE);
/** Jump if less (unsigned). */
export const jlt = condJump(BPF_JMP_OP.JLT);
/** Jump if less or equal (unsigned). */
export const jle = condJump(BPF_JMP_OP.JLE);
/** Jump if greater (signed). */
export const jsgt = condJump(BPF_JMP_OP.JSGT);
/** Jump if greater or equal (signed). */
export const jsge = condJump(BPF_JMP_OP.JSGE);
/** Jump if less (signed). */
export const jslt = condJump(BPF_JMP_OP.JSLT);
/** Jump if less or equal (signed). */
export const jsle = condJump(BPF_JMP_OP.JSLE);
/** Jump if dst & operand is not zero. */
export const jset = condJump(BPF_JMP_OP.JSET);

/** Unconditional jump. */
export function ja(to: JumpTarget): Insn {
  return insn(BPF_CLASS.JMP | BPF_JMP_OP.JA, targetFields(to));
}

/** Call of a BPF helper by its id (enum bpf_func_id). */
export function call(helper: number): Insn {
  return insn(BPF_CLASS.JMP | BPF_JMP_OP.CALL, { imm: imm32(helper) });
}

/** Call of a kernel function (kfunc) by name; the loader resolves its BTF id (and module) at load time. */
export function kfuncCall(name: string): Insn {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RangeError(`kfunc name '${name}' is not a C identifier`);
  return insn(BPF_CLASS.JMP | BPF_JMP_OP.CALL, { src: BPF_PSEUDO_CALL.KFUNC, kfunc: name });
}

/** Return r0 to the caller of the program. */
export function exit(): Insn {
  return insn(BPF_CLASS.JMP | BPF_JMP_OP.EXIT);
}
