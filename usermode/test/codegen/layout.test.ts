// The compiler's struct offsets, sizes and constants against the real UAPI headers: a C program
// prints each expression, and each must equal the TypeScript value it is paired with. The field
// table (codegen/fields.ts) is checked entry by entry: offset and size.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DYNPTR_SIZE, HELPER, IPH, L4, NF_VERDICT, TRANSPORT } from "../../src/codegen/layout.ts";
import { FIELDS, type FieldName } from "../../src/codegen/fields.ts";
import { FILTER_HOOKS, NF_IP_PRI_FILTER } from "../../src/codegen/index.ts";
import { xtAlign } from "../../src/ext/types.ts";
import { XT_UDP_SIZE } from "../../src/ext/udp.ts";
import { XT_TCP_SIZE } from "../../src/ext/tcp.ts";
import { IPT_ICMP_SIZE } from "../../src/ext/icmp.ts";
import { XT_MULTIPORT_V1_SIZE } from "../../src/ext/multiport.ts";
import { XT_COMMENT_SIZE } from "../../src/ext/comment.ts";
import { XT_LENGTH_SIZE } from "../../src/ext/length.ts";
import { IPT_TTL_SIZE } from "../../src/ext/ttl.ts";
import { XT_DSCP_SIZE } from "../../src/ext/dscp.ts";
import { XT_IPRANGE_SIZE } from "../../src/ext/iprange.ts";
import { XT_CONNTRACK_TUPLE_OFFSETS } from "../../src/ext/ct_tuple.ts";
import { IPS, XT_CONNTRACK, XT_CONNTRACK_OFFSETS, XT_CONNTRACK_SIZES, XT_CONNTRACK_STATE, XT_CONNTRACK_STATUS_MASK } from "../../src/ext/conntrack.ts";
import { XT_STATE, XT_STATE_SIZE } from "../../src/ext/state.ts";
import { XT_MARK_MTINFO1_SIZE } from "../../src/ext/mark.ts";
import { IP_CT } from "../../src/ext/ct_state.ts";
import { PACKET, XT_PKTTYPE_SIZE } from "../../src/ext/pkttype.ts";

/** The C struct member behind each field of codegen/fields.ts. */
const FIELD_MEMBERS: Readonly<Record<FieldName, readonly [offset: string, size: string]>> = {
  "ip.tos": ["offsetof(struct iphdr, tos)", "SIZE(struct iphdr, tos)"],
  "ip.tot_len": ["offsetof(struct iphdr, tot_len)", "SIZE(struct iphdr, tot_len)"],
  "ip.ttl": ["offsetof(struct iphdr, ttl)", "SIZE(struct iphdr, ttl)"],
  "ip.protocol": ["offsetof(struct iphdr, protocol)", "SIZE(struct iphdr, protocol)"],
  "ip.saddr": ["offsetof(struct iphdr, saddr)", "SIZE(struct iphdr, saddr)"],
  "ip.daddr": ["offsetof(struct iphdr, daddr)", "SIZE(struct iphdr, daddr)"],
  "udp.sport": ["offsetof(struct udphdr, source)", "SIZE(struct udphdr, source)"],
  "udp.dport": ["offsetof(struct udphdr, dest)", "SIZE(struct udphdr, dest)"],
  "tcp.sport": ["offsetof(struct tcphdr, source)", "SIZE(struct tcphdr, source)"],
  "tcp.dport": ["offsetof(struct tcphdr, dest)", "SIZE(struct tcphdr, dest)"],
  // The flags byte (CWR..FIN) is the second byte of the fourth 32-bit word, tcp_flag_word().
  "tcp.flags": ["offsetof(union tcp_word_hdr, words[3]) + 1", "1"],
  "icmp.type": ["offsetof(struct icmphdr, type)", "SIZE(struct icmphdr, type)"],
  "icmp.code": ["offsetof(struct icmphdr, code)", "SIZE(struct icmphdr, code)"],
  // multiport's protocols (tcp, udp, udplite, sctp, dccp) all start with their two ports: dccp's stand here.
  "l4.sport": ["offsetof(struct dccp_hdr, dccph_sport)", "SIZE(struct dccp_hdr, dccph_sport)"],
  "l4.dport": ["offsetof(struct dccp_hdr, dccph_dport)", "SIZE(struct dccp_hdr, dccph_dport)"],
};

/** Every field's offset and size. */
function fieldPairs(): [string, number][] {
  return (Object.keys(FIELDS) as FieldName[]).flatMap((name): [string, number][] => [
    [`/* ${name} */ ${FIELD_MEMBERS[name][0]}`, FIELDS[name].offset],
    [`/* ${name} */ ${FIELD_MEMBERS[name][1]}`, FIELDS[name].size],
  ]);
}

const PAIRS: readonly [string, number][] = [
  ["sizeof(struct xt_udp)", XT_UDP_SIZE],
  ["XT_ALIGN(sizeof(struct xt_udp))", xtAlign(XT_UDP_SIZE)],
  ["sizeof(struct xt_tcp)", XT_TCP_SIZE],
  ["XT_ALIGN(sizeof(struct xt_tcp))", xtAlign(XT_TCP_SIZE)],
  ["sizeof(struct ipt_icmp)", IPT_ICMP_SIZE],
  ["XT_ALIGN(sizeof(struct ipt_icmp))", xtAlign(IPT_ICMP_SIZE)],
  ["sizeof(struct xt_multiport_v1)", XT_MULTIPORT_V1_SIZE],
  ["offsetof(struct xt_multiport_v1, pflags)", 32],
  ["offsetof(struct xt_multiport_v1, invert)", 47],
  ["sizeof(struct xt_comment_info)", XT_COMMENT_SIZE],
  ["sizeof(struct xt_length_info)", XT_LENGTH_SIZE],
  ["sizeof(struct ipt_ttl_info)", IPT_TTL_SIZE],
  ["sizeof(struct xt_dscp_info)", XT_DSCP_SIZE],
  ["sizeof(struct xt_iprange_mtinfo)", XT_IPRANGE_SIZE],
  ["offsetof(struct xt_iprange_mtinfo, dst_max)", 48],
  ["offsetof(struct xt_iprange_mtinfo, flags)", 64],
  ["sizeof(struct xt_conntrack_mtinfo1)", XT_CONNTRACK_SIZES[1]!],
  ["sizeof(struct xt_conntrack_mtinfo2)", XT_CONNTRACK_SIZES[2]!],
  ["sizeof(struct xt_conntrack_mtinfo3)", XT_CONNTRACK_SIZES[3]!],
  ...[1, 2, 3].flatMap((r): [string, number][] => [
    [`offsetof(struct xt_conntrack_mtinfo${r}, match_flags)`, XT_CONNTRACK_OFFSETS.MATCH_FLAGS],
    [`offsetof(struct xt_conntrack_mtinfo${r}, invert_flags)`, XT_CONNTRACK_OFFSETS.INVERT_FLAGS],
    [`offsetof(struct xt_conntrack_mtinfo${r}, state_mask)`, XT_CONNTRACK_OFFSETS.STATE_MASK],
    [`offsetof(struct xt_conntrack_mtinfo${r}, status_mask)`, XT_CONNTRACK_STATUS_MASK[r]!],
    ...Object.entries(XT_CONNTRACK_TUPLE_OFFSETS)
      .filter(([name]) => r === 3 || !name.endsWith("_HIGH"))
      .map(([name, at]): [string, number] => [`offsetof(struct xt_conntrack_mtinfo${r}, ${name.toLowerCase()})`, at]),
  ]),
  ...Object.entries(XT_CONNTRACK).map(([name, bit]): [string, number] => [`XT_CONNTRACK_${name}`, bit]),
  ...Object.entries(XT_CONNTRACK_STATE).map(([name, bit]): [string, number] => [`XT_CONNTRACK_STATE_${name}`, bit]),
  ["XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED_REPLY)", 2],
  ...Object.entries(IPS).map(([name, bit]): [string, number] => [`IPS_${name}`, bit]),
  ["sizeof(struct xt_state_info)", XT_STATE_SIZE],
  ["XT_STATE_INVALID", XT_STATE.INVALID],
  ["XT_STATE_UNTRACKED", XT_STATE.UNTRACKED],
  ["XT_STATE_BIT(IP_CT_RELATED_REPLY)", 4],
  ["sizeof(struct xt_mark_mtinfo1)", XT_MARK_MTINFO1_SIZE],
  ["sizeof(struct xt_pkttype_info)", XT_PKTTYPE_SIZE],
  ...Object.entries(PACKET).map(([name, type]): [string, number] => [`PACKET_${name}`, type]),
  ["IP_CT_ESTABLISHED", IP_CT.ESTABLISHED],
  ["IP_CT_RELATED", IP_CT.RELATED],
  ["IP_CT_NEW", IP_CT.NEW],
  ["IP_CT_IS_REPLY", IP_CT.IS_REPLY],
  ["IP_CT_NUMBER", IP_CT.NUMBER],
  // IP_CT_UNTRACKED (7) and NFCT_INFOMASK (7) are the kernel's own (include/linux/skbuff.h, and the
  // __KERNEL__ side of nf_conntrack_common.h): not in the UAPI headers.
  ["offsetof(struct iphdr, tos)", IPH.TOS],
  ["offsetof(struct iphdr, tot_len)", IPH.TOT_LEN],
  ["offsetof(struct iphdr, frag_off)", IPH.FRAG_OFF],
  ["offsetof(struct iphdr, ttl)", IPH.TTL],
  ["offsetof(struct iphdr, protocol)", IPH.PROTOCOL],
  ["offsetof(struct iphdr, saddr)", IPH.SADDR],
  ["offsetof(struct iphdr, daddr)", IPH.DADDR],
  ["sizeof(struct iphdr)", IPH.MIN_LEN],
  ["sizeof(struct tcphdr)", TRANSPORT.MAX_BYTES],
  ["offsetof(union tcp_word_hdr, words[3]) + 1", TRANSPORT.TCP_FLAGS_OFFSET],
  ["sizeof(struct bpf_dynptr)", DYNPTR_SIZE],
  ["sizeof(struct udphdr)", L4.UDP_HLEN],
  ["sizeof(struct icmphdr)", L4.ICMP_HLEN],
  ["sizeof(struct tcphdr)", L4.TCP_HLEN],
  ["offsetof(struct udphdr, len)", L4.PORTS_LEN],
  ["BPF_FUNC_map_lookup_elem", HELPER.MAP_LOOKUP_ELEM],
  ["BPF_FUNC_tail_call", HELPER.TAIL_CALL],
  ["BPF_FUNC_dynptr_read", HELPER.DYNPTR_READ],
  ["BPF_FUNC_probe_read_kernel", HELPER.PROBE_READ_KERNEL],
  ["BPF_FUNC_jiffies64", HELPER.JIFFIES64],
  ["NF_DROP", NF_VERDICT.DROP],
  ["NF_ACCEPT", NF_VERDICT.ACCEPT],
  ["NF_INET_LOCAL_IN", FILTER_HOOKS.INPUT.number],
  ["NF_INET_FORWARD", FILTER_HOOKS.FORWARD.number],
  ["NF_INET_LOCAL_OUT", FILTER_HOOKS.OUTPUT.number],
  ["NF_IP_PRI_FILTER", NF_IP_PRI_FILTER],
  ...fieldPairs(),
];

const SOURCE = `#include <stdio.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/dccp.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#define SIZE(t, m) sizeof(((t *)0)->m)
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_length.h>
#include <linux/netfilter/xt_dscp.h>
#include <linux/netfilter/xt_iprange.h>
#include <linux/netfilter_ipv4/ipt_ttl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_state.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_pkttype.h>
#include <linux/if_packet.h>
int main(void) {
${PAIRS.map(([expr]) => `  printf("%ld\\n", (long)(${expr}));`).join("\n")}
  return 0;
}
`;

describe("codegen and ext layout against the UAPI headers", () => {
  const dir = mkdtempSync(join(tmpdir(), "codegen-layout-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(PAIRS.map(([expr, value], i) => ({ expr, value, i })))("$expr == $value", ({ value, i }) => {
    expect(Number(actual()[i])).toBe(value);
  });

  let printed: string[] | undefined;
  function actual(): string[] {
    if (printed === undefined) {
      writeFileSync(join(dir, "layout.c"), SOURCE);
      execFileSync("gcc", ["-o", join(dir, "layout"), join(dir, "layout.c")], { stdio: "pipe" });
      printed = execFileSync(join(dir, "layout"), { encoding: "utf8" }).trim().split("\n");
    }
    return printed;
  }
});
