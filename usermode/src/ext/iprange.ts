/** The iprange match, revision 1 (xt_iprange.c, struct xt_iprange_mtinfo): address ranges. */
import type { AddressRange, IprangeMatch } from "../ir/matches.ts";
import { defineMatch, expectXtSize } from "./types.ts";

/** sizeof(struct xt_iprange_mtinfo): four union nf_inet_addr (16 bytes each), u8 flags, padding. */
export const XT_IPRANGE_SIZE = 68;
const FLAGS = { SRC: 0x01, DST: 0x02, SRC_INV: 0x10, DST_INV: 0x20 } as const;
const OFF = { SRC_MIN: 0, SRC_MAX: 16, DST_MIN: 32, DST_MAX: 48, FLAGS: 64 } as const;

function dotted(a: number): string {
  return [a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff].join(".");
}

const ADDRESS = { src: "ip.saddr", dst: "ip.daddr" } as const;

/** The iprange match. */
export const iprange = defineMatch<IprangeMatch>({
  name: "iprange",
  revisions: [1],
  structSize: XT_IPRANGE_SIZE,
  proto: 0,
  decode(data) {
    const view = expectXtSize("match 'iprange'", data, XT_IPRANGE_SIZE);
    const flags = view.getUint8(OFF.FLAGS);
    const side = (flag: number, inv: number, min: number, max: number): AddressRange | undefined =>
      (flags & flag) === 0 ? undefined : { min: view.getUint32(min, false), max: view.getUint32(max, false), invert: (flags & inv) !== 0 };
    return {
      kind: "iprange",
      src: side(FLAGS.SRC, FLAGS.SRC_INV, OFF.SRC_MIN, OFF.SRC_MAX),
      dst: side(FLAGS.DST, FLAGS.DST_INV, OFF.DST_MIN, OFF.DST_MAX),
    };
  },
  emit(em, m) {
    for (const which of ["src", "dst"] as const) {
      const range = m[which];
      if (range === undefined) continue;
      if (range.min > range.max) {
        if (!range.invert) em.never(); // an empty range
        continue;
      }
      em.load(1, ADDRESS[which]);
      em.requireAll([{ reg: 1, min: range.min, max: range.max }], range.invert);
    }
  },
  describe(m) {
    const words = ["-m iprange"];
    if (m.src) words.push(`${m.src.invert ? "! " : ""}--src-range ${dotted(m.src.min)}-${dotted(m.src.max)}`);
    if (m.dst) words.push(`${m.dst.invert ? "! " : ""}--dst-range ${dotted(m.dst.min)}-${dotted(m.dst.max)}`);
    return words.join(" ");
  },
});
