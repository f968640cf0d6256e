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

/** How many steps of a loop pass between two looks at the clock. */
const STEPS_PER_LOOK = 512;

/**
 * A check for a loop: every STEPS_PER_LOOK calls it looks at the clock, and throws a LateError
 * naming where (`where()`, built only then) once the deadline has passed. Nothing without a deadline.
 */
export function lateCheck(deadline: Deadline | undefined): (where: () => string) => void {
  if (deadline === undefined) return () => {};
  let steps = 0;
  return (where) => {
    if (++steps % STEPS_PER_LOOK === 0 && performance.now() > deadline.at) {
      throw new LateError(`${where()}: not compiled in time: ${deadline.why}`);
    }
  };
}
