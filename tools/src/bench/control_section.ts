/**
 * The control path: restore time of a blocklist table of 1k/10k/100k rules (with fail2ban's chain),
 * through bpfilter, natively and with nft -f; then, on the table of changeSize rules, one -A, one
 * -I 1, one -D and a fail2ban ban (-I f2b-sshd 1 -s X -j REJECT), each timed as the command's wall
 * clock, through bpfilter and natively. Every round uses fresh netns, systems interleaved.
 */
import type { BenchConfig } from "./config.ts";
import type { Helper } from "./helper.ts";
import { F2B_CHAIN, iptablesRestore, nftSets } from "./render.ts";
import { buildRuleset } from "./rulesets.ts";
import { lastLines, runBounded, type Outcome } from "./run.ts";
import { enforcerOf } from "./systems.ts";
import { createTopology, destroyTopology, type Topology } from "./topology.ts";

export const CONTROL_SYSTEMS = ["bpfilter", "iptables", "nft"] as const;
export type ControlSystem = (typeof CONTROL_SYSTEMS)[number];

/** One timed command. */
export interface Timed {
  readonly ms?: number;
  readonly error?: string;
  /** bpfilter only: who enforces the table after the command. */
  readonly enforcedBy?: string;
}

/** The single-rule changes, in the order they run (each undone before the next round's table). */
export const CHANGES = {
  append: ["-A", "INPUT", "-s", "203.0.113.1/32", "-j", "DROP"],
  insert: ["-I", "INPUT", "1", "-s", "203.0.113.2/32", "-j", "DROP"],
  delete: ["-D", "INPUT", "-s", "203.0.113.1/32", "-j", "DROP"],
  ban: ["-I", F2B_CHAIN, "1", "-s", "203.0.113.3/32", "-j", "REJECT", "--reject-with", "icmp-port-unreachable"],
} as const;
export type Change = keyof typeof CHANGES;

/** Per system, per size (restore) or change: one entry per round. */
export interface ControlResult {
  readonly restore: Record<ControlSystem, Record<number, Timed[]>>;
  readonly changes: Record<"bpfilter" | "iptables", Record<Change, Timed[]>>;
  readonly changeSize: number;
}

function timed(outcome: Outcome): Timed {
  if (outcome.timedOutAfter !== undefined) return { error: `timed out after ${outcome.timedOutAfter} s` };
  if (outcome.code !== 0) return { error: `exit ${outcome.code}: ${lastLines(outcome.stderr)}` };
  return { ms: outcome.ms };
}

/** Runs the section. */
export async function measureControl(config: BenchConfig, helper: Helper, progress: (line: string) => void): Promise<ControlResult> {
  const restore = Object.fromEntries(CONTROL_SYSTEMS.map((s) => [s, Object.fromEntries(config.controlSizes.map((n) => [n, [] as Timed[]]))])) as ControlResult["restore"];
  const noChanges = (): Record<Change, Timed[]> => ({ append: [], insert: [], delete: [], ban: [] });
  const changes: ControlResult["changes"] = { bpfilter: noChanges(), iptables: noChanges() };
  const sizes = [...new Set([...config.controlSizes, config.changeSize])].sort((a, b) => a - b);
  for (let round = 0; round < config.rounds; round++) {
    const order = round % 2 === 0 ? CONTROL_SYSTEMS : [...CONTROL_SYSTEMS].reverse();
    for (const size of sizes) {
      const ruleset = buildRuleset("blocklist", size);
      for (const system of order) {
        const topology = createTopology("c");
        try {
          const env = system === "bpfilter" ? helper.shimEnv() : {};
          const argv = system === "nft" ? ["nft", "-f", "-"] : ["iptables-legacy-restore"];
          const stdin = system === "nft" ? nftSets(ruleset) : iptablesRestore(ruleset, { fail2ban: true });
          const outcome = await runBounded(inNetns(topology, argv, env), { stdin, limitSeconds: config.limitSeconds });
          const result = timed(outcome);
          if (outcome.timedOutAfter !== undefined && system === "bpfilter") await helper.restart();
          const withEnforcer = system === "bpfilter" && result.ms !== undefined ? { ...result, enforcedBy: enforcerOf(topology) } : result;
          if (config.controlSizes.includes(size)) restore[system][size]!.push(withEnforcer);
          progress(`control round ${round + 1}: ${system} restore ${size}: ${describe(withEnforcer)}`);
          if (size === config.changeSize && system !== "nft" && result.ms !== undefined) {
            for (const [change, args] of Object.entries(CHANGES) as [Change, readonly string[]][]) {
              const changed = await runBounded(inNetns(topology, ["iptables-legacy", ...args], env), { limitSeconds: config.limitSeconds });
              const t = timed(changed);
              if (changed.timedOutAfter !== undefined && system === "bpfilter") await helper.restart();
              const entry = system === "bpfilter" && t.ms !== undefined ? { ...t, enforcedBy: enforcerOf(topology) } : t;
              changes[system][change].push(entry);
              progress(`control round ${round + 1}: ${system} ${args.join(" ")} on ${size}: ${describe(entry)}`);
            }
          }
        } finally {
          destroyTopology(topology);
        }
      }
    }
  }
  return { restore, changes, changeSize: config.changeSize };
}

function inNetns(topology: Topology, argv: readonly string[], env: Record<string, string>): string[] {
  return ["ip", "netns", "exec", topology.receiver, "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv];
}

function describe(t: Timed): string {
  return t.ms !== undefined ? `${(t.ms / 1000).toFixed(3)} s${t.enforcedBy ? ` (${t.enforcedBy})` : ""}` : t.error!;
}
