/** ALU instruction builders: 64-bit (rN) and 32-bit (wN) forms, immediate and register operands. */
import { BPF_ALU_OP, BPF_CLASS, BPF_ENDIAN, BPF_SRC } from "./opcode.ts";
import { insn, type Insn, type Reg } from "./insn.ts";

/** Builders of one binary ALU operation. */
export interface AluOp {
  /** dst op= imm, 64-bit. */
  imm(dst: Reg, k: number): Insn;
  /** dst op= src, 64-bit. */
  reg(dst: Reg, src: Reg): Insn;
  /** wdst op= imm, 32-bit (upper half of dst zeroed). */
  imm32(dst: Reg, k: number): Insn;
  /** wdst op= wsrc, 32-bit. */
  reg32(dst: Reg, src: Reg): Insn;
}

/** An immediate as the s32 the instruction stores; throws when it fits neither s32 nor u32. */
export function imm32(k: number): bigint {
  if (!Number.isInteger(k) || k < -0x8000_0000 || k > 0xffff_ffff) {
    throw new RangeError(`immediate ${k} does not fit in 32 bits`);
  }
  return BigInt(k | 0);
}

function aluOp(code: number): AluOp {
  const a64 = BPF_CLASS.ALU64 | code;
  const a32 = BPF_CLASS.ALU | code;
  return {
    imm: (dst, k) => insn(a64 | BPF_SRC.K, { dst, imm: imm32(k) }),
    reg: (dst, src) => insn(a64 | BPF_SRC.X, { dst, src }),
    imm32: (dst, k) => insn(a32 | BPF_SRC.K, { dst, imm: imm32(k) }),
    reg32: (dst, src) => insn(a32 | BPF_SRC.X, { dst, src }),
  };
}

/** dst = operand. */
export const mov = aluOp(BPF_ALU_OP.MOV);
/** dst += operand. */
export const add = aluOp(BPF_ALU_OP.ADD);
/** dst -= operand. */
export const sub = aluOp(BPF_ALU_OP.SUB);
/** dst *= operand. */
export const mul = aluOp(BPF_ALU_OP.MUL);
/** dst /= operand (unsigned). */
export const div = aluOp(BPF_ALU_OP.DIV);
/** dst %= operand (unsigned). */
export const mod = aluOp(BPF_ALU_OP.MOD);
/** dst |= operand. */
export const or = aluOp(BPF_ALU_OP.OR);
/** dst &= operand. */
export const and = aluOp(BPF_ALU_OP.AND);
/** dst ^= operand. */
export const xor = aluOp(BPF_ALU_OP.XOR);
/** dst <<= operand. */
export const lsh = aluOp(BPF_ALU_OP.LSH);
/** dst >>= operand (logical). */
export const rsh = aluOp(BPF_ALU_OP.RSH);
/** dst s>>= operand (arithmetic). */
export const arsh = aluOp(BPF_ALU_OP.ARSH);

/** dst = -dst, 64-bit. */
export function neg(dst: Reg): Insn {
  return insn(BPF_CLASS.ALU64 | BPF_ALU_OP.NEG, { dst });
}

/** wdst = -wdst, 32-bit. */
export function neg32(dst: Reg): Insn {
  return insn(BPF_CLASS.ALU | BPF_ALU_OP.NEG, { dst });
}

/** Width of a byte swap. */
export type SwapBits = 16 | 32 | 64;

/** dst = big-endian of the low `bits` of dst (a byte swap on little-endian hosts: ntohs/ntohl). */
export function toBe(dst: Reg, bits: SwapBits): Insn {
  return insn(BPF_CLASS.ALU | BPF_ALU_OP.END | BPF_ENDIAN.TO_BE, { dst, imm: BigInt(bits) });
}

/** dst = little-endian of the low `bits` of dst (truncation only, on little-endian hosts). */
export function toLe(dst: Reg, bits: SwapBits): Insn {
  return insn(BPF_CLASS.ALU | BPF_ALU_OP.END | BPF_ENDIAN.TO_LE, { dst, imm: BigInt(bits) });
}
