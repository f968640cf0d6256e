/**
 * TEST DOUBLE of the enforcing side: it enforces nothing. It accepts every table unless told
 * to decline or fail, and keeps counters in memory so that the ABI layer's counter handling can
 * be tested. The helper itself uses the real one, enforce/bpf_enforcer.ts.
 */
import type { Deadline } from "../../src/codegen/index.ts";
import type { Table } from "../../src/ir/types.ts";
import { addCounters, type XtCounters } from "../../src/ipt/counters.ts";
import type { Decision, Enforcer, NetnsRef } from "../../src/service/enforcer.ts";

/** A hook deciding, per table, whether the double declines or fails it. */
export type MemoryVerdict = (table: Table) => Decision;

/** In-memory Enforcer test double; see the file comment. */
export class MemoryEnforcer implements Enforcer {
  private readonly tables = new Map<string, { table: Table; counters: XtCounters[]; generation: number }>();

  /** `decide` lets tests make apply() decline or fail; by default every table is accepted. */
  constructor(private readonly decide: MemoryVerdict = () => ({ kind: "ok" })) {}

  private key(netns: NetnsRef, tableName: string): string {
    return `${netns.cookie}/${tableName}`;
  }

  /** The deadline of each apply, in order (undefined: none was given). */
  readonly deadlines: (Deadline | undefined)[] = [];

  /** Records the table with zero counters unless `decide` says otherwise. */
  apply(netns: NetnsRef, table: Table, deadline?: Deadline, staged?: (generation: number) => void): Decision {
    this.deadlines.push(deadline);
    const decision = this.decide(table);
    if (decision.kind !== "ok") return decision;
    const key = this.key(netns, table.name);
    const old = this.tables.get(key)?.counters;
    const counters = Array.from({ length: table.entryCount }, () => ({ packets: 0n, bytes: 0n }));
    const generation = ((this.tables.get(key)?.generation ?? 0) + 1) % 2;
    staged?.(generation);
    this.tables.set(key, { table, counters, generation });
    return old === undefined ? { kind: "ok" } : { kind: "ok", replacedCounters: old };
  }

  /** The generation of the recorded table: it flips at every apply, as the real one's does. */
  generation(cookie: bigint, tableName: string): number | undefined {
    return this.tables.get(`${cookie}/${tableName}`)?.generation;
  }

  /** The recorded counters (zeros when nothing is recorded). */
  counters(netns: NetnsRef, tableName: string): readonly XtCounters[] {
    return this.tables.get(this.key(netns, tableName))?.counters ?? [];
  }

  /** Adds to the recorded counters. */
  addCounters(netns: NetnsRef, tableName: string, add: readonly XtCounters[]): void {
    const entry = this.tables.get(this.key(netns, tableName));
    if (entry === undefined) return;
    entry.counters = entry.counters.map((c, i) => (add[i] ? addCounters(c, add[i]) : c));
  }

  /** Forgets the table; returns its counters. */
  release(netns: NetnsRef, tableName: string): readonly XtCounters[] {
    const counters = this.counters(netns, tableName);
    this.tables.delete(this.key(netns, tableName));
    return counters;
  }

  /** Test hook: counts packets against a counter slot, as a real data path would. */
  countPacket(netns: NetnsRef, tableName: string, counterIndex: number, bytes: number): void {
    const entry = this.tables.get(this.key(netns, tableName));
    const c = entry?.counters[counterIndex];
    if (entry && c) entry.counters[counterIndex] = addCounters(c, { packets: 1n, bytes: BigInt(bytes) });
  }

  /** Test hook: the table last applied in a netns. */
  appliedTable(netns: NetnsRef, tableName: string): Table | undefined {
    return this.tables.get(this.key(netns, tableName))?.table;
  }
}
