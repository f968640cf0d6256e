/**
 * Matches decided by a small key (conntrack's ctinfo class, pkttype's type): the extension computes
 * the kernel function's result for every key at compile time, and the rule tests the packet's key
 * against the keys that hold, as ranges of r1.
 */
import type { MatchEmitter, RangeTest } from "./types.ts";

/**
 * Emits "the packet's key is one of 0..count-1 for which `holds` is true": nothing when all hold,
 * never() when none does, else `load` (which leaves the key in r1) and one requireAny.
 */
export function requireKeySet(em: MatchEmitter, count: number, holds: (key: number) => boolean, load: () => void): void {
  const ranges: RangeTest[] = [];
  for (let key = 0; key < count; key++) {
    if (!holds(key)) continue;
    const last = ranges.at(-1);
    if (last !== undefined && last.max === key - 1) ranges[ranges.length - 1] = { ...last, max: key };
    else ranges.push({ reg: 1, min: key, max: key });
  }
  if (ranges.length === 0) {
    em.never();
    return;
  }
  if (ranges.length === 1 && ranges[0]!.min === 0 && ranges[0]!.max === count - 1) return;
  load();
  em.requireAny(ranges, false);
}
