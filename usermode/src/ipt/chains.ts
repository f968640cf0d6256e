/**
 * Reads a translated table as iptables lays it out (built-in chains at hook_entry ending in
 * their policy at underflow, user chains opened by an ERROR entry naming them and closed by an
 * unconditional RETURN, a final ERROR entry) into chains of rules: the ipt_ip header decoded,
 * standard targets resolved into complete verdicts (a jump to the next entry is "continue"),
 * matches and other targets still as their xt bytes, for ir/resolve.ts to decode once. A blob
 * that is valid for netfilter but not laid out this way (a jump into the middle of a chain, QUEUE)
 * is not representable: netfilter enforces it.
 */
import { type Deadline, lateCheck } from "../ir/deadline.ts";
import { type Chain, type HookName, IPT_F, type IpHeaderMatch, NF_INET_HOOK, type Table, type Verdict } from "../ir/types.ts";
import { IPT_ENTRY, IPT_IP, readCString, STD_VERDICT, XT_ENTRY_MATCH, XT_ERROR_TARGET, XT_STANDARD_TARGET } from "./abi.ts";
import type { EntryLayout } from "./entry_layout.ts";
import type { TranslatedTable } from "./translate.ts";

/** One xt_entry_match: its name, revision and data bytes (after the header), not decoded yet. */
export interface XtMatch {
  readonly name: string;
  readonly revision: number;
  readonly data: Uint8Array;
}

/** A rule's target: a resolved standard verdict, or a named target extension with its bytes. */
export type XtTarget =
  | { readonly kind: "verdict"; readonly verdict: Verdict }
  | { readonly kind: "ext"; readonly name: string; readonly revision: number; readonly data: Uint8Array };

/** A rule as the blob holds it: decoded ipt_ip, raw matches and target. */
export interface XtRule {
  readonly counterIndex: number;
  readonly ip: IpHeaderMatch;
  readonly matches: readonly XtMatch[];
  readonly target: XtTarget;
}

/** A table of chains whose rules still carry xt bytes. */
export type XtTable = Table<XtRule>;

/** The chains of a table, or why the blob has none that netfilter's own walk would give. */
export type ChainsResult = { readonly ok: true; readonly table: XtTable } | { readonly ok: false; readonly reason: string };

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

/** Reads the chains of a translated table, or says why it cannot. */
export function readChains(table: TranslatedTable, deadline?: Deadline): ChainsResult {
  try {
    return { ok: true, table: build(table, lateCheck(deadline)) };
  } catch (err) {
    if (err instanceof Unrepresentable) return { ok: false, reason: err.message };
    throw err;
  }
}

function build(table: TranslatedTable, late: (where: () => string) => void): XtTable {
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
    // netfilter knows the built-in targets at revision 0 only (xt_find_target: ENOENT otherwise).
    if ((e.target.name === XT_STANDARD_TARGET || e.target.name === XT_ERROR_TARGET) && e.target.revision !== 0) {
      throw new Unrepresentable(`entry ${e.index}: the ${e.target.name === XT_ERROR_TARGET ? "ERROR" : "standard"} target has revision ${e.target.revision} (netfilter judges it)`);
    }
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

  const chains: Chain<XtRule>[] = [];
  for (const seg of segments) {
    const tail = seg.body[seg.body.length - 1];
    if (tail === undefined) throw new Unrepresentable(`chain ${seg.name} has no policy or RETURN entry`);
    const rules = seg.body.slice(0, -1).map((e) => {
      late(() => `reading entry ${e.index} of ${entries.length}`);
      return rule(e, seg.name, blob, chainStartOffsets);
    });
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

function extensionData(blob: Uint8Array, offset: number, size: number): Uint8Array {
  return blob.slice(offset + XT_ENTRY_MATCH.data, offset + size);
}

function rule(e: EntryLayout, chain: string, blob: Uint8Array, chainStarts: ReadonlyMap<number, string>): XtRule {
  const ip = ipHeader(blob, e.offset + IPT_ENTRY.ip);
  const matches: XtMatch[] = e.matches.map((m) => ({
    name: m.name,
    revision: m.revision,
    data: extensionData(blob, m.offset, m.size),
  }));
  let target: XtTarget;
  if (e.target.name === XT_STANDARD_TARGET) {
    const v = e.verdict!;
    // A rule without -j: iptables gives it the standard target with the next entry's offset.
    if (v >= 0 && v === e.offset + e.nextOffset && (ip.flags & IPT_F.GOTO) === 0) {
      target = { kind: "verdict", verdict: { kind: "continue" } };
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
