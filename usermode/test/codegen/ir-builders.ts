// Builders of IR tables for the compiler tests: a filter table whose counter indexes follow
// the order of ipt_entry records in a blob (chain heads, rules, policies, the final ERROR). Matches
// are built as their xt bytes and resolved by ir/resolve.ts, as the helper resolves a replace.
import type { XtMatch, XtRule, XtTable, XtTarget } from "../../src/ipt/chains.ts";
import { resolveChains } from "../../src/ir/resolve.ts";
import type { Chain, IpHeaderMatch, Table, Verdict } from "../../src/ir/types.ts";

/** Host-order IPv4 address from dotted text. */
export function ip4(text: string): number {
  return text.split(".").reduce((acc, octet) => ((acc << 8) | Number(octet)) >>> 0, 0);
}

/** ipt_ip interface name + mask as iptables builds them ("eth+" → prefix mask). */
export function iface(spec: string): { name: string; mask: Uint8Array } {
  const mask = new Uint8Array(16);
  if (spec === "") return { name: "", mask };
  const wildcard = spec.endsWith("+");
  const name = wildcard ? spec.slice(0, -1) : spec;
  mask.fill(0xff, 0, wildcard ? name.length : name.length + 1);
  return { name, mask };
}

/** What a test rule may set; everything else matches anything. */
export interface RuleSpec {
  src?: string; // "10.0.0.0/8"
  dst?: string;
  in?: string;
  out?: string;
  proto?: number;
  flags?: number;
  invflags?: number;
  matches?: XtMatch[];
  target: XtTarget;
}

function cidr(spec: string | undefined): [number, number] {
  if (spec === undefined) return [0, 0];
  const [addr, bits] = spec.split("/");
  const len = bits === undefined ? 32 : Number(bits);
  const mask = len === 0 ? 0 : (0xffff_ffff << (32 - len)) >>> 0;
  return [(ip4(addr!) & mask) >>> 0, mask];
}

function ipMatch(spec: RuleSpec): IpHeaderMatch {
  const [src, srcMask] = cidr(spec.src);
  const [dst, dstMask] = cidr(spec.dst);
  const inIf = iface(spec.in ?? "");
  const outIf = iface(spec.out ?? "");
  return {
    src, srcMask, dst, dstMask,
    inIface: inIf.name, inIfaceMask: inIf.mask, outIface: outIf.name, outIfaceMask: outIf.mask,
    proto: spec.proto ?? 0, flags: spec.flags ?? 0, invflags: spec.invflags ?? 0,
  };
}

/** A standard verdict target. */
export function verdict(v: Verdict): XtTarget {
  return { kind: "verdict", verdict: v };
}

/** Common targets. */
export const ACCEPT = verdict({ kind: "accept" });
export const DROP = verdict({ kind: "drop" });
export const RETURN = verdict({ kind: "return" });
/** -j CHAIN. */
export const jump = (chain: string): XtTarget => verdict({ kind: "jump", chain });
/** -g CHAIN. */
export const goto = (chain: string): XtTarget => verdict({ kind: "goto", chain });
/** A rule without -j: it counts, and evaluation goes on with the next rule. */
export const CONTINUE = verdict({ kind: "continue" });

/** Chains of a test table: built-ins with policy and rules, user chains with rules. */
export interface TableSpec {
  INPUT?: { policy?: "accept" | "drop"; rules?: RuleSpec[] };
  FORWARD?: { policy?: "accept" | "drop"; rules?: RuleSpec[] };
  OUTPUT?: { policy?: "accept" | "drop"; rules?: RuleSpec[] };
  user?: Record<string, RuleSpec[]>;
}

/** A filter table, its matches still xt bytes, with counter indexes laid out as in an ipt_replace blob. */
export function xtFilterTable(spec: TableSpec): XtTable {
  let entry = 0;
  const chains: Chain<XtRule>[] = [];
  const rules = (specs: RuleSpec[] | undefined): XtRule[] =>
    (specs ?? []).map((r) => ({ counterIndex: entry++, ip: ipMatch(r), matches: r.matches ?? [], target: r.target }));
  for (const hook of ["INPUT", "FORWARD", "OUTPUT"] as const) {
    const c = spec[hook] ?? {};
    const chainRules = rules(c.rules);
    chains.push({ name: hook, hook, policy: c.policy ?? "accept", policyCounterIndex: entry++, rules: chainRules });
  }
  for (const [name, specs] of Object.entries(spec.user ?? {})) {
    entry++; // the ERROR entry that heads the chain
    chains.push({ name, rules: rules(specs) });
    entry++; // the RETURN entry that ends it
  }
  entry++; // the final ERROR entry
  return { name: "filter", validHooks: 0b1110, chains, entryCount: entry };
}

/** A filter table resolved as the helper resolves a replace; throws if the checker would hand it to netfilter. */
export function filterTable(spec: TableSpec): Table {
  const resolved = resolveChains(xtFilterTable(spec));
  if (resolved.kind !== "compile") throw new Error(`the test table goes to netfilter: ${resolved.reason}`);
  return resolved.table;
}

function match(name: string, size: number, fill: (view: DataView) => void): XtMatch {
  const data = new Uint8Array((size + 7) & ~7);
  fill(new DataView(data.buffer));
  return { name, revision: 0, data };
}

/** Port range options of tcp/udp matches. */
export interface PortSpec {
  sport?: [number, number];
  dport?: [number, number];
  invSport?: boolean;
  invDport?: boolean;
}

/** -m udp (struct xt_udp, 10 bytes → 16). */
export function udpMatch(p: PortSpec): XtMatch {
  return match("udp", 10, (v) => {
    const [s0, s1] = p.sport ?? [0, 0xffff];
    const [d0, d1] = p.dport ?? [0, 0xffff];
    v.setUint16(0, s0, true); v.setUint16(2, s1, true); v.setUint16(4, d0, true); v.setUint16(6, d1, true);
    v.setUint8(8, (p.invSport ? 1 : 0) | (p.invDport ? 2 : 0));
  });
}

/** -m tcp (struct xt_tcp, 12 bytes → 16). */
export function tcpMatch(p: PortSpec & { flagMask?: number; flagCmp?: number; invFlags?: boolean; option?: number }): XtMatch {
  return match("tcp", 12, (v) => {
    const [s0, s1] = p.sport ?? [0, 0xffff];
    const [d0, d1] = p.dport ?? [0, 0xffff];
    v.setUint16(0, s0, true); v.setUint16(2, s1, true); v.setUint16(4, d0, true); v.setUint16(6, d1, true);
    v.setUint8(8, p.option ?? 0); v.setUint8(9, p.flagMask ?? 0); v.setUint8(10, p.flagCmp ?? 0);
    v.setUint8(11, (p.invSport ? 1 : 0) | (p.invDport ? 2 : 0) | (p.invFlags ? 4 : 0));
  });
}

/** -m icmp (struct ipt_icmp, 4 bytes → 8). */
export function icmpMatch(type: number, codes: [number, number] = [0, 0xff], invert = false): XtMatch {
  return match("icmp", 4, (v) => {
    v.setUint8(0, type); v.setUint8(1, codes[0]); v.setUint8(2, codes[1]); v.setUint8(3, invert ? 1 : 0);
  });
}

/** -m multiport (struct xt_multiport_v1, 48 bytes): entries are ports or [first, last] ranges. */
export function multiportMatch(side: "source" | "destination" | "either", entries: (number | [number, number])[], invert = false): XtMatch {
  const blob = match("multiport", 48, (v) => {
    v.setUint8(0, ["source", "destination", "either"].indexOf(side));
    let i = 0;
    for (const e of entries) {
      if (typeof e === "number") {
        v.setUint16(2 + 2 * i++, e, true);
      } else {
        v.setUint8(32 + i, 1);
        v.setUint16(2 + 2 * i++, e[0], true);
        v.setUint16(2 + 2 * i++, e[1], true);
      }
    }
    v.setUint8(1, i);
    v.setUint8(47, invert ? 1 : 0);
  });
  return { ...blob, revision: 1 };
}

/** -m comment (256 bytes). */
export function commentMatch(text: string): XtMatch {
  return match("comment", 256, (v) => Buffer.from(text).forEach((b, i) => v.setUint8(i, b)));
}

/** -m length (struct xt_length_info, 6 bytes → 8). */
export function lengthMatch(min: number, max: number, invert = false): XtMatch {
  return match("length", 6, (v) => {
    v.setUint16(0, min, true); v.setUint16(2, max, true); v.setUint8(4, invert ? 1 : 0);
  });
}

/** -m ttl (struct ipt_ttl_info, 2 bytes → 8); mode 0 eq, 1 ne, 2 lt, 3 gt. */
export function ttlMatch(mode: number, ttl: number): XtMatch {
  return match("ttl", 2, (v) => { v.setUint8(0, mode); v.setUint8(1, ttl); });
}

/**
 * -m conntrack revision 3 (struct xt_conntrack_mtinfo3, 164 bytes → 168): --ctstate and --ctstatus
 * masks, each given with its inversion.
 */
export function conntrackMatch(p: { state?: [mask: number, invert: boolean]; status?: [mask: number, invert: boolean] }): XtMatch {
  const m = match("conntrack", 164, (v) => {
    const flags = (p.state ? 1 : 0) | (p.status ? 1 << 6 : 0);
    const invert = (p.state?.[1] ? 1 : 0) | (p.status?.[1] ? 1 << 6 : 0);
    v.setUint16(146, flags, true); v.setUint16(148, invert, true);
    v.setUint16(150, p.state?.[0] ?? 0, true); v.setUint16(152, p.status?.[0] ?? 0, true);
  });
  return { ...m, revision: 3 };
}

/** -m dscp (struct xt_dscp_info, 2 bytes → 8). */
export function dscpMatch(dscp: number, invert = false): XtMatch {
  return match("dscp", 2, (v) => { v.setUint8(0, dscp); v.setUint8(1, invert ? 1 : 0); });
}

/** -m iprange (struct xt_iprange_mtinfo, 68 bytes → 72, revision 1): "a.b.c.d-e.f.g.h" ranges. */
export function iprangeMatch(src?: [string, string, boolean?], dst?: [string, string, boolean?]): XtMatch {
  const blob = match("iprange", 68, (v) => {
    let flags = 0;
    if (src) {
      v.setUint32(0, ip4(src[0])); v.setUint32(16, ip4(src[1]));
      flags |= 0x01 | (src[2] ? 0x10 : 0);
    }
    if (dst) {
      v.setUint32(32, ip4(dst[0])); v.setUint32(48, ip4(dst[1]));
      flags |= 0x02 | (dst[2] ? 0x20 : 0);
    }
    v.setUint8(64, flags);
  });
  return { ...blob, revision: 1 };
}

function targetData(size: number, fill: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const data = new Uint8Array((size + 7) & ~7);
  fill(new DataView(data.buffer), data);
  return data;
}

/** -j REJECT --reject-with (enum ipt_reject_with). */
export function rejectTarget(withValue: number): XtTarget {
  return { kind: "ext", name: "REJECT", revision: 0, data: targetData(4, (v) => v.setUint32(0, withValue, true)) };
}

/** -j LOG with level, NF_LOG_* flags and prefix. */
export function logTarget(level: number, logflags: number, prefix: string): XtTarget {
  return {
    kind: "ext",
    name: "LOG",
    revision: 0,
    data: targetData(32, (v, bytes) => {
      v.setUint8(0, level);
      v.setUint8(1, logflags);
      bytes.set(Buffer.from(prefix, "latin1"), 2);
    }),
  };
}

/** -j MARK --set-xmark mark/mask (revision 2). */
export function markTargetOf(mark: number, mask: number): XtTarget {
  return { kind: "ext", name: "MARK", revision: 2, data: targetData(8, (v) => (v.setUint32(0, mark, true), v.setUint32(4, mask, true))) };
}
