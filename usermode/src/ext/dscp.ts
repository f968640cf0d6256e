/** The dscp match (xt_dscp.c, struct xt_dscp_info): the DSCP bits of the TOS byte, XOR invert. */
import { rsh } from "../codegen/asm/index.ts";
import type { DscpMatch } from "../ir/matches.ts";
import { defineMatch, expectXtSize } from "./types.ts";

/** sizeof(struct xt_dscp_info): u8 dscp, u8 invert. */
export const XT_DSCP_SIZE = 2;
/** XT_DSCP_MAX. */
const DSCP_MAX = 0x3f;

/** The dscp match. */
export const dscp = defineMatch<DscpMatch>({
  name: "dscp",
  revisions: [0],
  structSize: XT_DSCP_SIZE,
  proto: 0,
  decode(data) {
    const view = expectXtSize("match 'dscp'", data, XT_DSCP_SIZE);
    const value = view.getUint8(0);
    if (value > DSCP_MAX) throw new Error(`match 'dscp': dscp ${value} exceeds ${DSCP_MAX}`);
    return { kind: "dscp", dscp: value, invert: view.getUint8(1) !== 0 };
  },
  emit(em, m) {
    em.load(1, "ip.tos");
    em.emit(rsh.imm32(1, 2));
    em.requireAll([{ reg: 1, min: m.dscp, max: m.dscp }], m.invert);
  },
  describe: (m) => `-m dscp ${m.invert ? "! " : ""}--dscp 0x${m.dscp.toString(16).padStart(2, "0")}`,
});
