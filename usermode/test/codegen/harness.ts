// Loads compiled programs into the real verifier and runs packets through BPF_PROG_TEST_RUN,
// reading back the per-CPU counters the run touched.
import { compileHook, countersMapSpec, XDP_ACTION, TC_ACTION, type CompiledProgram } from "../../src/codegen/index.ts";
import { createMap, inNetns, loadProgram, testRun, type BpfMap, type BpfProgram } from "../../src/bpf/index.ts";
import type { Table } from "../../src/ir/types.ts";
import koffi from "koffi";
import { bpf_test_run_opts } from "../../src/bpf/abi.ts";
import { bpf_prog_test_run_opts } from "../../src/bpf/libbpf.ts";

/** The verdict a program returned, in iptables words. */
export type Outcome = "accept" | "drop";

/** Counter slot → [packets, bytes], only the slots that are not zero. */
export type CounterHits = Record<string, [number, number]>;

/** A compiled program loaded with its own counters map. */
export interface LoadedHook {
  readonly program: CompiledProgram;
  /** Runs one frame (in the netns at netnsPath when given) and returns the verdict. */
  run(frame: Uint8Array, netnsPath?: string): Outcome;
  /** Runs one frame with a context (struct __sk_buff or xdp_md bytes) passed as ctx_in, in netnsPath if given. */
  runWithContext(frame: Uint8Array, ctx: Uint8Array, netnsPath?: string): Outcome;
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

/** Compiles and loads the program of a hook; throws with the decline reason if it was declined. */
export function loadHook(
  table: Table,
  hook: "INPUT" | "FORWARD" | "OUTPUT",
  ifindexByName?: ReadonlyMap<string, number>,
  mode?: "fast" | "guarded" | "compact",
): LoadedHook {
  const compiled = compileHook(table, hook, { ...(ifindexByName === undefined ? {} : { ifindexByName }), ...(mode === undefined ? {} : { mode }) });
  if (compiled.declined === true) throw new Error(`declined: ${compiled.reason}`);
  const program = compiled;
  const counters: BpfMap = createMap(countersMapSpec(table));
  let prog: BpfProgram;
  try {
    prog = loadProgram({ type: program.progType, name: `cg_${hook.toLowerCase()}`, insns: program.insns, mapRefs: program.mapRefs, maps: { counters } });
  } catch (e) {
    counters.close();
    throw e;
  }
  const names = counterNames(table);
  const accept = program.progType === "xdp" ? XDP_ACTION.PASS : TC_ACTION.OK;
  const drop = program.progType === "xdp" ? XDP_ACTION.DROP : TC_ACTION.SHOT;
  const outcomeOf = (retval: number): Outcome => {
    if (retval === accept) return "accept";
    if (retval === drop) return "drop";
    throw new Error(`${hook} program returned ${retval}, neither accept (${accept}) nor drop (${drop})`);
  };
  return {
    program,
    run(frame, netnsPath) {
      const retval = netnsPath === undefined ? testRun(prog, frame).retval : inNetns(netnsPath, () => testRun(prog, frame).retval);
      return outcomeOf(retval);
    },
    runWithContext(frame, ctx, netnsPath) {
      // bpf/ testRun takes no context yet: call libbpf directly (ctx_in is copied into the skb/xdp_buff).
      const out = new Uint8Array(frame.length + 256);
      const opts = {
        sz: koffi.sizeof(bpf_test_run_opts),
        data_in: frame,
        data_size_in: frame.length,
        data_out: out,
        data_size_out: out.length,
        ctx_in: ctx,
        ctx_size_in: ctx.length,
        repeat: 1,
        retval: 0,
      };
      const call = (): number => bpf_prog_test_run_opts(prog.fd, opts);
      const rc = netnsPath === undefined ? call() : inNetns(netnsPath, call);
      if (rc !== 0) throw new Error(`bpf_prog_test_run_opts with a ${ctx.length}-byte context: ${rc}`);
      return outcomeOf(opts.retval);
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
