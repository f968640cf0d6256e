/** parseInsn(): the inverse of insnText, so that programs round-trip through text (tests, humans). */
import {
  BPF_ALU_OP,
  BPF_ATOMIC_OP,
  BPF_CLASS,
  BPF_ENDIAN,
  BPF_JMP_OP,
  BPF_MODE,
  BPF_PSEUDO,
  BPF_PSEUDO_CALL,
  BPF_SRC,
  LD_IMM64_OP,
} from "./opcode.ts";
import { insn, type Insn, type Reg } from "./insn.ts";
import { ALU_OP_TEXT, ATOMIC_OP_TEXT, JMP_OP_TEXT, SIZE_TEXT } from "./disasm.ts";

function invert(table: Readonly<Record<number, string>>): Map<string, number> {
  return new Map(Object.entries(table).map(([code, text]) => [text, Number(code)]));
}

const ALU_CODE = invert(ALU_OP_TEXT);
const JMP_CODE = invert(JMP_OP_TEXT);
const SIZE_CODE = invert(SIZE_TEXT);
const ATOMIC_CODE = invert(ATOMIC_OP_TEXT);

const MEM = String.raw`\*\((u8|u16|u32|u64) \*\)\(r(\d+) ([+-]\d+)\)`;
const PATTERNS: readonly [RegExp, (m: string[]) => Insn][] = [
  [/^exit$/, () => insn(BPF_CLASS.JMP | BPF_JMP_OP.EXIT)],
  [/^call (-?\d+)$/, (m) => insn(BPF_CLASS.JMP | BPF_JMP_OP.CALL, { imm: BigInt(m[1]!) })],
  [/^call kfunc\[([A-Za-z_][A-Za-z0-9_]*)\]$/, (m) => insn(BPF_CLASS.JMP | BPF_JMP_OP.CALL, { src: BPF_PSEUDO_CALL.KFUNC, kfunc: m[1]! })],
  [/^call kfunc (-?\d+)$/, (m) => insn(BPF_CLASS.JMP | BPF_JMP_OP.CALL, { src: BPF_PSEUDO_CALL.KFUNC, imm: BigInt(m[1]!) })],
  [/^call pc([+-]\d+)$/, (m) => insn(BPF_CLASS.JMP | BPF_JMP_OP.CALL, { src: BPF_PSEUDO_CALL.CALL, imm: BigInt(m[1]!) })],
  [/^goto ([+-]\d+)$/, (m) => insn(BPF_CLASS.JMP | BPF_JMP_OP.JA, { off: Number(m[1]) })],
  [
    /^if ([rw])(\d+) (\S+) (?:[rw](\d+)|(-?\d+)) goto ([+-]\d+)$/,
    (m) => {
      const code = JMP_CODE.get(m[3]!);
      if (code === undefined) throw new Error(`unknown comparison '${m[3]}'`);
      const cls = m[1] === "r" ? BPF_CLASS.JMP : BPF_CLASS.JMP32;
      const x = m[4] !== undefined;
      return insn(cls | code | (x ? BPF_SRC.X : BPF_SRC.K), {
        dst: reg(m[2]!),
        src: x ? reg(m[4]!) : 0,
        imm: x ? 0n : BigInt(m[5]!),
        off: Number(m[6]),
      });
    },
  ],
  [
    /^r(\d+) = (be|le)(16|32|64) r\d+$/,
    (m) =>
      insn(BPF_CLASS.ALU | BPF_ALU_OP.END | (m[2] === "be" ? BPF_ENDIAN.TO_BE : BPF_ENDIAN.TO_LE), {
        dst: reg(m[1]!),
        imm: BigInt(m[3]!),
      }),
  ],
  [
    /^([rw])(\d+) = -[rw]\d+$/,
    (m) => insn((m[1] === "r" ? BPF_CLASS.ALU64 : BPF_CLASS.ALU) | BPF_ALU_OP.NEG, { dst: reg(m[2]!) }),
  ],
  [/^r(\d+) = map\[(.+)\] ll$/, (m) => insn(LD_IMM64_OP, { dst: reg(m[1]!), src: BPF_PSEUDO.MAP_FD, map: m[2]! })],
  [
    /^r(\d+) = map_fd (-?\d+) ll$/,
    (m) => insn(LD_IMM64_OP, { dst: reg(m[1]!), src: BPF_PSEUDO.MAP_FD, imm: BigInt(m[2]!) }),
  ],
  [
    /^r(\d+) = pseudo(\d+) (-?\d+) ll$/,
    (m) => insn(LD_IMM64_OP, { dst: reg(m[1]!), src: reg(m[2]!), imm: BigInt(m[3]!) }),
  ],
  [/^r(\d+) = (-?\d+) ll$/, (m) => insn(LD_IMM64_OP, { dst: reg(m[1]!), imm: BigInt(m[2]!) })],
  [
    new RegExp(`^r(\\d+) = ${MEM}$`),
    (m) => insn(BPF_CLASS.LDX | BPF_MODE.MEM | size(m[2]!), { dst: reg(m[1]!), src: reg(m[3]!), off: Number(m[4]) }),
  ],
  [
    new RegExp(`^${MEM} = r(\\d+)$`),
    (m) => insn(BPF_CLASS.STX | BPF_MODE.MEM | size(m[1]!), { dst: reg(m[2]!), off: Number(m[3]), src: reg(m[4]!) }),
  ],
  [
    new RegExp(`^${MEM} = (-?\\d+)$`),
    (m) => insn(BPF_CLASS.ST | BPF_MODE.MEM | size(m[1]!), { dst: reg(m[2]!), off: Number(m[3]), imm: BigInt(m[4]!) }),
  ],
  [
    new RegExp(`^r(\\d+) = xchg\\(${MEM}, r(\\d+)\\)$`),
    (m) => {
      if (m[1] !== m[5]) throw new Error(`xchg leaves the old value in its source register: r${m[1]} is not r${m[5]}`);
      return insn(BPF_CLASS.STX | BPF_MODE.ATOMIC | size(m[2]!), { dst: reg(m[3]!), off: Number(m[4]), src: reg(m[5]!), imm: BigInt(BPF_ATOMIC_OP.XCHG) });
    },
  ],
  [
    new RegExp(`^r0 = cmpxchg\\(${MEM}, r0, r(\\d+)\\)$`),
    (m) => insn(BPF_CLASS.STX | BPF_MODE.ATOMIC | size(m[1]!), { dst: reg(m[2]!), off: Number(m[3]), src: reg(m[4]!), imm: BigInt(BPF_ATOMIC_OP.CMPXCHG) }),
  ],
  [
    new RegExp(`^lock ${MEM} (\\S+) r(\\d+)$`),
    (m) => {
      const code = ATOMIC_CODE.get(m[4]!);
      if (code === undefined) throw new Error(`unknown atomic operator '${m[4]}'`);
      return insn(BPF_CLASS.STX | BPF_MODE.ATOMIC | size(m[1]!), {
        dst: reg(m[2]!),
        off: Number(m[3]),
        src: reg(m[5]!),
        imm: BigInt(code),
      });
    },
  ],
  [
    /^([rw])(\d+) (\S+) (?:[rw](\d+)|(-?\d+))$/,
    (m) => {
      const code = ALU_CODE.get(m[3]!);
      if (code === undefined) throw new Error(`unknown operator '${m[3]}'`);
      const x = m[4] !== undefined;
      return insn((m[1] === "r" ? BPF_CLASS.ALU64 : BPF_CLASS.ALU) | code | (x ? BPF_SRC.X : BPF_SRC.K), {
        dst: reg(m[2]!),
        src: x ? reg(m[4]!) : 0,
        imm: x ? 0n : BigInt(m[5]!),
      });
    },
  ],
];

function reg(text: string): Reg {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 10) throw new Error(`register r${text} does not exist`);
  return n as Reg;
}

function size(text: string): number {
  return SIZE_CODE.get(text)!;
}

/** Parses one line of disassembly back into an instruction; throws naming the line it cannot read. */
export function parseInsn(line: string): Insn {
  const text = line.trim();
  for (const [pattern, build] of PATTERNS) {
    const m = pattern.exec(text);
    if (m !== null) {
      try {
        return build(m.map((g) => g as string));
      } catch (e) {
        throw new Error(`parse: '${text}': ${(e as Error).message}`);
      }
    }
  }
  throw new Error(`parse: '${text}' is not an instruction`);
}

/** Parses disassembly lines into instructions. */
export function parseProgram(lines: readonly string[]): Insn[] {
  return lines.map(parseInsn);
}
