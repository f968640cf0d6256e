/**
 * Reading packet counters back from each system's own listing: `iptables -L INPUT -v -x -n`
 * (the policy's counter and the last rule's) and `nft -j list counters` (the named counters
 * "last" and "miss" that render.ts puts in every nftables ruleset).
 */

/** The packets the last rule and the chain's miss (policy or "miss" counter) counted. */
export interface ChainCounters {
  readonly last: number;
  readonly miss: number;
}

/** Parses `iptables -L INPUT -v -x -n`: the policy counter and the last rule's packet counter (0 with no rule). */
export function parseIptablesListing(listing: string): ChainCounters {
  const lines = listing.split("\n").filter((line) => line.trim() !== "");
  const policy = /^Chain INPUT \(policy \S+ (\d+) packets/.exec(lines[0] ?? "");
  if (!policy) throw new Error(`iptables -L INPUT printed no policy line: '${(lines[0] ?? "").slice(0, 120)}'`);
  if (lines.length < 3) return { last: 0, miss: Number(policy[1]) };
  const last = lines[lines.length - 1]!.trim().split(/\s+/)[0]!;
  if (!/^\d+$/.test(last)) throw new Error(`iptables -L INPUT: the last line does not start with a packet count: '${lines[lines.length - 1]}'`);
  return { last: Number(last), miss: Number(policy[1]) };
}

/** Parses `nft -j list counters table ip bench`: the counters named "last" and "miss". */
export function parseNftCounters(json: string): ChainCounters {
  const doc = JSON.parse(json) as { nftables?: { counter?: { name: string; packets: number } }[] };
  const byName = new Map<string, number>();
  for (const item of doc.nftables ?? []) if (item.counter) byName.set(item.counter.name, item.counter.packets);
  const last = byName.get("last");
  const miss = byName.get("miss");
  if (last === undefined || miss === undefined) throw new Error(`nft list counters: no counter named ${last === undefined ? "last" : "miss"}`);
  return { last, miss };
}
