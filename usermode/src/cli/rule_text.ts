/** A resolved rule in iptables-save words ("-s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT"), for bpfilter status. */
import { describeIface } from "../codegen/iface.ts";
import { describeMatch, describeTarget } from "../ext/registry.ts";
import { IPT_F, IPT_INV, type IpHeaderMatch, type Rule, type Verdict } from "../ir/types.ts";

const PROTOCOLS: Readonly<Record<number, string>> = { 1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah", 132: "sctp", 136: "udplite" };

function dotted(a: number): string {
  return [a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff].join(".");
}

function prefixLength(mask: number): number | undefined {
  const m = mask >>> 0;
  for (let len = 0; len <= 32; len++) if (m === (len === 0 ? 0 : (0xffff_ffff << (32 - len)) >>> 0)) return len;
  return undefined;
}

function address(flag: "-s" | "-d", addr: number, mask: number, invert: boolean): string | undefined {
  if (mask >>> 0 === 0 && !invert) return undefined;
  const len = prefixLength(mask);
  return `${invert ? "! " : ""}${flag} ${dotted(addr)}/${len ?? dotted(mask)}`;
}

/** The ipt_ip part of a rule. */
export function describeIp(ip: IpHeaderMatch): string[] {
  const words: string[] = [];
  const inv = (bit: number): boolean => (ip.invflags & bit) !== 0;
  const src = address("-s", ip.src, ip.srcMask, inv(IPT_INV.SRCIP));
  const dst = address("-d", ip.dst, ip.dstMask, inv(IPT_INV.DSTIP));
  if (src) words.push(src);
  if (dst) words.push(dst);
  if (ip.inIfaceMask.some((b) => b !== 0)) words.push(describeIface("-i", { name: ip.inIface, mask: ip.inIfaceMask, invert: inv(IPT_INV.VIA_IN) }));
  if (ip.outIfaceMask.some((b) => b !== 0)) words.push(describeIface("-o", { name: ip.outIface, mask: ip.outIfaceMask, invert: inv(IPT_INV.VIA_OUT) }));
  if (ip.proto !== 0 || inv(IPT_INV.PROTO)) words.push(`${inv(IPT_INV.PROTO) ? "! " : ""}-p ${PROTOCOLS[ip.proto] ?? ip.proto}`);
  if ((ip.flags & IPT_F.FRAG) !== 0) words.push(`${inv(IPT_INV.FRAG) ? "! " : ""}-f`);
  return words;
}

/** A verdict as iptables writes it ("" for a rule without -j). */
export function describeVerdict(verdict: Verdict): string {
  switch (verdict.kind) {
    case "jump":
      return `-j ${verdict.chain}`;
    case "goto":
      return `-g ${verdict.chain}`;
    case "continue":
      return "";
    case "accept":
    case "drop":
    case "return":
      return `-j ${verdict.kind.toUpperCase()}`;
    default:
      return describeTarget(verdict);
  }
}

/** The whole rule. */
export function describeRule(rule: Rule): string {
  return [...describeIp(rule.ip), ...rule.matches.map(describeMatch), describeVerdict(rule.verdict)].filter((w) => w !== "").join(" ");
}
