/**
 * The limit match, revision 0 (net/netfilter/xt_limit.c, struct xt_rateinfo): a token bucket per
 * rule, kept as xt_limit keeps it (codegen/token_bucket.ts does its arithmetic and its code). The
 * data gives avg and burst; limit_mt_check's overflow test needs the kernel's HZ, so it is made
 * where the program is built, which leaves such a rule to netfilter (it answers ERANGE itself).
 */
import type { LimitMatch } from "../ir/matches.ts";
import { defineMatch, expectXtSize } from "./types.ts";

/** sizeof(struct xt_rateinfo) on a 64-bit kernel: u32 avg, burst; unsigned long prev; u32 credit, credit_cap, cost; pointer master. */
export const XT_RATEINFO_SIZE = 40;
/** xt_limit's usersize: offsetof(struct xt_rateinfo, prev); the kernel's state after it is not given back. */
export const XT_RATEINFO_USERSIZE = 8;
/** XT_LIMIT_SCALE: avg is seconds between packets times this. */
export const XT_LIMIT_SCALE = 10000;
/** The burst iptables sets without --limit-burst (and leaves out of iptables-save). */
const DEFAULT_BURST = 5;

/** libxt_limit's units, longest first: XT_LIMIT_SCALE times the unit's seconds. */
const RATES: readonly [string, number][] = [
  ["day", XT_LIMIT_SCALE * 24 * 60 * 60],
  ["hour", XT_LIMIT_SCALE * 60 * 60],
  ["min", XT_LIMIT_SCALE * 60],
  ["sec", XT_LIMIT_SCALE],
];

/** --limit as iptables prints it (libxt_limit's print_rate). */
function rateText(avg: number): string {
  if (avg === 0) return "inf";
  let i = 1;
  for (; i < RATES.length; i++) {
    const mult = RATES[i]![1];
    if (avg > mult || Math.floor(mult / avg) < mult % avg) break;
  }
  const [name, mult] = RATES[i - 1]!;
  return `${Math.floor(mult / avg)}/${name}`;
}

/** The limit match. */
export const limit = defineMatch<LimitMatch>({
  name: "limit",
  structSize: XT_RATEINFO_SIZE,
  userSize: XT_RATEINFO_USERSIZE,
  revisions: [0],
  proto: 0,
  decode(data) {
    const view = expectXtSize("match 'limit'", data, XT_RATEINFO_SIZE);
    return { kind: "limit", avg: view.getUint32(0, true), burst: view.getUint32(4, true), creditCap: view.getUint32(20, true), cost: view.getUint32(24, true) };
  },
  emit(em, m) {
    em.tokenBucket(m);
  },
  describe: (m) => `-m limit --limit ${rateText(m.avg)}${m.burst === DEFAULT_BURST ? "" : ` --limit-burst ${m.burst}`}`,
});
