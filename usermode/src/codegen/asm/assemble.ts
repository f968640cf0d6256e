/**
 * assemble(): lays out instructions in slots, resolves every label reference in one
 * step and encodes struct bpf_insn records (8 bytes each, little-endian).
 */
import { BPF_CLASS, BPF_JMP_OP, BPF_PSEUDO, BPF_PSEUDO_CALL, isBranch, LD_IMM64_OP } from "./opcode.ts";
import type { Insn } from "./insn.ts";

/** A slot whose imm the loader must patch with the fd of a map. */
export interface MapRef {
  readonly insn: number;
  readonly map: string;
}

/** A slot whose call the loader must patch with the BTF id of a kernel function. */
export interface KfuncRef {
  readonly insn: number;
  readonly kfunc: string;
}

/** Encoded program: raw bpf_insn bytes and the map and kfunc references to patch. */
export interface AssembledProgram {
  readonly insns: Uint8Array;
  readonly mapRefs: readonly MapRef[];
  readonly kfuncRefs: readonly KfuncRef[];
}

/** The opcode of BPF_JMP | BPF_CALL. */
const CALL_OP = BPF_CLASS.JMP | BPF_JMP_OP.CALL;

/** Size of one struct bpf_insn. */
export const INSN_SIZE = 8;

/** Number of 8-byte slots an instruction occupies (2 for LD_IMM64). */
export function slotWidth(ins: Insn): number {
  return ins.op === LD_IMM64_OP ? 2 : 1;
}

/** Slot index of every labelled instruction; throws on a duplicate label. */
export function labelSlots(insns: readonly Insn[]): Map<string, number> {
  const slots = new Map<string, number>();
  let slot = 0;
  insns.forEach((ins, i) => {
    for (const label of ins.labels ?? []) {
      if (slots.has(label)) {
        throw new Error(`assemble: label '${label}' defined twice (slot ${slots.get(label)} and instruction ${i})`);
      }
      slots.set(label, slot);
    }
    slot += slotWidth(ins);
  });
  return slots;
}

function checkFields(ins: Insn, i: number): void {
  const where = `assemble: instruction ${i} (opcode 0x${ins.op.toString(16)})`;
  if (!Number.isInteger(ins.op) || ins.op < 0 || ins.op > 0xff) throw new Error(`${where}: opcode out of range`);
  for (const [name, reg] of [["dst", ins.dst], ["src", ins.src]] as const) {
    if (!Number.isInteger(reg) || reg < 0 || reg > 10) throw new Error(`${where}: ${name} register r${reg} does not exist`);
  }
  if (ins.off < -0x8000 || ins.off > 0x7fff) throw new Error(`${where}: offset ${ins.off} out of s16 range`);
  const wide = ins.op === LD_IMM64_OP;
  if (!wide && (ins.imm < -(1n << 31n) || ins.imm >= 1n << 31n)) {
    throw new Error(`${where}: immediate ${ins.imm} out of s32 range`);
  }
  if (ins.target !== undefined && !isBranch(ins.op)) throw new Error(`${where}: jump target '${ins.target}' on a non-jump`);
  if (ins.map !== undefined && !(wide && ins.src === BPF_PSEUDO.MAP_FD)) {
    throw new Error(`${where}: map reference '${ins.map}' on an instruction that is not a map fd load`);
  }
  if (ins.kfunc !== undefined && !(ins.op === CALL_OP && ins.src === BPF_PSEUDO_CALL.KFUNC)) {
    throw new Error(`${where}: kfunc reference '${ins.kfunc}' on an instruction that is not a kfunc call`);
  }
}

function writeSlot(view: DataView, slot: number, op: number, dst: number, src: number, off: number, imm: number): void {
  const at = slot * INSN_SIZE;
  view.setUint8(at, op);
  view.setUint8(at + 1, ((src & 0xf) << 4) | (dst & 0xf));
  view.setInt16(at + 2, off, true);
  view.setInt32(at + 4, imm, true);
}

/** Encodes instructions; throws on a missing or duplicate label or a jump offset out of s16 range. */
export function assemble(insns: readonly Insn[]): AssembledProgram {
  const labels = labelSlots(insns);
  const slotCount = insns.reduce((n, ins) => n + slotWidth(ins), 0);
  const bytes = new Uint8Array(slotCount * INSN_SIZE);
  const view = new DataView(bytes.buffer);
  const mapRefs: MapRef[] = [];
  const kfuncRefs: KfuncRef[] = [];
  let slot = 0;
  insns.forEach((ins, i) => {
    checkFields(ins, i);
    let off = ins.off;
    if (ins.target !== undefined) {
      const to = labels.get(ins.target);
      if (to === undefined) throw new Error(`assemble: instruction ${i} jumps to undefined label '${ins.target}'`);
      off = to - (slot + 1);
      if (off < -0x8000 || off > 0x7fff) {
        throw new Error(`assemble: instruction ${i} jumps to '${ins.target}' ${off} slots away, beyond the s16 offset range`);
      }
    }
    if (ins.op === LD_IMM64_OP) {
      const v = BigInt.asUintN(64, ins.imm);
      if (ins.map !== undefined) mapRefs.push({ insn: slot, map: ins.map });
      writeSlot(view, slot, ins.op, ins.dst, ins.src, off, Number(BigInt.asIntN(32, v)));
      writeSlot(view, slot + 1, 0, 0, 0, 0, Number(BigInt.asIntN(32, v >> 32n)));
    } else {
      if (ins.kfunc !== undefined) kfuncRefs.push({ insn: slot, kfunc: ins.kfunc });
      writeSlot(view, slot, ins.op, ins.dst, ins.src, off, Number(ins.imm));
    }
    slot += slotWidth(ins);
  });
  return { insns: bytes, mapRefs, kfuncRefs };
}

/** Decodes raw bpf_insn bytes into instructions (LD_IMM64 joined); throws on a truncated program. */
export function decodeInsns(bytes: Uint8Array): Insn[] {
  if (bytes.length % INSN_SIZE !== 0) {
    throw new Error(`decode: program length ${bytes.length} is not a multiple of ${INSN_SIZE}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  const slots = bytes.length / INSN_SIZE;
  for (let slot = 0; slot < slots; slot++) {
    const at = slot * INSN_SIZE;
    const op = view.getUint8(at);
    const regs = view.getUint8(at + 1);
    const dst = (regs & 0xf) as Insn["dst"];
    const src = (regs >> 4) as Insn["src"];
    const off = view.getInt16(at + 2, true);
    let imm = BigInt(view.getInt32(at + 4, true));
    if (op === LD_IMM64_OP) {
      if (slot + 1 >= slots) throw new Error(`decode: LD_IMM64 at slot ${slot} lacks its second slot`);
      const hi = BigInt(view.getInt32(at + 12, true));
      imm = BigInt.asIntN(64, (hi << 32n) | BigInt.asUintN(32, imm));
      slot++;
    }
    out.push({ op, dst, src, off, imm });
  }
  return out;
}
