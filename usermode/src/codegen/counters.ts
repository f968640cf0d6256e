/** The rule counters: one per-CPU array "counters", key u32 counter index, value {u64 packets, u64 bytes}. */
import { add, call, exit, jne, ldMapFd, ldx, mov, st, stx } from "./asm/index.ts";
import type { Table } from "../ir/types.ts";
import { HELPER, REG, STACK } from "./layout.ts";
import type { ProgramBuilder } from "./builder.ts";

/** Name of the counters map in mapRefs. */
export const COUNTERS_MAP = "counters";
/** Size of one counter value: u64 packets, u64 bytes. */
export const COUNTER_VALUE_SIZE = 16;

/** What the loader creates for the counters map of a table (a bpf/ MapSpec). */
export interface CountersMapSpec {
  readonly type: "percpu_array";
  readonly name: typeof COUNTERS_MAP;
  readonly keySize: 4;
  readonly valueSize: typeof COUNTER_VALUE_SIZE;
  readonly maxEntries: number;
}

/** The counters map for a table: one slot per ipt_entry, so that counterIndex addresses it directly. */
export function countersMapSpec(table: Table): CountersMapSpec {
  return { type: "percpu_array", name: COUNTERS_MAP, keySize: 4, valueSize: COUNTER_VALUE_SIZE, maxEntries: Math.max(1, table.entryCount) };
}

/**
 * Emits: counters[index].packets += 1, .bytes += tot_len. Clobbers r0-r5. The lookup cannot fail
 * (an array map, index < entryCount = max_entries), but the verifier wants the NULL case handled:
 * it returns `unreachableCode` there, on the fall-through side, so that the verifier finishes it at
 * once instead of keeping it pending while it walks the rest of the rules.
 */
export function emitCount(b: ProgramBuilder, index: number, unreachableCode: number): void {
  const found = b.label("counter");
  b.emit(
    st("u32", 10, STACK.COUNTER_KEY, index),
    ldMapFd(1, COUNTERS_MAP),
    mov.reg(2, 10),
    add.imm(2, STACK.COUNTER_KEY),
    call(HELPER.MAP_LOOKUP_ELEM),
    jne.imm(0, 0, found),
    mov.imm(0, unreachableCode),
    exit(),
  );
  b.place(found);
  b.emit(
    ldx("u64", 1, 0, 0),
    add.imm(1, 1),
    stx("u64", 0, 0, 1),
    ldx("u64", 1, 0, 8),
    add.reg(1, REG.totLen),
    stx("u64", 0, 8, 1),
  );
}

/** Emits: return code; exit. */
export function emitReturn(b: ProgramBuilder, code: number): void {
  b.emit(mov.imm(0, code), exit());
}
