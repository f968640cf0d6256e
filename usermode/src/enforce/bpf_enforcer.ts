/**
 * BpfEnforcer: the real enforcing side. apply() compiles a table (codegen/) into the XDP ingress
 * program (INPUT, FORWARD) and the TC egress program (OUTPUT), loads them with a fresh counters
 * map, and attaches them to every interface of the caller's netns, swapping atomically in place of
 * the programs enforced before. Everything is pinned under <pinRoot>/<netns cookie>/<table>/, so the
 * rules stay enforced when the helper dies and a restarted helper takes them over from the pins.
 *
 * Interfaces created after an apply get the programs at the next request for that netns (any
 * iptables command starts with GET_INFO/GET_ENTRIES): the table is applied again, with -i/-o
 * compiled against the interfaces of that moment, and its counters are carried over.
 */
import { constants } from "node:os";
import {
  BpfError,
  inNetns,
  interfaces,
  loadProgram,
  openPinnedLink,
  openPinnedMap,
  openPinnedProgram,
  type BpfLink,
  type BpfProgram,
} from "../bpf/index.ts";
import { compileProgram, type CompiledProgram } from "../codegen/index.ts";
import type { Table } from "../ir/types.ts";
import type { XtCounters } from "../ipt/counters.ts";
import type { Decision, Enforcer, NetnsRef } from "../table/enforcer.ts";
import { checkExtensions } from "../table/registry_check.ts";
import { attachPrograms, detachPrograms, type TablePrograms } from "./attach.ts";
import { PIN, PIN_ROOT, TablePins } from "./pins.ts";
import { reapStalePins } from "./stale_pins.ts";
import { linkSignature, netLinks, programInterfaces } from "./link_types.ts";
import { netnsCookie } from "./netns_cookie.ts";
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
  /** The compiler (default codegen's compileProgram); tests inject a broken one. */
  readonly compile?: typeof compileProgram;
  /** Path of the netns to enter for a request (default the request's NetnsRef.path; "" for a netns that is gone, which cannot be entered). */
  readonly netnsPath?: (netns: NetnsRef) => string;
  /** Where to log what is attached and released. */
  readonly log?: (line: string) => void;
}

/** What is enforced for one table in one netns. */
interface EnforcedTable {
  readonly pins: TablePins;
  readonly entryCount: number;
  readonly maps: RuleCounterMaps;
  readonly programs: TablePrograms;
  readonly links: Map<number, BpfLink>;
  /** The table as applied (absent when taken over from pins: a replace brings it back). */
  readonly table?: Table;
  /** The interfaces of the netns when it was attached (linkSignature), to see changes. */
  readonly interfaces?: string;
}

/** The XDP links pinned in a table's directory, by ifindex. */
function pinnedLinks(pins: TablePins): Map<number, BpfLink> {
  return new Map(pins.xdpLinkIfindexes().map((ifindex) => [ifindex, openPinnedLink(pins.path(pins.xdpLink(ifindex)))]));
}

const EINVAL = 22;
const EACCES = 13;

/**
 * Runs fn inside the netns of `netns` (entered by `path`), after checking that it is the netns the
 * request names (the path is the kernel's own descriptor of it, so a difference is a bug).
 * Throws a BpfError (EINVAL) naming both cookies when they differ.
 */
function inCallerNetns<T>(netns: NetnsRef, path: string, fn: () => T): T {
  return inNetns(path, () => {
    const entered = netnsCookie();
    if (entered !== netns.cookie) {
      throw new BpfError(`setns('${path}')`, EINVAL, {}, `that is netns cookie ${entered}, the request names netns cookie ${netns.cookie}`);
    }
    return fn();
  });
}

/** Program names, as `bpftool prog show` lists them. */
export const PROGRAM_NAME = { ingress: "bpfilter_in", egress: "bpfilter_out" } as const;

/** The positive errno of a BpfError or a Node system error; other errors are not expected here. */
function errnoOf(error: unknown): number | undefined {
  // The verifier's EACCES would read "Permission denied (you must be root)" in iptables: a table
  // whose program the verifier refuses is an invalid table, as netfilter would say.
  if (error instanceof BpfError && error.errno === EACCES && error.call.startsWith("bpf_prog_load")) return EINVAL;
  if (error instanceof BpfError) return error.errno;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const errno = code === undefined ? undefined : (constants.errno as Record<string, number>)[code];
  return errno;
}

/** Enforces tables with BPF programs; see the file comment. */
export class BpfEnforcer implements Enforcer {
  private readonly tables = new Map<string, EnforcedTable>();
  private readonly pinRoot: string;
  private readonly compile: typeof compileProgram;
  private readonly netnsPath: (netns: NetnsRef) => string;
  private readonly log: (line: string) => void;

  /** See BpfEnforcerOptions. Removes the pins of netns that died while no helper ran. */
  constructor(options: BpfEnforcerOptions = {}) {
    this.pinRoot = options.pinRoot ?? PIN_ROOT;
    this.compile = options.compile ?? compileProgram;
    this.netnsPath = options.netnsPath ?? ((netns) => netns.path ?? "");
    this.log = options.log ?? (() => {});
    reapStalePins(this.pinRoot, this.log);
  }

  /** Compiles, loads and attaches `table` in the caller's netns in place of what was enforced. */
  apply(netns: NetnsRef, table: Table): Decision {
    const extensions = checkExtensions(table);
    if (extensions.kind !== "ok") return extensions;
    const path = this.netnsPath(netns);
    const where = `netns ${netns.cookie}: table ${table.name}`;
    try {
      const all = inCallerNetns(netns, path, () => netLinks(interfaces()));
      const usable = programInterfaces(all);
      if ("declined" in usable) return { kind: "declined", reason: `netns ${netns.cookie}: ${usable.declined}` };
      const netifs = usable.attach;
      const ifindexByName = new Map(all.map((netif) => [netif.name, netif.ifindex]));
      const started = performance.now();
      const compiled: CompiledProgram[] = [];
      for (const hook of ["ingress", "egress"] as const) {
        const program = this.compile(table, hook, { ifindexByName });
        if (program.declined === true) return { kind: "declined", reason: program.reason };
        compiled.push(program);
      }
      const [ingress, egress] = compiled as [CompiledProgram, CompiledProgram];
      const current = this.enforced(netns.cookie, table.name);
      const pins = current?.pins ?? new TablePins(this.pinRoot, netns.cookie, table.name);
      pins.ensure();
      const compiledAt = performance.now();
      const maps = createRuleCounterMaps(table);
      let programs: TablePrograms;
      try {
        programs = this.load(maps, ingress, egress);
      } catch (error) {
        closeRuleCounterMaps(maps);
        throw error;
      }
      const loadedAt = performance.now();
      let links: Map<number, BpfLink>;
      try {
        const ifindexes = netifs.map((netif) => netif.ifindex);
        const existing = current?.links ?? pinnedLinks(pins); // pinned ones: left by a first apply that did not finish
        links = inCallerNetns(netns, path, () => attachPrograms(pins, existing, ifindexes, programs, current?.programs));
      } catch (error) {
        programs.ingress.close();
        programs.egress.close();
        closeRuleCounterMaps(maps);
        throw error;
      }
      // Read after the swap, as netfilter does (xt_replace_table, then get_counters): every packet
      // the old programs counted is in, and none the new ones count.
      const replacedCounters = current === undefined ? undefined : readRuleCounters(current.maps, current.entryCount);
      // The counters pin is the mark that the directory is complete (TablePins.exists): it goes last.
      // The new programs are attached by now: a pin that fails is logged, it does not undo the apply.
      try {
        pins.replace(maps.offsets.fd, PIN.offsets);
        pins.replace(programs.ingress.fd, PIN.ingress);
        pins.replace(programs.egress.fd, PIN.egress);
        pins.replace(maps.counters.fd, PIN.counters);
      } catch (error) {
        this.log(`${where}: enforced, but a restarted helper will not find its counters: ${(error as Error).message}`);
      }
      if (current !== undefined) this.close(current, false);
      const entry = { pins, entryCount: table.entryCount, maps, programs, links, table, interfaces: linkSignature(all) };
      this.tables.set(this.key(netns.cookie, table.name), entry);
      const ms = (from: number, to: number) => `${Math.round(to - from)} ms`;
      this.log(
        `${where}: enforced: ingress ${ingress.text.length} insns (XDP), egress ${egress.text.length} insns (TC) ` +
          `on ${netifs.map((netif) => netif.name).join(", ")}; compiled in ${ms(started, compiledAt)}, ` +
          `verified in ${ms(compiledAt, loadedAt)}, attached and pinned in ${ms(loadedAt, performance.now())}`,
      );
      return replacedCounters === undefined ? { kind: "ok" } : { kind: "ok", replacedCounters };
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === undefined) throw error;
      const message = `${where}: ${(error as Error).message}; the rules enforced before stay enforced`;
      this.log(message);
      return { kind: "error", errno, message };
    }
  }

  /** Sums over CPUs plus ADD_COUNTERS offsets; [] when nothing is enforced. */
  counters(netns: NetnsRef, tableName: string): readonly XtCounters[] {
    const enforced = this.refreshed(netns, tableName);
    return enforced === undefined ? [] : readRuleCounters(enforced.maps, enforced.entryCount);
  }

  /** Adds to the offsets of the enforced table's counters. */
  addCounters(netns: NetnsRef, tableName: string, add: readonly XtCounters[]): void {
    const enforced = this.refreshed(netns, tableName);
    if (enforced !== undefined) addToRuleCounters(enforced.maps, add);
  }

  /**
   * The enforced table, first brought up to date with the netns's interfaces: when interfaces came
   * or went since the last apply, the table is applied again (recompiled for -i/-o, attached to the
   * new interfaces) and its counters carried over; a table taken over from pins, whose rules the
   * enforcer does not know, gets its current programs attached to the new interfaces.
   */
  private refreshed(netns: NetnsRef, tableName: string): EnforcedTable | undefined {
    const enforced = this.enforced(netns.cookie, tableName);
    if (enforced === undefined) return undefined;
    const path = this.netnsPath(netns);
    try {
      const all = inCallerNetns(netns, path, () => netLinks(interfaces()));
      const now = linkSignature(all);
      if (enforced.interfaces === now) return enforced;
      if (enforced.table === undefined) {
        const usable = programInterfaces(all);
        if ("declined" in usable) throw new Error(`programs not attached to the new interfaces: ${usable.declined}`);
        const ifindexes = usable.attach.map((netif) => netif.ifindex);
        if (ifindexes.length === enforced.links.size && ifindexes.every((ifindex) => enforced.links.has(ifindex))) return enforced;
        const links = inCallerNetns(netns, path, () => attachPrograms(enforced.pins, enforced.links, ifindexes, enforced.programs, enforced.programs));
        const updated = { ...enforced, links, interfaces: now };
        this.tables.set(this.key(netns.cookie, tableName), updated);
        return updated;
      }
      const decision = this.apply(netns, enforced.table);
      if (decision.kind !== "ok") {
        this.log(`netns ${netns.cookie}: table ${tableName}: interfaces changed (${now}), the table was not applied again: ${decision.kind === "declined" ? decision.reason : decision.message}`);
        return enforced;
      }
      const reapplied = this.enforced(netns.cookie, tableName)!;
      if (decision.replacedCounters !== undefined) addToRuleCounters(reapplied.maps, decision.replacedCounters);
      return reapplied;
    } catch (error) {
      this.log(`netns ${netns.cookie}: table ${tableName}: interfaces not checked: ${(error as Error).message}`);
      return this.enforced(netns.cookie, tableName);
    }
  }

  /** Detaches the programs from every interface of the netns, closes everything and removes the pins. */
  release(netns: NetnsRef, tableName: string): void {
    const enforced = this.enforced(netns.cookie, tableName);
    if (enforced === undefined) return;
    try {
      inCallerNetns(netns, this.netnsPath(netns), () => detachPrograms(enforced.pins, enforced.links));
    } catch (error) {
      // The netns cannot be entered (its last process is gone): the XDP links still detach by fd.
      this.log(`netns ${netns.cookie}: table ${tableName}: release outside the netns: ${(error as Error).message}`);
      detachPrograms(enforced.pins, enforced.links);
    }
    this.close(enforced, true);
    this.tables.delete(this.key(netns.cookie, tableName));
    this.log(`netns ${netns.cookie}: table ${tableName}: released, no program is attached`);
  }

  /** The programs enforced for a table (for tests and logs), or undefined when nothing is enforced. */
  enforcedPrograms(cookie: bigint, tableName: string): TablePrograms | undefined {
    return this.enforced(cookie, tableName)?.programs;
  }

  private key(cookie: bigint, tableName: string): string {
    return `${cookie}/${tableName}`;
  }

  private load(maps: RuleCounterMaps, ingress: CompiledProgram, egress: CompiledProgram): TablePrograms {
    const load = (program: CompiledProgram, name: string): BpfProgram =>
      loadProgram({ type: program.progType, name, insns: program.insns, mapRefs: program.mapRefs, maps: { counters: maps.counters } });
    const loadedIngress = load(ingress, PROGRAM_NAME.ingress);
    try {
      return { ingress: loadedIngress, egress: load(egress, PROGRAM_NAME.egress) };
    } catch (error) {
      loadedIngress.close();
      throw error;
    }
  }

  /** The enforced table, from memory or (a restarted helper) from its pins. */
  private enforced(cookie: bigint, tableName: string): EnforcedTable | undefined {
    const key = this.key(cookie, tableName);
    const known = this.tables.get(key);
    if (known !== undefined) return known;
    const pins = new TablePins(this.pinRoot, cookie, tableName);
    if (!pins.exists()) return undefined;
    const recovered = this.recover(pins);
    this.tables.set(key, recovered);
    this.log(`netns ${cookie}: table ${tableName}: taken over from the pins in ${pins.dir} (${recovered.links.size} interfaces)`);
    return recovered;
  }

  private recover(pins: TablePins): EnforcedTable {
    const counters = openPinnedMap(pins.path(PIN.counters));
    const maps = { counters, offsets: openPinnedMap(pins.path(PIN.offsets)) };
    const programs = {
      ingress: openPinnedProgram(pins.path(PIN.ingress), PROGRAM_NAME.ingress),
      egress: openPinnedProgram(pins.path(PIN.egress), PROGRAM_NAME.egress),
    };
    return { pins, entryCount: counters.spec.maxEntries, maps, programs, links: pinnedLinks(pins) };
  }

  private close(enforced: EnforcedTable, withPins: boolean): void {
    enforced.programs.ingress.close();
    enforced.programs.egress.close();
    closeRuleCounterMaps(enforced.maps);
    if (withPins) enforced.pins.removeAll();
  }
}
