/** The udp match (xt_tcpudp.c, struct xt_udp): source and destination port ranges. */
import { L4 } from "../codegen/layout.ts";
import type { UdpMatch } from "../ir/matches.ts";
import { expectXtSize, defineMatch } from "./types.ts";
import { decodePortPair, describeRange, requirePortPair } from "./ports.ts";

/** IPPROTO_UDP. */
export const IPPROTO_UDP = 17;
/** sizeof(struct xt_udp): u16 spts[2], u16 dpts[2], u8 invflags, 1 byte of tail padding. */
export const XT_UDP_SIZE = 10;
const INV_SRCPT = 0x01;
const INV_DSTPT = 0x02;
const INV_MASK = 0x03;

/** The udp match. */
export const udp = defineMatch<UdpMatch>({
  name: "udp",
  revisions: [0],
  structSize: XT_UDP_SIZE,
  proto: IPPROTO_UDP,
  decode(data) {
    const view = expectXtSize("match 'udp'", data, XT_UDP_SIZE);
    const inv = view.getUint8(8);
    if ((inv & ~INV_MASK) !== 0) throw new Error(`match 'udp': unknown invflags 0x${inv.toString(16)}`);
    return { kind: "udp", ...decodePortPair(view, inv, INV_SRCPT, INV_DSTPT) };
  },
  emit(em, m) {
    em.transportHeader(L4.UDP_HLEN, false);
    requirePortPair(em, m, "udp");
  },
  describe(m) {
    return ["-m udp", describeRange("sport", m.sport), describeRange("dport", m.dport)].filter((p) => p !== "").join(" ");
  },
});
