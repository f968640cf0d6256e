/** The error an iptables request fails with: the errno netfilter would return and why. */

/** A request rejected with `errno` (positive), as netfilter would reject it; the message is for the log. */
export class IptError extends Error {
  override readonly name = "IptError";
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}
