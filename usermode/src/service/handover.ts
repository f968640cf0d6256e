/**
 * Moving the filter table of a netns between bpfilter and netfilter, at any replace, in either
 * direction, so that no iptables command that netfilter accepts fails because bpfilter is there.
 *
 * bpfilter → netfilter (a replace the helper does not compile while it enforces a table):
 *   1. GET_INFO of netfilter's own filter table (it holds the initial table, or what a previous
 *      hand-over left) for its num_entries;
 *   2. SET_REPLACE of the caller's blob into netfilter with that num_counters. netfilter judges the
 *      blob: if it refuses, its errno is the answer and bpfilter's table stays enforced, exactly as
 *      a refused replace leaves the old table in place natively;
 *   3. Enforcer.release: bpfilter's programs go; the counters it returns were read after they were
 *      detached, so no packet they counted is lost. They are the old counters the caller gets.
 * netfilter → bpfilter (a replace the helper compiles while netfilter holds the table):
 *   1. GET_INFO of netfilter's table: num_counters must match it (else the request is declined and
 *      netfilter answers EAGAIN itself, as it would);
 *   2. Enforcer.apply of the new table;
 *   3. SET_REPLACE of netfilter's table with the initial one (ACCEPT policies, as iptable_filter
 *      starts). The counters that replace returns (netfilter's old counters) are the answer, so
 *      counters stay continuous (libiptc then adds them back with ADD_COUNTERS, which the helper
 *      now serves). If netfilter refuses (another process replaced its table in between), the new
 *      programs are released and the request is declined: netfilter answers it with the table it has.
 *
 * A helper that dies between the steps (HANDOVER_CRASH_POINTS) leaves both enforcing: a
 * restarted one finishes the move at the first request from that netns (finishHandover), by
 * what its table store says and what netfilter's own table holds then.
 *
 * There is never a moment in which neither enforces: the new owner starts before the old one stops.
 * Between steps 2 and 3 both enforce, for as long as one netfilter replace or one release takes
 * (the compile and the verifier are done by then). A packet in that moment passes only if both the old and the new table accept it,
 * so it is never accepted where both would drop it. It is counted by both: once in the old table's
 * counters (which the caller gets back, and libiptc adds to the rules it keeps) and once in the new
 * table's own counters, so a rule kept across the switch may count such a packet twice. Nothing
 * else is counted twice, and nothing is lost.
 */
import type { Deadline } from "../ir/deadline.ts";
import type { NetnsRef, SockoptAnswer } from "../ipc/sockopt_call.ts";
import { Errno, IPT_REPLACE } from "../ipt/abi.ts";
import { encodeCounters, type XtCounters } from "../ipt/counters.ts";
import { encodeReplace } from "../ipt/entry_builder.ts";
import { initialFilterReplace } from "../ipt/initial_table.ts";
import { IptError } from "../ipt/ipt_error.ts";
import type { ReplaceHeader, TranslatedTable } from "../ipt/translate.ts";
import type { Table } from "../ir/types.ts";
import type { Enforcer } from "./enforcer.ts";
import type { Netfilter } from "./netfilter.ts";
import { initialTableCounters, type NetnsTables, type ServedTable } from "./netns_tables.ts";

/**
 * For the crash tests, steps of a hand-over at which the helper SIGKILLs itself (BPFILTER_CRASH_AT):
 * "handed" (netfilter holds the caller's table, bpfilter's programs still run), "released" (the
 * programs are gone, the store still says bpfilter) and "taken" (netfilter holds the initial table,
 * the store still says netfilter, with the replace staged).
 */
export const HANDOVER_CRASH_POINTS = ["handed", "released", "taken"] as const;
export type HandoverCrashPoint = (typeof HANDOVER_CRASH_POINTS)[number];

/** The one table bpfilter serves. */
export const SERVED_TABLE = "filter";

const EMPTY = new Uint8Array(0);
/** -ENOPROTOOPT: the request goes on to netfilter, which answers it. */
export const DECLINE: SockoptAnswer = { status: -Errno.ENOPROTOOPT, out: EMPTY };

/** What a hand-over needs. */
export interface HandoverContext {
  readonly enforcer: Enforcer;
  readonly netfilter: Netfilter;
  readonly tables: NetnsTables;
  /** Logs a line about one netns. */
  readonly log: (netns: NetnsRef, line: string) => void;
  /** The step at which the crash tests want the helper to die. */
  readonly crashAt?: HandoverCrashPoint;
}

function crash(ctx: HandoverContext, point: HandoverCrashPoint): void {
  if (ctx.crashAt === point) process.kill(process.pid, "SIGKILL");
}

/** A copy of the first bytes of an ipt_replace (header and `size` bytes of entries) with num_counters set. */
export function withNumCounters(request: Uint8Array, size: number, numCounters: number): Uint8Array {
  const copy = request.slice(0, IPT_REPLACE.SIZE + size);
  new DataView(copy.buffer).setUint32(IPT_REPLACE.num_counters, numCounters, true);
  return copy;
}

/** " (both enforced for 1.2 ms)": how long the old and the new owner both enforced (see the file comment). */
function overlap(bothEnforced: boolean, since: number): string {
  return bothEnforced ? ` (both enforced for ${(performance.now() - since).toFixed(1)} ms)` : "";
}

/** `counters` cut or padded with zeros to n entries, as the caller's old-counters buffer holds. */
function oldCounters(counters: readonly XtCounters[], n: number): Uint8Array {
  return encodeCounters(Array.from({ length: n }, (_, i) => counters[i] ?? { packets: 0n, bytes: 0n }));
}

/**
 * bpfilter → netfilter: the caller's replace (header already checked against bpfilter's table)
 * goes into netfilter, then bpfilter's programs go. See the file comment.
 */
export function handToNetfilter(
  ctx: HandoverContext,
  netns: NetnsRef,
  served: ServedTable,
  header: ReplaceHeader,
  optval: Uint8Array,
  reason: string,
): SockoptAnswer {
  try {
    const current = ctx.netfilter.info(netns, SERVED_TABLE);
    ctx.netfilter.replace(netns, withNumCounters(optval, header.size, current.numEntries));
  } catch (err) {
    if (!(err instanceof IptError)) throw err;
    ctx.log(netns, `table filter: ${reason}; netfilter refused the table too (${err.message}): bpfilter keeps enforcing the rules it had`);
    return { status: -err.errno, out: EMPTY };
  }
  const both = performance.now();
  crash(ctx, "handed");
  const final = served.enforced ? ctx.enforcer.release(netns, SERVED_TABLE) : served.counters;
  crash(ctx, "released");
  ctx.tables.toNetfilter(netns, reason);
  ctx.log(netns, `table filter: netfilter enforces it from now on: ${reason}${overlap(served.enforced, both)}`);
  return { status: 0, out: oldCounters(final, header.numCounters) };
}

/**
 * What netfilter objects to in a replace, without letting it take effect: the request goes to
 * netfilter with num_counters one more than netfilter's table has, so that a table it accepts
 * fails at the last check (EAGAIN), and any earlier refusal (an unknown extension, a checkentry)
 * comes back as its errno. Undefined when netfilter's only objection is that count.
 */
export function netfilterObjection(ctx: HandoverContext, netns: NetnsRef, header: ReplaceHeader, optval: Uint8Array): IptError | undefined {
  try {
    const current = ctx.netfilter.info(netns, SERVED_TABLE);
    ctx.netfilter.replace(netns, withNumCounters(optval, header.size, current.numEntries + 1));
  } catch (err) {
    if (!(err instanceof IptError)) throw err;
    return err.errno === Errno.EAGAIN ? undefined : err;
  }
  ctx.log(netns, "table filter: netfilter accepted a replace whose num_counters does not match its table; it holds that table now");
  return undefined;
}

/**
 * bpfilter → netfilter without a new replace (a 32-bit caller, which only netfilter can answer):
 * the table bpfilter holds goes into netfilter as it is, then bpfilter's programs go, then their
 * final counters are added to netfilter's (ADD_COUNTERS), so counters stay continuous. Returns
 * false (logged) if netfilter refused; bpfilter then keeps the table.
 */
export function handCurrentToNetfilter(ctx: HandoverContext, netns: NetnsRef, served: ServedTable, reason: string): boolean {
  const { table } = served;
  try {
    const current = ctx.netfilter.info(netns, SERVED_TABLE);
    const spec = { ...table, numEntries: table.entries.length, numCounters: current.numEntries };
    ctx.netfilter.replace(netns, encodeReplace(spec, [table.blob]));
  } catch (err) {
    if (!(err instanceof IptError)) throw err;
    ctx.log(netns, `table filter: ${reason}; netfilter refused bpfilter's table (${err.message}): bpfilter keeps it`);
    return false;
  }
  const final = served.enforced ? ctx.enforcer.release(netns, SERVED_TABLE) : served.counters;
  ctx.tables.toNetfilter(netns, reason);
  try {
    ctx.netfilter.addCounters(netns, SERVED_TABLE, table.entries.map((_, i) => final[i] ?? { packets: 0n, bytes: 0n }));
  } catch (err) {
    if (!(err instanceof IptError)) throw err;
    ctx.log(netns, `table filter: netfilter holds it, without bpfilter's counters: ${err.message}`);
  }
  ctx.log(netns, `table filter: netfilter enforces it from now on: ${reason}`);
  return true;
}

/** Replaces netfilter's filter table (of `numEntries` entries) with the initial one; returns the old counters. */
function giveNetfilterInitial(ctx: HandoverContext, netns: NetnsRef, numEntries: number): XtCounters[] {
  const initial = initialFilterReplace();
  return ctx.netfilter.replace(netns, withNumCounters(initial, initial.length - IPT_REPLACE.SIZE, numEntries));
}

/**
 * netfilter → bpfilter: `ir` (compiled from `table`, the caller's replace) is enforced, then
 * netfilter's table becomes the initial one. Declines (netfilter answers) whenever a step fails.
 */
export function takeFromNetfilter(
  ctx: HandoverContext,
  netns: NetnsRef,
  header: ReplaceHeader,
  table: TranslatedTable,
  ir: Table,
  optval: Uint8Array,
  deadline?: Deadline,
): SockoptAnswer {
  let numEntries: number;
  try {
    numEntries = ctx.netfilter.info(netns, SERVED_TABLE).numEntries;
  } catch (err) {
    if (!(err instanceof IptError)) throw err;
    ctx.log(netns, `table filter: not taken from netfilter, its table cannot be read: ${err.message}`);
    return DECLINE;
  }
  if (header.numCounters !== numEntries) return DECLINE; // netfilter answers EAGAIN, as it would
  // Staged on top of netfilter's record: a helper that dies after the swap then knows it happened.
  const decision = ctx.enforcer.apply(netns, ir, deadline, (generation) => ctx.tables.staged(netns, table, optval, generation));
  if (decision.kind !== "ok") {
    const why = decision.kind === "declined" ? decision.reason : decision.message;
    ctx.tables.toNetfilter(netns, why);
    ctx.log(netns, `table filter: stays with netfilter: ${why}`);
    return DECLINE;
  }
  const both = performance.now();
  let old: XtCounters[];
  try {
    old = giveNetfilterInitial(ctx, netns, numEntries);
  } catch (err) {
    if (!(err instanceof IptError)) throw err;
    ctx.enforcer.release(netns, SERVED_TABLE);
    ctx.log(netns, `table filter: not taken from netfilter, it refused its initial table (${err.message}); netfilter answers the replace`);
    return DECLINE;
  }
  crash(ctx, "taken");
  ctx.tables.enforced(netns, table, optval, ir, decision.programs);
  ctx.log(netns, `table filter: bpfilter enforces it from now on (${ir.chains.reduce((n, c) => n + c.rules.length, 0)} rules compiled)${overlap(true, both)}`);
  return { status: 0, out: oldCounters(old, header.numCounters) };
}

/**
 * The first request from a netns whose table a restarted helper loaded from its store, and so
 * serves: netfilter's own filter table must then be the initial one. If it is not, a hand-over did
 * not finish, and the store says which way it went: a take-over (`takeover`: bpfilter's programs
 * enforce the replace, netfilter still holds the rules before it) is finished by giving netfilter
 * the initial table; otherwise netfilter already holds the table a replace handed it, and
 * bpfilter's programs (if any are left) go. Either way one owner enforces afterwards, and it is
 * the one that holds the newer table. The counters of the side that goes are lost with the
 * command that the helper died in. Returns false when netfilter's table cannot be read (logged;
 * the next request tries again).
 */
export function finishHandover(ctx: HandoverContext, netns: NetnsRef, served: ServedTable, takeover: boolean): boolean {
  let numEntries: number;
  try {
    const info = ctx.netfilter.info(netns, SERVED_TABLE);
    if (initialTableCounters(ctx.netfilter.entries(netns, SERVED_TABLE, info.size)) !== undefined) {
      ctx.tables.checked(netns.cookie);
      return true;
    }
    numEntries = info.numEntries;
  } catch (err) {
    if (!(err instanceof IptError)) throw err;
    ctx.log(netns, `table filter: netfilter's table could not be read to check it after a restart (${err.message})`);
    return false;
  }
  if (!takeover) {
    const reason = `a replace handed the table to netfilter and the helper stopped before it finished; netfilter holds the table it was given (${numEntries} entries)`;
    if (served.enforced) ctx.enforcer.release(netns, SERVED_TABLE);
    ctx.tables.toNetfilter(netns, reason);
    ctx.log(netns, `table filter: ${reason}: netfilter enforces it from now on`);
    return true;
  }
  try {
    giveNetfilterInitial(ctx, netns, numEntries);
  } catch (err) {
    if (!(err instanceof IptError)) throw err;
    ctx.log(netns, `table filter: netfilter refused its initial table while finishing a take-over (${err.message}); both still enforce`);
    return false;
  }
  ctx.tables.checked(netns.cookie);
  ctx.log(netns, "table filter: a replace took the table from netfilter and the helper stopped before it finished: netfilter now holds its initial table, bpfilter enforces the replace");
  return true;
}
