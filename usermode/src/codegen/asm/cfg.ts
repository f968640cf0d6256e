/**
 * dropUnreachable(): removes instructions no path from the entry reaches. The verifier
 * rejects unreachable code, and rule lists make plenty (rules after an unconditional ACCEPT).
 */
import { BPF_CLASS, BPF_JMP_OP, isBranch, opClass } from "./opcode.ts";
import type { Insn } from "./insn.ts";

function successors(ins: Insn, i: number, labels: ReadonlyMap<string, number>): number[] {
  if (isBranch(ins.op)) {
    if (ins.target === undefined) throw new Error(`dropUnreachable: instruction ${i} jumps by a raw offset, not a label`);
    const to = labels.get(ins.target);
    if (to === undefined) throw new Error(`dropUnreachable: instruction ${i} jumps to undefined label '${ins.target}'`);
    const always = opClass(ins.op) === BPF_CLASS.JMP && (ins.op & 0xf0) === BPF_JMP_OP.JA;
    return always ? [to] : [i + 1, to];
  }
  if (opClass(ins.op) === BPF_CLASS.JMP && (ins.op & 0xf0) === BPF_JMP_OP.EXIT) return [];
  return [i + 1];
}

/** The instructions reachable from the first one, in order; every branch must use a label. */
export function dropUnreachable(insns: readonly Insn[]): Insn[] {
  const labels = new Map<string, number>();
  insns.forEach((ins, i) => ins.labels?.forEach((l) => labels.set(l, i)));
  const reached = new Uint8Array(insns.length);
  const work = insns.length > 0 ? [0] : [];
  while (work.length > 0) {
    const i = work.pop()!;
    if (i >= insns.length || reached[i] === 1) continue;
    reached[i] = 1;
    work.push(...successors(insns[i]!, i, labels));
  }
  return insns.filter((_, i) => reached[i] === 1);
}
