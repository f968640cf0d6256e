/**
 * Builds ipt_entry records and ipt_replace requests, laid out as iptables lays them out. Used for
 * the initial filter table and by tests that need requests without running iptables.
 */
import {
  IPT_ENTRY,
  IPT_IP,
  IPT_REPLACE,
  NF_INET_NUMHOOKS,
  writeCString,
  XT_ENTRY_MATCH,
  XT_ERROR_TARGET,
  XT_ERROR_TARGET_LAYOUT,
  XT_EXTENSION_MAXNAMELEN,
  XT_FUNCTION_MAXNAMELEN,
  XT_STANDARD_TARGET_LAYOUT,
  XT_TABLE_MAXNAMELEN,
  xtAlign,
} from "./abi.ts";

/** The target of an entry to build. */
export type TargetSpec =
  | { readonly kind: "standard"; readonly verdict: number }
  | { readonly kind: "error"; readonly errorName: string }
  | { readonly kind: "ext"; readonly name: string; readonly revision: number; readonly data: Uint8Array };

/** A match of an entry to build; data is padded to XT_ALIGN. */
export interface MatchSpec {
  readonly name: string;
  readonly revision: number;
  readonly data: Uint8Array;
}

/** One entry to build: its raw 84-byte ipt_ip (all zero when omitted), matches and target. */
export interface EntrySpec {
  readonly ip?: Uint8Array;
  readonly matches?: readonly MatchSpec[];
  readonly target: TargetSpec;
}

function extension(name: string, revision: number, data: Uint8Array, dataSize: number): Uint8Array {
  const size = XT_ENTRY_MATCH.SIZE + xtAlign(dataSize);
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint16(XT_ENTRY_MATCH.size, size, true);
  writeCString(bytes, XT_ENTRY_MATCH.name, XT_EXTENSION_MAXNAMELEN, name);
  bytes[XT_ENTRY_MATCH.revision] = revision;
  bytes.set(data.subarray(0, dataSize), XT_ENTRY_MATCH.data);
  return bytes;
}

function targetBytes(target: TargetSpec): Uint8Array {
  switch (target.kind) {
    case "standard": {
      const data = new Uint8Array(4);
      new DataView(data.buffer).setInt32(0, target.verdict, true);
      return extension("", 0, data, XT_STANDARD_TARGET_LAYOUT.SIZE - XT_ENTRY_MATCH.SIZE);
    }
    case "error": {
      const data = new Uint8Array(XT_FUNCTION_MAXNAMELEN);
      writeCString(data, 0, XT_FUNCTION_MAXNAMELEN, target.errorName);
      return extension(XT_ERROR_TARGET, 0, data, XT_ERROR_TARGET_LAYOUT.SIZE - XT_ENTRY_MATCH.SIZE);
    }
    case "ext":
      return extension(target.name, target.revision, target.data, target.data.byteLength);
  }
}

/** Encodes one ipt_entry with zero counters and comefrom. */
export function encodeEntry(spec: EntrySpec): Uint8Array {
  const matches = (spec.matches ?? []).map((m) => extension(m.name, m.revision, m.data, m.data.byteLength));
  const target = targetBytes(spec.target);
  const targetOffset = IPT_ENTRY.SIZE + matches.reduce((n, m) => n + m.byteLength, 0);
  const nextOffset = targetOffset + target.byteLength;
  const bytes = new Uint8Array(nextOffset);
  if (spec.ip) bytes.set(spec.ip.subarray(0, IPT_IP.SIZE), IPT_ENTRY.ip);
  const view = new DataView(bytes.buffer);
  view.setUint16(IPT_ENTRY.target_offset, targetOffset, true);
  view.setUint16(IPT_ENTRY.next_offset, nextOffset, true);
  let at = IPT_ENTRY.SIZE;
  for (const m of matches) {
    bytes.set(m, at);
    at += m.byteLength;
  }
  bytes.set(target, at);
  return bytes;
}

/** The header fields of an ipt_replace to build. */
export interface ReplaceSpec {
  readonly name: string;
  readonly validHooks: number;
  readonly hookEntry: readonly number[];
  readonly underflow: readonly number[];
  readonly numCounters: number;
  readonly counters?: bigint;
  /** num_entries; defaults to the number of entries given. */
  readonly numEntries?: number;
}

/** Encodes an ipt_replace: the header, then the entries back to back. */
export function encodeReplace(spec: ReplaceSpec, entries: readonly Uint8Array[]): Uint8Array {
  const size = entries.reduce((n, e) => n + e.byteLength, 0);
  const bytes = new Uint8Array(IPT_REPLACE.SIZE + size);
  const view = new DataView(bytes.buffer);
  writeCString(bytes, IPT_REPLACE.name, XT_TABLE_MAXNAMELEN, spec.name);
  view.setUint32(IPT_REPLACE.valid_hooks, spec.validHooks, true);
  view.setUint32(IPT_REPLACE.num_entries, spec.numEntries ?? entries.length, true);
  view.setUint32(IPT_REPLACE.size, size, true);
  for (let h = 0; h < NF_INET_NUMHOOKS; h++) {
    view.setUint32(IPT_REPLACE.hook_entry + 4 * h, spec.hookEntry[h] ?? 0, true);
    view.setUint32(IPT_REPLACE.underflow + 4 * h, spec.underflow[h] ?? 0, true);
  }
  view.setUint32(IPT_REPLACE.num_counters, spec.numCounters, true);
  view.setBigUint64(IPT_REPLACE.counters, spec.counters ?? 0n, true);
  let at = IPT_REPLACE.SIZE;
  for (const e of entries) {
    bytes.set(e, at);
    at += e.byteLength;
  }
  return bytes;
}
