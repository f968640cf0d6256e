/**
 * The rule counters of an enforced table: the per-CPU "counters" map the programs count into, plus
 * an "offsets" array map that IPT_SO_SET_ADD_COUNTERS adds into. The helper never writes a per-CPU
 * slot the programs increment (that would race with them and lose packets); a counter is the sum of
 * its per-CPU slots plus its offset. Both maps are pinned, so the counters survive the helper.
 */
import { COUNTER_VALUE_SIZE, countersMapSpec } from "../codegen/index.ts";
import { createMap, type BpfMap } from "../bpf/index.ts";
import { addCounters, type XtCounters } from "../ipt/counters.ts";
import type { Table } from "../ir/types.ts";

/** The kernel's name of the offsets map (bpftool map show). */
export const OFFSETS_MAP = "bpfilter_cntadd";

/** The two maps that hold a table's counters. */
export interface RuleCounterMaps {
  /** Per-CPU {u64 packets, u64 bytes} per counter slot, written by the programs. */
  readonly counters: BpfMap;
  /** {u64 packets, u64 bytes} per counter slot, written by ADD_COUNTERS. */
  readonly offsets: BpfMap;
}

/** Creates zeroed counters and offsets maps for `table` (one slot per ipt_entry). */
export function createRuleCounterMaps(table: Table): RuleCounterMaps {
  const counters = createMap(countersMapSpec(table));
  try {
    const offsets = createMap({ type: "array", name: OFFSETS_MAP, keySize: 4, valueSize: COUNTER_VALUE_SIZE, maxEntries: counters.spec.maxEntries });
    return { counters, offsets };
  } catch (error) {
    counters.close();
    throw error;
  }
}

function decode(value: Uint8Array): XtCounters {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return { packets: view.getBigUint64(0, true), bytes: view.getBigUint64(8, true) };
}

function encode(counter: XtCounters): Uint8Array {
  const value = new Uint8Array(COUNTER_VALUE_SIZE);
  const view = new DataView(value.buffer);
  view.setBigUint64(0, BigInt.asUintN(64, counter.packets), true);
  view.setBigUint64(8, BigInt.asUintN(64, counter.bytes), true);
  return value;
}

/** Every counter: the sum over CPUs plus the offset, `entryCount` long (by counterIndex). */
export function readRuleCounters(maps: RuleCounterMaps, entryCount: number): XtCounters[] {
  const perCpu = maps.counters.lookupAllPerCpu();
  const offsets = maps.offsets.lookupAll();
  return Array.from({ length: entryCount }, (_, slot) => {
    let sum = offsets[slot] === undefined ? { packets: 0n, bytes: 0n } : decode(offsets[slot]);
    for (const cpu of perCpu[slot] ?? []) sum = addCounters(sum, decode(cpu));
    return sum;
  });
}

/** Adds `add` (by counterIndex) to the offsets, as IPT_SO_SET_ADD_COUNTERS adds to netfilter's counters. */
export function addToRuleCounters(maps: RuleCounterMaps, add: readonly XtCounters[]): void {
  const slots = maps.offsets.spec.maxEntries;
  if (add.length > slots) throw new RangeError(`ADD_COUNTERS: ${add.length} counters for a table of ${slots} entries`);
  const offsets = maps.offsets.lookupAll().slice(0, add.length).map(decode);
  maps.offsets.updateAll(offsets.map((offset, slot) => encode(addCounters(offset, add[slot]!))));
}

/** Closes both maps' fds (pins and programs keep them alive). */
export function closeRuleCounterMaps(maps: RuleCounterMaps): void {
  maps.counters.close();
  maps.offsets.close();
}
