/**
 * The packets/s section (and, on the same loaded tables, the BPF_PROG_TEST_RUN figures): for each
 * shape and size, every system gets its own sender/receiver pair and loads the ruleset once; then in
 * every round each system is measured in turn (the order rotates from round to round), with the late
 * probe (matches only the last rule) and the never probe (matches no rule), and the ceiling pair (no
 * rules, INPUT policy DROP, iptables-legacy) once. After the rounds, the programs bpfilter pinned for
 * that table are test-run.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { BenchConfig } from "./config.ts";
import type { Helper } from "./helper.ts";
import { buildRuleset, type Shape } from "./rulesets.ts";
import { makeSystems, SYSTEM_IDS, type LoadResult, type SystemId } from "./systems.ts";
import { inputPrograms, pinnedPrograms, testRun, type PinnedProgram, type TestRunSample } from "./test_run.ts";
import { createTopology, destroyTopology, type Topology } from "./topology.ts";
import { measureRate, probeFrame, type RateSample } from "./veth_rate.ts";

export const PROBES = ["late", "never"] as const;
export type ProbeName = (typeof PROBES)[number];
export const TEST_RUN_PROBES = ["early", "late", "never"] as const;
export type TestRunProbe = (typeof TEST_RUN_PROBES)[number];

/** The test-run figures of one case: per probe, per round, one sample per input program. */
export interface TestRunResult {
  readonly programs: readonly PinnedProgram[];
  readonly samples: Readonly<Record<TestRunProbe, TestRunSample[][]>>;
  readonly error?: string;
}

/** One shape at one size. */
export interface PpsCase {
  readonly shape: Shape;
  readonly size: number;
  readonly loads: Partial<Record<SystemId, LoadResult>>;
  /** Per system (and "ceiling"), per probe, one sample per round. */
  readonly rates: Record<string, Partial<Record<ProbeName, RateSample[]>>>;
  testRun?: TestRunResult;
  /** Set when the case broke before it was measured. */
  readonly error?: string;
}

const LABELS: Readonly<Record<SystemId, string>> = { bpfilter: "b", iptables: "i", "nft-linear": "l", "nft-sets": "s" };

function cookieDirs(pinRoot: string): Set<string> {
  return new Set(existsSync(pinRoot) ? readdirSync(pinRoot) : []);
}

/** Measures one case; `progress` gets a line per step. */
export async function measureCase(
  config: BenchConfig,
  helper: Helper,
  ceiling: Topology,
  shape: Shape,
  size: number,
  progress: (line: string) => void,
): Promise<PpsCase> {
  const ruleset = buildRuleset(shape, size);
  const systems = makeSystems(helper);
  const topologies = new Map<SystemId, Topology>();
  const result: PpsCase = { shape, size, loads: {}, rates: { ceiling: { late: [] } } };
  let bpfilterDir: string | undefined;
  try {
    for (const id of SYSTEM_IDS) {
      const topology = createTopology(LABELS[id]);
      topologies.set(id, topology);
      const before = id === "bpfilter" ? cookieDirs(helper.pinRoot) : undefined;
      const load = await systems[id].load(topology, ruleset, config.limitSeconds);
      result.loads[id] = load;
      if (!load.ok && id === "bpfilter" && load.error?.startsWith("timed out")) await helper.restart();
      progress(`${shape} ${size}: ${id} loaded in ${(load.ms / 1000).toFixed(2)} s${load.ok ? ` (${load.enforcedBy})` : `: ${load.error}`}`);
      if (before) {
        const fresh = [...cookieDirs(helper.pinRoot)].filter((dir) => !before.has(dir));
        if (fresh.length === 1) bpfilterDir = join(helper.pinRoot, fresh[0]!);
      }
      result.rates[id] = { late: [], never: [] };
    }
    for (let round = 0; round < config.rounds; round++) {
      const order = [...SYSTEM_IDS.slice(round % SYSTEM_IDS.length), ...SYSTEM_IDS.slice(0, round % SYSTEM_IDS.length)];
      const readCeiling = () => systems.iptables.counters(ceiling, config.limitSeconds);
      result.rates.ceiling!.late!.push(await measureRate(ceiling, ruleset.late, "miss", readCeiling, config.seconds, config.cpu));
      for (const id of order) {
        const topology = topologies.get(id)!;
        const loaded = result.loads[id]?.ok === true;
        for (const probe of PROBES) {
          const counter = probe === "late" ? "last" : "miss";
          const sample: RateSample = loaded
            ? await measureRate(topology, ruleset[probe], counter, () => systems[id].counters(topology, config.limitSeconds), config.seconds, config.cpu)
            : { sent: 0, received: 0, refused: 0, error: `not loaded: ${result.loads[id]?.error}` };
          result.rates[id]![probe]!.push(sample);
        }
      }
      progress(`${shape} ${size}: round ${round + 1}/${config.rounds}: ${ratesLine(result, round)}`);
    }
    const bpfilter = result.loads.bpfilter;
    if (bpfilter?.ok && bpfilter.enforcedBy.startsWith("netfilter")) {
      result.testRun = { programs: [], samples: { early: [], late: [], never: [] }, error: "bpfilter handed the table to netfilter: no program of its own to run" };
    } else if (bpfilter?.ok) {
      result.testRun = await testRunCase(config, topologies.get("bpfilter")!, bpfilterDir, ruleset);
    }
  } finally {
    for (const topology of topologies.values()) destroyTopology(topology);
  }
  return result;
}

function ratesLine(result: PpsCase, round: number): string {
  return Object.entries(result.rates)
    .map(([id, probes]) => {
      const sample = probes.late?.[round];
      return `${id} ${sample?.pps !== undefined ? Math.round(sample.pps) : sample?.error ?? "-"}`;
    })
    .join(", ");
}

async function testRunCase(config: BenchConfig, topology: Topology, dir: string | undefined, ruleset: ReturnType<typeof buildRuleset>): Promise<TestRunResult> {
  const samples: Record<TestRunProbe, TestRunSample[][]> = { early: [], late: [], never: [] };
  if (dir === undefined) return { programs: [], samples, error: "no new pin directory under the helper's pin root after the load" };
  const programs = inputPrograms(pinnedPrograms(dir));
  if (programs.length === 0) return { programs, samples, error: `no XDP or netfilter program pinned under ${dir}` };
  try {
    for (let round = 0; round < config.rounds; round++) {
      for (const probe of TEST_RUN_PROBES) {
        const frame = probeFrame(topology, ruleset[probe]);
        const perProgram: TestRunSample[] = [];
        for (const program of programs) perProgram.push(await testRun(topology.receiver, program, frame, config.limitSeconds));
        samples[probe].push(perProgram);
      }
    }
    return { programs, samples };
  } catch (error) {
    return { programs, samples, error: (error as Error).message };
  }
}
