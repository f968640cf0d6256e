/**
 * Answers one iptables sockopt (IPT_SO_*) for the filter table of the caller's netns, as
 * do_ipt_set_ctl/do_ipt_get_ctl would, or declines it (-ENOPROTOOPT) so that netfilter answers.
 *
 * Ownership, per netns: only the table named "filter" is served, by bpfilter or by netfilter.
 * - A netns met for the first time is bpfilter's if netfilter holds its initial table there
 *   (bpfilter then serves that table, unenforced, with netfilter's counters); otherwise netfilter
 *   already holds rules there and keeps them.
 * - While bpfilter holds the table it answers every request; a replace it does not compile is
 *   installed into netfilter by the helper itself and bpfilter's programs go (handover.ts).
 * - While netfilter holds it, every request is declined so that netfilter answers it, except
 *   SET_REPLACE: one the helper compiles takes the table back (handover.ts).
 * So a GET always describes the rules that are enforced. GET_REVISION_* are always declined:
 * netfilter is the judge of which revisions it accepts.
 */
import { extensionDataSize } from "../ext/registry.ts";
import type { NetnsRef, SockoptAnswer, SockoptRequest } from "../ipc/sockopt_call.ts";
import { Errno, IPT_SO_GET, IPT_SO_SET, sockoptName, XT_COUNTERS, XT_MAX_TABLE_SIZE } from "../ipt/abi.ts";
import { addCounters, decodeCountersInfo, encodeCounters, type XtCounters } from "../ipt/counters.ts";
import { encodeGetEntries, encodeGetInfo } from "../ipt/get_ctl.ts";
import { FILTER_VALID_HOOKS } from "../ipt/initial_table.ts";
import { IptError } from "../ipt/ipt_error.ts";
import { checkStandardTargets, decodeReplaceHeader, type ReplaceHeader, tableNameOf, type TranslatedTable, translateLayout, translateTable } from "../ipt/translate.ts";
import { type Deadline, LateError } from "../ir/deadline.ts";
import { answerDeadline } from "./answer_deadline.ts";
import type { Enforcer } from "./enforcer.ts";
import {
  DECLINE, finishHandover, handCurrentToNetfilter, handToNetfilter, type HandoverContext, type HandoverCrashPoint, netfilterObjection, SERVED_TABLE, takeFromNetfilter,
} from "./handover.ts";
import type { Netfilter } from "./netfilter.ts";
import { type FilterTableState, initialTableCounters, NetnsTables, type ServedTable } from "./netns_tables.ts";
import { planTable } from "./plan.ts";
import type { StatusStore } from "./status_store.ts";
import type { TableStore } from "./table_store.ts";

export type { SockoptAnswer, SockoptRequest };
export { SERVED_TABLE };

const EMPTY = new Uint8Array(0);

/** What the handler is built with. */
export interface SockoptHandlerOptions {
  readonly enforcer: Enforcer;
  readonly netfilter: Netfilter;
  /** Writes one log line. */
  readonly log: (line: string) => void;
  /** Keeps the tables across helper restarts (see table_store.ts). */
  readonly store?: TableStore;
  /** Keeps what bpfilter status shows, per netns (see status_store.ts). */
  readonly status?: StatusStore;
  /**
   * How long the peer waits for an answer, in ms, read at each replace (kernel mode:
   * answer_deadline.ts kernelTimeoutMs); absent or undefined: it waits as long as it takes.
   */
  readonly peerTimeoutMs?: () => number | undefined;
  /** For the crash tests: a step of a hand-over at which the helper dies (handover.ts). */
  readonly crashAt?: HandoverCrashPoint;
}

/** Serves the iptables sockopts of every netns from one NetnsTables, one Enforcer and netfilter. */
export class SockoptHandler {
  private readonly tables: NetnsTables;
  private readonly enforcer: Enforcer;
  private readonly netfilter: Netfilter;
  private readonly logLine: (line: string) => void;
  private readonly handover: HandoverContext;
  private readonly status: StatusStore | undefined;
  private readonly peerTimeoutMs: () => number | undefined;

  constructor(options: SockoptHandlerOptions) {
    this.enforcer = options.enforcer;
    this.netfilter = options.netfilter;
    this.logLine = options.log;
    this.status = options.status;
    this.peerTimeoutMs = options.peerTimeoutMs ?? (() => undefined);
    this.tables = new NetnsTables(options.store, options.log, options.status, (cookie) => options.enforcer.generation(cookie, SERVED_TABLE));
    this.handover = {
      enforcer: this.enforcer,
      netfilter: this.netfilter,
      tables: this.tables,
      log: (netns, line) => this.log(netns, line),
      ...(options.crashAt === undefined ? {} : { crashAt: options.crashAt }),
    };
  }

  /** Answers one request; an IptError becomes its errno, anything else propagates. */
  handle(req: SockoptRequest): SockoptAnswer {
    try {
      return this.dispatch(req);
    } catch (err) {
      if (!(err instanceof IptError)) throw err;
      this.log(req.netns, `${sockoptName(req.cmd, req.set)}: ${err.message} (errno ${err.errno})`);
      return { status: -err.errno, out: EMPTY };
    }
  }

  private log(netns: NetnsRef, line: string): void {
    this.logLine(`netns ${netns.cookie}: ${line}`);
    this.status?.log(netns.cookie, line);
  }

  /** The kernel says a netns is gone: its programs go, and its state is forgotten. */
  netnsGone(cookie: bigint): void {
    const state = this.tables.get(cookie);
    if (state?.owner === "bpfilter" && state.enforced) this.enforcer.release({ cookie }, SERVED_TABLE); // no path: the netns cannot be entered any more
    this.tables.forget(cookie);
    this.logLine(`netns ${cookie}: gone, forgotten`);
  }

  private dispatch(req: SockoptRequest): SockoptAnswer {
    if (req.compat === true) return this.compat(req);
    if (req.set) {
      if (req.cmd === IPT_SO_SET.REPLACE) return this.withFilterTable(req, (state) => this.replace(req, state));
      if (req.cmd === IPT_SO_SET.ADD_COUNTERS) return this.withServedTable(req, (t) => this.addCounters(req, t));
      return { status: -Errno.EINVAL, out: EMPTY };
    }
    switch (req.cmd) {
      case IPT_SO_GET.INFO:
        return this.withServedTable(req, (t) => ({ status: 0, out: encodeGetInfo(req.optval, req.optlen, t.table) }));
      case IPT_SO_GET.ENTRIES:
        return this.withServedTable(req, (t) => ({
          status: 0,
          out: encodeGetEntries(req.optval, req.optlen, t.table, this.countersOf(req.netns, t), extensionDataSize),
        }));
      case IPT_SO_GET.REVISION_MATCH:
      case IPT_SO_GET.REVISION_TARGET:
        return DECLINE;
      default:
        return { status: -Errno.EINVAL, out: EMPTY };
    }
  }

  /** Runs `serve` if the request names the filter table; other tables are netfilter's. */
  private withFilterTable(req: SockoptRequest, serve: (state: FilterTableState) => SockoptAnswer): SockoptAnswer {
    if (tableNameOf(req.optval) !== SERVED_TABLE) return DECLINE;
    return serve(this.stateOf(req.netns));
  }

  /** The filter table of a netns: first contact, or after a restart checked against netfilter's (finishHandover). */
  private stateOf(netns: NetnsRef): FilterTableState {
    const state = this.tables.get(netns.cookie);
    if (state === undefined) return this.firstContact(netns);
    const takeover = this.tables.uncheckedTakeover(netns.cookie);
    if (state.owner === "bpfilter" && takeover !== undefined) finishHandover(this.handover, netns, state, takeover);
    return this.tables.get(netns.cookie)!;
  }

  /** Runs `serve` if bpfilter holds the filter table of the caller's netns; else declines. */
  private withServedTable(req: SockoptRequest, serve: (table: ServedTable) => SockoptAnswer): SockoptAnswer {
    return this.withFilterTable(req, (state) => (state.owner === "netfilter" ? DECLINE : serve(state)));
  }

  /**
   * A netns seen for the first time: bpfilter serves it if netfilter holds its initial filter
   * table there (and looking it up makes netfilter list the table in /proc/net/ip_tables_names,
   * which iptables-save without -t reads); if netfilter already holds rules, they stay netfilter's.
   */
  private firstContact(netns: NetnsRef): FilterTableState {
    try {
      const info = this.netfilter.info(netns, SERVED_TABLE);
      const blob = this.netfilter.entries(netns, SERVED_TABLE, info.size);
      const counters = initialTableCounters(blob);
      if (counters !== undefined) return this.tables.serveInitial(netns, counters);
      const reason = `netfilter held a filter table of ${info.numEntries} entries in this netns before bpfilter served it`;
      this.tables.toNetfilter(netns, reason);
      this.log(netns, `table filter: ${reason}; it stays with netfilter until a replace bpfilter compiles`);
      return this.tables.get(netns.cookie)!;
    } catch (err) {
      if (!(err instanceof IptError)) throw err;
      this.log(netns, `table filter: netfilter's table could not be read (${err.message}); bpfilter serves the initial table`);
      return this.tables.serveInitial(netns, []);
    }
  }

  /**
   * A 32-bit caller: its structs are netfilter's compat layout, which only netfilter reads, so
   * every request of it is declined. If bpfilter holds the table it names, the table goes to
   * netfilter first (handover.ts), so that netfilter answers with the rules that are enforced.
   */
  private compat(req: SockoptRequest): SockoptAnswer {
    const named = req.cmd !== IPT_SO_GET.REVISION_MATCH && req.cmd !== IPT_SO_GET.REVISION_TARGET;
    if (req.set || named) {
      const state = tableNameOf(req.optval) === SERVED_TABLE ? this.stateOf(req.netns) : undefined;
      if (state?.owner === "bpfilter" && !handCurrentToNetfilter(this.handover, req.netns, state, "a 32-bit iptables asked for it: netfilter serves 32-bit callers")) {
        return { status: -Errno.EOPNOTSUPP, out: EMPTY };
      }
    }
    return DECLINE;
  }

  private countersOf(netns: NetnsRef, served: ServedTable): readonly XtCounters[] {
    return served.enforced ? this.enforcer.counters(netns, SERVED_TABLE) : served.counters;
  }

  private replace(req: SockoptRequest, state: FilterTableState): SockoptAnswer {
    if (state.owner === "netfilter") return this.replaceNetfilters(req);
    const header = decodeReplaceHeader(req.optval, req.optlen);
    const deadline = this.deadlineOf(req);
    let table: TranslatedTable;
    let plan: ReturnType<typeof planTable>;
    try {
      table = translateLayout(header, req.optval, deadline);
      plan = planTable(table, deadline);
    } catch (err) {
      if (err instanceof LateError) return this.lateHandover(req, state, header, err.message);
      throw err;
    }
    const late = laterRefusal(header, table, state.table.entries.length);
    // netfilter checks each entry's extensions before these: if some are its to judge, it answers first.
    if (late !== undefined) throw plan.kind === "netfilter" ? (netfilterObjection(this.handover, req.netns, header, req.optval) ?? late) : late;
    if (plan.kind === "netfilter") return handToNetfilter(this.handover, req.netns, state, header, req.optval, plan.reason);
    const before = this.countersOf(req.netns, state);
    const decision = this.enforcer.apply(req.netns, plan.table, deadline, (generation) => this.tables.staged(req.netns, table, req.optval, generation));
    if (decision.kind === "declined" && deadline !== undefined && performance.now() > deadline.at) {
      return this.lateHandover(req, state, header, decision.reason);
    }
    if (decision.kind === "declined") return handToNetfilter(this.handover, req.netns, state, header, req.optval, decision.reason);
    if (decision.kind === "error") {
      const why = decision.message.replace(/^netns \d+: table \S+: /, ""); // the log line names them already
      return handToNetfilter(this.handover, req.netns, state, header, req.optval, `bpfilter could not enforce it: ${why}`);
    }
    const old = decision.replacedCounters ?? before;
    this.tables.enforced(req.netns, table, req.optval, plan.table, decision.programs);
    return { status: 0, out: encodeCounters(Array.from({ length: header.numCounters }, (_, i) => old[i] ?? { packets: 0n, bytes: 0n })) };
  }

  /**
   * The deadline passed before bpfilter could enforce the replace: netfilter takes it, in the time
   * left. When bpfilter holds the initial table unenforced (a first restore into a fresh netns),
   * netfilter holds its own initial table with the same entries, so the request is declined and
   * netfilter does the replace after the helper's answer, outside the kernel's wait. Otherwise the
   * helper hands the blob over (handover.ts), as for any table it does not compile.
   */
  private lateHandover(req: SockoptRequest, served: ServedTable, header: ReplaceHeader, reason: string): SockoptAnswer {
    checkNumCounters(header, served.table.entries.length);
    if (!served.enforced) {
      let netfilterEntries: number | undefined;
      try {
        netfilterEntries = this.netfilter.info(req.netns, SERVED_TABLE).numEntries;
      } catch (err) {
        if (!(err instanceof IptError)) throw err;
      }
      if (netfilterEntries === header.numCounters) {
        this.tables.toNetfilter(req.netns, reason);
        this.log(req.netns, `table filter: netfilter enforces it from now on, and does the replace itself: ${reason}`);
        return DECLINE;
      }
    }
    return handToNetfilter(this.handover, req.netns, served, header, req.optval, reason);
  }

  /** A replace while netfilter holds the table: taken back if bpfilter compiles it, else netfilter's. */
  private replaceNetfilters(req: SockoptRequest): SockoptAnswer {
    const deadline = this.deadlineOf(req);
    let header: ReplaceHeader;
    let table: TranslatedTable;
    let plan: ReturnType<typeof planTable>;
    try {
      header = decodeReplaceHeader(req.optval, req.optlen);
      table = translateTable(header, req.optval, deadline);
      checkFilterHooks(header);
      plan = planTable(table, deadline);
    } catch (err) {
      if (err instanceof IptError) return DECLINE; // netfilter judges it, with its own errno
      if (!(err instanceof LateError)) throw err;
      this.log(req.netns, `table filter: stays with netfilter: ${err.message}`);
      return DECLINE; // netfilter's: it does the replace itself
    }
    if (plan.kind === "netfilter") {
      this.tables.toNetfilter(req.netns, plan.reason);
      this.log(req.netns, `table filter: stays with netfilter: ${plan.reason}`);
      return DECLINE;
    }
    return takeFromNetfilter(this.handover, req.netns, header, table, plan.table, req.optval, deadline);
  }

  /** The compile deadline of a request, when its peer waits a bounded time. */
  private deadlineOf(req: SockoptRequest): Deadline | undefined {
    const timeoutMs = this.peerTimeoutMs();
    return timeoutMs === undefined || req.receivedAt === undefined ? undefined : answerDeadline(req.receivedAt, timeoutMs);
  }

  private addCounters(req: SockoptRequest, served: ServedTable): SockoptAnswer {
    const info = decodeCountersInfo(req.optval, req.optlen);
    if (info.counters.length !== served.table.entries.length) {
      throw new IptError(Errno.EINVAL, `xt_counters_info: num_counters ${info.counters.length} but the table has ${served.table.entries.length} entries`);
    }
    if (served.enforced) this.enforcer.addCounters(req.netns, SERVED_TABLE, info.counters);
    else served.counters = served.counters.map((c, i) => addCounters(c, info.counters[i]!));
    return { status: 0, out: EMPTY };
  }
}

/**
 * What netfilter refuses after the layout of a replace, in its order: find_check_entry() of
 * the standard targets, then __do_replace(): the counters' allocation, valid_hooks, num_counters.
 */
function laterRefusal(header: ReplaceHeader, table: TranslatedTable, entriesNow: number): IptError | undefined {
  try {
    checkStandardTargets(table);
    checkCountersAllocation(header);
    checkFilterHooks(header);
    checkNumCounters(header, entriesNow);
    return undefined;
  } catch (err) {
    if (err instanceof IptError) return err;
    throw err;
  }
}

/** __do_replace(): num_counters must be the number of entries the table has now (EAGAIN: it changed). */
function checkNumCounters(header: ReplaceHeader, entriesNow: number): void {
  if (header.numCounters !== entriesNow) {
    throw new IptError(Errno.EAGAIN, `ipt_replace: num_counters ${header.numCounters} but the table has ${entriesNow} entries (it changed)`);
  }
}

/** __do_replace() allocates the old counters first (xt_counters_alloc): ENOMEM beyond XT_MAX_TABLE_SIZE bytes. */
function checkCountersAllocation(header: ReplaceHeader): void {
  if (header.numCounters * XT_COUNTERS.SIZE > XT_MAX_TABLE_SIZE) {
    throw new IptError(Errno.ENOMEM, `ipt_replace: num_counters ${header.numCounters} needs more than XT_MAX_TABLE_SIZE bytes of counters`);
  }
}

/** do_replace of the filter table: xt_find_table_lock then valid_hooks must be the table's. */
function checkFilterHooks(header: ReplaceHeader): void {
  if (header.validHooks !== FILTER_VALID_HOOKS) {
    throw new IptError(Errno.EINVAL, `ipt_replace: valid_hooks 0x${header.validHooks.toString(16)} is not the filter table's 0x${FILTER_VALID_HOOKS.toString(16)}`);
  }
}
