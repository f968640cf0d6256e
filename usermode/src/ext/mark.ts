/** The mark match, revision 1 (xt_mark.c, struct xt_mark_mtinfo1): (skb->mark & mask) == mark, XOR invert. */
import { and } from "../codegen/asm/index.ts";
import type { MarkMatch } from "../ir/matches.ts";
import { defineMatch, expectXtSize } from "./types.ts";

/** sizeof(struct xt_mark_mtinfo1): u32 mark, u32 mask, u8 invert, 3 bytes of padding. */
export const XT_MARK_MTINFO1_SIZE = 12;

const hex = (value: number): string => `0x${value.toString(16)}`;

/** The mark match. */
export const mark = defineMatch<MarkMatch>({
  name: "mark",
  structSize: XT_MARK_MTINFO1_SIZE,
  revisions: [1],
  proto: 0,
  decode(data) {
    const view = expectXtSize("match 'mark'", data, XT_MARK_MTINFO1_SIZE);
    return { kind: "mark", mark: view.getUint32(0, true), mask: view.getUint32(4, true), invert: view.getUint8(8) !== 0 };
  },
  emit(em, m) {
    em.kernelField(1, "skb.mark");
    if (m.mask !== 0xffff_ffff) em.emit(and.imm32(1, m.mask | 0));
    // A mark with bits outside the mask never equals (skb->mark & mask): the test then never holds, as in mark_mt.
    em.requireAll([{ reg: 1, min: m.mark, max: m.mark }], m.invert);
  },
  describe: (m) => `-m mark ${m.invert ? "! " : ""}--mark ${hex(m.mark)}${m.mask === 0xffff_ffff ? "" : `/${hex(m.mask)}`}`,
});
