/**
 * The getsockopt side of the iptables ABI: IPT_SO_GET_INFO (get_info), IPT_SO_GET_ENTRIES
 * (get_entries and copy_entries_to_user) and the xt_get_revision request, with the length
 * checks and errnos of net/ipv4/netfilter/ip_tables.c.
 */
import {
  Errno,
  IPT_ENTRY,
  IPT_GET_ENTRIES,
  IPT_GETINFO,
  NF_INET_NUMHOOKS,
  readCString,
  XT_COUNTERS,
  XT_ENTRY_MATCH,
  XT_ERROR_TARGET,
  XT_EXTENSION_MAXNAMELEN,
  XT_FUNCTION_MAXNAMELEN,
  XT_GET_REVISION,
  XT_STANDARD_TARGET,
  XT_TABLE_MAXNAMELEN,
  xtAlign,
} from "./abi.ts";
import type { XtCounters } from "./counters.ts";
import type { ExtensionHeader } from "./entry_layout.ts";
import { IptError } from "./ipt_error.ts";
import type { TableShape, TranslatedTable } from "./translate.ts";

/** Starts a reply as the caller's buffer: optlen bytes, the copied optval first, zeros after. */
function echoBuffer(optval: Uint8Array, optlen: number): Uint8Array {
  const out = new Uint8Array(optlen);
  out.set(optval.subarray(0, Math.min(optval.byteLength, optlen)));
  return out;
}

/** get_info(): the ipt_getinfo reply for `table`, or EINVAL if optlen is not sizeof(struct ipt_getinfo). */
export function encodeGetInfo(optval: Uint8Array, optlen: number, table: TranslatedTable): Uint8Array {
  checkGetInfoLength(optlen);
  const out = new Uint8Array(IPT_GETINFO.SIZE);
  const view = new DataView(out.buffer);
  const name = readCString(optval, 0, XT_TABLE_MAXNAMELEN - 1);
  for (let i = 0; i < name.length; i++) out[IPT_GETINFO.name + i] = name.charCodeAt(i);
  view.setUint32(IPT_GETINFO.valid_hooks, table.validHooks, true);
  for (let h = 0; h < NF_INET_NUMHOOKS; h++) {
    view.setUint32(IPT_GETINFO.hook_entry + 4 * h, table.hookEntry[h]!, true);
    view.setUint32(IPT_GETINFO.underflow + 4 * h, table.underflow[h]!, true);
  }
  view.setUint32(IPT_GETINFO.num_entries, table.entries.length, true);
  view.setUint32(IPT_GETINFO.size, table.size, true);
  return out;
}

/** The optlen check of get_info(), usable before the table is known. */
export function checkGetInfoLength(optlen: number): void {
  if (optlen !== IPT_GETINFO.SIZE) throw new IptError(Errno.EINVAL, `ipt_getinfo: optlen ${optlen} is not ${IPT_GETINFO.SIZE}`);
}

/** The size field of an ipt_get_entries request, with get_entries()'s length checks. */
export function decodeGetEntriesSize(optval: Uint8Array, optlen: number): number {
  if (optlen < IPT_GET_ENTRIES.SIZE || optval.byteLength < IPT_GET_ENTRIES.SIZE) {
    throw new IptError(Errno.EINVAL, `ipt_get_entries: optlen ${optlen} is smaller than the ${IPT_GET_ENTRIES.SIZE}-byte header`);
  }
  const size = new DataView(optval.buffer, optval.byteOffset, optval.byteLength).getUint32(IPT_GET_ENTRIES.size, true);
  if (optlen !== IPT_GET_ENTRIES.SIZE + size) {
    throw new IptError(Errno.EINVAL, `ipt_get_entries: optlen ${optlen} is not header + size ${size}`);
  }
  return size;
}

/**
 * The bytes of an extension's data that netfilter keeps and gives back: its xt_match's usersize or
 * matchsize, its xt_target's targetsize, by name and revision (undefined for one it cannot say:
 * all of the data).
 */
export type ExtensionDataSize = (kind: "match" | "target", name: string, revision: number) => number | undefined;

/** xt_obj_to_user + xt_data_to_user: the size, the name up to its NUL, the revision, and the data. */
function extensionToUser(out: Uint8Array, at: number, blob: Uint8Array, ext: ExtensionHeader, isTarget: boolean, dataSizeOf?: ExtensionDataSize): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint16(at + XT_ENTRY_MATCH.size, ext.size, true);
  const name = ext.name.slice(0, XT_EXTENSION_MAXNAMELEN - 1);
  for (let i = 0; i < name.length; i++) out[at + XT_ENTRY_MATCH.name + i] = name.charCodeAt(i);
  out[at + XT_ENTRY_MATCH.name + name.length] = 0;
  out[at + XT_ENTRY_MATCH.revision] = ext.revision;
  const dataFrom = ext.offset + XT_ENTRY_MATCH.data;
  const dataSize = ext.size - XT_ENTRY_MATCH.data;
  // The kernel copies its own targetsize of the built-in targets and clears the alignment padding.
  let used = dataSize;
  if (isTarget && ext.name === XT_STANDARD_TARGET) used = 4;
  else if (isTarget && ext.name === XT_ERROR_TARGET) used = XT_FUNCTION_MAXNAMELEN;
  else used = dataSizeOf?.(isTarget ? "target" : "match", ext.name, ext.revision) ?? dataSize;
  used = Math.min(used, dataSize);
  out.set(blob.subarray(dataFrom, dataFrom + used), at + XT_ENTRY_MATCH.data);
  out.fill(0, at + XT_ENTRY_MATCH.data + used, at + XT_ENTRY_MATCH.data + Math.max(used, xtAlign(dataSize)));
}

/**
 * get_entries() and copy_entries_to_user(): the reply, with the current counters; an extension's
 * data is given back up to dataSizeOf and zeros after it (xt_data_to_user).
 */
export function encodeGetEntries(
  optval: Uint8Array,
  optlen: number,
  table: TranslatedTable,
  counters: readonly XtCounters[],
  dataSizeOf?: ExtensionDataSize,
): Uint8Array {
  const size = decodeGetEntriesSize(optval, optlen);
  if (size !== table.size) {
    throw new IptError(Errno.EAGAIN, `ipt_get_entries: size ${size} is not the table's ${table.size} (the table changed)`);
  }
  const out = echoBuffer(optval, optlen);
  const base = IPT_GET_ENTRIES.entrytable;
  const view = new DataView(out.buffer);
  for (const e of table.entries) {
    const at = base + e.offset;
    out.set(table.blob.subarray(e.offset, e.offset + IPT_ENTRY.counters), at);
    const c = counters[e.index] ?? { packets: 0n, bytes: 0n };
    view.setBigUint64(at + IPT_ENTRY.counters + XT_COUNTERS.pcnt, BigInt.asUintN(64, c.packets), true);
    view.setBigUint64(at + IPT_ENTRY.counters + XT_COUNTERS.bcnt, BigInt.asUintN(64, c.bytes), true);
    for (const m of e.matches) extensionToUser(out, base + m.offset, table.blob, m, false, dataSizeOf);
    extensionToUser(out, base + e.target.offset, table.blob, e.target, true, dataSizeOf);
  }
  return out;
}

/** A decoded struct xt_get_revision. */
export interface RevisionRequest {
  readonly name: string;
  readonly revision: number;
}

/** Decodes an IPT_SO_GET_REVISION_* request; EINVAL unless optlen is sizeof(struct xt_get_revision). */
export function decodeRevisionRequest(optval: Uint8Array, optlen: number): RevisionRequest {
  if (optlen !== XT_GET_REVISION.SIZE || optval.byteLength < XT_GET_REVISION.SIZE) {
    throw new IptError(Errno.EINVAL, `xt_get_revision: optlen ${optlen} is not ${XT_GET_REVISION.SIZE}`);
  }
  return {
    name: readCString(optval, XT_GET_REVISION.name, XT_EXTENSION_MAXNAMELEN - 1),
    revision: optval[XT_GET_REVISION.revision]!,
  };
}

/** A decoded ipt_getinfo reply: what netfilter says of a table's shape. */
export type TableInfo = TableShape;

/** Decodes an IPT_SO_GET_INFO reply (sizeof(struct ipt_getinfo) bytes). */
export function decodeGetInfo(out: Uint8Array): TableInfo {
  if (out.byteLength < IPT_GETINFO.SIZE) throw new Error(`ipt_getinfo: ${out.byteLength} bytes, expected ${IPT_GETINFO.SIZE}`);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const hooks = (at: number): number[] => Array.from({ length: NF_INET_NUMHOOKS }, (_, h) => view.getUint32(at + 4 * h, true));
  return {
    name: readCString(out, IPT_GETINFO.name, XT_TABLE_MAXNAMELEN),
    validHooks: view.getUint32(IPT_GETINFO.valid_hooks, true),
    hookEntry: hooks(IPT_GETINFO.hook_entry),
    underflow: hooks(IPT_GETINFO.underflow),
    numEntries: view.getUint32(IPT_GETINFO.num_entries, true),
    size: view.getUint32(IPT_GETINFO.size, true),
  };
}
