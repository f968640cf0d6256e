/** Memory load/store builders (sized), the 64-bit immediate load and the map fd pseudo load. */
import { BPF_ATOMIC_OP, BPF_CLASS, BPF_MODE, BPF_PSEUDO, BPF_SIZE, LD_IMM64_OP } from "./opcode.ts";
import { insn, type Insn, type Reg } from "./insn.ts";
import { imm32 } from "./alu.ts";

/** Width of a memory access, named as the verifier prints it. */
export type MemSize = "u8" | "u16" | "u32" | "u64";

/** BPF_SIZE bits of each access width. */
export const MEM_SIZE_BITS: Readonly<Record<MemSize, number>> = {
  u8: BPF_SIZE.B,
  u16: BPF_SIZE.H,
  u32: BPF_SIZE.W,
  u64: BPF_SIZE.DW,
};

function off16(off: number): number {
  if (!Number.isInteger(off) || off < -0x8000 || off > 0x7fff) {
    throw new RangeError(`memory offset ${off} does not fit in s16`);
  }
  return off;
}

/** dst = *(size *)(src + off). */
export function ldx(size: MemSize, dst: Reg, src: Reg, off: number): Insn {
  return insn(BPF_CLASS.LDX | BPF_MODE.MEM | MEM_SIZE_BITS[size], { dst, src, off: off16(off) });
}

/** *(size *)(dst + off) = src. */
export function stx(size: MemSize, dst: Reg, off: number, src: Reg): Insn {
  return insn(BPF_CLASS.STX | BPF_MODE.MEM | MEM_SIZE_BITS[size], { dst, src, off: off16(off) });
}

/** *(size *)(dst + off) = imm. */
export function st(size: MemSize, dst: Reg, off: number, k: number): Insn {
  return insn(BPF_CLASS.ST | BPF_MODE.MEM | MEM_SIZE_BITS[size], { dst, off: off16(off), imm: imm32(k) });
}

/** lock *(size *)(dst + off) += src (u32 or u64 only). */
export function atomicAdd(size: "u32" | "u64", dst: Reg, off: number, src: Reg): Insn {
  return insn(BPF_CLASS.STX | BPF_MODE.ATOMIC | MEM_SIZE_BITS[size], {
    dst,
    src,
    off: off16(off),
    imm: BigInt(BPF_ATOMIC_OP.ADD),
  });
}

/** src = xchg(*(size *)(dst + off), src): stores src, leaves the old value in src (zero-extended). */
export function atomicXchg(size: "u32" | "u64", dst: Reg, off: number, src: Reg): Insn {
  return insn(BPF_CLASS.STX | BPF_MODE.ATOMIC | MEM_SIZE_BITS[size], { dst, src, off: off16(off), imm: BigInt(BPF_ATOMIC_OP.XCHG) });
}

/**
 * r0 = cmpxchg(*(size *)(dst + off), r0, src): stores src if the value is r0; leaves the old value
 * in r0 either way (zero-extended).
 */
export function atomicCmpxchg(size: "u32" | "u64", dst: Reg, off: number, src: Reg): Insn {
  return insn(BPF_CLASS.STX | BPF_MODE.ATOMIC | MEM_SIZE_BITS[size], { dst, src, off: off16(off), imm: BigInt(BPF_ATOMIC_OP.CMPXCHG) });
}

/** dst = 64-bit immediate (two slots). */
export function ldImm64(dst: Reg, value: bigint | number): Insn {
  const v = BigInt(value);
  if (v < -(1n << 63n) || v >= 1n << 64n) throw new RangeError(`immediate ${v} does not fit in 64 bits`);
  return insn(LD_IMM64_OP, { dst, imm: BigInt.asIntN(64, v) });
}

/** dst = pointer to the named map (BPF_PSEUDO_MAP_FD; the loader patches in the fd). */
export function ldMapFd(dst: Reg, map: string): Insn {
  return insn(LD_IMM64_OP, { dst, src: BPF_PSEUDO.MAP_FD, map });
}
