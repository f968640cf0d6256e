/**
 * Answers one iptables sockopt (IPT_SO_*) for the filter table of the caller's netns, as
 * do_ipt_set_ctl/do_ipt_get_ctl would, or declines it (-ENOPROTOOPT) so that netfilter answers.
 *
 * Ownership: only the table named "filter" is served. When the Enforcer (or the IR) cannot take
 * a replace, the table goes to netfilter for good in that netns, and from then on every request
 * for it is declined, so that a GET never describes rules that are not the ones enforced.
 *
 * The hand-over "served with N entries -> declined replace": the declined request is handed
 * unchanged to netfilter, whose own filter table in that netns is still its initial one (4
 * entries). Its num_counters (N, read from us) would only match if N is 4, and if netfilter then
 * rejected the blob for another reason, the rules we enforced would vanish. So the hand-over is
 * made only while our table is exactly the initial table (same bytes: 4 entries, ACCEPT
 * policies, as netfilter's). Otherwise the replace fails with -EOPNOTSUPP, the current rules stay
 * enforced, and the log says which rule could not be enforced; flushing the table back to its
 * initial state (iptables -F; -X; -P ... ACCEPT) makes the next such replace go to netfilter.
 */
import type { ExtensionKind, ExtensionRevisions } from "./revisions.ts";
import { Errno, IPT_SO_GET, IPT_SO_SET, sockoptName } from "../ipt/abi.ts";
import { addCounters, decodeCountersInfo, encodeCounters, type XtCounters } from "../ipt/counters.ts";
import { decodeRevisionRequest, encodeGetEntries, encodeGetInfo } from "../ipt/get_ctl.ts";
import { FILTER_VALID_HOOKS } from "../ipt/initial_table.ts";
import { IptError } from "../ipt/ipt_error.ts";
import { tableToIr } from "../ipt/table_to_ir.ts";
import { decodeReplaceHeader, tableNameOf, translateTable } from "../ipt/translate.ts";
import type { Enforcer, NetnsRef } from "./enforcer.ts";
import { isInitialTable, NetnsTables, type ServedTable } from "./netns_tables.ts";
import type { TableStore } from "./table_store.ts";

/** One IPT_SO_* call, as the frame carries it. */
export interface SockoptRequest {
  readonly cmd: number;
  /** setsockopt (true) or getsockopt. */
  readonly set: boolean;
  /** A 32-bit caller on a 64-bit kernel (BPFILTER_IPC_F_COMPAT): its optval has the compat layout. */
  readonly compat?: boolean;
  readonly optlen: number;
  readonly optval: Uint8Array;
  readonly netns: NetnsRef;
}

/**
 * The answer: status is 0 or -errno (-ENOPROTOOPT declines), out the bytes to copy back.
 */
export interface SockoptAnswer {
  readonly status: number;
  readonly out: Uint8Array;
}

/** The one table bpfilter serves. */
export const SERVED_TABLE = "filter";

const EMPTY = new Uint8Array(0);
const DECLINE: SockoptAnswer = { status: -Errno.ENOPROTOOPT, out: EMPTY };

/** Serves the iptables sockopts of every netns from one NetnsTables and one Enforcer. */
export class SockoptHandler {
  private readonly tables: NetnsTables;

  /** `store`, when given, keeps the tables across helper restarts (see table_store.ts). */
  constructor(
    private readonly enforcer: Enforcer,
    private readonly extensions: ExtensionRevisions,
    private readonly log: (line: string) => void,
    store?: TableStore,
  ) {
    this.tables = new NetnsTables(store, log);
  }

  /**
   * A netns the helper served is gone (NETNS_GONE): stop enforcing its table (the programs go
   * with their links) and forget it, so that its state and pins do not outlive it.
   */
  netnsGone(cookie: bigint): void {
    const state = this.tables.filterOf(cookie);
    if (state.owner === "bpfilter" && state.enforced) this.enforcer.release({ cookie }, SERVED_TABLE);
    this.tables.forget(cookie);
    this.log(`netns ${cookie}: gone, its tables are forgotten`);
  }

  /** Answers one request; an IptError becomes its errno, anything else propagates. */
  handle(req: SockoptRequest): SockoptAnswer {
    try {
      return this.dispatch(req);
    } catch (err) {
      if (!(err instanceof IptError)) throw err;
      this.log(`netns ${req.netns.cookie}: ${sockoptName(req.cmd, req.set)}: ${err.message} (errno ${err.errno})`);
      return { status: -err.errno, out: EMPTY };
    }
  }

  private dispatch(req: SockoptRequest): SockoptAnswer {
    if (req.set) {
      if (req.cmd === IPT_SO_SET.REPLACE) return this.withServedTable(req, (t) => this.replace(req, t));
      if (req.cmd === IPT_SO_SET.ADD_COUNTERS) return this.withServedTable(req, (t) => this.addCounters(req, t));
      return { status: -Errno.EINVAL, out: EMPTY };
    }
    switch (req.cmd) {
      case IPT_SO_GET.INFO:
        return this.withServedTable(req, (t) => ({ status: 0, out: encodeGetInfo(req.optval, req.optlen, t.table) }));
      case IPT_SO_GET.ENTRIES:
        return this.withServedTable(req, (t) => ({
          status: 0,
          out: encodeGetEntries(req.optval, req.optlen, t.table, this.countersOf(req.netns, t)),
        }));
      case IPT_SO_GET.REVISION_MATCH:
        return req.compat ? DECLINE : this.revision(req, "match");
      case IPT_SO_GET.REVISION_TARGET:
        return req.compat ? DECLINE : this.revision(req, "target");
      default:
        return { status: -Errno.EINVAL, out: EMPTY };
    }
  }

  /** Runs `serve` if the request names the filter table and bpfilter serves it in that netns; else declines. */
  private withServedTable(req: SockoptRequest, serve: (table: ServedTable) => SockoptAnswer): SockoptAnswer {
    const name = tableNameOf(req.optval);
    if (name !== SERVED_TABLE) return DECLINE;
    const state = this.tables.filterOf(req.netns.cookie);
    if (state.owner === "netfilter") return DECLINE;
    if (req.compat) return this.compatCaller(req.netns, state);
    return serve(state);
  }

  /**
   * A 32-bit caller (its structures have the compat layout, which only netfilter converts):
   * a table still in its initial state goes to netfilter, which serves that caller from then
   * on; a table with rules bpfilter enforces is refused, so that such a caller never changes
   * or reads a table other than the one enforced.
   */
  private compatCaller(netns: NetnsRef, served: ServedTable): SockoptAnswer {
    if (isInitialTable(served.table)) return this.handOver(netns, served, "a 32-bit (compat) iptables asked for it");
    this.log(`netns ${netns.cookie}: table filter: refused a 32-bit (compat) caller: bpfilter enforces its rules, and only native iptables can change them`);
    return { status: -Errno.EOPNOTSUPP, out: EMPTY };
  }

  private countersOf(netns: NetnsRef, served: ServedTable): readonly XtCounters[] {
    return served.enforced ? this.enforcer.counters(netns, SERVED_TABLE) : served.counters;
  }

  private replace(req: SockoptRequest, served: ServedTable): SockoptAnswer {
    const header = decodeReplaceHeader(req.optval, req.optlen);
    const table = translateTable(header, req.optval);
    if (header.validHooks !== FILTER_VALID_HOOKS) {
      throw new IptError(Errno.EINVAL, `ipt_replace: valid_hooks 0x${header.validHooks.toString(16)} is not the filter table's 0x${FILTER_VALID_HOOKS.toString(16)}`);
    }
    if (header.numCounters !== served.table.entries.length) {
      throw new IptError(Errno.EAGAIN, `ipt_replace: num_counters ${header.numCounters} but the table has ${served.table.entries.length} entries (it changed)`);
    }
    const ir = tableToIr(table);
    const before = this.countersOf(req.netns, served);
    const decision = ir.ok ? this.enforcer.apply(req.netns, ir.table) : ({ kind: "declined", reason: ir.reason } as const);
    if (decision.kind === "declined") return this.handOver(req.netns, served, decision.reason);
    if (decision.kind === "error") throw new IptError(decision.errno, decision.message);
    const old = decision.replacedCounters ?? before;
    this.tables.replaced(req.netns.cookie, served, table, req.optval);
    const counters = Array.from({ length: header.numCounters }, (_, i) => old[i] ?? { packets: 0n, bytes: 0n });
    return { status: 0, out: encodeCounters(counters) };
  }

  /** A replace bpfilter cannot enforce: hand the table to netfilter if that is safe (see the file comment). */
  private handOver(netns: NetnsRef, served: ServedTable, reason: string): SockoptAnswer {
    if (!isInitialTable(served.table)) {
      this.log(
        `netns ${netns.cookie}: table filter: ${reason}; not handed to netfilter because the table holds rules bpfilter enforces (flush it first)`,
      );
      return { status: -Errno.EOPNOTSUPP, out: EMPTY };
    }
    this.log(`netns ${netns.cookie}: table filter declined, netfilter enforces it from now on: ${reason}`);
    if (served.enforced) this.enforcer.release(netns, SERVED_TABLE);
    this.tables.decline(netns.cookie, reason);
    return DECLINE;
  }

  private addCounters(req: SockoptRequest, served: ServedTable): SockoptAnswer {
    const info = decodeCountersInfo(req.optval, req.optlen);
    if (info.counters.length !== served.table.entries.length) {
      throw new IptError(Errno.EINVAL, `xt_counters_info: num_counters ${info.counters.length} but the table has ${served.table.entries.length} entries`);
    }
    if (served.enforced) this.enforcer.addCounters(req.netns, SERVED_TABLE, info.counters);
    else {
      served.counters = served.counters.map((c, i) => addCounters(c, info.counters[i]!));
    }
    return { status: 0, out: EMPTY };
  }

  /**
   * xt_find_revision() over the extensions bpfilter compiles; others are declined to netfilter.
   * netfilter answers a supported revision with the best one as getsockopt's return value, but a
   * SOCKOPT_REPLY status must be 0 or -errno (uapi/linux/bpfilter_ipc.h; the kernel kills a
   * helper that sends more), so a best revision above 0 is declined to netfilter as well.
   */
  private revision(req: SockoptRequest, kind: ExtensionKind): SockoptAnswer {
    const rev = decodeRevisionRequest(req.optval, req.optlen);
    const known = this.extensions.revisions(kind, rev.name);
    if (known === undefined || known.length === 0) return DECLINE;
    if (!known.includes(rev.revision)) return { status: -Errno.EPROTONOSUPPORT, out: EMPTY };
    const best = Math.max(...known);
    return best === 0 ? { status: 0, out: EMPTY } : DECLINE;
  }
}
