/** The ttl match (xt_hl.c, struct ipt_ttl_info): the IP TTL ==, !=, < or > a value. */
import { ja, jeq, jge, jle, jne, ldx } from "../codegen/asm/index.ts";
import { defineMatch, expectXtSize } from "./types.ts";

/** sizeof(struct ipt_ttl_info): u8 mode, u8 ttl. */
export const IPT_TTL_SIZE = 2;
const MODES = ["eq", "ne", "lt", "gt"] as const;
/** Offset of ttl in struct iphdr. */
const IPH_TTL = 8;

/** A decoded ipt_ttl_info; a mode outside IPT_TTL_EQ..GT never matches, as in ttl_mt. */
export interface TtlMatch {
  readonly mode: (typeof MODES)[number] | "never";
  readonly ttl: number;
}

/** The ttl match. */
export const ttl = defineMatch<TtlMatch>({
  name: "ttl",
  revisions: [0],
  proto: 0,
  decode(data) {
    const view = expectXtSize("match 'ttl'", data, IPT_TTL_SIZE);
    return { mode: MODES[view.getUint8(0)] ?? "never", ttl: view.getUint8(1) };
  },
  emit(em, m) {
    if (m.mode === "never") {
      em.emit(ja(em.noMatch));
      return;
    }
    em.emit(ldx("u8", 2, em.ipHeader, IPH_TTL));
    const fails = { eq: jne, ne: jeq, lt: jge, gt: jle }[m.mode];
    em.emit(fails.imm32(2, m.ttl, em.noMatch));
  },
  describe: (m) => `-m ttl --ttl-${m.mode} ${m.ttl}`,
});
