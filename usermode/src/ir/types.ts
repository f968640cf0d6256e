/**
 * The intermediate representation between the iptables ABI codec (ipt/) and the
 * compiler (codegen/). Nodes are immutable plain data; ipt/ builds them from an
 * ipt_replace blob, codegen/ reads them.
 */

/** A netfilter hook of the filter table, in NF_INET_* order. */
export type HookName = "PREROUTING" | "INPUT" | "FORWARD" | "OUTPUT" | "POSTROUTING";

/** NF_INET_* numbers, as used by ipt_replace.hook_entry[] and valid_hooks. */
export const NF_INET_HOOK: Readonly<Record<HookName, number>> = {
  PREROUTING: 0,
  INPUT: 1,
  FORWARD: 2,
  OUTPUT: 3,
  POSTROUTING: 4,
};

/** IPT_INV_* flags of struct ipt_ip.invflags. */
export const IPT_INV = {
  VIA_IN: 0x01,
  VIA_OUT: 0x02,
  TOS: 0x04,
  SRCIP: 0x08,
  DSTIP: 0x10,
  FRAG: 0x20,
  PROTO: 0x40,
} as const;

/** IPT_F_* flags of struct ipt_ip.flags. */
export const IPT_F = { FRAG: 0x01, GOTO: 0x02 } as const;

/** struct ipt_ip, decoded. Addresses and masks are host-order 32-bit numbers. */
export interface IpHeaderMatch {
  readonly src: number;
  readonly srcMask: number;
  readonly dst: number;
  readonly dstMask: number;
  readonly inIface: string;
  readonly inIfaceMask: Uint8Array; // 16 bytes, as in ipt_ip
  readonly outIface: string;
  readonly outIfaceMask: Uint8Array;
  readonly proto: number; // 0 = any
  readonly flags: number; // IPT_F_*
  readonly invflags: number; // IPT_INV_*
}

/** One xt_entry_match, kept as its name, revision and data bytes (after the header). */
export interface MatchBlob {
  readonly name: string;
  readonly revision: number;
  readonly data: Uint8Array;
}

/** Verdict of a standard target, after resolving jumps. */
export type Verdict =
  | { readonly kind: "accept" }
  | { readonly kind: "drop" }
  | { readonly kind: "return" }
  | { readonly kind: "jump"; readonly chain: string }
  | { readonly kind: "goto"; readonly chain: string };

/** The target of a rule: a standard verdict, or a named target extension with its data. */
export type Target =
  | { readonly kind: "verdict"; readonly verdict: Verdict }
  | { readonly kind: "ext"; readonly name: string; readonly revision: number; readonly data: Uint8Array };

/** One rule (one ipt_entry that is not a chain head, policy or error entry). */
export interface Rule {
  /** Index of the ipt_entry in the table blob: the counter slot of this rule. */
  readonly counterIndex: number;
  readonly ip: IpHeaderMatch;
  readonly matches: readonly MatchBlob[];
  readonly target: Target;
}

/** A chain: built-in (has a hook and a policy) or user-defined. */
export interface Chain {
  readonly name: string;
  readonly hook?: HookName;
  /** Policy of a built-in chain; its counter slot is policyCounterIndex. */
  readonly policy?: "accept" | "drop";
  readonly policyCounterIndex?: number;
  readonly rules: readonly Rule[];
}

/** A whole table, as set by IPT_SO_SET_REPLACE. */
export interface Table {
  readonly name: string; // "filter"
  readonly validHooks: number; // bitmask of NF_INET_* hooks
  readonly chains: readonly Chain[];
  /** Number of ipt_entry records in the blob (rules + chain heads + policies + error entry). */
  readonly entryCount: number;
}
