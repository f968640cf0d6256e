/**
 * The standard target ("" revision 0, struct xt_standard_target): ACCEPT, DROP, RETURN and
 * jumps. ipt/ resolves it into an IR Verdict, except for a rule without -j (its verdict is the
 * offset of the next entry): that one reaches the compiler as this target, and means "continue".
 */
import { defineTarget, expectXtSize } from "./types.ts";

/** sizeof(int verdict). */
export const XT_STANDARD_SIZE = 4;
/** Raw verdicts: -NF_x - 1 for the built-in ones, XT_RETURN for return, >= 0 a jump offset. */
export const STANDARD_VERDICT = { DROP: -1, ACCEPT: -2, QUEUE: -4, RETURN: -5 } as const;

/** A decoded standard verdict: a built-in one or a jump to a blob offset. */
export type StandardVerdict =
  | { readonly kind: "accept" | "drop" | "return" }
  | { readonly kind: "jump"; readonly offset: number };

/** Decodes the int verdict of a standard target; throws on a verdict netfilter does not define. */
export function decodeStandardVerdict(data: Uint8Array): StandardVerdict {
  const raw = expectXtSize("target standard", data, XT_STANDARD_SIZE).getInt32(0, true);
  if (raw >= 0) return { kind: "jump", offset: raw };
  if (raw === STANDARD_VERDICT.ACCEPT) return { kind: "accept" };
  if (raw === STANDARD_VERDICT.DROP) return { kind: "drop" };
  if (raw === STANDARD_VERDICT.RETURN) return { kind: "return" };
  throw new Error(`target standard: verdict ${raw} is not ACCEPT, DROP, RETURN or a jump`);
}

/** The standard target, for revision queries and describing raw blobs. */
export const standard = defineTarget<StandardVerdict>({
  name: "",
  revisions: [0],
  decode: (data) => decodeStandardVerdict(data),
  verdict(target) {
    if (target.kind === "accept" || target.kind === "drop") return target.kind;
    if (target.kind === "jump") return "continue"; // ipt/ resolved every jump but the one to the next entry
    throw new Error("target standard: RETURN should have been resolved into the IR by ipt/");
  },
  describe: (target) => (target.kind === "jump" ? `-j <offset ${target.offset}>` : `-j ${target.kind.toUpperCase()}`),
});
