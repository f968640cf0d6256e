/** The icmp match (ip_tables.c icmp_match, struct ipt_icmp): type and code range. */
import { L4 } from "../codegen/layout.ts";
import type { IcmpMatch } from "../ir/matches.ts";
import { defineMatch, expectXtSize } from "./types.ts";

/** IPPROTO_ICMP. */
export const IPPROTO_ICMP = 1;
/** sizeof(struct ipt_icmp): u8 type, u8 code[2], u8 invflags. */
export const IPT_ICMP_SIZE = 4;
const IPT_ICMP_INV = 0x01;

/** The icmp match. */
export const icmp = defineMatch<IcmpMatch>({
  name: "icmp",
  revisions: [0],
  structSize: IPT_ICMP_SIZE,
  proto: IPPROTO_ICMP,
  decode(data) {
    const view = expectXtSize("match 'icmp'", data, IPT_ICMP_SIZE);
    const inv = view.getUint8(3);
    if ((inv & ~IPT_ICMP_INV) !== 0) throw new Error(`match 'icmp': unknown invflags 0x${inv.toString(16)}`);
    return { kind: "icmp", type: view.getUint8(0), codeMin: view.getUint8(1), codeMax: view.getUint8(2), invert: inv !== 0 };
  },
  emit(em, m) {
    em.transportHeader(L4.ICMP_HLEN, false); // what icmp_match reads with skb_header_pointer
    // (type == 0xff || (type == t && min <= code <= max)) ^ invert
    if (m.type === 0xff) {
      if (m.invert) em.never();
      return;
    }
    if (m.codeMin > m.codeMax) {
      if (!m.invert) em.never();
      return;
    }
    em.load(1, "icmp.type");
    const tests = [{ reg: 1, min: m.type, max: m.type } as const];
    if (m.codeMin > 0 || m.codeMax < 0xff) {
      em.load(2, "icmp.code");
      em.requireAll([...tests, { reg: 2, min: m.codeMin, max: m.codeMax }], m.invert);
    } else {
      em.requireAll(tests, m.invert);
    }
  },
  describe(m) {
    const what = m.type === 0xff ? "any" : `${m.type}/${m.codeMin}:${m.codeMax}`;
    return `-m icmp ${m.invert ? "! " : ""}--icmp-type ${what}`;
  },
});
