/**
 * Offsets and register roles shared by the generated programs: packet headers, the
 * context structs (xdp_md, __sk_buff), struct bpf_fib_lookup and the stack frame.
 */
import type { Reg } from "./asm/index.ts";

/**
 * Registers that live across the whole program (callee-saved, so helper calls keep them). Rules
 * read no stack slot written by the prologue: the 6.18 verifier's cost for such reads grows with
 * the number of states since the write, which made large tables load quadratically slowly.
 */
export const REG = {
  /** The program context (xdp_md or __sk_buff). */
  ctx: 6 as Reg,
  /** Packet pointer to the IPv4 header, checked for 20 bytes. */
  iph: 7 as Reg,
  /** Prologue: iph->tot_len in host order. Rules: transport facts, see TRANSPORT. */
  totLen: 8 as Reg,
  /** Prologue: packet end (data_end). Rules: the first 4 transport header bytes, see TRANSPORT. */
  dataEnd: 9 as Reg,
} as const;

/**
 * What the transport prologue leaves for the rules: in r8 the transport length (bits 0-15, tot_len
 * - ihl * 4), the fragment offset (bits 16-28) and the TCP flags byte (bits 32-39, when 20 bytes
 * are there); in r9 the first 4 transport bytes as loaded (zero when the packet has fewer).
 */
export const TRANSPORT = {
  facts: 8 as Reg,
  firstWord: 9 as Reg,
  FRAG_SHIFT: 16,
  FLAGS_SHIFT: 32,
  /** Transport bytes a rule can ask for: a TCP header without options. */
  MAX_BYTES: 20,
  /** Offset of the flags byte in struct tcphdr. */
  TCP_FLAGS_OFFSET: 13,
} as const;

/** Ethernet header length and its EtherType offset. */
export const ETH = { HLEN: 14, PROTO: 12 } as const;
/** EtherType IPv4 as a little-endian u16 load of its network bytes (0x0800 swapped). */
export const ETH_P_IP_LE = 0x0008;

/** struct iphdr field offsets. */
export const IPH = {
  VERSION_IHL: 0,
  TOS: 1,
  TOT_LEN: 2,
  FRAG_OFF: 6,
  TTL: 8,
  PROTOCOL: 9,
  SADDR: 12,
  DADDR: 16,
  MIN_LEN: 20,
  MAX_LEN: 60,
} as const;

/** Transport header sizes that matches ask emitTransportHeader for (struct udphdr, icmphdr, tcphdr without options). */
export const L4 = { UDP_HLEN: 8, ICMP_HLEN: 8, TCP_HLEN: 20, /** source and destination ports (tcphdr, udphdr) */ PORTS_LEN: 4, SPORT: 0, DPORT: 2 } as const;

/** IP_OFFSET as a mask of the little-endian u16 load of frag_off (0x1fff swapped). */
export const IP_OFFSET_LE = 0xff1f;

/** struct xdp_md offsets. */
export const XDP_MD = { DATA: 0, DATA_END: 4, INGRESS_IFINDEX: 12 } as const;

/** struct __sk_buff offsets. */
export const SK_BUFF = { LEN: 0, INGRESS_IFINDEX: 36, IFINDEX: 40, DATA: 76, DATA_END: 80 } as const;

/** struct bpf_fib_lookup offsets and size (include/uapi/linux/bpf.h). */
export const FIB = {
  FAMILY: 0,
  L4_PROTOCOL: 1,
  IFINDEX: 8,
  TOS: 12,
  IPV4_SRC: 16,
  IPV4_DST: 32,
  SIZE: 64,
} as const;

/** BPF_FIB_LKUP_RET_* codes the ingress program dispatches on. */
export const FIB_RET = { SUCCESS: 0, NOT_FWDED: 4, FWD_DISABLED: 5, NO_NEIGH: 7 } as const;

/** Helper ids (enum bpf_func_id). */
export const HELPER = { MAP_LOOKUP_ELEM: 1, SKB_PULL_DATA: 39, FIB_LOOKUP: 69 } as const;

/** Stack slots, as offsets from r10. */
export const STACK = {
  /** struct bpf_fib_lookup (64 bytes). */
  FIB: -64,
  /** u32 key of the counters map lookup. */
  COUNTER_KEY: -68,
  /** u32 output ifindex of a forwarded packet (from the FIB lookup). */
  OUT_IFINDEX: -72,
} as const;



/** AF_INET. */
export const AF_INET = 2;

/** Most bytes any match reads from the IP header on: IP header (max 60) plus a TCP header (20). */
export const MAX_HEADER_BYTES = ETH.HLEN + IPH.MAX_LEN + 20;
