/**
 * BpfEnforcer: the real enforcing side. apply() compiles a table (codegen/) into one netfilter
 * program per hook (plan), loads them with a fresh counters map (load), puts them behind the
 * netns's netfilter links in one generation flip (swap: Dispatch), and pins what is enforced (pin).
 * The links sit at LOCAL_IN, FORWARD and LOCAL_OUT at the filter table's priority: every interface,
 * present and future, loopback included. Everything is pinned under <pinRoot>/<netns cookie>/<table>/,
 * so the rules stay enforced when the helper dies and a restarted helper takes them over.
 */
import { constants } from "node:os";
import {
  BpfError,
  loadProgram,
  mapSpecOf,
  netfilterContextLayout,
  netfilterLinkInfo,
  openPinnedMap,
  openPinnedProgram,
  programId,
  synchronizeRcu,
  type BpfMap,
  type BpfProgram,
  type NetfilterLinkInfo,
} from "../bpf/index.ts";
import {
  compileTable,
  DISPATCHER_NAMES,
  FILTER_HOOK_NAMES,
  FILTER_HOOKS,
  GENERATIONS,
  LIMITS_MAP,
  type CompiledTable,
  type Deadline,
  type Decline,
  type FilterHook,
  type NetfilterContextLayout,
} from "../codegen/index.ts";
import type { Table } from "../ir/types.ts";
import { usesConntrack } from "../ext/registry.ts";
import { holdConntrack, releaseConntrack } from "./conntrack_ref.ts";
import type { XtCounters } from "../ipt/counters.ts";
import type { Decision, Enforcer, NetnsRef, ProgramListing } from "../service/enforcer.ts";
import { defaultNetnsPath, inCallerNetns } from "./caller_netns.ts";
import { Dispatch, type HookPrograms } from "./dispatch.ts";
import { createBucketMap } from "./buckets.ts";
import { HOOK_PIN, PIN, PIN_ROOT, stagedPin, TABLE_PINS, TablePins } from "./pins.ts";
import { enteredNetns, reapOrphans } from "./orphans.ts";
import {
  addToRuleCounters,
  closeRuleCounterMaps,
  createRuleCounterMaps,
  readRuleCounters,
  type RuleCounterMaps,
} from "./rule_counters.ts";

/** What BpfEnforcer is built with; every field has a default. */
export interface BpfEnforcerOptions {
  /** Root of the pins (default /sys/fs/bpf/bpfilter; bpffs is mounted at /sys/fs/bpf when missing). */
  readonly pinRoot?: string;
  /** The compiler (default codegen's compileTable); tests inject a broken one. */
  readonly compile?: typeof compileTable;
  /** Path of the netns to enter for a request (default /proc/<pid>/ns/net). */
  readonly netnsPath?: (netns: NetnsRef) => string;
  /** Where to log what is enforced and released. */
  readonly log?: (line: string) => void;
  /**
   * Period of the scan for netns that only the helper's links keep alive (REAP_PERIOD_MS), on top of
   * the scans at start and at every request; 0: none.
   */
  readonly reapPeriodMs?: number;
  /** Told the cookie of each netns whose table the reaper released (its netns is gone), so that the service forgets it too. */
  readonly reaped?: (cookie: bigint) => void;
  /** The kernel's struct offsets (default: from its BTF); tests make it throw, as a kernel without BTF does. */
  readonly kernel?: () => NetfilterContextLayout;
  /**
   * Takes and gives back the netns's conntrack reference, in the netns entered (default: the
   * nftables table of conntrack_ref.ts).
   */
  readonly conntrack?: { readonly hold: () => void; readonly release: () => void };
  /**
   * For the crash tests: the helper SIGKILLs itself at this step of a replace (CRASH_POINTS), as a
   * crash there would (main.ts reads it from BPFILTER_CRASH_AT).
   */
  readonly crashAt?: CrashPoint;
}

/**
 * The steps of a replace between which a crash leaves different pins: "staged" (the new programs
 * pinned under their staged names and the caller told, not yet swapped in), "swapped" (enforced,
 * still under the staged names) and "promoted" (under their names, the old table's counters not
 * yet read).
 */
export const CRASH_POINTS = ["staged", "swapped", "promoted"] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** What enforces a table in a netns, by kernel id (BpfEnforcer.describe). */
export interface EnforcedObjects {
  readonly pinDirectory: string;
  /** The enforced generation of the prog array (0 or 1). */
  readonly generation: number;
  readonly dispatcher: { readonly name: string; readonly id: number };
  readonly links: Readonly<Record<FilterHook, NetfilterLinkInfo>>;
  readonly programs: Readonly<Record<FilterHook, { readonly name: string; readonly id: number }>>;
  readonly maps: { readonly programs: number; readonly generation: number; readonly counters: number; readonly offsets: number };
}

/** A table's programs and counters, loaded and not yet (or no longer) enforced. */
interface LoadedTable {
  readonly entryCount: number;
  readonly maps: RuleCounterMaps;
  readonly programs: HookPrograms;
}

/** What is enforced for one table in one netns. */
interface EnforcedTable extends LoadedTable {
  readonly pins: TablePins;
  readonly dispatch: Dispatch;
}

const EACCES = 13;

/** Loads of fewer instructions say little about the verifier's rate: their fixed costs dominate. */
const RATE_SAMPLE_MIN_INSNS = 2000;

/** How often the helper looks for netns that only its links keep alive, besides at start and at every request. */
export const REAP_PERIOD_MS = 10_000;

/** The positive errno of a BpfError or a Node system error; other errors are not expected here. */
function errnoOf(error: unknown): number | undefined {
  // The verifier's EACCES would read "Permission denied (you must be root)" in iptables: a table
  // whose program the verifier refuses is an invalid table, as netfilter would say.
  if (error instanceof BpfError && error.errno === EACCES && error.call.startsWith("bpf_prog_load")) return 22;
  if (error instanceof BpfError) return error.errno;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === undefined ? undefined : (constants.errno as Record<string, number>)[code];
}

function closePrograms(programs: Partial<HookPrograms>): void {
  for (const program of Object.values(programs)) program?.close();
}

function closeLoaded(loaded: LoadedTable): void {
  closePrograms(loaded.programs);
  closeRuleCounterMaps(loaded.maps);
}

const ms = (from: number, to: number) => `${Math.round(to - from)} ms`;

/** Enforces tables with netfilter programs; see the file comment. */
export class BpfEnforcer implements Enforcer {
  private readonly tables = new Map<string, EnforcedTable>();
  private readonly pinRoot: string;
  private readonly compile: typeof compileTable;
  private readonly netnsPath: (netns: NetnsRef) => string;
  private readonly log: (line: string) => void;
  private readonly kernelLayout: () => NetfilterContextLayout;
  private readonly reapTimer: NodeJS.Timeout | undefined;
  private readonly reaped: ((cookie: bigint) => void) | undefined;
  private readonly conntrack: { readonly hold: () => void; readonly release: () => void };
  /** Whether the helper holds the conntrack reference of a netns, by cookie; absent: not known (a restarted helper). */
  private readonly conntrackHeld = new Map<bigint, boolean>();
  /** The verifier's milliseconds per instruction at the last large load; predicts whether a load fits a deadline. */
  private verifyMsPerInsn: number | undefined;
  private readonly crashAt: CrashPoint | undefined;

  /** See BpfEnforcerOptions. Releases the tables of netns that only the helper's pins keep alive. */
  constructor(options: BpfEnforcerOptions = {}) {
    this.pinRoot = options.pinRoot ?? PIN_ROOT;
    this.compile = options.compile ?? compileTable;
    this.netnsPath = options.netnsPath ?? defaultNetnsPath;
    this.log = options.log ?? (() => {});
    this.kernelLayout = options.kernel ?? (() => netfilterContextLayout());
    this.conntrack = options.conntrack ?? { hold: () => holdConntrack(), release: () => releaseConntrack() };
    this.crashAt = options.crashAt;
    this.reaped = options.reaped;
    this.reap();
    const period = options.reapPeriodMs ?? REAP_PERIOD_MS;
    this.reapTimer = period > 0 ? setInterval(() => this.reap(), period).unref() : undefined;
  }

  /**
   * Compiles, loads and swaps in `table` in the caller's netns in place of what was enforced.
   * With a deadline, a compile that reaches it, or a load that the verifier's last rate says would
   * end past it, is declined (the old rules stay). `staged` is told the generation the table is
   * going to be enforced at, after its pins are made and before the swap (the service writes its
   * table store then, so that a restarted helper knows which table the pins enforce).
   */
  apply(netns: NetnsRef, table: Table, deadline?: Deadline, staged?: (generation: number) => void): Decision {
    this.reap();
    const where = `netns ${netns.cookie}: table ${table.name}`;
    const started = performance.now();
    const plan = this.plan(table, deadline);
    if (plan.declined === true) return { kind: "declined", reason: plan.reason };
    const planned = performance.now();
    const insnCount = FILTER_HOOK_NAMES.reduce((n, hook) => n + plan.programs[hook].insns.length / 8, 0);
    const verifyLate = this.verifyOutlasts(insnCount, deadline);
    if (verifyLate !== undefined) return { kind: "declined", reason: verifyLate };
    // Conntrack goes on before the programs that read it, as netfilter's checkentry runs before its swap.
    const wantsConntrack = usesConntrack(table);
    // Unknown (a restarted helper) only while a table is enforced: without one, the helper gave it back (release).
    const heldBefore = this.conntrackHeld.get(netns.cookie) ?? (this.enforced(netns.cookie, table.name) === undefined ? false : undefined);
    if (wantsConntrack && heldBefore !== true) {
      try {
        inCallerNetns(netns, () => this.conntrack.hold(), this.netnsPath);
        this.conntrackHeld.set(netns.cookie, true);
      } catch (error) {
        return { kind: "declined", reason: `the table reads conntrack state, and the netns's conntrack could not be turned on: ${(error as Error).message}` };
      }
    }
    try {
      let loaded;
      try {
        loaded = this.load(table, plan, this.kernelLayout().hz);
      } catch (error) {
        if (wantsConntrack && heldBefore !== true) this.releaseConntrack(netns, where); // as it was: the old table stays
        throw error;
      }
      const loadedAt = performance.now();
      if (insnCount >= RATE_SAMPLE_MIN_INSNS) this.verifyMsPerInsn = (loadedAt - planned) / insnCount;
      const { enforced, replacedCounters } = this.swap(netns, table.name, loaded, staged);
      if (!wantsConntrack && heldBefore !== false) this.releaseConntrack(netns, where); // after the swap: no program reads it now
      const insns = FILTER_HOOK_NAMES.map((hook) => `${hook} ${plan.programs[hook].insns.length / 8}`).join(", ");
      this.log(
        `${where}: enforced: netfilter programs ${insns} insns; compiled in ${ms(started, planned)}, ` +
          `verified in ${ms(planned, loadedAt)}, swapped and pinned in ${ms(loadedAt, performance.now())}`,
      );
      const programs = FILTER_HOOK_NAMES.map((hook): ProgramListing => ({
        name: plan.programs[hook].name,
        id: programId(enforced.programs[hook]),
        chains: [hook],
        text: plan.programs[hook].text,
        ruleStarts: plan.programs[hook].ruleStarts,
      }));
      return replacedCounters === undefined ? { kind: "ok", programs } : { kind: "ok", replacedCounters, programs };
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === undefined) throw error;
      const message = `${where}: ${(error as Error).message}; the rules enforced before stay enforced`;
      this.log(message);
      return { kind: "error", errno, message };
    }
  }

  /** Sums over CPUs plus ADD_COUNTERS offsets; [] when nothing is enforced. Reads only: never compiles. */
  counters(netns: NetnsRef, tableName: string): readonly XtCounters[] {
    this.reap();
    const enforced = this.enforced(netns.cookie, tableName);
    return enforced === undefined ? [] : readRuleCounters(enforced.maps, enforced.entryCount);
  }

  /** Adds to the offsets of the enforced table's counters. */
  addCounters(netns: NetnsRef, tableName: string, add: readonly XtCounters[]): void {
    this.reap();
    const enforced = this.enforced(netns.cookie, tableName);
    if (enforced !== undefined) addToRuleCounters(enforced.maps, add);
  }

  /**
   * Detaches the netns's links, closes everything and removes the pins: netfilter enforces from then
   * on. Returns the table's final counters (by counterIndex), read once no packet is left in its
   * programs; [] when nothing was enforced.
   */
  release(netns: NetnsRef, tableName: string): readonly XtCounters[] {
    const enforced = this.enforced(netns.cookie, tableName);
    if (enforced === undefined) return [];
    const counters = this.drop(enforced);
    if (this.conntrackHeld.get(netns.cookie) !== false) this.releaseConntrack(netns, `netns ${netns.cookie}`);
    this.conntrackHeld.delete(netns.cookie);
    this.log(`netns ${netns.cookie}: table ${tableName}: released, no program is attached`);
    return counters;
  }

  /** The generation the table is enforced at (0 or 1), or undefined when nothing is enforced. */
  generation(cookie: bigint, tableName: string): number | undefined {
    return this.enforced(cookie, tableName)?.dispatch.generation();
  }

  /** The programs enforced for a table (for tests and the status CLI), or undefined when nothing is enforced. */
  enforcedPrograms(cookie: bigint, tableName: string): HookPrograms | undefined {
    return this.enforced(cookie, tableName)?.programs;
  }

  /** The kernel objects that enforce a table, with their ids as bpftool shows them; undefined when nothing is enforced. */
  describe(cookie: bigint, tableName: string): EnforcedObjects | undefined {
    const enforced = this.enforced(cookie, tableName);
    if (enforced === undefined) return undefined;
    const { dispatch } = enforced;
    const perHook = <T>(fn: (hook: FilterHook) => T) => Object.fromEntries(FILTER_HOOK_NAMES.map((hook) => [hook, fn(hook)])) as Record<FilterHook, T>;
    return {
      pinDirectory: enforced.pins.dir,
      generation: dispatch.generation(),
      dispatcher: { name: DISPATCHER_NAMES.program, id: programId(dispatch.dispatcher) },
      links: perHook((hook) => netfilterLinkInfo(dispatch.links.get(hook)!, `${hook} link`)),
      programs: perHook((hook) => ({ name: FILTER_HOOKS[hook].program, id: programId(enforced.programs[hook]) })),
      maps: {
        programs: mapSpecOf(dispatch.programs.fd).id,
        generation: mapSpecOf(dispatch.generationMap.fd).id,
        counters: mapSpecOf(enforced.maps.counters.fd).id,
        offsets: mapSpecOf(enforced.maps.offsets.fd).id,
      },
    };
  }


  /** Why loading `insns` instructions would end past the deadline, by the verifier's last rate; undefined if it fits or nothing says. */
  private verifyOutlasts(insns: number, deadline: Deadline | undefined): string | undefined {
    if (deadline === undefined || this.verifyMsPerInsn === undefined) return undefined;
    const predicted = insns * this.verifyMsPerInsn;
    if (performance.now() + predicted <= deadline.at) return undefined;
    return `verifying its ${insns} instructions would take about ${Math.round(predicted)} ms (the verifier's rate at the last load), past the deadline: ${deadline.why}`;
  }

  /** Plan: the three programs of `table`, or why the table stays with netfilter. */
  private plan(table: Table, deadline: Deadline | undefined): CompiledTable | Decline {
    let kernel: NetfilterContextLayout;
    try {
      kernel = this.kernelLayout();
    } catch (error) {
      return {
        declined: true,
        reason: `this kernel cannot run the filter table as BPF netfilter programs (Linux 6.4+ with CONFIG_NETFILTER_BPF_LINK and CONFIG_DEBUG_INFO_BTF): ${(error as Error).message}`,
      };
    }
    return this.compile(table, deadline === undefined ? { kernel } : { kernel, deadline });
  }

  /** Load: a fresh counters map and the three programs counting into it, verified; nothing is enforced yet. */
  private load(table: Table, plan: CompiledTable, hz: number | undefined): LoadedTable {
    const maps = createRuleCounterMaps(table);
    const programs: Partial<Record<FilterHook, BpfProgram>> = {};
    let buckets: BpfMap | undefined;
    try {
      buckets = createBucketMap(table, hz);
      for (const hook of FILTER_HOOK_NAMES) {
        const program = plan.programs[hook];
        programs[hook] = loadProgram({
          type: program.progType,
          name: program.name,
          insns: program.insns,
          mapRefs: program.mapRefs,
          kfuncRefs: program.kfuncRefs,
          maps: { counters: maps.counters, ...(buckets === undefined ? {} : { [LIMITS_MAP]: buckets }) },
        });
      }
    } catch (error) {
      closePrograms(programs);
      closeRuleCounterMaps(maps);
      throw error;
    } finally {
      buckets?.close(); // the programs hold it
    }
    return { entryCount: table.entryCount, maps, programs: programs as HookPrograms };
  }

  /**
   * Swap: the loaded programs become the enforced generation (the netns's links and dispatcher are
   * made at its first table). Before the flip, they are pinned under their staged names and `staged`
   * is told the generation; after it, the pins take their names. Then the old programs have no
   * packet left: their counters are read (as netfilter's xt_replace_table, then get_counters) and
   * they are dropped.
   */
  private swap(
    netns: NetnsRef,
    tableName: string,
    loaded: LoadedTable,
    staged: ((generation: number) => void) | undefined,
  ): { enforced: EnforcedTable; replacedCounters?: readonly XtCounters[] } {
    const current = this.enforced(netns.cookie, tableName);
    const pins = current?.pins ?? new TablePins(this.pinRoot, netns.cookie, tableName);
    let dispatch: Dispatch | undefined;
    let old: number;
    let target: number | undefined;
    try {
      dispatch = current?.dispatch ?? this.adoptOrCreate(netns, pins);
      target = dispatch.nextGeneration();
      this.stage(pins, loaded, target);
      staged?.(target);
      this.crash("staged");
      old = dispatch.install(loaded.programs);
    } catch (error) {
      if (target !== undefined) pins.dropStaged(target);
      closeLoaded(loaded);
      if (current === undefined) dispatch?.close(); // its pins keep it, for the next apply to adopt
      throw error;
    }
    this.crash("swapped");
    pins.promote(target);
    this.crash("promoted");
    const replacedCounters = current === undefined ? undefined : readRuleCounters(current.maps, current.entryCount);
    dispatch.clear(old); // also what a first apply that died left there
    if (current !== undefined) closeLoaded(current);
    const enforced = { ...loaded, pins, dispatch };
    this.tables.set(this.key(netns.cookie, tableName), enforced);
    return replacedCounters === undefined ? { enforced } : { enforced, replacedCounters };
  }

  /** Pins a loaded table's programs and counter maps under their staged names for `generation` (the counters last). */
  private stage(pins: TablePins, loaded: LoadedTable, generation: number): void {
    const fds: Record<string, number> = { offsets: loaded.maps.offsets.fd, counters: loaded.maps.counters.fd };
    for (const hook of FILTER_HOOK_NAMES) fds[HOOK_PIN[hook].program] = loaded.programs[hook].fd;
    for (const name of TABLE_PINS) pins.replace(fds[name]!, stagedPin(name, generation));
  }

  /** SIGKILLs the helper at `point` when the crash tests asked for it. */
  private crash(point: CrashPoint): void {
    if (this.crashAt === point) process.kill(process.pid, "SIGKILL");
  }

  /**
   * Finishes what a helper that died during a replace left in the pins: staged pins of the enforced
   * generation were swapped in (they take their names), those of the other one were not (removed).
   */
  private settle(pins: TablePins): void {
    const generation = Dispatch.pinnedGeneration(pins);
    const promoted = pins.promote(generation);
    const dropped = pins.dropStaged((generation + 1) % GENERATIONS);
    if (promoted || dropped) {
      this.log(`netns ${pins.cookie}: table ${pins.tableName}: a replace did not finish: ${promoted ? `its programs were swapped in (generation ${generation}), their pins now have their names` : `its programs were never swapped in, their pins are removed`}`);
    }
  }

  /**
   * The netns's links and dispatcher: the ones a helper that died during the first apply pinned
   * (before the counters, so the directory is not complete), or new ones, made in the netns.
   */
  private adoptOrCreate(netns: NetnsRef, pins: TablePins): Dispatch {
    pins.ensure();
    if (Dispatch.pinned(pins)) {
      this.log(`netns ${netns.cookie}: adopting the netfilter links pinned in ${pins.dir} by an apply that did not finish`);
      return Dispatch.open(pins);
    }
    const kernel = this.kernelLayout();
    return inCallerNetns(netns, () => Dispatch.create(pins, kernel, enteredNetns()), this.netnsPath);
  }

  private key(cookie: bigint, tableName: string): string {
    return `${cookie}/${tableName}`;
  }

  /** The enforced table, from memory or (a restarted helper) from its pins. */
  private enforced(cookie: bigint, tableName: string): EnforcedTable | undefined {
    const key = this.key(cookie, tableName);
    const known = this.tables.get(key);
    if (known !== undefined) return known;
    const pins = new TablePins(this.pinRoot, cookie, tableName);
    if (!Dispatch.pinned(pins)) return undefined;
    this.settle(pins);
    if (!pins.exists()) return undefined;
    const recovered = this.recover(pins);
    this.tables.set(key, recovered);
    this.log(`netns ${cookie}: table ${tableName}: taken over from the pins in ${pins.dir}`);
    return recovered;
  }

  private recover(pins: TablePins): EnforcedTable {
    const counters = openPinnedMap(pins.path(PIN.counters));
    const maps = { counters, offsets: openPinnedMap(pins.path(PIN.offsets)) };
    const programs = Object.fromEntries(
      FILTER_HOOK_NAMES.map((hook) => [hook, openPinnedProgram(pins.path(HOOK_PIN[hook].program), HOOK_PIN[hook].program)]),
    ) as HookPrograms;
    return { pins, entryCount: counters.spec.maxEntries, maps, programs, dispatch: Dispatch.open(pins) };
  }

  /** Detaches and forgets an enforced table, and removes its pins; returns its final counters. */
  private drop(enforced: EnforcedTable): readonly XtCounters[] {
    enforced.dispatch.detach();
    synchronizeRcu(); // the hooks are unregistered: wait for the packets still in the programs
    const counters = readRuleCounters(enforced.maps, enforced.entryCount);
    closeLoaded(enforced);
    enforced.pins.removeAll();
    this.tables.delete(this.key(enforced.pins.cookie, enforced.pins.tableName));
    return counters;
  }

  /** Releases the tables of netns that nothing but their links keeps alive (orphans.ts); never throws. */
  private reap(): void {
    try {
      for (const pins of reapOrphans(this.pinRoot, this.log)) {
        this.forget(pins);
        this.reaped?.(pins.cookie);
      }
    } catch (error) {
      this.log(`looking for netns that only the helper keeps alive: ${(error as Error).message}`);
    }
  }

  /** Gives the netns's conntrack reference back; a failure is logged (conntrack then stays on longer than netfilter's would). */
  private releaseConntrack(netns: NetnsRef, where: string): void {
    try {
      inCallerNetns(netns, () => this.conntrack.release(), this.netnsPath);
      this.conntrackHeld.set(netns.cookie, false);
    } catch (error) {
      this.log(`${where}: the netns's conntrack reference was not given back: ${(error as Error).message}`);
    }
  }

  /** Stops the periodic reaping (the pins, and so what is enforced, stay). */
  close(): void {
    if (this.reapTimer !== undefined) clearInterval(this.reapTimer);
  }

  /** Forgets a table whose pins were removed by someone else (the reaper), closing its fds. */
  private forget(pins: TablePins): void {
    const key = this.key(pins.cookie, pins.tableName);
    const known = this.tables.get(key);
    if (known === undefined) return;
    known.dispatch.close();
    closeLoaded(known);
    this.tables.delete(key);
    this.conntrackHeld.delete(pins.cookie);
  }
}
