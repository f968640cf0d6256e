/** The rule counters: one per-CPU array "counters", key u32 counter index, value {u64 packets, u64 bytes}. */
import { add, call, ja, jne, ldMapFd, ldx, mov, st, stx } from "./asm/index.ts";
import type { Table, TargetAction } from "../ir/types.ts";
import { targetOf } from "../ext/registry.ts";
import { actionKey, emitTargetCall } from "./targets.ts";
import { HELPER, STACK } from "./layout.ts";
import type { ProgramBuilder } from "./builder.ts";
import type { Flavor } from "./flavor.ts";

/** Name of the counters map in mapRefs. */
export const COUNTERS_MAP = "counters";
/** Size of one counter value: u64 packets, u64 bytes. */
export const COUNTER_VALUE_SIZE = 16;
/** The kernel's name of a table's counters map (bpftool map show). */
export const COUNTERS_MAP_NAME = "bpfilter_count";

/** What the loader creates for the counters map of a table (a bpf/ MapSpec). */
export interface CountersMapSpec {
  readonly type: "percpu_array";
  readonly name: typeof COUNTERS_MAP_NAME;
  readonly keySize: 4;
  readonly valueSize: typeof COUNTER_VALUE_SIZE;
  readonly maxEntries: number;
}

/** The counters map for a table: one slot per ipt_entry, so that counterIndex addresses it directly. */
export function countersMapSpec(table: Table): CountersMapSpec {
  return { type: "percpu_array", name: COUNTERS_MAP_NAME, keySize: 4, valueSize: COUNTER_VALUE_SIZE, maxEntries: Math.max(1, table.entryCount) };
}

/**
 * Emits: counters[index].packets += 1, .bytes += the packet's length (skb->len, as ipt_do_table's
 * ADD_COUNTER). Clobbers r0-r5. The lookup cannot fail (an array map, index < entryCount =
 * max_entries), but the verifier wants the NULL case handled: it returns `unreachableCode` there, on
 * the fall-through side, so that the verifier finishes it at once instead of keeping it pending
 * while it walks the rest of the rules.
 */
export function emitCount(b: ProgramBuilder, flavor: Flavor, index: number, unreachableCode: number): void {
  b.emit(st("u32", 10, STACK.COUNTER_KEY, index));
  emitLookupAndAdd(b, flavor, unreachableCode);
}

/** With the key stored at STACK.COUNTER_KEY: look the counter up and add this packet to it. */
function emitLookupAndAdd(b: ProgramBuilder, flavor: Flavor, unreachableCode: number): void {
  const found = b.label("counter");
  b.emit(ldMapFd(1, COUNTERS_MAP), mov.reg(2, 10), add.imm(2, STACK.COUNTER_KEY), call(HELPER.MAP_LOOKUP_ELEM), jne.imm(0, 0, found));
  b.emit(...flavor.epilogue(unreachableCode));
  b.place(found);
  b.emit(
    ldx("u64", 1, 0, 0),
    add.imm(1, 1),
    stx("u64", 0, 0, 1),
    ldx("u64", 1, 0, 8),
    ...flavor.packetBytes(2),
    add.reg(1, 2),
    stx("u64", 0, 8, 1),
  );
}

/**
 * Final verdicts count on shared tails: a rule puts its counter index in r1 and jumps to the tail
 * of its verdict. One map lookup site per tail instead of one per rule: with a helper call in every
 * rule, the 6.18 verifier took 35 s for 4000 rules; with shared tails, well under a second. A fresh
 * copy of the tails is emitted (jumped over) when the last one falls out of jump range. A terminal
 * target (REJECT) has a tail per distinct action: count, call its kfunc, drop.
 */
export class VerdictTails {
  private labels: { accept: string; drop: string; targets: Map<string, string> } | undefined;
  private emittedAt = 0;

  /** targets: the terminal target actions the program uses (codegen/targets.ts terminalTargets). */
  constructor(
    private readonly flavor: Flavor,
    private readonly targets: readonly TargetAction[] = [],
  ) {}

  /** Makes sure a copy of the tails lies within reach of the code emitted next (call between rules). */
  reachFrom(b: ProgramBuilder): void {
    if (this.labels !== undefined && b.size - this.emittedAt < TAIL_REACH) return;
    const over = b.label("after_tails");
    const targets = new Map(this.targets.map((t) => [actionKey(t), b.label(`count_${t.kind}`)]));
    this.labels = { accept: b.label("count_accept"), drop: b.label("count_drop"), targets };
    this.emittedAt = b.size;
    b.emit(ja(over));
    for (const verdict of ["accept", "drop"] as const) {
      b.place(this.labels[verdict]);
      const code = this.flavor.codes[verdict];
      b.emit(stx("u32", 10, STACK.COUNTER_KEY, 1));
      emitLookupAndAdd(b, this.flavor, code);
      b.emit(...this.flavor.epilogue(code));
    }
    for (const target of this.targets) {
      b.place(targets.get(actionKey(target))!);
      b.emit(stx("u32", 10, STACK.COUNTER_KEY, 1));
      emitLookupAndAdd(b, this.flavor, this.flavor.codes.drop);
      emitTargetCall(b, targetOf(target)!, target);
      b.emit(...this.flavor.epilogue(this.flavor.codes.drop));
    }
    b.place(over);
  }

  /** Emits: count counters[index] and return the verdict's code, or do the terminal target (through the nearest tail). */
  countAndReturn(b: ProgramBuilder, index: number, verdict: "accept" | "drop" | TargetAction): void {
    if (this.labels === undefined) throw new Error("countAndReturn before reachFrom");
    const label = typeof verdict === "string" ? this.labels[verdict] : this.labels.targets.get(actionKey(verdict));
    if (label === undefined) throw new Error(`countAndReturn: no tail for target ${JSON.stringify(verdict)}`);
    b.emit(mov.imm(1, index), ja(label));
  }
}

/** Instructions after a tail copy within which rules still jump back to it (well inside s16). */
const TAIL_REACH = 8000;
