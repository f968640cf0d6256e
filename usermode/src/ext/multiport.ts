/** The multiport match, revision 1 (xt_multiport.c, struct xt_multiport_v1): up to 15 ports or ranges. */
import type { Reg } from "../codegen/asm/index.ts";
import { L4 } from "../codegen/layout.ts";
import type { MultiportMatch, MultiportSide } from "../ir/matches.ts";
import { defineMatch, expectXtSize } from "./types.ts";

/** XT_MULTI_PORTS. */
const MAX_PORTS = 15;
/** sizeof(struct xt_multiport_v1): u8 flags, u8 count, u16 ports[15], u8 pflags[15], u8 invert. */
export const XT_MULTIPORT_V1_SIZE = 48;
const OFF = { FLAGS: 0, COUNT: 1, PORTS: 2, PFLAGS: 32, INVERT: 47 } as const;
/** Protocols multiport's checkentry accepts: tcp, udp, udplite, sctp, dccp. */
const PROTOS = [6, 17, 136, 132, 33] as const;

const SIDES: readonly MultiportSide[] = ["source", "destination", "either"];

/** The multiport match. */
export const multiport = defineMatch<MultiportMatch>({
  name: "multiport",
  revisions: [1],
  structSize: XT_MULTIPORT_V1_SIZE,
  proto: 0,
  protos: PROTOS,
  decode(data) {
    const view = expectXtSize("match 'multiport'", data, XT_MULTIPORT_V1_SIZE);
    const flags = view.getUint8(OFF.FLAGS);
    const count = view.getUint8(OFF.COUNT);
    const side = SIDES[flags];
    if (side === undefined) throw new Error(`match 'multiport': flags ${flags} is not source, destination or either`);
    if (count > MAX_PORTS) throw new Error(`match 'multiport': count ${count} exceeds ${MAX_PORTS}`);
    const ports: [number, number][] = [];
    for (let i = 0; i < count; i++) {
      const first = view.getUint16(OFF.PORTS + 2 * i, true);
      if (view.getUint8(OFF.PFLAGS + i) === 0) {
        ports.push([first, first]);
        continue;
      }
      // multiport_valid_ranges() (Linux 6.18): a range needs an end within count that starts no
      // range itself, and from <= to. An older netfilter accepts such a rule and reads past
      // count: netfilter judges it either way.
      if (i + 1 >= count) throw new Error(`match 'multiport': the range at port ${i + 1} has no end within count ${count}`);
      i++;
      const last = view.getUint16(OFF.PORTS + 2 * i, true);
      if (view.getUint8(OFF.PFLAGS + i) !== 0) throw new Error(`match 'multiport': the end of the range at port ${i} starts a range too`);
      if (first > last) throw new Error(`match 'multiport': range ${first}:${last} is reversed`);
      ports.push([first, last]);
    }
    return { kind: "multiport", side, ports, invert: view.getUint8(OFF.INVERT) !== 0 };
  },
  emit(em, m) {
    em.transportHeader(L4.PORTS_LEN, false);
    const regs: Reg[] = [];
    if (m.side !== "destination") regs.push(1);
    if (m.side !== "source") regs.push(2);
    if (regs.includes(1)) em.load(1, "l4.sport");
    if (regs.includes(2)) em.load(2, "l4.dport");
    // The first port that matches decides: true ^ invert; none matching gives invert.
    em.requireAny(m.ports.flatMap(([min, max]) => regs.map((reg) => ({ reg, min, max }))), m.invert);
  },
  describe(m) {
    const flag = m.side === "source" ? "--sports" : m.side === "destination" ? "--dports" : "--ports";
    const list = m.ports.map(([a, b]) => (a === b ? `${a}` : `${a}:${b}`)).join(",");
    return `-m multiport ${m.invert ? "! " : ""}${flag} ${list}`;
  },
});
