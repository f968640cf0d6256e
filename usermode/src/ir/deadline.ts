/**
 * A time by which a replace must be through the helper's hands, on the performance.now() clock, and
 * why. In kernel mode the kernel waits bpfilter.timeout_ms for the helper's answer, then kills the
 * helper, and the caller's iptables fails (ETIMEDOUT). Each stage of a replace (translating the
 * blob, reading its chains, resolving its rules, compiling, verifying) gives up at the deadline, so
 * that the table goes to netfilter in time and the command succeeds.
 */
export interface Deadline {
  /** performance.now() by which the helper must have decided. */
  readonly at: number;
  /** What waits, for the reason logged ("the kernel waits 5000 ms ... (bpfilter.timeout_ms)"). */
  readonly why: string;
}

/** A stage before the compiler reached the deadline (the compiler itself declines instead). */
export class LateError extends Error {
  override readonly name = "LateError";
}

/** What a stage that reached the deadline at `where` logs; undefined while there is time (or no deadline). */
export function lateReason(deadline: Deadline | undefined, where: string): string | undefined {
  return deadline !== undefined && performance.now() > deadline.at ? `${where}: not compiled in time: ${deadline.why}` : undefined;
}

/** How many steps of a loop pass between two looks at the clock. */
const STEPS_PER_LOOK = 512;

/**
 * A check for a loop: every STEPS_PER_LOOK calls it looks at the clock, and throws a LateError
 * naming where (`where()`, built only when it looks) once the deadline has passed. Nothing without a deadline.
 */
export function lateCheck(deadline: Deadline | undefined): (where: () => string) => void {
  if (deadline === undefined) return () => {};
  let steps = 0;
  return (where) => {
    if (++steps % STEPS_PER_LOOK !== 0) return;
    const reason = lateReason(deadline, where());
    if (reason !== undefined) throw new LateError(reason);
  };
}
