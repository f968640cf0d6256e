/**
 * Offsets, register roles and kernel constants shared by the generated programs: the packet
 * headers, the stack frame, helper ids and netfilter's verdicts. Everything here is checked
 * against the C headers by test/codegen/layout.test.ts. Offsets in kernel structs (the
 * netfilter context, sk_buff, net_device) are not here: they come from the running kernel's BTF
 * (NetfilterContextLayout).
 */
import type { Reg } from "./asm/index.ts";

/**
 * Registers that live across the whole program (callee-saved, so helper calls keep them). Rules
 * read no stack slot written by the prologue: the 6.18 verifier's cost for such reads grows with
 * the number of states since the write, which made large tables load quadratically slowly.
 */
export const REG = {
  /** The program context (struct bpf_nf_ctx *). */
  ctx: 6 as Reg,
  /** Pointer to the first 20 bytes of the IPv4 header (a dynptr slice: 20 bytes readable). */
  iph: 7 as Reg,
} as const;

/**
 * What the prologue leaves for the rules: in r8 the transport length (bits 0-15, skb->len - ihl * 4,
 * at most 0xffff), the fragment offset (bits 16-28) and the TCP flags byte (bits 32-39, when 20
 * transport bytes are there); in r9 the first 4 transport bytes as loaded (zero when the packet has
 * fewer).
 */
export const TRANSPORT = {
  facts: 8 as Reg,
  firstWord: 9 as Reg,
  FRAG_SHIFT: 16,
  FLAGS_SHIFT: 32,
  /** Transport bytes a rule can ask for: a TCP header without options. */
  MAX_BYTES: 20,
  /** Bytes of the transport header kept in r9. */
  FIRST_WORD_BYTES: 4,
  /** Offset of the flags byte in struct tcphdr. */
  TCP_FLAGS_OFFSET: 13,
} as const;

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
} as const;

/** Transport header sizes that matches ask transportHeader for (struct udphdr, icmphdr, tcphdr without options, the two ports). */
export const L4 = { UDP_HLEN: 8, ICMP_HLEN: 8, TCP_HLEN: 20, PORTS_LEN: 4 } as const;

/** Helper ids (enum bpf_func_id). */
export const HELPER = { MAP_LOOKUP_ELEM: 1, TAIL_CALL: 12, PROBE_READ_KERNEL: 113, JIFFIES64: 118, DYNPTR_READ: 201 } as const;

/** Netfilter verdicts a netfilter program may return (NF_DROP, NF_ACCEPT). */
export const NF_VERDICT = { DROP: 0, ACCEPT: 1 } as const;

/** NFCT_INFOMASK: the ctinfo bits of skb->_nfct (the rest is the conntrack entry's address). */
export const NFCT_INFOMASK = 7;

/** sizeof(struct bpf_dynptr). */
export const DYNPTR_SIZE = 16;

/** Stack slots, as offsets from r10. */
export const STACK = {
  /** struct bpf_dynptr over the skb (16 bytes, 8-aligned). */
  DYNPTR: -16,
  /** Buffer of the IPv4 header slice, when the skb's head is not linear (20 bytes). */
  IPH_BUFFER: -40,
  /** The first transport bytes, copied by bpf_dynptr_read (20 bytes, zeroed first). */
  TRANSPORT_BUFFER: -64,
  /** u32 key of the counters map lookup. */
  COUNTER_KEY: -68,
  /** The bytes a target passes its kfunc (LOG's prefix), written by the rule just before the call (32 bytes). */
  TARGET_BYTES: -104,
  /** A limit match's jiffies, kept across its map lookup (u64). */
  LIMIT_NOW: -112,
  /** u32 key of the limits map lookup. */
  LIMIT_KEY: -116,
  /** A field of the conntrack entry, as bpf_probe_read_kernel copies it (up to 8 bytes). */
  CT_FIELD: -128,
  /** r1, kept across that helper call (u64). */
  CT_KEEP: -136,
} as const;

/**
 * Offsets in the kernel structs a netfilter program reads through BTF-typed loads, as the running
 * kernel lays them out (bpf/ netfilterContextLayout() reads them from its BTF): ctx->state, ctx->skb,
 * state->in/out/hook, dev->name and skb->len.
 */
export type { NetfilterContextOffsets as NetfilterContextLayout } from "../bpf/nf_context.ts";
