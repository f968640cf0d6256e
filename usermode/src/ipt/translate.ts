/**
 * IPT_SO_SET_REPLACE as do_replace and translate_table of net/ipv4/netfilter/ip_tables.c check
 * it: the ipt_replace header, every entry, the hook entry points and underflows
 * (xt_check_table_hooks), and loops (mark_source_chains, -ELOOP). Same checks, same errnos.
 */
import { type Deadline, lateCheck } from "../ir/deadline.ts";
import {
  Errno,
  INT_MAX,
  IPT_ENTRY,
  IPT_REPLACE,
  NF_INET_NUMHOOKS,
  readCString,
  STD_VERDICT,
  XT_COUNTERS,
  XT_MAX_TABLE_SIZE,
  XT_STANDARD_TARGET,
  XT_STANDARD_TARGET_LAYOUT,
  XT_TABLE_INFO_SIZE,
  XT_TABLE_MAXNAMELEN,
} from "./abi.ts";
import { type EntryLayout, readEntry } from "./entry_layout.ts";
import { IptError } from "./ipt_error.ts";

/** A table's shape as ipt_getinfo and the head of ipt_replace give it. */
export interface TableShape {
  readonly name: string;
  readonly validHooks: number;
  readonly numEntries: number;
  readonly size: number;
  readonly hookEntry: readonly number[];
  readonly underflow: readonly number[];
}

/** The fixed part of struct ipt_replace. */
export interface ReplaceHeader extends TableShape {
  readonly numCounters: number;
  /** The caller's counters pointer (user memory; the kernel writes the old counters there). */
  readonly counters: bigint;
}

/** A table that passed translate_table: the entries in kernel form, as netfilter stores them. */
export interface TranslatedTable {
  readonly name: string;
  readonly validHooks: number;
  /** Blob bytes. */
  readonly size: number;
  /** hook_entry[] as get_info reports it: 0xFFFFFFFF for hooks not in validHooks. */
  readonly hookEntry: readonly number[];
  /** underflow[], same convention. */
  readonly underflow: readonly number[];
  readonly entries: readonly EntryLayout[];
  /** The entry blob with counters zeroed and comefrom set, as netfilter keeps it. */
  readonly blob: Uint8Array;
}

/** The table name of an ipt_replace, ipt_getinfo, ipt_get_entries or xt_counters_info, or undefined if too short. */
export function tableNameOf(optval: Uint8Array): string | undefined {
  if (optval.byteLength < XT_TABLE_MAXNAMELEN) return undefined;
  return readCString(optval, 0, XT_TABLE_MAXNAMELEN - 1);
}

/** Reads the ipt_replace header with do_replace's length, num_counters and size checks. */
export function decodeReplaceHeader(optval: Uint8Array, optlen: number): ReplaceHeader {
  if (optlen < IPT_REPLACE.SIZE || optval.byteLength < IPT_REPLACE.SIZE) {
    throw new IptError(Errno.EINVAL, `ipt_replace: optlen ${optlen} is smaller than the ${IPT_REPLACE.SIZE}-byte header`);
  }
  const view = new DataView(optval.buffer, optval.byteOffset, optval.byteLength);
  const u32 = (at: number): number => view.getUint32(at, true);
  const hooks = (at: number): number[] => Array.from({ length: NF_INET_NUMHOOKS }, (_, h) => u32(at + 4 * h));
  const header: ReplaceHeader = {
    name: tableNameOf(optval)!,
    validHooks: u32(IPT_REPLACE.valid_hooks),
    numEntries: u32(IPT_REPLACE.num_entries),
    size: u32(IPT_REPLACE.size),
    hookEntry: hooks(IPT_REPLACE.hook_entry),
    underflow: hooks(IPT_REPLACE.underflow),
    numCounters: u32(IPT_REPLACE.num_counters),
    counters: view.getBigUint64(IPT_REPLACE.counters, true),
  };
  if (header.numCounters >= Math.floor(INT_MAX / XT_COUNTERS.SIZE)) {
    throw new IptError(Errno.ENOMEM, `ipt_replace: num_counters ${header.numCounters} overflows the counter array`);
  }
  if (header.numCounters === 0) throw new IptError(Errno.EINVAL, "ipt_replace: num_counters is 0");
  if (optlen < header.size + IPT_REPLACE.SIZE) {
    throw new IptError(Errno.EINVAL, `ipt_replace: size ${header.size} exceeds the ${optlen - IPT_REPLACE.SIZE} bytes after the header`);
  }
  if (header.size + XT_TABLE_INFO_SIZE >= XT_MAX_TABLE_SIZE) {
    throw new IptError(Errno.ENOMEM, `ipt_replace: size ${header.size} exceeds XT_MAX_TABLE_SIZE`);
  }
  if (optval.byteLength < header.size + IPT_REPLACE.SIZE) {
    throw new IptError(Errno.EFAULT, `ipt_replace: only ${optval.byteLength} of ${header.size + IPT_REPLACE.SIZE} bytes were copied`);
  }
  return header;
}

/** check_underflow(): an unconditional standard ACCEPT or DROP. */
function isUnderflowOk(e: EntryLayout): boolean {
  return e.unconditional && e.target.name === XT_STANDARD_TARGET && (e.verdict === STD_VERDICT.ACCEPT || e.verdict === STD_VERDICT.DROP);
}

/** xt_check_table_hooks(). */
function checkTableHooks(hookEntry: readonly number[], underflow: readonly number[], validHooks: number): void {
  let maxEntry = 0;
  let maxUflow = 0;
  let checkHooks = false;
  for (let h = 0; h < NF_INET_NUMHOOKS; h++) {
    if (!(validHooks & (1 << h))) continue;
    const entry = hookEntry[h]!;
    const uflow = underflow[h]!;
    if (entry === 0xffffffff) throw new IptError(Errno.EINVAL, `hook ${h}: hook_entry does not point at an entry`);
    if (uflow === 0xffffffff) throw new IptError(Errno.EINVAL, `hook ${h}: underflow does not point at an entry`);
    if (checkHooks) {
      if (maxUflow > uflow) throw new IptError(Errno.EINVAL, `hook ${h}: unsorted underflow`);
      if (maxUflow === uflow) throw new IptError(Errno.EINVAL, `hook ${h}: duplicate underflow`);
      if (maxEntry > entry) throw new IptError(Errno.EINVAL, `hook ${h}: unsorted entry`);
      if (maxEntry === entry) throw new IptError(Errno.EINVAL, `hook ${h}: duplicate entry`);
    }
    maxEntry = entry;
    maxUflow = uflow;
    checkHooks = true;
  }
}

/**
 * mark_source_chains(): follows every path from every hook with the same back-pointer walk as
 * the kernel, setting comefrom to the hooks each entry is reached from; false on a loop or a
 * path that falls off the end.
 */
function markSourceChains(
  entries: readonly EntryLayout[],
  size: number,
  hookEntry: readonly number[],
  validHooks: number,
  comefrom: Map<number, number>,
): boolean {
  const byOffset = new Map(entries.map((e) => [e.offset, e]));
  const back = new Map<number, number>();
  const NUMHOOKS_BIT = 1 << NF_INET_NUMHOOKS;
  for (let hook = 0; hook < NF_INET_NUMHOOKS; hook++) {
    if (!(validHooks & (1 << hook))) continue;
    let pos = hookEntry[hook]!;
    let e = byOffset.get(pos)!;
    back.set(pos, pos);
    for (;;) {
      const from = comefrom.get(e.offset) ?? 0;
      const visited = from & (1 << hook);
      if (from & NUMHOOKS_BIT) return false;
      comefrom.set(e.offset, from | (1 << hook) | NUMHOOKS_BIT);
      const standard = e.target.name === XT_STANDARD_TARGET;
      if ((e.unconditional && standard && e.verdict! < 0) || visited) {
        let oldpos: number;
        do {
          comefrom.set(e.offset, comefrom.get(e.offset)! ^ NUMHOOKS_BIT);
          oldpos = pos;
          pos = back.get(e.offset) ?? 0;
          back.set(e.offset, 0);
          if (pos === oldpos) break;
          e = byOffset.get(pos)!;
        } while (oldpos === pos + e.nextOffset);
        if (pos === oldpos) break;
        const next = pos + e.nextOffset;
        if (next >= size) return false;
        e = byOffset.get(next)!;
        back.set(next, pos);
        pos = next;
      } else {
        let newpos: number;
        if (standard && e.verdict! >= 0) {
          newpos = e.verdict!;
          if (!byOffset.has(newpos)) return false;
        } else {
          newpos = pos + e.nextOffset;
          if (newpos >= size) return false;
        }
        e = byOffset.get(newpos)!;
        back.set(newpos, pos);
        pos = newpos;
      }
    }
  }
  return true;
}

/** translate_table(): checks the blob of an ipt_replace and returns it in kernel form. */
export function translateTable(header: ReplaceHeader, optval: Uint8Array, deadline?: Deadline): TranslatedTable {
  const table = translateLayout(header, optval, deadline);
  checkStandardTargets(table);
  return table;
}

/**
 * find_check_entry() of the built-in targets, entry by entry as netfilter checks each entry's
 * matches and target: xt_check_target() wants XT_ALIGN(targetsize) == target_size - header.
 */
export function checkStandardTargets(table: TranslatedTable): void {
  for (const e of table.entries) {
    if (e.target.name === XT_STANDARD_TARGET && e.target.size !== XT_STANDARD_TARGET_LAYOUT.SIZE) {
      throw new IptError(Errno.EINVAL, `entry ${e.index}: standard target_size ${e.target.size} is not ${XT_STANDARD_TARGET_LAYOUT.SIZE}`);
    }
  }
}

/**
 * translate_table() up to its walk of find_check_entry(): the offsets, hooks, underflows and
 * loops of the blob, which netfilter checks before any extension; the table in kernel form.
 */
export function translateLayout(header: ReplaceHeader, optval: Uint8Array, deadline?: Deadline): TranslatedTable {
  const late = lateCheck(deadline);
  const blob = optval.slice(IPT_REPLACE.entries, IPT_REPLACE.entries + header.size);
  const view = new DataView(blob.buffer);
  const hookEntry = new Array<number>(NF_INET_NUMHOOKS).fill(0xffffffff);
  const underflow = new Array<number>(NF_INET_NUMHOOKS).fill(0xffffffff);
  if (header.numEntries > XT_MAX_TABLE_SIZE / 4) {
    throw new IptError(Errno.ENOMEM, `ipt_replace: num_entries ${header.numEntries} is too large`);
  }
  const entries: EntryLayout[] = [];
  for (let offset = 0; offset < header.size; ) {
    late(() => `translating entry ${entries.length} of ${header.numEntries}`);
    const e = readEntry(blob, view, offset, entries.length, header.size);
    for (let h = 0; h < NF_INET_NUMHOOKS; h++) {
      if (!(header.validHooks & (1 << h))) continue;
      if (offset === header.hookEntry[h]) hookEntry[h] = offset;
      if (offset === header.underflow[h]) {
        if (!isUnderflowOk(e)) {
          throw new IptError(Errno.EINVAL, `entry ${e.index} at offset ${offset}: underflow of hook ${h} is not an unconditional ACCEPT or DROP`);
        }
        underflow[h] = offset;
      }
    }
    entries.push(e);
    offset += e.nextOffset;
  }
  if (entries.length !== header.numEntries) {
    throw new IptError(Errno.EINVAL, `ipt_replace: num_entries ${header.numEntries} but the blob holds ${entries.length} entries`);
  }
  checkTableHooks(hookEntry, underflow, header.validHooks);
  const comefrom = new Map<number, number>();
  if (!markSourceChains(entries, header.size, hookEntry, header.validHooks, comefrom)) {
    throw new IptError(Errno.ELOOP, "ipt_replace: the rules loop, or a path runs off the end of the table");
  }
  for (const e of entries) {
    view.setUint32(e.offset + IPT_ENTRY.comefrom, comefrom.get(e.offset) ?? 0, true);
    blob.fill(0, e.offset + IPT_ENTRY.counters, e.offset + IPT_ENTRY.counters + XT_COUNTERS.SIZE);
  }
  return {
    name: header.name,
    validHooks: header.validHooks,
    size: header.size,
    hookEntry,
    underflow,
    entries,
    blob,
  };
}
