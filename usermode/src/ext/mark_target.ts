/**
 * The MARK target, revision 2 (net/netfilter/xt_mark.c, struct xt_mark_tginfo2), the one iptables
 * 1.8 sends for every form (--set-mark, --and-mark, --or-mark, --xor-mark become --set-xmark
 * value/mask), done by the series' bpf_nf_set_mark: skb->mark = (skb->mark & ~mask) ^ mark, as
 * mark_tg. It has no checkentry; evaluation goes on with the next rule.
 */
import type { MarkTarget } from "../ir/targets.ts";
import { defineTarget, expectXtSize } from "./types.ts";

/** sizeof(struct xt_mark_tginfo2): u32 mark, u32 mask. */
export const XT_MARK_TGINFO2_SIZE = 8;

const hex = (value: number): string => `0x${value.toString(16)}`;

/** The MARK target. */
export const markTarget = defineTarget<MarkTarget>({
  name: "MARK",
  kind: "mark",
  revisions: [2],
  structSize: XT_MARK_TGINFO2_SIZE,
  kfunc: "bpf_nf_set_mark",
  then: "continue",
  decode(data) {
    const view = expectXtSize("target 'MARK'", data, XT_MARK_TGINFO2_SIZE);
    return { kind: "mark", mark: view.getUint32(0, true), mask: view.getUint32(4, true) };
  },
  args: (t) => [{ u32: t.mark }, { u32: t.mask }],
  describe: (t) => `-j MARK --set-xmark ${hex(t.mark)}/${hex(t.mask)}`,
});
