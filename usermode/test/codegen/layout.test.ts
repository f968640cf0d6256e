// The compiler's struct offsets, sizes and constants against the real UAPI headers: a C program
// prints each expression, and each must equal the TypeScript value it is paired with.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AF_INET, ETH, FIB, FIB_RET, HELPER, IPH, L4, SK_BUFF, TRANSPORT, XDP_MD } from "../../src/codegen/layout.ts";
import { TC_ACTION, XDP_ACTION } from "../../src/codegen/index.ts";
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
  ["ETH_HLEN", ETH.HLEN],
  ["offsetof(struct ethhdr, h_proto)", ETH.PROTO],
  ["offsetof(struct iphdr, tos)", IPH.TOS],
  ["offsetof(struct iphdr, tot_len)", IPH.TOT_LEN],
  ["offsetof(struct iphdr, frag_off)", IPH.FRAG_OFF],
  ["offsetof(struct iphdr, ttl)", IPH.TTL],
  ["offsetof(struct iphdr, protocol)", IPH.PROTOCOL],
  ["offsetof(struct iphdr, saddr)", IPH.SADDR],
  ["offsetof(struct iphdr, daddr)", IPH.DADDR],
  ["sizeof(struct udphdr)", L4.UDP_HLEN],
  ["sizeof(struct icmphdr)", L4.ICMP_HLEN],
  ["sizeof(struct tcphdr)", L4.TCP_HLEN],
  ["offsetof(struct tcphdr, source)", L4.SPORT],
  ["offsetof(struct tcphdr, dest)", L4.DPORT],
  ["offsetof(struct udphdr, dest)", L4.DPORT],
  ["offsetof(struct tcphdr, window) - 1", TRANSPORT.TCP_FLAGS_OFFSET],
  ["offsetof(struct udphdr, len)", L4.PORTS_LEN],
  ["offsetof(struct xdp_md, data)", XDP_MD.DATA],
  ["offsetof(struct xdp_md, data_end)", XDP_MD.DATA_END],
  ["offsetof(struct xdp_md, ingress_ifindex)", XDP_MD.INGRESS_IFINDEX],
  ["offsetof(struct __sk_buff, len)", SK_BUFF.LEN],
  ["offsetof(struct __sk_buff, ingress_ifindex)", SK_BUFF.INGRESS_IFINDEX],
  ["offsetof(struct __sk_buff, ifindex)", SK_BUFF.IFINDEX],
  ["offsetof(struct __sk_buff, data)", SK_BUFF.DATA],
  ["offsetof(struct __sk_buff, data_end)", SK_BUFF.DATA_END],
  ["offsetof(struct bpf_fib_lookup, family)", FIB.FAMILY],
  ["offsetof(struct bpf_fib_lookup, l4_protocol)", FIB.L4_PROTOCOL],
  ["offsetof(struct bpf_fib_lookup, ifindex)", FIB.IFINDEX],
  ["offsetof(struct bpf_fib_lookup, tos)", FIB.TOS],
  ["offsetof(struct bpf_fib_lookup, ipv4_src)", FIB.IPV4_SRC],
  ["offsetof(struct bpf_fib_lookup, ipv4_dst)", FIB.IPV4_DST],
  ["sizeof(struct bpf_fib_lookup)", FIB.SIZE],
  ["BPF_FIB_LKUP_RET_SUCCESS", FIB_RET.SUCCESS],
  ["BPF_FIB_LKUP_RET_NOT_FWDED", FIB_RET.NOT_FWDED],
  ["BPF_FIB_LKUP_RET_FWD_DISABLED", FIB_RET.FWD_DISABLED],
  ["BPF_FIB_LKUP_RET_NO_NEIGH", FIB_RET.NO_NEIGH],
  ["BPF_FUNC_map_lookup_elem", HELPER.MAP_LOOKUP_ELEM],
  ["BPF_FUNC_skb_pull_data", HELPER.SKB_PULL_DATA],
  ["BPF_FUNC_fib_lookup", HELPER.FIB_LOOKUP],
  ["XDP_PASS", XDP_ACTION.PASS],
  ["XDP_DROP", XDP_ACTION.DROP],
  ["TC_ACT_OK", TC_ACTION.OK],
  ["TC_ACT_SHOT", TC_ACTION.SHOT],
  ["AF_INET", AF_INET],
];

const SOURCE = `#include <stdio.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/icmp.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_length.h>
#include <linux/netfilter/xt_dscp.h>
#include <linux/netfilter/xt_iprange.h>
#include <linux/netfilter_ipv4/ipt_ttl.h>
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
