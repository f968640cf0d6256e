// Loads compiled programs into the real verifier and runs packets through BPF_PROG_TEST_RUN at their
// netfilter hook, reading back the per-CPU counters the run touched. A test run's skb is built from
// the data: an IPv4 packet at LOCAL_OUT, an Ethernet frame at the other hooks (the kernel pulls the
// Ethernet header); its length is what the counters count. Its devices are not the hook's: the
// kernel sets state->out to the netns's loopback and state->in to NULL whatever the hook (see
// test/enforce for interface matching on real packets).
import { compileHook, countersMapSpec, FILTER_HOOKS, NF_VERDICT, type CompiledProgram, type FilterHook } from "../../src/codegen/index.ts";
import { createMap, inNetns, loadProgram, netfilterContextLayout, netfilterTestContext, testRun, type BpfMap, type BpfProgram } from "../../src/bpf/index.ts";
import type { Table } from "../../src/ir/types.ts";

/** The verdict a program returned, in iptables words. */
export type Outcome = "accept" | "drop";

/** Counter slot → [packets, bytes], only the slots that are not zero. */
export type CounterHits = Record<string, [number, number]>;

/** A compiled program loaded with its own counters map. */
export interface LoadedHook {
  readonly program: CompiledProgram;
  /** Runs one Ethernet frame at the program's hook (in the netns at netnsPath when given) and returns the verdict. */
  run(frame: Uint8Array, netnsPath?: string): Outcome;
  /** Nonzero counters, by slot name (see counterNames), then zeroes them. */
  takeCounters(): CounterHits;
  close(): void;
}

/** Names of counter slots: "INPUT#2" is rule 2 of INPUT, "INPUT:policy" its policy. */
export function counterNames(table: Table): Map<number, string> {
  const names = new Map<number, string>();
  for (const chain of table.chains) {
    chain.rules.forEach((rule, i) => names.set(rule.counterIndex, `${chain.name}#${i + 1}`));
    if (chain.policyCounterIndex !== undefined) names.set(chain.policyCounterIndex, `${chain.name}:policy`);
  }
  return names;
}

/** The data a test run at `hook` takes for an Ethernet frame (LOCAL_OUT: the IPv4 packet behind the header). */
export function testRunData(hook: FilterHook, frame: Uint8Array): Uint8Array {
  return hook === "OUTPUT" ? frame.subarray(14) : frame;
}

/** The bytes a test run's skb holds for a frame (what its counters count). */
export function skbLength(frame: Uint8Array): number {
  return frame.length - 14;
}

/** Compiles and loads the program of a hook; throws with the decline reason if it was declined. */
export function loadHook(table: Table, hook: FilterHook, mode?: "fast" | "guarded" | "compact"): LoadedHook {
  const compiled = compileHook(table, hook, { kernel: netfilterContextLayout(), ...(mode === undefined ? {} : { mode }) });
  if (compiled.declined === true) throw new Error(`declined: ${compiled.reason}`);
  const program = compiled;
  const counters: BpfMap = createMap(countersMapSpec(table));
  let prog: BpfProgram;
  try {
    prog = loadProgram({ type: program.progType, name: program.name, insns: program.insns, mapRefs: program.mapRefs, kfuncRefs: program.kfuncRefs, maps: { counters } });
  } catch (e) {
    counters.close();
    throw e;
  }
  const names = counterNames(table);
  const ctx = netfilterTestContext(FILTER_HOOKS[hook].number);
  const outcomeOf = (retval: number): Outcome => {
    if (retval === NF_VERDICT.ACCEPT) return "accept";
    if (retval === NF_VERDICT.DROP) return "drop";
    throw new Error(`${hook} program returned ${retval}, neither NF_ACCEPT nor NF_DROP`);
  };
  return {
    program,
    run(frame, netnsPath) {
      const data = testRunData(hook, frame);
      const retval = netnsPath === undefined ? testRun(prog, data, { ctx }).retval : inNetns(netnsPath, () => testRun(prog, data, { ctx }).retval);
      return outcomeOf(retval);
    },
    takeCounters() {
      const hits: CounterHits = {};
      for (let slot = 0; slot < table.entryCount; slot++) {
        const key = new Uint8Array(new Uint32Array([slot]).buffer);
        const perCpu = counters.lookupPerCpu(key);
        let packets = 0n;
        let bytes = 0n;
        for (const value of perCpu) {
          const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
          packets += view.getBigUint64(0, true);
          bytes += view.getBigUint64(8, true);
        }
        if (packets !== 0n || bytes !== 0n) {
          hits[names.get(slot) ?? `slot ${slot}`] = [Number(packets), Number(bytes)];
          counters.updatePerCpu(key, perCpu.map((v) => new Uint8Array(v.length)));
        }
      }
      return hits;
    },
    close() {
      prog.close();
      counters.close();
    },
  };
}

/** Why host BPF tests cannot run here, or undefined when they can. */
export function hostBpfUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "host BPF tests need root (BPF_PROG_LOAD, BPF_PROG_TEST_RUN)";
  return undefined;
}
