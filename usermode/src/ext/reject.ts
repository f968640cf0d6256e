/**
 * The REJECT target (net/ipv4/netfilter/ipt_REJECT.c, struct ipt_reject_info), done by the series'
 * bpf_nf_reject_ipv4, which sends what reject_tg sends (nf_send_reset, nf_send_unreach); the packet
 * is then dropped. Checked as reject_tg_check checks it. A --reject-with value past the enum passes
 * the check in netfilter too, and there as here the packet is dropped with no reply.
 */
import { IPT_INV } from "../ir/types.ts";
import type { RejectTarget } from "../ir/targets.ts";
import { defineTarget, expectXtSize } from "./types.ts";

/** sizeof(struct ipt_reject_info): enum ipt_reject_with with. */
export const IPT_REJECT_INFO_SIZE = 4;

/** enum ipt_reject_with (linux/netfilter_ipv4/ipt_REJECT.h), by value, as iptables-save words it. */
const WITH_NAMES = [
  "icmp-net-unreachable",
  "icmp-host-unreachable",
  "icmp-proto-unreachable",
  "icmp-port-unreachable",
  "echo-reply",
  "icmp-net-prohibited",
  "icmp-host-prohibited",
  "tcp-reset",
  "icmp-admin-prohibited",
];

/** The values of enum ipt_reject_with that reject_tg_check looks at. */
export const IPT_REJECT_WITH = { ECHOREPLY: WITH_NAMES.indexOf("echo-reply"), TCP_RESET: WITH_NAMES.indexOf("tcp-reset") } as const;

const IPPROTO_TCP = 6;

/** The REJECT target. */
export const reject = defineTarget<RejectTarget>({
  name: "REJECT",
  kind: "reject",
  revisions: [0],
  structSize: IPT_REJECT_INFO_SIZE,
  kfunc: "bpf_nf_reject_ipv4",
  then: "drop",
  decode(data, _revision, ip) {
    const w = expectXtSize("target 'REJECT'", data, IPT_REJECT_INFO_SIZE).getUint32(0, true);
    if (w === IPT_REJECT_WITH.ECHOREPLY) throw new Error("target 'REJECT': --reject-with echo-reply is no longer supported");
    if (w === IPT_REJECT_WITH.TCP_RESET && (ip.proto !== IPPROTO_TCP || (ip.invflags & IPT_INV.PROTO) !== 0)) {
      throw new Error("target 'REJECT': --reject-with tcp-reset needs -p tcp (and not ! -p tcp)");
    }
    return { kind: "reject", with: w };
  },
  args: (t) => [{ u32: t.with }],
  describe: (t) => `-j REJECT --reject-with ${WITH_NAMES[t.with] ?? t.with}`,
});
