/**
 * Reads a translated table as iptables lays it out (built-in chains at hook_entry ending in
 * their policy at underflow, user chains opened by an ERROR entry naming them and closed by an
 * unconditional RETURN, a final ERROR entry) and builds the IR of ir/types.ts. A blob that is
 * valid for netfilter but not laid out this way (a jump into the middle of a chain, QUEUE) is
 * not representable: the caller declines it so that netfilter enforces it.
 */
import {
  type Chain,
  type HookName,
  IPT_F,
  type IpHeaderMatch,
  type MatchBlob,
  NF_INET_HOOK,
  type Rule,
  type Table,
  type Target,
} from "../ir/types.ts";
import { IPT_ENTRY, IPT_IP, readCString, STD_VERDICT, XT_ENTRY_MATCH, XT_ERROR_TARGET, XT_STANDARD_TARGET } from "./abi.ts";
import type { EntryLayout } from "./entry_layout.ts";
import type { TranslatedTable } from "./translate.ts";

/** The IR of a table, or why the blob has no faithful IR. */
export type IrResult = { readonly ok: true; readonly table: Table } | { readonly ok: false; readonly reason: string };

const HOOKS = Object.entries(NF_INET_HOOK) as [HookName, number][];

class Unrepresentable extends Error {}

function ipHeader(blob: Uint8Array, offset: number): IpHeaderMatch {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const be32 = (at: number): number => view.getUint32(offset + at, false);
  return {
    src: be32(IPT_IP.src),
    dst: be32(IPT_IP.dst),
    srcMask: be32(IPT_IP.smsk),
    dstMask: be32(IPT_IP.dmsk),
    inIface: readCString(blob, offset + IPT_IP.iniface, IPT_IP.IFNAMSIZ),
    outIface: readCString(blob, offset + IPT_IP.outiface, IPT_IP.IFNAMSIZ),
    inIfaceMask: blob.slice(offset + IPT_IP.iniface_mask, offset + IPT_IP.iniface_mask + IPT_IP.IFNAMSIZ),
    outIfaceMask: blob.slice(offset + IPT_IP.outiface_mask, offset + IPT_IP.outiface_mask + IPT_IP.IFNAMSIZ),
    proto: view.getUint16(offset + IPT_IP.proto, true),
    flags: blob[offset + IPT_IP.flags]!,
    invflags: blob[offset + IPT_IP.invflags]!,
  };
}

function where(e: EntryLayout, chain: string): string {
  return `entry ${e.index} in chain ${chain}`;
}

/** Converts a translated table to IR, or says why it cannot. */
export function tableToIr(table: TranslatedTable): IrResult {
  try {
    return { ok: true, table: build(table) };
  } catch (err) {
    if (err instanceof Unrepresentable) return { ok: false, reason: err.message };
    throw err;
  }
}

function build(table: TranslatedTable): Table {
  const { entries, blob } = table;
  const hookAt = new Map<number, HookName>();
  for (const [name, h] of HOOKS) if (table.validHooks & (1 << h)) hookAt.set(table.hookEntry[h]!, name);

  // Segments: a chain starts at a hook entry or at an ERROR entry.
  const chainStartOffsets = new Map<number, string>(); // first rule offset -> chain name (jump targets)
  interface Segment {
    readonly name: string;
    readonly hook?: HookName;
    readonly body: EntryLayout[];
  }
  const segments: Segment[] = [];
  let current: Segment | undefined;
  let sawFinal = false;
  for (const e of entries) {
    if (sawFinal) throw new Unrepresentable(`entry ${e.index} follows the final ERROR entry`);
    const hook = hookAt.get(e.offset);
    if (hook !== undefined) {
      current = { name: hook, hook, body: [] };
      segments.push(current);
      chainStartOffsets.set(e.offset, hook);
    } else if (e.target.name === XT_ERROR_TARGET) {
      if (e.index === entries.length - 1) {
        sawFinal = true;
        current = undefined;
        continue;
      }
      const name = e.errorName!;
      current = { name, body: [] };
      segments.push(current);
      chainStartOffsets.set(e.offset + e.nextOffset, name);
      continue;
    }
    if (current === undefined) throw new Unrepresentable(`entry ${e.index} at offset ${e.offset} belongs to no chain`);
    current.body.push(e);
  }
  if (!sawFinal) throw new Unrepresentable("the table does not end with an ERROR entry");

  const chains: Chain[] = [];
  for (const seg of segments) {
    const tail = seg.body[seg.body.length - 1];
    if (tail === undefined) throw new Unrepresentable(`chain ${seg.name} has no policy or RETURN entry`);
    const rules = seg.body.slice(0, -1).map((e) => rule(e, seg.name, blob, chainStartOffsets));
    if (seg.hook !== undefined) {
      const h = NF_INET_HOOK[seg.hook];
      if (tail.offset !== table.underflow[h]) throw new Unrepresentable(`chain ${seg.name} does not end at its underflow`);
      chains.push({
        name: seg.name,
        hook: seg.hook,
        policy: tail.verdict === STD_VERDICT.ACCEPT ? "accept" : "drop",
        policyCounterIndex: tail.index,
        rules,
      });
    } else {
      if (!(tail.unconditional && tail.target.name === XT_STANDARD_TARGET && tail.verdict === STD_VERDICT.RETURN)) {
        throw new Unrepresentable(`user chain ${seg.name} does not end with an unconditional RETURN`);
      }
      chains.push({ name: seg.name, rules });
    }
  }
  return { name: table.name, validHooks: table.validHooks, chains, entryCount: entries.length };
}

/**
 * A rule without -j: iptables gives it a standard target whose verdict is the offset of the next
 * entry. ir/types.ts has no Verdict for "go on with the next rule", so such a rule carries an
 * ext target named "" (XT_STANDARD_TARGET) with the raw verdict bytes; see isContinueTarget.
 */
function continueTarget(blob: Uint8Array, e: EntryLayout): Target {
  return { kind: "ext", name: XT_STANDARD_TARGET, revision: 0, data: extensionData(blob, e.target.offset, e.target.size) };
}

/** Whether a Target is a rule without -j (it only counts; evaluation goes on with the next rule). */
export function isContinueTarget(target: Target): boolean {
  return target.kind === "ext" && target.name === XT_STANDARD_TARGET;
}

function extensionData(blob: Uint8Array, offset: number, size: number): Uint8Array {
  return blob.slice(offset + XT_ENTRY_MATCH.data, offset + size);
}

function rule(e: EntryLayout, chain: string, blob: Uint8Array, chainStarts: ReadonlyMap<number, string>): Rule {
  const ip = ipHeader(blob, e.offset + IPT_ENTRY.ip);
  const matches: MatchBlob[] = e.matches.map((m) => ({
    name: m.name,
    revision: m.revision,
    data: extensionData(blob, m.offset, m.size),
  }));
  let target: Target;
  if (e.target.name === XT_STANDARD_TARGET) {
    const v = e.verdict!;
    if (v >= 0 && v === e.offset + e.nextOffset && (ip.flags & IPT_F.GOTO) === 0) {
      target = continueTarget(blob, e);
    } else if (v >= 0) {
      const to = chainStarts.get(v);
      if (to === undefined) {
        throw new Unrepresentable(`${where(e, chain)}: jump to offset ${v} is not the start of a user chain`);
      }
      target = { kind: "verdict", verdict: { kind: ip.flags & IPT_F.GOTO ? "goto" : "jump", chain: to } };
    } else if (v === STD_VERDICT.ACCEPT) target = { kind: "verdict", verdict: { kind: "accept" } };
    else if (v === STD_VERDICT.DROP) target = { kind: "verdict", verdict: { kind: "drop" } };
    else if (v === STD_VERDICT.RETURN) target = { kind: "verdict", verdict: { kind: "return" } };
    else throw new Unrepresentable(`${where(e, chain)}: verdict QUEUE is not supported`);
  } else if (e.target.name === XT_ERROR_TARGET) {
    throw new Unrepresentable(`${where(e, chain)}: an ERROR target inside a chain`);
  } else {
    target = {
      kind: "ext",
      name: e.target.name,
      revision: e.target.revision,
      data: extensionData(blob, e.target.offset, e.target.size),
    };
  }
  return { counterIndex: e.index, ip, matches, target };
}
