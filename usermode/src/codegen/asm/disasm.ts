/**
 * disassemble(): raw bpf_insn bytes to text in the verifier's style, one line per
 * instruction ("r0 = 2", "if r1 > r2 goto +3", "r0 = *(u8 *)(r1 +12)", "call 69").
 */
import {
  BPF_ALU_OP,
  BPF_ATOMIC_OP,
  BPF_CLASS,
  BPF_JMP_OP,
  BPF_MODE,
  BPF_PSEUDO,
  BPF_PSEUDO_CALL,
  BPF_SIZE,
  BPF_SRC,
  LD_IMM64_OP,
  opClass,
} from "./opcode.ts";
import type { Insn } from "./insn.ts";
import { decodeInsns, type KfuncRef, type MapRef, slotWidth } from "./assemble.ts";

/** Operator text of each ALU operation ("+=", "s>>=", ...). */
export const ALU_OP_TEXT: Readonly<Record<number, string>> = {
  [BPF_ALU_OP.ADD]: "+=",
  [BPF_ALU_OP.SUB]: "-=",
  [BPF_ALU_OP.MUL]: "*=",
  [BPF_ALU_OP.DIV]: "/=",
  [BPF_ALU_OP.OR]: "|=",
  [BPF_ALU_OP.AND]: "&=",
  [BPF_ALU_OP.LSH]: "<<=",
  [BPF_ALU_OP.RSH]: ">>=",
  [BPF_ALU_OP.MOD]: "%=",
  [BPF_ALU_OP.XOR]: "^=",
  [BPF_ALU_OP.MOV]: "=",
  [BPF_ALU_OP.ARSH]: "s>>=",
};

/** Comparison text of each conditional jump ("==", "s<=", "&" ...). */
export const JMP_OP_TEXT: Readonly<Record<number, string>> = {
  [BPF_JMP_OP.JEQ]: "==",
  [BPF_JMP_OP.JGT]: ">",
  [BPF_JMP_OP.JGE]: ">=",
  [BPF_JMP_OP.JSET]: "&",
  [BPF_JMP_OP.JNE]: "!=",
  [BPF_JMP_OP.JSGT]: "s>",
  [BPF_JMP_OP.JSGE]: "s>=",
  [BPF_JMP_OP.JLT]: "<",
  [BPF_JMP_OP.JLE]: "<=",
  [BPF_JMP_OP.JSLT]: "s<",
  [BPF_JMP_OP.JSLE]: "s<=",
};

/** Access width names by BPF_SIZE bits. */
export const SIZE_TEXT: Readonly<Record<number, string>> = {
  [BPF_SIZE.B]: "u8",
  [BPF_SIZE.H]: "u16",
  [BPF_SIZE.W]: "u32",
  [BPF_SIZE.DW]: "u64",
};

/** Atomic operator text by imm (without BPF_FETCH). */
export const ATOMIC_OP_TEXT: Readonly<Record<number, string>> = {
  [BPF_ATOMIC_OP.ADD]: "+=",
  [BPF_ATOMIC_OP.OR]: "|=",
  [BPF_ATOMIC_OP.AND]: "&=",
  [BPF_ATOMIC_OP.XOR]: "^=",
};

function signed(n: number): string {
  return n < 0 ? `${n}` : `+${n}`;
}

function mem(size: number, reg: number, off: number): string {
  return `*(${SIZE_TEXT[size]} *)(r${reg} ${signed(off)})`;
}

function invalid(ins: Insn): string {
  return `invalid opcode 0x${ins.op.toString(16).padStart(2, "0")}`;
}

function aluText(ins: Insn): string {
  const r = opClass(ins.op) === BPF_CLASS.ALU64 ? "r" : "w";
  const code = ins.op & 0xf0;
  if (code === BPF_ALU_OP.NEG) return `${r}${ins.dst} = -${r}${ins.dst}`;
  if (code === BPF_ALU_OP.END) {
    const kind = (ins.op & BPF_SRC.X) !== 0 ? "be" : "le";
    return `r${ins.dst} = ${kind}${ins.imm} r${ins.dst}`;
  }
  const text = ALU_OP_TEXT[code];
  if (text === undefined) return invalid(ins);
  const operand = (ins.op & BPF_SRC.X) !== 0 ? `${r}${ins.src}` : `${ins.imm}`;
  return `${r}${ins.dst} ${text} ${operand}`;
}

function callText(ins: Insn, kfuncName: string | undefined): string {
  if (ins.src === BPF_PSEUDO_CALL.KFUNC) return kfuncName !== undefined ? `call kfunc[${kfuncName}]` : `call kfunc ${ins.imm}`;
  if (ins.src === BPF_PSEUDO_CALL.CALL) return `call pc${signed(Number(ins.imm))}`;
  return `call ${ins.imm}`;
}

function jumpText(ins: Insn, refName: string | undefined): string {
  const code = ins.op & 0xf0;
  if (opClass(ins.op) === BPF_CLASS.JMP) {
    if (code === BPF_JMP_OP.JA) return `goto ${signed(ins.off)}`;
    if (code === BPF_JMP_OP.CALL) return callText(ins, refName);
    if (code === BPF_JMP_OP.EXIT) return "exit";
  }
  const text = JMP_OP_TEXT[code];
  if (text === undefined) return invalid(ins);
  const r = opClass(ins.op) === BPF_CLASS.JMP ? "r" : "w";
  const operand = (ins.op & BPF_SRC.X) !== 0 ? `${r}${ins.src}` : `${ins.imm}`;
  return `if ${r}${ins.dst} ${text} ${operand} goto ${signed(ins.off)}`;
}

function ldImm64Text(ins: Insn, mapName: string | undefined): string {
  if (ins.src === BPF_PSEUDO.MAP_FD) {
    return mapName !== undefined ? `r${ins.dst} = map[${mapName}] ll` : `r${ins.dst} = map_fd ${ins.imm} ll`;
  }
  if (ins.src !== 0) return `r${ins.dst} = pseudo${ins.src} ${ins.imm} ll`;
  return `r${ins.dst} = ${ins.imm} ll`;
}

function memText(ins: Insn): string {
  const size = ins.op & 0x18;
  const mode = ins.op & 0xe0;
  switch (opClass(ins.op)) {
    case BPF_CLASS.LDX:
      return mode === BPF_MODE.MEM ? `r${ins.dst} = ${mem(size, ins.src, ins.off)}` : invalid(ins);
    case BPF_CLASS.ST:
      return mode === BPF_MODE.MEM ? `${mem(size, ins.dst, ins.off)} = ${ins.imm}` : invalid(ins);
    case BPF_CLASS.STX: {
      if (mode === BPF_MODE.MEM) return `${mem(size, ins.dst, ins.off)} = r${ins.src}`;
      if (mode === BPF_MODE.ATOMIC && Number(ins.imm) === BPF_ATOMIC_OP.XCHG) return `r${ins.src} = xchg(${mem(size, ins.dst, ins.off)}, r${ins.src})`;
      if (mode === BPF_MODE.ATOMIC && Number(ins.imm) === BPF_ATOMIC_OP.CMPXCHG) return `r0 = cmpxchg(${mem(size, ins.dst, ins.off)}, r0, r${ins.src})`;
      const text = ATOMIC_OP_TEXT[Number(ins.imm)];
      if (mode !== BPF_MODE.ATOMIC || text === undefined) return invalid(ins);
      return `lock ${mem(size, ins.dst, ins.off)} ${text} r${ins.src}`;
    }
    case BPF_CLASS.LD:
      if (mode === BPF_MODE.ABS) return `r0 = *(${SIZE_TEXT[size]} *)skb[${ins.imm}]`;
      if (mode === BPF_MODE.IND) return `r0 = *(${SIZE_TEXT[size]} *)skb[r${ins.src} ${signed(Number(ins.imm))}]`;
      return invalid(ins);
    default:
      return invalid(ins);
  }
}

/** Text of one decoded instruction; refName names the map of a map fd load or the kfunc of a call. */
export function insnText(ins: Insn, refName?: string): string {
  if (ins.op === LD_IMM64_OP) return ldImm64Text(ins, refName);
  switch (opClass(ins.op)) {
    case BPF_CLASS.ALU:
    case BPF_CLASS.ALU64:
      return aluText(ins);
    case BPF_CLASS.JMP:
    case BPF_CLASS.JMP32:
      return jumpText(ins, refName);
    default:
      return memText(ins);
  }
}

/** One text line per instruction of a raw program; mapRefs and kfuncRefs (slot → name) name map loads and kfunc calls. */
export function disassemble(bytes: Uint8Array, mapRefs: readonly MapRef[] = [], kfuncRefs: readonly KfuncRef[] = []): string[] {
  const names = new Map([...mapRefs.map((ref) => [ref.insn, ref.map] as const), ...kfuncRefs.map((ref) => [ref.insn, ref.kfunc] as const)]);
  let slot = 0;
  return decodeInsns(bytes).map((ins) => {
    const line = insnText(ins, names.get(slot));
    slot += slotWidth(ins);
    return line;
  });
}
