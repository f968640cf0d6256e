/** The ttl match (xt_hl.c, struct ipt_ttl_info): the IP TTL ==, !=, < or > a value. */
import type { TtlMatch } from "../ir/matches.ts";
import { defineMatch, expectXtSize } from "./types.ts";

/** sizeof(struct ipt_ttl_info): u8 mode, u8 ttl. */
export const IPT_TTL_SIZE = 2;
const MODES = ["eq", "ne", "lt", "gt"] as const;

/** The ttl match. */
export const ttl = defineMatch<TtlMatch>({
  name: "ttl",
  revisions: [0],
  structSize: IPT_TTL_SIZE,
  proto: 0,
  decode(data) {
    const view = expectXtSize("match 'ttl'", data, IPT_TTL_SIZE);
    return { kind: "ttl", mode: MODES[view.getUint8(0)] ?? "never", ttl: view.getUint8(1) };
  },
  emit(em, m) {
    const range = { eq: [m.ttl, m.ttl], ne: [m.ttl, m.ttl], lt: [0, m.ttl - 1], gt: [m.ttl + 1, 0xff] }[m.mode === "never" ? "eq" : m.mode];
    if (m.mode === "never" || range[0]! > range[1]!) {
      em.never(); // an unknown mode, ttl < 0 or ttl > 255
      return;
    }
    // At FORWARD the packet's TTL is already decremented (ip_forward does it before the hook), as ttl_mt sees it.
    em.load(1, "ip.ttl");
    em.requireAll([{ reg: 1, min: range[0]!, max: range[1]! }], m.mode === "ne");
  },
  describe: (m) => `-m ttl --ttl-${m.mode} ${m.ttl}`,
});
