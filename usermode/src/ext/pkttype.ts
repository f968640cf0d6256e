/**
 * The pkttype match (xt_pkttype.c, struct xt_pkttype_info): skb->pkt_type, where a packet looped
 * back to the host (PACKET_LOOPBACK: a local multicast or broadcast) counts as PACKET_MULTICAST when
 * its IPv4 destination is multicast and PACKET_BROADCAST otherwise. The result is
 * `(type == pkttype) ^ invert`, with both ints as iptables wrote them. No checkentry.
 *
 * The code folds the packet into a key of 16 values, pkt_type (0-7) plus 8 when the destination is
 * multicast (224.0.0.0/4), and tests the set of keys for which pkttype_mt returns true.
 */
import { lsh, neg, or, rsh, xor } from "../codegen/asm/index.ts";
import type { PkttypeMatch } from "../ir/matches.ts";
import { defineMatch, expectXtSize } from "./types.ts";
import { requireKeySet } from "./key_set.ts";

/** sizeof(struct xt_pkttype_info): int pkttype, int invert. */
export const XT_PKTTYPE_SIZE = 8;

/** The PACKET_* types (linux/if_packet.h) the match distinguishes. */
export const PACKET = { HOST: 0, BROADCAST: 1, MULTICAST: 2, OTHERHOST: 3, OUTGOING: 4, LOOPBACK: 5 } as const;

const NAMES: Readonly<Record<number, string>> = { 0: "unicast", 1: "broadcast", 2: "multicast", 3: "otherhost", 4: "outgoing", 5: "loopback" };

/** pkttype_mt for a packet of pkt_type `type` (0-7) whose destination is multicast or not. */
export function pkttypeHolds(m: PkttypeMatch, type: number, multicastDestination: boolean): boolean {
  const seen = type !== PACKET.LOOPBACK ? type : multicastDestination ? PACKET.MULTICAST : PACKET.BROADCAST;
  return ((seen === m.pkttype ? 1 : 0) ^ m.invert) !== 0;
}

/** The pkttype match. */
export const pkttype = defineMatch<PkttypeMatch>({
  name: "pkttype",
  structSize: XT_PKTTYPE_SIZE,
  revisions: [0],
  proto: 0,
  decode(data) {
    const view = expectXtSize("match 'pkttype'", data, XT_PKTTYPE_SIZE);
    return { kind: "pkttype", pkttype: view.getInt32(0, true), invert: view.getInt32(4, true) };
  },
  emit(em, m) {
    requireKeySet(em, 16, (key) => pkttypeHolds(m, key & 7, key >= 8), () => {
      em.kernelField(1, "skb.pkt_type");
      em.load(2, "ip.daddr");
      em.emit(
        rsh.imm32(2, 28),
        xor.imm32(2, 0xe), // 0 for 224.0.0.0/4
        neg(2),
        rsh.imm(2, 63), // 1 unless multicast
        xor.imm(2, 1),
        lsh.imm(2, 3),
        or.reg(1, 2),
      );
    });
  },
  describe: (m) => `-m pkttype ${m.invert !== 0 ? "! " : ""}--pkt-type ${NAMES[m.pkttype] ?? m.pkttype}`,
});
