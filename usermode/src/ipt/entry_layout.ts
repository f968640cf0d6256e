/**
 * Walks an ipt_entry blob the way check_entry_size_and_hooks and xt_check_entry_offsets of
 * net/ipv4/netfilter/ip_tables.c and net/netfilter/x_tables.c do, with the same errnos.
 */
import {
  Errno,
  IPT_ENTRY,
  IPT_F_MASK,
  IPT_INV_MASK,
  IPT_IP,
  readCString,
  STD_VERDICT,
  XT_ENTRY_MATCH,
  XT_ENTRY_TARGET,
  XT_ERROR_TARGET,
  XT_ERROR_TARGET_LAYOUT,
  XT_EXTENSION_MAXNAMELEN,
  XT_FUNCTION_MAXNAMELEN,
  XT_STANDARD_TARGET,
  XT_STANDARD_TARGET_LAYOUT,
  xtAlign,
} from "./abi.ts";
import { IptError } from "./ipt_error.ts";

/** One xt_entry_match or xt_entry_target header inside the blob. */
export interface ExtensionHeader {
  /** Offset of the header in the blob. */
  readonly offset: number;
  /** u.match_size / u.target_size. */
  readonly size: number;
  readonly name: string;
  readonly revision: number;
}

/** One ipt_entry, with the offsets of its parts. */
export interface EntryLayout {
  /** Index of the entry: its counter slot. */
  readonly index: number;
  readonly offset: number;
  readonly targetOffset: number;
  readonly nextOffset: number;
  readonly matches: readonly ExtensionHeader[];
  readonly target: ExtensionHeader;
  /** xt_standard_target.verdict when the target is the standard one. */
  readonly verdict: number | undefined;
  /** xt_error_target.errorname when the target is ERROR. */
  readonly errorName: string | undefined;
  /** unconditional(): no matches and an all-zero ipt_ip. */
  readonly unconditional: boolean;
}

/** Reads the u.user name of a match/target as strcmp sees it (the name, then revision, if unterminated). */
function extensionName(blob: Uint8Array, offset: number): string {
  return readCString(blob, offset + XT_ENTRY_MATCH.name, XT_EXTENSION_MAXNAMELEN);
}

function readHeader(blob: Uint8Array, view: DataView, offset: number): ExtensionHeader {
  return {
    offset,
    size: view.getUint16(offset + XT_ENTRY_MATCH.size, true),
    name: extensionName(blob, offset),
    revision: blob[offset + XT_ENTRY_MATCH.revision]!,
  };
}

/** verdict_ok() of x_tables.c. */
export function verdictOk(verdict: number): boolean {
  if (verdict > 0) return true;
  return verdict === STD_VERDICT.RETURN || verdict === STD_VERDICT.ACCEPT || verdict === STD_VERDICT.DROP || verdict === STD_VERDICT.QUEUE;
}

/**
 * Checks one entry at `offset` (check_entry_size_and_hooks without the hook part, then
 * xt_check_entry_offsets and xt_check_entry_match) and returns its layout.
 */
export function readEntry(blob: Uint8Array, view: DataView, offset: number, index: number, limit: number): EntryLayout {
  const where = `entry ${index} at offset ${offset}`;
  if (offset % IPT_ENTRY.ALIGN !== 0) throw new IptError(Errno.EINVAL, `${where}: not aligned to ${IPT_ENTRY.ALIGN}`);
  if (offset + IPT_ENTRY.SIZE >= limit) {
    throw new IptError(Errno.EINVAL, `${where}: ipt_entry header (${IPT_ENTRY.SIZE} bytes) runs to or past the end ${limit}`);
  }
  const targetOffset = view.getUint16(offset + IPT_ENTRY.target_offset, true);
  const nextOffset = view.getUint16(offset + IPT_ENTRY.next_offset, true);
  if (offset + nextOffset > limit) throw new IptError(Errno.EINVAL, `${where}: next_offset ${nextOffset} runs past the end ${limit}`);
  if (nextOffset < IPT_ENTRY.SIZE + XT_ENTRY_TARGET.SIZE) {
    throw new IptError(Errno.EINVAL, `${where}: next_offset ${nextOffset} is smaller than ipt_entry + xt_entry_target`);
  }
  const flags = blob[offset + IPT_IP.flags]!;
  const invflags = blob[offset + IPT_IP.invflags]!;
  if ((flags & ~IPT_F_MASK) !== 0) throw new IptError(Errno.EINVAL, `${where}: ip.flags 0x${flags.toString(16)} has unknown bits`);
  if ((invflags & ~IPT_INV_MASK) !== 0) throw new IptError(Errno.EINVAL, `${where}: ip.invflags 0x${invflags.toString(16)} has unknown bits`);

  // xt_check_entry_offsets
  if (targetOffset < IPT_ENTRY.SIZE) throw new IptError(Errno.EINVAL, `${where}: target_offset ${targetOffset} is inside the ipt_entry header`);
  if (targetOffset + XT_ENTRY_TARGET.SIZE > nextOffset) {
    throw new IptError(Errno.EINVAL, `${where}: target at ${targetOffset} does not fit before next_offset ${nextOffset}`);
  }
  const target = readHeader(blob, view, offset + targetOffset);
  if (target.size < XT_ENTRY_TARGET.SIZE) throw new IptError(Errno.EINVAL, `${where}: target_size ${target.size} is smaller than xt_entry_target`);
  if (targetOffset + target.size > nextOffset) {
    throw new IptError(Errno.EINVAL, `${where}: target_size ${target.size} runs past next_offset ${nextOffset}`);
  }
  let verdict: number | undefined;
  let errorName: string | undefined;
  if (target.name === XT_STANDARD_TARGET) {
    if (xtAlign(targetOffset + XT_STANDARD_TARGET_LAYOUT.SIZE) !== nextOffset) {
      throw new IptError(Errno.EINVAL, `${where}: standard target does not end the entry (next_offset ${nextOffset})`);
    }
    verdict = view.getInt32(target.offset + XT_STANDARD_TARGET_LAYOUT.verdict, true);
    if (!verdictOk(verdict)) throw new IptError(Errno.EINVAL, `${where}: standard verdict ${verdict} is not valid`);
  } else if (target.name === XT_ERROR_TARGET) {
    const at = target.offset + XT_ERROR_TARGET_LAYOUT.errorname;
    errorName = readCString(blob, at, XT_FUNCTION_MAXNAMELEN);
    if (target.size !== XT_ERROR_TARGET_LAYOUT.SIZE || errorName.length >= XT_FUNCTION_MAXNAMELEN) {
      throw new IptError(Errno.EINVAL, `${where}: ERROR target has size ${target.size} or an unterminated errorname`);
    }
  }

  // xt_check_entry_match
  const matches: ExtensionHeader[] = [];
  let length = targetOffset - IPT_ENTRY.elems;
  let at = offset + IPT_ENTRY.elems;
  while (length > 0) {
    if (at % XT_ENTRY_MATCH.ALIGN !== 0) throw new IptError(Errno.EINVAL, `${where}: match ${matches.length} is not aligned`);
    if (length < XT_ENTRY_MATCH.SIZE) throw new IptError(Errno.EINVAL, `${where}: ${length} bytes before the target cannot hold a match`);
    const match = readHeader(blob, view, at);
    if (match.size < XT_ENTRY_MATCH.SIZE) throw new IptError(Errno.EINVAL, `${where}: match '${match.name}' has match_size ${match.size}`);
    if (match.size > length) {
      throw new IptError(Errno.EINVAL, `${where}: match '${match.name}' match_size ${match.size} runs past target_offset`);
    }
    matches.push(match);
    length -= match.size;
    at += match.size;
  }

  let zeroIp = true;
  for (let i = 0; i < IPT_IP.SIZE; i++) {
    if (blob[offset + i] !== 0) {
      zeroIp = false;
      break;
    }
  }
  return {
    index,
    offset,
    targetOffset,
    nextOffset,
    matches,
    target,
    verdict,
    errorName,
    unconditional: zeroIp && targetOffset === IPT_ENTRY.SIZE,
  };
}
