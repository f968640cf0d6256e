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

/**
 * The most branch states the verifier keeps pending while it walks the program depth-first:
 * at a conditional jump it pushes the taken side and follows the fall-through, and a state that
 * reaches an already explored jump target is pruned. The kernel refuses more than
 * BPF_COMPLEXITY_LIMIT_JMP_SEQ (8192) of them ("The sequence of N jumps is too complex").
 * Assumes every arrival at an explored target is pruned (states equal), so it is a lower bound.
 */
export function pendingBranchDepth(insns: readonly Insn[]): number {
  const labels = new Map<string, number>();
  insns.forEach((ins, i) => ins.labels?.forEach((l) => labels.set(l, i)));
  const visited = new Uint8Array(insns.length);
  const pending: number[] = [];
  let deepest = 0;
  let at: number | undefined = insns.length > 0 ? 0 : undefined;
  while (at !== undefined) {
    if (at >= insns.length || visited[at] === 1) {
      at = pending.pop();
      continue;
    }
    visited[at] = 1;
    const next: number[] = successors(insns[at]!, at, labels);
    if (next.length === 2) {
      pending.push(next[1]!);
      deepest = Math.max(deepest, pending.length);
    }
    at = next.length === 0 ? pending.pop() : next[0];
  }
  return deepest;
}
