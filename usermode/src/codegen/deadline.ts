/**
 * A time by which a compile must be done, on the performance.now() clock, and why: in kernel mode
 * the kernel waits bpfilter.timeout_ms for the helper's answer, then kills the helper and the
 * caller's iptables fails (ETIMEDOUT). A compile that would run past it is declined instead, so
 * that the table goes to netfilter in time and the command succeeds.
 */
import { DeclineError } from "./decline.ts";

export interface Deadline {
  /** performance.now() by which compiling and verifying must be done. */
  readonly at: number;
  /** What waits, for the decline's reason ("the kernel waits 5000 ms (bpfilter.timeout_ms)"). */
  readonly why: string;
}

/** Throws a DeclineError naming `where` once the deadline has passed; nothing without a deadline. */
export function checkDeadline(deadline: Deadline | undefined, where: string): void {
  if (deadline !== undefined && performance.now() > deadline.at) {
    throw new DeclineError(`${where}: not compiled in time: ${deadline.why}`);
  }
}
