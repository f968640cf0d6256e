/**
 * The intermediate representation between the iptables ABI codec (ipt/) and the compiler
 * (codegen/). Nodes are immutable plain data. ipt/chains.ts reads an ipt_replace blob into
 * chains of rules whose matches are still xt bytes; ir/resolve.ts decodes every match and target
 * once into this typed form, or says why netfilter must enforce the table. Codegen reads only this.
 */
import type { Match } from "./matches.ts";
import type { TargetAction } from "./targets.ts";

export type { Match } from "./matches.ts";
export type { TargetAction } from "./targets.ts";

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

/** What a rule does when it matches (after counting it), every case explicit. */
export type Verdict =
  | { readonly kind: "accept" }
  | { readonly kind: "drop" }
  | { readonly kind: "return" }
  | { readonly kind: "jump"; readonly chain: string }
  | { readonly kind: "goto"; readonly chain: string }
  /** A rule without -j: it only counts; evaluation goes on with the next rule. */
  | { readonly kind: "continue" }
  /** A target extension (ir/targets.ts): REJECT ends the packet, LOG and MARK go on with the next rule. */
  | TargetAction;

/** One rule (one ipt_entry that is not a chain head, policy or error entry), fully decoded. */
export interface Rule {
  /** Index of the ipt_entry in the table blob: the counter slot of this rule. */
  readonly counterIndex: number;
  readonly ip: IpHeaderMatch;
  /** Its matches, in the rule's order, each decoded once (ir/matches.ts). */
  readonly matches: readonly Match[];
  readonly verdict: Verdict;
}

/** A chain: built-in (has a hook and a policy) or user-defined; R is Rule, or ipt/'s XtRule before resolving. */
export interface Chain<R = Rule> {
  readonly name: string;
  readonly hook?: HookName;
  /** Policy of a built-in chain; its counter slot is policyCounterIndex. */
  readonly policy?: "accept" | "drop";
  readonly policyCounterIndex?: number;
  readonly rules: readonly R[];
}

/** A whole table, as set by IPT_SO_SET_REPLACE. */
export interface Table<R = Rule> {
  readonly name: string; // "filter"
  readonly validHooks: number; // bitmask of NF_INET_* hooks
  readonly chains: readonly Chain<R>[];
  /** Number of ipt_entry records in the blob (rules + chain heads + policies + error entry). */
  readonly entryCount: number;
}
