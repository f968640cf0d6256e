/** Declines: the compiler's answer for a table it cannot compile faithfully. */

/** The reason a table is left to netfilter ("rule 3 in chain INPUT: match 'owner' is not supported"). */
export interface Decline {
  readonly declined: true;
  readonly reason: string;
}

/** Thrown inside the compiler; compileHook and checkTable turn it into a Decline. */
export class DeclineError extends Error {
  override readonly name = "DeclineError";
}

/** Runs fn and turns a DeclineError into a Decline; other errors propagate. */
export function catchDecline<T>(fn: () => T): T | Decline {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DeclineError) return { declined: true, reason: e.message };
    throw e;
  }
}

/** Re-throws a DeclineError from fn with `where` (the rule) in front of its message. */
export function withWhere<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DeclineError) throw new DeclineError(`${where}: ${e.message}`);
    throw e;
  }
}
