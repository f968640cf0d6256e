/**
 * The systems the bench compares, each loading the same ruleset into its receiver netns and reading
 * its counters back the way a user would: bpfilter (iptables-legacy-restore under the preload shim,
 * talking to the helper), iptables-legacy natively, nftables one rule per rule, nftables with sets.
 * A table that bpfilter hands to netfilter is reported as such ("netfilter (handed over)").
 */
import { execFileSync } from "node:child_process";
import { type ChainCounters, parseIptablesListing, parseNftCounters } from "./counters.ts";
import type { Helper } from "./helper.ts";
import { iptablesRestore, nftLinear, nftSets, NFT_TABLE } from "./render.ts";
import type { Ruleset } from "./rulesets.ts";
import { lastLines, runBounded, type Outcome } from "./run.ts";
import type { Topology } from "./topology.ts";

export const SYSTEM_IDS = ["bpfilter", "iptables", "nft-linear", "nft-sets"] as const;
export type SystemId = (typeof SYSTEM_IDS)[number];

export const SYSTEM_TITLES: Readonly<Record<SystemId, string>> = {
  bpfilter: "bpfilter",
  iptables: "iptables-legacy",
  "nft-linear": "nftables linear",
  "nft-sets": "nftables sets",
};

/** How a load went. */
export interface LoadResult {
  readonly ok: boolean;
  readonly ms: number;
  /** Why it failed ("timed out after 300 s", the command's last stderr lines). */
  readonly error?: string;
  /** What enforces the rules: "bpfilter xdp", "netfilter (handed over)", "netfilter", "nftables". */
  readonly enforcedBy: string;
  /** bpfilter: the helper's last log lines during a load it handed over or failed (its reason). */
  readonly helperSaid?: string;
}

/** One system. */
export interface System {
  readonly id: SystemId;
  load(topology: Topology, ruleset: Ruleset, limitSeconds: number): Promise<LoadResult>;
  counters(topology: Topology, limitSeconds: number): Promise<ChainCounters>;
}

function inNetns(netns: string, argv: readonly string[], env: Record<string, string> = {}): string[] {
  return ["ip", "netns", "exec", netns, "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv];
}

function failure(outcome: Outcome): string {
  if (outcome.timedOutAfter !== undefined) return `timed out after ${outcome.timedOutAfter} s`;
  return `exit ${outcome.code}: ${lastLines(outcome.stderr)}`;
}

async function mustOutput(argv: readonly string[], limitSeconds: number): Promise<string> {
  const outcome = await runBounded(argv, { limitSeconds });
  if (outcome.code !== 0 || outcome.timedOutAfter !== undefined) throw new Error(`${argv.slice(4).join(" ")}: ${failure(outcome)}`);
  return outcome.stdout;
}

/** iptables-legacy, natively or through the shim to a helper. */
function iptablesSystem(id: "bpfilter" | "iptables", helper?: Helper): System {
  const env = helper?.shimEnv() ?? {};
  return {
    id,
    async load(topology, ruleset, limitSeconds) {
      const mark = helper?.logged ?? 0;
      const outcome = await runBounded(inNetns(topology.receiver, ["iptables-legacy-restore"], env), {
        stdin: iptablesRestore(ruleset),
        limitSeconds,
      });
      const ok = outcome.code === 0 && outcome.timedOutAfter === undefined;
      const result = { ok, ms: outcome.ms, ...(ok ? {} : { error: failure(outcome) }) };
      const enforcedBy = helper ? enforcerOf(topology) : "netfilter";
      if (!helper || (ok && !enforcedBy.startsWith("netfilter"))) return { ...result, enforcedBy };
      return { ...result, enforcedBy, helperSaid: lastLines(helper.logSince(mark), 2).slice(0, 400) };
    },
    async counters(topology, limitSeconds) {
      return parseIptablesListing(await mustOutput(inNetns(topology.receiver, ["iptables-legacy", "-L", "INPUT", "-v", "-x", "-n"], env), limitSeconds));
    },
  };
}

/**
 * Who enforces the table in the receiver netns, seen from outside: netfilter if the native
 * iptables-legacy sees rules there (bpfilter handed the table over), else the BPF programs
 * attached there (bpftool net), else "bpfilter (no program seen)" for netfilter-hook links,
 * which bpftool net does not list per netns.
 */
export function enforcerOf(topology: Topology): string {
  const save = execFileSync("ip", ["netns", "exec", topology.receiver, "iptables-legacy-save", "-t", "filter"], { encoding: "utf8", maxBuffer: 1 << 30 });
  if (/^-A /m.test(save)) return "netfilter (handed over)";
  const net = JSON.parse(execFileSync("ip", ["netns", "exec", topology.receiver, "bpftool", "-j", "net", "show", "dev", topology.ifname], { encoding: "utf8" })) as {
    xdp?: unknown[];
    tc?: unknown[];
  }[];
  const kinds = [net[0]?.xdp?.length ? "xdp" : "", net[0]?.tc?.length ? "tc" : ""].filter(Boolean);
  return kinds.length ? `bpfilter ${kinds.join("+")}` : "bpfilter netfilter-hook";
}

/** nftables, with the rules one by one or folded into sets. */
function nftSystem(id: "nft-linear" | "nft-sets"): System {
  const render = id === "nft-linear" ? nftLinear : nftSets;
  return {
    id,
    async load(topology, ruleset, limitSeconds) {
      const outcome = await runBounded(inNetns(topology.receiver, ["nft", "-f", "-"]), { stdin: render(ruleset), limitSeconds });
      const ok = outcome.code === 0 && outcome.timedOutAfter === undefined;
      return { ok, ms: outcome.ms, ...(ok ? {} : { error: failure(outcome) }), enforcedBy: "nftables" };
    },
    async counters(topology, limitSeconds) {
      return parseNftCounters(await mustOutput(inNetns(topology.receiver, ["nft", "-j", "list", "counters", "table", "ip", NFT_TABLE]), limitSeconds));
    },
  };
}

/** The four systems; bpfilter talks to `helper`. */
export function makeSystems(helper: Helper): Record<SystemId, System> {
  return {
    bpfilter: iptablesSystem("bpfilter", helper),
    iptables: iptablesSystem("iptables"),
    "nft-linear": nftSystem("nft-linear"),
    "nft-sets": nftSystem("nft-sets"),
  };
}
