/**
 * The ERROR target (struct xt_error_target): it heads user-defined chains and ends the
 * table. Reached as a rule, the kernel's ipt_error drops the packet; so does the compiled rule.
 */
import { defineTarget, expectXtSize } from "./types.ts";

/** XT_FUNCTION_MAXNAMELEN: size of errorname. */
export const XT_ERROR_SIZE = 30;

/** A decoded ERROR target: the chain name or "ERROR" at the end of the table. */
export interface ErrorTarget {
  readonly errorName: string;
}

/** The ERROR target. */
export const error = defineTarget<ErrorTarget>({
  name: "ERROR",
  revisions: [0],
  decode(data) {
    const view = expectXtSize("target ERROR", data, XT_ERROR_SIZE);
    const bytes = new Uint8Array(view.buffer, view.byteOffset, XT_ERROR_SIZE);
    const nul = bytes.indexOf(0);
    if (nul < 0) throw new Error("target ERROR: errorname is not NUL-terminated within 30 bytes");
    return { errorName: Buffer.from(bytes.subarray(0, nul)).toString("latin1") };
  },
  verdict: () => "drop",
  describe: (target) => `-j ERROR "${target.errorName}"`,
});
