/**
 * What one make bench run measures, from the environment:
 *   BENCH=quick          sizes 1,100,1000, short sends, control path at 1k (a few minutes)
 *   BENCH_SIZES=1,1000   rule counts of the packet and test-run sections
 *   BENCH_SHAPES=dport,blocklist   shapes (dport, blocklist, cidr, mixed, conntrack)
 *   BENCH_ROUNDS=3       interleaved rounds (at least 3)
 *   BENCH_SECONDS=0.5    seconds of sending per measurement
 *   BENCH_LIMIT=300      seconds one case (a load, a restore, a command) may take
 *   BENCH_CPU=1          the CPU the sender (and so the receive path) is pinned to
 *   BENCH_SECTIONS=pps,control,helper,guest
 *   BENCH_KERNEL=PATH    the patched kernel for the guest section (default build/kernel/bzImage)
 */
import { join } from "node:path";
import { BUILD } from "../lib/paths.ts";
import { MAX_SIZE, SHAPES, type Shape } from "./rulesets.ts";

export const SECTIONS = ["pps", "control", "helper", "guest"] as const;
export type Section = (typeof SECTIONS)[number];

/** A run's settings. */
export interface BenchConfig {
  readonly mode: "quick" | "full";
  readonly sizes: readonly number[];
  readonly shapes: readonly Shape[];
  readonly rounds: number;
  readonly seconds: number;
  readonly limitSeconds: number;
  readonly cpu: number;
  readonly controlSizes: readonly number[];
  /** The table size on which single-rule changes are timed. */
  readonly changeSize: number;
  readonly sections: readonly Section[];
  readonly kernel: string;
  readonly outDir: string;
}

function list<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`${what}: '${item}' is not one of ${allowed.join(", ")}`);
  if (items.length === 0) throw new Error(`${what} is empty`);
  return items as T[];
}

function sizes(value: string, what: string): number[] {
  const items = value.split(",").map((s) => s.trim().toLowerCase().replace(/k$/, "000"));
  return items.map((item) => {
    const n = Number(item);
    if (!Number.isInteger(n) || n < 1 || n > MAX_SIZE) throw new Error(`${what}: '${item}' is not a rule count from 1 to ${MAX_SIZE}`);
    return n;
  });
}

function number(value: string | undefined, fallback: number, what: string, min: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${what}=${value}: must be a number from ${min} to ${max}`);
  return n;
}

/** The configuration from `env`; throws an Error naming the bad variable. */
export function benchConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const mode = env.BENCH === undefined || env.BENCH === "" || env.BENCH === "full" ? "full" : env.BENCH === "quick" ? "quick" : undefined;
  if (mode === undefined) throw new Error(`BENCH=${env.BENCH}: must be quick or full`);
  const quick = mode === "quick";
  const packetSizes = env.BENCH_SIZES ? sizes(env.BENCH_SIZES, "BENCH_SIZES") : quick ? [1, 100, 1000] : [1, 100, 1000, 10_000, 100_000];
  const controlSizes = quick ? [1000] : [1000, 10_000, 100_000];
  return {
    mode,
    sizes: packetSizes,
    shapes: env.BENCH_SHAPES ? list(env.BENCH_SHAPES, SHAPES, "BENCH_SHAPES") : [...SHAPES],
    rounds: number(env.BENCH_ROUNDS, 3, "BENCH_ROUNDS", 3, 50),
    seconds: number(env.BENCH_SECONDS, quick ? 0.2 : 0.5, "BENCH_SECONDS", 0.05, 60),
    limitSeconds: number(env.BENCH_LIMIT, quick ? 120 : 300, "BENCH_LIMIT", 5, 3600),
    cpu: number(env.BENCH_CPU, 1, "BENCH_CPU", 0, 1023),
    controlSizes,
    changeSize: quick ? 1000 : 10_000,
    sections: env.BENCH_SECTIONS ? list(env.BENCH_SECTIONS, SECTIONS, "BENCH_SECTIONS") : [...SECTIONS],
    kernel: env.BENCH_KERNEL ?? join(BUILD, "kernel", "bzImage"),
    outDir: join(BUILD, "bench"),
  };
}
