/**
 * The compiler's side of a replace's deadline (ir/deadline.ts): a compile that would run past it
 * is declined, so that the table goes to netfilter in time.
 */
import { type Deadline, lateReason } from "../ir/deadline.ts";
import { DeclineError } from "./decline.ts";

export type { Deadline };

/** Throws a DeclineError naming `where` once the deadline has passed; nothing without a deadline. */
export function checkDeadline(deadline: Deadline | undefined, where: string): void {
  const reason = lateReason(deadline, where);
  if (reason !== undefined) throw new DeclineError(reason);
}
