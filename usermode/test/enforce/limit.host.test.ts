/**
 * -m limit on the real path, against native netfilter on the same veth pair in the same run:
 * iptables-legacy without the shim (netfilter's xt_limit), then through the shim (the helper's
 * token bucket). The same bursts must pass, the same refill after a pause, the same counters.
 *
 *   npx vitest run usermode/test/enforce/limit.host.test.ts      (as root)
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HelperBench, realPathUnavailable } from "./helper_process.ts";

const unavailable = realPathUnavailable();
if (unavailable) console.warn(`skipping the limit tests: ${unavailable}`);

const RULESETS: readonly [string, string[][]][] = [
  ["--limit 1/min --limit-burst 5", [["-m", "limit", "--limit", "1/min", "--limit-burst", "5", "-j", "ACCEPT"], ["-j", "DROP"]]],
  ["--limit 10/sec --limit-burst 2, then a pause", [["-m", "limit", "--limit", "10/sec", "--limit-burst", "2", "-j", "ACCEPT"], ["-j", "DROP"]]],
  ["a limit after a match that fails takes no credit", [["-m", "length", "--length", "1:10", "-m", "limit", "--limit", "1/hour", "--limit-burst", "1", "-j", "ACCEPT"], ["-m", "limit", "--limit", "1/hour", "--limit-burst", "3", "-j", "ACCEPT"], ["-j", "DROP"]]],
];

describe.skipIf(unavailable !== undefined)("-m limit, the helper's token bucket against netfilter's xt_limit", () => {
  const bench = new HelperBench();
  beforeAll(() => bench.start(), 60_000);
  afterAll(() => bench.close());

  /** Applies the rules with `via`, sends two bursts of 20 with a pause between, lists the counters, flushes. */
  async function run(via: "native" | "shim", rules: string[][]): Promise<{ received: number[]; listing: string }> {
    const ipt = async (...args: string[]) => {
      const r = await bench.run(bench.nsB, via, ["iptables-legacy", ...args]);
      if (r.code !== 0) throw new Error(`iptables-legacy ${args.join(" ")} (${via}): ${r.stderr}`);
      return r.stdout;
    };
    for (const rule of rules) await ipt("-A", "INPUT", "-p", "udp", "--dport", "5000", ...rule);
    if (via === "shim") {
      // the helper's programs enforce them: netfilter's own table is empty
      expect(await bench.run(bench.nsB, "native", ["iptables-legacy", "-S", "INPUT"])).toMatchObject({ stdout: "-P INPUT ACCEPT\n" });
    }
    const received = [bench.flow()];
    await sleep(400);
    received.push(bench.flow());
    const listing = (await ipt("-L", "INPUT", "-v", "-x", "-n")).split("\n").slice(2).join("\n");
    await ipt("-F", "INPUT");
    await ipt("-Z", "INPUT");
    return { received, listing };
  }

  it.each(RULESETS)("%s: the same datagrams pass, with the same counters", async (_name, rules) => {
    const native = await run("native", rules);
    const bpfilter = await run("shim", rules);
    expect(bpfilter).toEqual(native);
    expect(bench.helperLog).not.toMatch(/netfilter enforces it from now on.*limit/);
    console.info(`limit: ${_name}: received ${native.received.join(" then ")} of 20`);
  }, 60_000);
});
