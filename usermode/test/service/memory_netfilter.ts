/**
 * TEST DOUBLE of netfilter in a netns (the Netfilter port): it keeps one filter table per netns
 * cookie, checks a replace with ipt/'s translate_table (same errnos), num_counters (EAGAIN) and an
 * optional refusal hook, and counts nothing but what tests add. The helper uses KernelNetfilter.
 */
import type { NetnsRef } from "../../src/ipc/sockopt_call.ts";
import { Errno, IPT_ENTRY, XT_COUNTERS } from "../../src/ipt/abi.ts";
import type { XtCounters } from "../../src/ipt/counters.ts";
import type { TableInfo } from "../../src/ipt/get_ctl.ts";
import { initialFilterTable } from "../../src/ipt/initial_table.ts";
import { IptError } from "../../src/ipt/ipt_error.ts";
import { decodeReplaceHeader, type TranslatedTable, translateTable } from "../../src/ipt/translate.ts";
import type { Netfilter } from "../../src/service/netfilter.ts";

/** One netns's table in the double. */
interface Held {
  table: TranslatedTable;
  counters: XtCounters[];
}

/** In-memory Netfilter; see the file comment. */
export class MemoryNetfilter implements Netfilter {
  private readonly held = new Map<bigint, Held>();
  /** Every call, in order ("info 77", "replace 77 5 entries"). */
  readonly calls: string[] = [];

  /** `refuse` returns an errno to refuse a replace with (a blob netfilter would not take), or 0. */
  constructor(private readonly refuse: (table: TranslatedTable) => number = () => 0) {}

  private of(netns: NetnsRef): Held {
    let held = this.held.get(netns.cookie);
    if (held === undefined) {
      const table = initialFilterTable();
      held = { table, counters: table.entries.map(() => ({ packets: 0n, bytes: 0n })) };
      this.held.set(netns.cookie, held);
    }
    return held;
  }

  info(netns: NetnsRef, _table: string): TableInfo {
    this.calls.push(`info ${netns.cookie}`);
    const { table } = this.of(netns);
    return { name: table.name, validHooks: table.validHooks, hookEntry: table.hookEntry, underflow: table.underflow, numEntries: table.entries.length, size: table.size };
  }

  entries(netns: NetnsRef, _table: string, size: number): Uint8Array {
    this.calls.push(`entries ${netns.cookie}`);
    const { table, counters } = this.of(netns);
    if (size !== table.size) throw new IptError(Errno.EAGAIN, `entries: size ${size} is not ${table.size}`);
    const blob = table.blob.slice();
    const view = new DataView(blob.buffer);
    table.entries.forEach((e, i) => {
      view.setBigUint64(e.offset + IPT_ENTRY.counters + XT_COUNTERS.pcnt, counters[i]!.packets, true);
      view.setBigUint64(e.offset + IPT_ENTRY.counters + XT_COUNTERS.bcnt, counters[i]!.bytes, true);
    });
    return blob;
  }

  replace(netns: NetnsRef, request: Uint8Array): XtCounters[] {
    const header = decodeReplaceHeader(request, request.byteLength);
    const table = translateTable(header, request);
    this.calls.push(`replace ${netns.cookie} ${table.entries.length} entries`);
    const refused = this.refuse(table);
    if (refused !== 0) throw new IptError(refused, "refused by the test");
    const held = this.of(netns);
    if (header.numCounters !== held.table.entries.length) throw new IptError(Errno.EAGAIN, `num_counters ${header.numCounters} is not ${held.table.entries.length}`);
    const old = held.counters;
    this.held.set(netns.cookie, { table, counters: table.entries.map(() => ({ packets: 0n, bytes: 0n })) });
    return old;
  }

  addCounters(netns: NetnsRef, _table: string, counters: readonly XtCounters[]): void {
    this.calls.push(`add-counters ${netns.cookie} ${counters.length}`);
    const held = this.of(netns);
    if (counters.length !== held.table.entries.length) throw new IptError(Errno.EINVAL, `${counters.length} counters for ${held.table.entries.length} entries`);
    held.counters = held.counters.map((c, i) => ({ packets: c.packets + counters[i]!.packets, bytes: c.bytes + counters[i]!.bytes }));
  }

  /** Test hook: the counters netfilter holds in a netns. */
  countersOf(netns: NetnsRef): readonly XtCounters[] {
    return this.of(netns).counters;
  }

  /** Test hook: netfilter's table in a netns. */
  tableOf(netns: NetnsRef): TranslatedTable {
    return this.of(netns).table;
  }

  /** Test hook: counts a packet on one of netfilter's rules. */
  countPacket(netns: NetnsRef, index: number, bytes: number): void {
    const held = this.of(netns);
    const c = held.counters[index]!;
    held.counters[index] = { packets: c.packets + 1n, bytes: c.bytes + BigInt(bytes) };
  }

  /** Test hook: installs a table directly, as a native iptables before the helper ran would. */
  install(netns: NetnsRef, request: Uint8Array): void {
    const table = translateTable(decodeReplaceHeader(request, request.byteLength), request);
    this.held.set(netns.cookie, { table, counters: table.entries.map(() => ({ packets: 0n, bytes: 0n })) });
  }
}

