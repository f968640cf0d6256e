/**
 * Turns kbuild's quiet output into readable progress: a percentage and the current step,
 * instead of ten thousand CC lines. The full log goes to a file; this only counts.
 */

/** A kbuild step line: two spaces, a tag (CC, LD, AS, AR, GEN, …), spaces, a target. */
const STEP = /^ {2}([A-Z][A-Z0-9_]*(?: \[[A-Z]\])?)\s+(\S.*)$/;

/** Counts kbuild steps and renders progress against an expected total. */
export class KbuildProgress {
  steps = 0;
  private lastShown = -10;

  constructor(
    private readonly expected: number,
    private readonly write: (s: string) => void,
    private readonly tty: boolean,
  ) {}

  /** Feeds one line of kbuild output. */
  line(text: string): void {
    const m = STEP.exec(text);
    if (!m) return;
    this.steps++;
    const pct = Math.min(99, Math.floor((100 * this.steps) / Math.max(1, this.expected)));
    if (this.tty) {
      this.write(`\r  [${bar(pct)}] ${String(pct).padStart(2)}%  ${m[1]} ${m[2]}`.slice(0, 110).padEnd(110));
    } else if (pct >= this.lastShown + 10) {
      this.lastShown = pct - (pct % 10);
      this.write(`  ${String(this.lastShown).padStart(2)}% (${this.steps} steps)\n`);
    }
  }

  /** Ends the progress display. */
  done(ok: boolean): void {
    if (this.tty) this.write(`\r  [${bar(ok ? 100 : 0)}] ${ok ? "100%" : "failed"}`.padEnd(110) + "\n");
    else if (ok) this.write(`  100% (${this.steps} steps)\n`);
  }
}

function bar(pct: number): string {
  const n = Math.round(pct / 5);
  return "#".repeat(n) + ".".repeat(20 - n);
}

/** Whether a kbuild output line is a step (for tests and for counting a finished log). */
export function isStep(text: string): boolean {
  return STEP.test(text);
}
