/**
 * The netfilter links of one table in one netns and what they run: the dispatcher (codegen/
 * dispatcher.ts), its prog array (two generations of the three hooks' programs) and the generation
 * map. install() puts a table's programs in the generation that is not enforced, flips the generation
 * (one map write: every hook switches at once) and waits for an RCU grace period, after which no
 * packet is still in the old programs. Everything is pinned (TablePins), so that the links, and the
 * programs the prog array holds, outlive the helper: a prog array loses its programs when its last
 * user reference (fd or pin) goes.
 */
import {
  attachNetfilter,
  BpfError,
  createMap,
  loadProgram,
  NFPROTO_IPV4,
  openPinnedLink,
  openPinnedMap,
  openPinnedProgram,
  synchronizeRcu,
  type BpfLink,
  type BpfMap,
  u32Bytes,
  type BpfProgram,
} from "../bpf/index.ts";
import {
  buildDispatcher,
  dispatchSlot,
  DISPATCHER_NAMES,
  FILTER_HOOK_NAMES,
  GENERATION_MAP,
  GENERATION_VALUE,
  GENERATIONS,
  NF_HOOK_NUMBER,
  FILTER_LINK_PRIORITIES,
  PROGRAMS_MAP,
  SLOTS_PER_GENERATION,
  type FilterHook,
  type NetfilterContextLayout,
} from "../codegen/index.ts";
import type { EnforcedNetns } from "./orphans.ts";
import { HOOK_PIN, PIN, type TablePins } from "./pins.ts";

/** A table's three programs, by hook. */
export type HookPrograms = Readonly<Record<FilterHook, BpfProgram>>;

const EBUSY = 16;

/** A link for `hook` at the first free priority of FILTER_LINK_PRIORITIES (EBUSY: that one is taken). */
function attachAtFilterPriority(dispatcher: BpfProgram, hook: FilterHook): BpfLink {
  for (const priority of FILTER_LINK_PRIORITIES) {
    try {
      return attachNetfilter(dispatcher, { pf: NFPROTO_IPV4, hooknum: NF_HOOK_NUMBER[hook], priority });
    } catch (error) {
      if (!(error instanceof BpfError && error.errno === EBUSY)) throw error;
    }
  }
  throw new BpfError(
    `bpf_link_create(BPF_NETFILTER, ${hook})`,
    EBUSY,
    {},
    `every priority of ${FILTER_LINK_PRIORITIES.join(", ")} at that hook is taken by another hook of this netns`,
  );
}

/** The enforced generation in a generation map (0 or 1). */
function generationOf(map: BpfMap): number {
  const value = map.lookup(u32Bytes(0));
  if (value === undefined) throw new Error(`${DISPATCHER_NAMES.generation}: no entry 0`);
  return new DataView(value.buffer).getUint32(GENERATION_VALUE.GENERATION, true) % GENERATIONS;
}

/** The links, dispatcher and maps of one table in one netns; see the file comment. */
export class Dispatch {
  private constructor(
    private readonly pins: TablePins,
    readonly programs: BpfMap,
    readonly generationMap: BpfMap,
    readonly dispatcher: BpfProgram,
    readonly links: ReadonlyMap<FilterHook, BpfLink>,
  ) {}

  /**
   * Creates the maps and the dispatcher with both generations empty (every hook accepts, as with no
   * table), pins them, then attaches and pins one link per hook in the calling thread's netns. A
   * failure undoes what was made. `netns` (the netns's inodes) goes into the generation map, for reaping.
   */
  static create(pins: TablePins, layout: NetfilterContextLayout, netns: EnforcedNetns): Dispatch {
    const made: { close(): void }[] = [];
    const links = new Map<FilterHook, BpfLink>();
    try {
      const programs = createMap({
        type: "prog_array",
        name: DISPATCHER_NAMES.programs,
        keySize: 4,
        valueSize: 4,
        maxEntries: GENERATIONS * SLOTS_PER_GENERATION,
      });
      made.push(programs);
      const generationMap = createMap({ type: "array", name: DISPATCHER_NAMES.generation, keySize: 4, valueSize: GENERATION_VALUE.SIZE, maxEntries: 1 });
      made.push(generationMap);
      const value = new Uint8Array(GENERATION_VALUE.SIZE);
      new DataView(value.buffer).setBigUint64(GENERATION_VALUE.NETNS_INODE, netns.inode, true);
      new DataView(value.buffer).setBigUint64(GENERATION_VALUE.PROC_NET_DEV_INODE, netns.procNetDev, true);
      generationMap.update(u32Bytes(0), value);
      const dispatcherCode = buildDispatcher(layout);
      const dispatcher = loadProgram({
        type: "netfilter",
        name: DISPATCHER_NAMES.program,
        insns: dispatcherCode.insns,
        mapRefs: dispatcherCode.mapRefs,
        maps: { [PROGRAMS_MAP]: programs, [GENERATION_MAP]: generationMap },
      });
      made.push(dispatcher);
      pins.replace(programs.fd, PIN.programs);
      pins.replace(generationMap.fd, PIN.generation);
      pins.replace(dispatcher.fd, PIN.dispatcher);
      for (const hook of FILTER_HOOK_NAMES) {
        const link = attachAtFilterPriority(dispatcher, hook);
        links.set(hook, link);
        pins.replace(link.fd, HOOK_PIN[hook].link);
      }
      return new Dispatch(pins, programs, generationMap, dispatcher, links);
    } catch (error) {
      for (const link of links.values()) {
        link.detach();
        link.close();
      }
      for (const hook of FILTER_HOOK_NAMES) pins.remove(HOOK_PIN[hook].link);
      for (const name of [PIN.programs, PIN.generation, PIN.dispatcher]) pins.remove(name);
      for (const object of made.reverse()) object.close();
      throw error;
    }
  }

  /** Whether `pins` holds a complete dispatch (links, dispatcher and maps). */
  static pinned(pins: TablePins): boolean {
    return [PIN.programs, PIN.generation, PIN.dispatcher, ...FILTER_HOOK_NAMES.map((hook) => HOOK_PIN[hook].link)].every((name) => pins.has(name));
  }

  /** The enforced generation of a pinned dispatch (pinned() must hold), read without opening the rest. */
  static pinnedGeneration(pins: TablePins): number {
    const map = openPinnedMap(pins.path(PIN.generation));
    try {
      return generationOf(map);
    } finally {
      map.close();
    }
  }

  /** Opens a dispatch from its pins (a restarted helper). */
  static open(pins: TablePins): Dispatch {
    const links = new Map(FILTER_HOOK_NAMES.map((hook) => [hook, openPinnedLink(pins.path(HOOK_PIN[hook].link))] as const));
    return new Dispatch(
      pins,
      openPinnedMap(pins.path(PIN.programs)),
      openPinnedMap(pins.path(PIN.generation)),
      openPinnedProgram(pins.path(PIN.dispatcher), DISPATCHER_NAMES.program),
      links,
    );
  }

  /** The enforced generation (0 or 1). */
  generation(): number {
    return generationOf(this.generationMap);
  }

  /** The generation that install() puts the next table in. */
  nextGeneration(): number {
    return (this.generation() + 1) % GENERATIONS;
  }

  /**
   * Puts `next` in the generation that is not enforced, flips to it and waits until no packet is in
   * the programs of the old one. On a failure before the flip, nothing enforced changed. Returns the
   * old generation (clear() it once its counters are read).
   */
  install(next: HookPrograms): number {
    const old = this.generation();
    const target = this.nextGeneration();
    try {
      for (const hook of FILTER_HOOK_NAMES) this.programs.update(u32Bytes(dispatchSlot(target, hook)), u32Bytes(next[hook].fd));
    } catch (error) {
      this.clear(target);
      throw error;
    }
    const value = this.generationMap.lookup(u32Bytes(0))!;
    new DataView(value.buffer).setUint32(GENERATION_VALUE.GENERATION, target, true);
    this.generationMap.update(u32Bytes(0), value);
    synchronizeRcu();
    return old;
  }

  /** Empties the slots of `generation` (the prog array drops its programs). */
  clear(generation: number): void {
    for (const hook of FILTER_HOOK_NAMES) this.programs.delete(u32Bytes(dispatchSlot(generation, hook)));
  }

  /** Detaches the links (even though pinned), empties the prog array and closes every fd; the caller removes the pins. */
  detach(): void {
    for (const link of this.links.values()) link.detach();
    for (let generation = 0; generation < GENERATIONS; generation++) this.clear(generation);
    this.close();
  }

  /** Closes the fds (the pins keep everything). */
  close(): void {
    for (const link of this.links.values()) link.close();
    this.dispatcher.close();
    this.programs.close();
    this.generationMap.close();
  }

  /** The pins this dispatch lives in. */
  get pinDirectory(): string {
    return this.pins.dir;
  }
}
