/**
 * Header fields by name: what an extension asks for ("ip.ttl", "tcp.flags") and where it lies.
 * The table is the one place that knows header offsets and sizes; test/codegen/layout.test.ts
 * checks every entry against the C headers (offsetof/sizeof). IP fields are read from the IPv4
 * header slice, transport fields from what the prologue kept in registers (layout.ts TRANSPORT).
 */
import { IPH, TRANSPORT } from "./layout.ts";

/** Where a field lies: in the IPv4 header or the transport header, at a byte offset, 1, 2 or 4 bytes. */
export interface FieldLocation {
  readonly header: "ip" | "transport";
  readonly offset: number;
  readonly size: 1 | 2 | 4;
}

/** Every field an extension or the compiler reads, by name. */
export const FIELDS = {
  "ip.tos": { header: "ip", offset: IPH.TOS, size: 1 },
  "ip.tot_len": { header: "ip", offset: IPH.TOT_LEN, size: 2 },
  "ip.ttl": { header: "ip", offset: IPH.TTL, size: 1 },
  "ip.protocol": { header: "ip", offset: IPH.PROTOCOL, size: 1 },
  "ip.saddr": { header: "ip", offset: IPH.SADDR, size: 4 },
  "ip.daddr": { header: "ip", offset: IPH.DADDR, size: 4 },
  "udp.sport": { header: "transport", offset: 0, size: 2 },
  "udp.dport": { header: "transport", offset: 2, size: 2 },
  "tcp.sport": { header: "transport", offset: 0, size: 2 },
  "tcp.dport": { header: "transport", offset: 2, size: 2 },
  "tcp.flags": { header: "transport", offset: TRANSPORT.TCP_FLAGS_OFFSET, size: 1 },
  "icmp.type": { header: "transport", offset: 0, size: 1 },
  "icmp.code": { header: "transport", offset: 1, size: 1 },
  /** The ports of every protocol with ports first (tcp, udp, udplite, sctp, dccp): what multiport reads. */
  "l4.sport": { header: "transport", offset: 0, size: 2 },
  "l4.dport": { header: "transport", offset: 2, size: 2 },
} as const satisfies Record<string, FieldLocation>;

/** The name of a header field. */
export type FieldName = keyof typeof FIELDS;

/**
 * Fields of the packet's kernel state, not of its headers: BTF-typed loads through ctx->skb at the
 * running kernel's offsets (the flavor supplies them). skb.nfct is `skb->_nfct`, the conntrack
 * entry's address with the ctinfo in its low 3 bits (nf_ct_get); skb.mark is `skb->mark`;
 * skb.pkt_type the pkt_type bitfield.
 */
export const KERNEL_FIELDS = {
  "skb.mark": { struct: "sk_buff", member: "mark", size: 4 },
  "skb.nfct": { struct: "sk_buff", member: "_nfct", size: 8 },
  /** The 3 bits of skb->pkt_type (PACKET_HOST, ...), shifted down. */
  "skb.pkt_type": { struct: "sk_buff", member: "pkt_type", size: 1 },
} as const;

/** The name of a kernel field. */
export type KernelFieldName = keyof typeof KERNEL_FIELDS;

/**
 * Fields of the packet's conntrack entry (struct nf_conn), which xt_conntrack reads: its status,
 * and the addresses, ports and protocol of its tuples (`dir` indexes tuplehash[], IP_CT_DIR_ORIGINAL
 * 0 and IP_CT_DIR_REPLY 1; `path` is in struct nf_conntrack_tuple_hash). Read with a helper call
 * at offsets from the running kernel's BTF (bpf/nf_context.ts); addresses and ports are as the
 * entry holds them, in network order. ct.expires is computed from the entry's timeout as
 * xt_conntrack does: nf_ct_expires(ct) / HZ, max(timeout - (u32)jiffies, 0) in seconds.
 */
export const CONNTRACK_FIELDS = {
  "ct.status": { path: "status", size: 8 },
  "ct.orig.src": { dir: 0, path: "tuple.src.u3.ip", size: 4 },
  "ct.orig.dst": { dir: 0, path: "tuple.dst.u3.ip", size: 4 },
  "ct.reply.src": { dir: 1, path: "tuple.src.u3.ip", size: 4 },
  "ct.reply.dst": { dir: 1, path: "tuple.dst.u3.ip", size: 4 },
  "ct.orig.sport": { dir: 0, path: "tuple.src.u.all", size: 2 },
  "ct.orig.dport": { dir: 0, path: "tuple.dst.u.all", size: 2 },
  "ct.reply.sport": { dir: 1, path: "tuple.src.u.all", size: 2 },
  "ct.reply.dport": { dir: 1, path: "tuple.dst.u.all", size: 2 },
  /** nf_ct_protonum: the original tuple's protocol. */
  "ct.proto": { dir: 0, path: "tuple.dst.protonum", size: 1 },
  /** nf_conn.timeout, in jiffies; read as ct.expires (seconds left). */
  "ct.expires": { path: "timeout", size: 4 },
} as const satisfies Record<string, { readonly dir?: 0 | 1; readonly path: string; readonly size: 1 | 2 | 4 | 8 }>;

/** The name of a conntrack entry field. */
export type ConntrackFieldName = keyof typeof CONNTRACK_FIELDS;
