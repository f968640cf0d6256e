/** ProgramBuilder: an append-only instruction list with pending labels and fresh label names. */
import { dropUnreachable, withLabel, type Insn } from "./asm/index.ts";

/** Most instructions a program may have (the verifier's BPF_COMPLEXITY_LIMIT_INSNS). */
export const MAX_PROGRAM_INSNS = 1_000_000;

/** Collects instructions for one program. */
export class ProgramBuilder {
  private readonly insns: Insn[] = [];
  private pending: string[] = [];
  private nextLabel = 0;

  /** Appends instructions; labels placed since the last emit go on the first of them. */
  emit(...insns: Insn[]): void {
    for (const ins of insns) {
      let labelled = ins;
      for (const label of this.pending) labelled = withLabel(labelled, label);
      this.pending = [];
      this.insns.push(labelled);
    }
    if (this.insns.length > MAX_PROGRAM_INSNS) {
      throw new RangeError(`program exceeds ${MAX_PROGRAM_INSNS} instructions`);
    }
  }

  /** Instructions emitted so far. */
  get size(): number {
    return this.insns.length;
  }

  /** Puts a label on the next instruction emitted. */
  place(label: string): void {
    this.pending.push(label);
  }

  /** A fresh label name, unique within this builder. */
  label(hint: string): string {
    return `${hint}#${this.nextLabel++}`;
  }

  /** The finished instruction list, without unreachable code. */
  finish(): Insn[] {
    if (this.pending.length > 0) throw new Error(`labels ${this.pending.join(", ")} placed after the last instruction`);
    return dropUnreachable(this.insns);
  }
}
