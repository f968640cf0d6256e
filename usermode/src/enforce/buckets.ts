/**
 * The limits map of a table (codegen/token_bucket.ts): one {u64 prev, u32 credit} slot per limit
 * match, filled as limit_mt_check fills its state: prev = the kernel's jiffies now, credit full.
 * Made at every load, so a replace starts every bucket anew, as netfilter's checkentry does. The
 * programs hold it; it is not pinned (a restarted helper never reads it).
 */
import { createMap, loadProgram, testRun, u32Bytes, type BpfMap } from "../bpf/index.ts";
import { bucketInitialValues, bucketSlots, LIMIT_VALUE, LIMITS_MAP_NAME, NF_VERDICT } from "../codegen/index.ts";
import { add, assemble, call, exit, jeq, ldMapFd, mov, st, stx, withLabel } from "../codegen/asm/index.ts";
import { HELPER } from "../codegen/layout.ts";
import type { Table } from "../ir/types.ts";

/** The filled limits map of `table`, or undefined when it has no limit match. */
export function createBucketMap(table: Table, hz: number | undefined): BpfMap | undefined {
  const slots = bucketSlots(table).size;
  if (slots === 0) return undefined;
  if (hz === undefined) throw new Error("a table with limit matches, compiled without the kernel's HZ");
  const values = bucketInitialValues(table, hz, kernelJiffies());
  const map = createMap({ type: "array", name: LIMITS_MAP_NAME, keySize: 4, valueSize: LIMIT_VALUE.SIZE, maxEntries: slots });
  try {
    values.forEach((value, slot) => map.update(u32Bytes(slot), value));
    return map;
  } catch (error) {
    map.close();
    throw error;
  }
}

/**
 * The kernel's jiffies now (jiffies_64, as bpf_jiffies64 returns it and limit_mt_check reads
 * jiffies): a one-off netfilter program stores bpf_jiffies64() in a map in one test run.
 */
export function kernelJiffies(): bigint {
  const out = createMap({ type: "array", name: "bpfilter_jiffy", keySize: 4, valueSize: 8, maxEntries: 1 });
  try {
    const done = "done";
    const { insns, mapRefs } = assemble([
      call(HELPER.JIFFIES64),
      mov.reg(6, 0),
      st("u32", 10, -4, 0),
      ldMapFd(1, "out"),
      mov.reg(2, 10),
      add.imm(2, -4),
      call(HELPER.MAP_LOOKUP_ELEM),
      jeq.imm(0, 0, done),
      stx("u64", 0, 0, 6),
      withLabel(mov.imm(0, NF_VERDICT.ACCEPT), done),
      exit(),
    ]);
    const prog = loadProgram({ type: "netfilter", name: "bpfilter_jiffy", insns, mapRefs, maps: { out } });
    try {
      testRun(prog, IPV4_HEADER);
    } finally {
      prog.close();
    }
    const value = out.lookup(u32Bytes(0));
    if (value === undefined) throw new Error("bpfilter_jiffy: no entry 0 after the test run");
    return new DataView(value.buffer, value.byteOffset, value.byteLength).getBigUint64(0, true);
  } finally {
    out.close();
  }
}

/** The smallest packet a netfilter test run takes: an IPv4 header (version 4, ihl 5, length 20). */
const IPV4_HEADER = Uint8Array.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
