/**
 * The helper's footprint: cold start (spawn to the first answered request: `iptables-legacy -S`
 * through the shim, which includes that command's own run time, measured natively beside it), and
 * its RSS and peak RSS with one table of changeSize rules loaded. A fresh helper every round.
 */
import type { BenchConfig } from "./config.ts";
import { Helper } from "./helper.ts";
import { iptablesRestore } from "./render.ts";
import { buildRuleset } from "./rulesets.ts";
import { lastLines, runBounded } from "./run.ts";
import { createTopology, destroyTopology } from "./topology.ts";

/** One round. */
export interface HelperRound {
  /** Spawn until the helper printed that it listens. */
  readonly listenMs?: number;
  /** Spawn until the first iptables command through the shim returned. */
  readonly firstAnswerMs?: number;
  /** The same iptables-legacy -S, natively (what the command itself costs). */
  readonly nativeCommandMs?: number;
  readonly idleRssKiB?: number;
  readonly rssKiB?: number;
  readonly peakKiB?: number;
  readonly error?: string;
}

/** Runs the section. */
export async function measureHelper(config: BenchConfig, progress: (line: string) => void): Promise<{ rounds: HelperRound[]; tableSize: number }> {
  const rounds: HelperRound[] = [];
  const ruleset = buildRuleset("blocklist", config.changeSize);
  for (let round = 0; round < config.rounds; round++) {
    const helper = new Helper();
    const topology = createTopology("h");
    try {
      const exec = (env: Record<string, string>, argv: string[], stdin?: string) =>
        runBounded(["ip", "netns", "exec", topology.receiver, "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv], {
          limitSeconds: config.limitSeconds,
          ...(stdin === undefined ? {} : { stdin }),
        });
      const native = await exec({}, ["iptables-legacy", "-S"]);
      const start = performance.now();
      await helper.start();
      const first = await exec(helper.shimEnv(), ["iptables-legacy", "-S"]);
      const firstAnswerMs = performance.now() - start;
      if (first.code !== 0) throw new Error(`iptables-legacy -S through the shim: ${lastLines(first.stderr)}`);
      const idle = helper.memory();
      const load = await exec(helper.shimEnv(), ["iptables-legacy-restore"], iptablesRestore(ruleset));
      if (load.code !== 0 || load.timedOutAfter !== undefined) {
        throw new Error(`restore of ${config.changeSize} rules: ${load.timedOutAfter ? `timed out after ${load.timedOutAfter} s` : lastLines(load.stderr)}`);
      }
      const loaded = helper.memory();
      const entry = { listenMs: helper.listenMs, firstAnswerMs, nativeCommandMs: native.ms, idleRssKiB: idle.rssKiB, rssKiB: loaded.rssKiB, peakKiB: loaded.peakKiB };
      rounds.push(entry);
      progress(`helper round ${round + 1}: first answer ${firstAnswerMs.toFixed(0)} ms, RSS ${(loaded.rssKiB / 1024).toFixed(0)} MiB with ${config.changeSize} rules (peak ${(loaded.peakKiB / 1024).toFixed(0)} MiB)`);
    } catch (error) {
      rounds.push({ error: (error as Error).message });
      progress(`helper round ${round + 1}: ${(error as Error).message}`);
    } finally {
      destroyTopology(topology);
      await helper.close();
    }
  }
  return { rounds, tableSize: config.changeSize };
}
