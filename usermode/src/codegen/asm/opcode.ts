/**
 * Opcode byte fields of struct bpf_insn (include/uapi/linux/bpf_common.h, bpf.h).
 * An opcode is class | size/mode (loads and stores) or class | op | source (ALU, jumps).
 */

/** Instruction classes (low 3 bits of the opcode). */
export const BPF_CLASS = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/** Access sizes of loads and stores (bits 3-4). */
export const BPF_SIZE = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;

/** Load/store modes (bits 5-7). */
export const BPF_MODE = { IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, ATOMIC: 0xc0 } as const;

/** Operand source bit of ALU and jump opcodes: immediate (K) or register (X). */
export const BPF_SRC = { K: 0x00, X: 0x08 } as const;

/** ALU operations (high 4 bits). */
export const BPF_ALU_OP = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;

/** Jump operations (high 4 bits). */
export const BPF_JMP_OP = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
} as const;

/** Byte-swap direction of BPF_END, carried in the source bit. */
export const BPF_ENDIAN = { TO_LE: 0x00, TO_BE: 0x08 } as const;

/** Atomic operations carried in imm of BPF_STX | BPF_ATOMIC. */
export const BPF_ATOMIC_OP = { ADD: 0x00, OR: 0x40, AND: 0x50, XOR: 0xa0, FETCH: 0x01, XCHG: 0xe1, CMPXCHG: 0xf1 } as const;

/** src_reg values of BPF_LD | BPF_IMM | BPF_DW that make imm a pseudo value. */
export const BPF_PSEUDO = { MAP_FD: 1, MAP_VALUE: 2 } as const;

/** src_reg values of BPF_CALL: a helper by id (0), a BPF function (1) or a kernel function by BTF id (2). */
export const BPF_PSEUDO_CALL = { HELPER: 0, CALL: 1, KFUNC: 2 } as const;

/** The opcode of the 64-bit immediate load, the only two-slot instruction. */
export const LD_IMM64_OP = BPF_CLASS.LD | BPF_SIZE.DW | BPF_MODE.IMM;

/** Class of an opcode. */
export function opClass(op: number): number {
  return op & 0x07;
}

/** True for the two jump classes. */
export function isJumpClass(op: number): boolean {
  const cls = opClass(op);
  return cls === BPF_CLASS.JMP || cls === BPF_CLASS.JMP32;
}

/** True when the opcode is a jump whose offset is a branch target (not call or exit). */
export function isBranch(op: number): boolean {
  if (!isJumpClass(op)) return false;
  const code = op & 0xf0;
  return code !== BPF_JMP_OP.CALL && code !== BPF_JMP_OP.EXIT;
}
