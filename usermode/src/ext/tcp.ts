/** The tcp match (xt_tcpudp.c, struct xt_tcp): port ranges and flags; option matching is declined. */
import { and } from "../codegen/asm/index.ts";
import { L4 } from "../codegen/layout.ts";
import type { TcpMatch } from "../ir/matches.ts";
import { defineMatch, expectXtSize, UnsupportedFeature } from "./types.ts";
import { decodePortPair, describeRange, requirePortPair } from "./ports.ts";

/** IPPROTO_TCP. */
export const IPPROTO_TCP = 6;
/** sizeof(struct xt_tcp): u16 spts[2], u16 dpts[2], u8 option, u8 flg_mask, u8 flg_cmp, u8 invflags. */
export const XT_TCP_SIZE = 12;
const INV_SRCPT = 0x01;
const INV_DSTPT = 0x02;
const INV_FLAGS = 0x04;
const INV_MASK = 0x0f;

/** The tcp match. */
export const tcp = defineMatch<TcpMatch>({
  name: "tcp",
  revisions: [0],
  structSize: XT_TCP_SIZE,
  proto: IPPROTO_TCP,
  decode(data) {
    const view = expectXtSize("match 'tcp'", data, XT_TCP_SIZE);
    const inv = view.getUint8(11);
    if ((inv & ~INV_MASK) !== 0) throw new Error(`match 'tcp': unknown invflags 0x${inv.toString(16)}`);
    const option = view.getUint8(8);
    if (option !== 0) throw new UnsupportedFeature(`match 'tcp': --tcp-option ${option} is not supported`);
    return {
      kind: "tcp",
      ...decodePortPair(view, inv, INV_SRCPT, INV_DSTPT),
      flagMask: view.getUint8(9),
      flagCmp: view.getUint8(10),
      invertFlags: (inv & INV_FLAGS) !== 0,
    };
  },
  emit(em, m) {
    em.transportHeader(L4.TCP_HLEN, true);
    requirePortPair(em, m, "tcp");
    // ((flags & mask) == cmp) ^ invert; mask 0 and cmp 0 always holds (iptables' default).
    if (m.flagMask === 0 && m.flagCmp === 0 && !m.invertFlags) return;
    em.load(1, "tcp.flags");
    em.emit(and.imm32(1, m.flagMask));
    em.requireAll([{ reg: 1, min: m.flagCmp, max: m.flagCmp }], m.invertFlags);
  },
  describe(m) {
    const parts = ["-m tcp", describeRange("sport", m.sport), describeRange("dport", m.dport)];
    if (m.flagMask !== 0 || m.flagCmp !== 0 || m.invertFlags) {
      parts.push(`${m.invertFlags ? "! " : ""}--tcp-flags 0x${m.flagMask.toString(16)} 0x${m.flagCmp.toString(16)}`);
    }
    return parts.filter((p) => p !== "").join(" ");
  },
});
