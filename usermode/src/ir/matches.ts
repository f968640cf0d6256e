/**
 * The decoded matches of the IR: one member of `Match` per extension the compiler knows,
 * discriminated by `kind` (the extension's name). ext/<kind>.ts decodes its xt data into its
 * member once (ir/resolve.ts); codegen and the classifier read these, never the bytes.
 * Ranges are inclusive and host-order; `invert` is the rule's "!".
 */

/** An inclusive u16 range with its inversion (port_match of xt_tcpudp.c, xt_length). */
export interface PortRange {
  readonly min: number;
  readonly max: number;
  readonly invert: boolean;
}

/** -m udp (struct xt_udp). */
export interface UdpMatch {
  readonly kind: "udp";
  readonly sport: PortRange;
  readonly dport: PortRange;
}

/** -m tcp (struct xt_tcp) without --tcp-option (which hands the table to netfilter). */
export interface TcpMatch {
  readonly kind: "tcp";
  readonly sport: PortRange;
  readonly dport: PortRange;
  readonly flagMask: number;
  readonly flagCmp: number;
  readonly invertFlags: boolean;
}

/** -m icmp (struct ipt_icmp); type 0xff means any type. */
export interface IcmpMatch {
  readonly kind: "icmp";
  readonly type: number;
  readonly codeMin: number;
  readonly codeMax: number;
  readonly invert: boolean;
}

/** Which port -m multiport compares. */
export type MultiportSide = "source" | "destination" | "either";

/** -m multiport revision 1 (struct xt_multiport_v1): single ports and ranges, in order. */
export interface MultiportMatch {
  readonly kind: "multiport";
  readonly side: MultiportSide;
  readonly ports: readonly (readonly [number, number])[];
  readonly invert: boolean;
}

/** -m comment: always holds. */
export interface CommentMatch {
  readonly kind: "comment";
  readonly comment: string;
}

/** -m length (struct xt_length_info): the IP total length. */
export interface LengthMatch {
  readonly kind: "length";
  readonly min: number;
  readonly max: number;
  readonly invert: boolean;
}

/** -m ttl (struct ipt_ttl_info); a mode outside eq..gt never matches, as in ttl_mt. */
export interface TtlMatch {
  readonly kind: "ttl";
  readonly mode: "eq" | "ne" | "lt" | "gt" | "never";
  readonly ttl: number;
}

/** -m dscp (struct xt_dscp_info): the DSCP bits of the TOS byte. */
export interface DscpMatch {
  readonly kind: "dscp";
  readonly dscp: number;
  readonly invert: boolean;
}

/** One side of -m iprange: a host-order inclusive address range. */
export interface AddressRange {
  readonly min: number;
  readonly max: number;
  readonly invert: boolean;
}

/** -m iprange revision 1 (struct xt_iprange_mtinfo), IPv4. */
export interface IprangeMatch {
  readonly kind: "iprange";
  readonly src?: AddressRange;
  readonly dst?: AddressRange;
}

/**
 * -m conntrack revisions 1-3 (struct xt_conntrack_mtinfo1/2/3) with --ctstate and --ctdir only;
 * -m state, which iptables 1.8.9 sends as conntrack revision 3 with XT_CONNTRACK_STATE_ALIAS.
 */
export interface ConntrackMatch {
  readonly kind: "conntrack";
  /** --ctstate: XT_CONNTRACK_STATE_* bits (INVALID 1, ESTABLISHED 2, RELATED 4, NEW 8, SNAT 64, DNAT 128, UNTRACKED 256). */
  readonly state?: { readonly mask: number; readonly invert: boolean };
  /** --ctdir. */
  readonly direction?: "original" | "reply";
  /** --ctstatus: IPS_* bits (EXPECTED 1, SEEN_REPLY 2, ASSURED 4, CONFIRMED 8), any of which is set. */
  readonly status?: { readonly mask: number; readonly invert: boolean };
  /** --ctproto, --ctorigsrc and the other tuple options, each of which must hold. */
  readonly tuple?: readonly ConntrackTupleTest[];
  /** Written by -m state (XT_CONNTRACK_STATE_ALIAS): iptables prints it as --state. */
  readonly alias: boolean;
}

/**
 * A test of the conntrack entry's tuples (xt_conntrack's address, protocol and port options), on a
 * field of codegen/fields.ts CONNTRACK_FIELDS. Addresses, masks and the exact ports of revisions
 * 1 and 2 are as the entry holds them (network order), read little-endian; revision 3's port
 * ranges are in host order (ct_proto_port_check_v3 compares ntohs(port)).
 */
export type ConntrackTupleTest =
  /** ((field ^ addr) & mask) == 0 (conntrack_addrcmp). */
  | { readonly kind: "address"; readonly option: string; readonly field: "ct.orig.src" | "ct.orig.dst" | "ct.reply.src" | "ct.reply.dst"; readonly addr: number; readonly mask: number; readonly invert: boolean }
  /** nf_ct_protonum(ct) == proto. */
  | { readonly kind: "proto"; readonly proto: number; readonly invert: boolean }
  /** --ctexpire: min <= nf_ct_expires(ct) / HZ <= max (seconds). */
  | { readonly kind: "expires"; readonly min: number; readonly max: number; readonly invert: boolean }
  /** min <= port <= max, with the port as the entry holds it ("network") or byte-swapped ("host"). */
  | {
      readonly kind: "port";
      readonly option: string;
      readonly field: "ct.orig.sport" | "ct.orig.dport" | "ct.reply.sport" | "ct.reply.dport";
      readonly order: "network" | "host";
      readonly min: number;
      readonly max: number;
      readonly invert: boolean;
    };

/** -m state revision 0 (struct xt_state_info): XT_STATE_* bits (INVALID 1, ESTABLISHED 2, RELATED 4, NEW 8, UNTRACKED 64). */
export interface StateMatch {
  readonly kind: "state";
  readonly mask: number;
}

/** -m mark revision 1 (struct xt_mark_mtinfo1): (skb->mark & mask) == mark, XOR invert. */
export interface MarkMatch {
  readonly kind: "mark";
  readonly mark: number;
  readonly mask: number;
  readonly invert: boolean;
}

/**
 * -m pkttype (struct xt_pkttype_info): the packet's type (PACKET_HOST 0, BROADCAST 1, MULTICAST 2,
 * OTHERHOST 3), a looped-back packet (PACKET_LOOPBACK 5) counting as multicast or broadcast by its
 * destination, as pkttype_mt. `invert` is the struct's int: the result is (equal ^ invert) != 0.
 */
export interface PkttypeMatch {
  readonly kind: "pkttype";
  readonly pkttype: number;
  readonly invert: number;
}

/** Every decoded match. */
/**
 * -m limit (struct xt_rateinfo): avg (seconds between packets * XT_LIMIT_SCALE) and burst as
 * iptables gives them; creditCap and cost as the data has them (0: the kernel computes both from
 * avg and burst at checkentry, which is what iptables sends).
 */
export interface LimitMatch {
  readonly kind: "limit";
  readonly avg: number;
  readonly burst: number;
  readonly creditCap: number;
  readonly cost: number;
}

export type Match =
  | UdpMatch
  | TcpMatch
  | IcmpMatch
  | MultiportMatch
  | CommentMatch
  | LengthMatch
  | TtlMatch
  | DscpMatch
  | IprangeMatch
  | ConntrackMatch
  | StateMatch
  | MarkMatch
  | PkttypeMatch
  | LimitMatch;

/** The kinds of Match. */
export type MatchKind = Match["kind"];
