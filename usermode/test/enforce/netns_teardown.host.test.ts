/**
 * Netns teardown at scale, on the real path (the helper process, iptables-legacy through the shim):
 * many netns each get a compiled table, then all are deleted. A netfilter link holds its netns, so
 * the helper's reaper must release them (enforce/orphans.ts); afterwards no pin directory, no
 * netfilter link and no table-store record of theirs is left, and the netns that stays keeps its
 * rules. Before, the store kept a record of every deleted netns for good.
 *
 *   npx vitest run usermode/test/enforce/netns_teardown.host.test.ts                       (as root)
 *   BPFILTER_TEARDOWN_NETNS=1000 npx vitest run usermode/test/enforce/netns_teardown.host.test.ts
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REAP_PERIOD_MS } from "../../src/enforce/bpf_enforcer.ts";
import { allTablePins, HOOK_PIN } from "../../src/enforce/pins.ts";
import { HelperBench, realPathUnavailable } from "./helper_process.ts";

const unavailable = realPathUnavailable();
if (unavailable) console.warn(`skipping the netns teardown test: ${unavailable}`);

/** How many netns come and go: a bounded slice by default. */
const COUNT = Number(process.env.BPFILTER_TEARDOWN_NETNS ?? 20);
/** Commands run at once. */
const PARALLEL = 4;

const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);
/** The table store's records (one file per netns). */
const storedTables = (dir: string): number => entries(dir).filter((f) => f.endsWith(".filter.json")).length;

/** The ids of the netfilter links pinned under `root` (a directory per netns and table, a link per hook). */
function pinnedLinkIds(root: string): number[] {
  return allTablePins(root).flatMap((pins) =>
    Object.values(HOOK_PIN).flatMap(({ link }) => {
      if (!pins.has(link)) return [];
      return [(JSON.parse(execFileSync("bpftool", ["-j", "link", "show", "pinned", pins.path(link)], { encoding: "utf8" })) as { id: number }).id];
    }),
  );
}

/** Which of `ids` still name a link. */
function linksLeft(ids: readonly number[]): number[] {
  const live = new Set((JSON.parse(execFileSync("bpftool", ["-j", "link", "show"], { encoding: "utf8" })) as { id: number }[]).map((l) => l.id));
  return ids.filter((id) => live.has(id));
}

describe.skipIf(unavailable !== undefined)(`${COUNT} netns, each with a compiled table, deleted`, () => {
  const bench = new HelperBench();
  const names = Array.from({ length: COUNT }, (_, i) => `bpft-${bench.tag}-${i}`);
  beforeAll(() => bench.start(), 60_000);
  afterAll(async () => {
    for (const ns of names) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // deleted by the test already
      }
    }
    await bench.close();
  }, 120_000);

  it("leaves no pin, link or stored table of theirs, and the netns that stays keeps its rules", async () => {
    await bench.iptables("-A", "INPUT", "-p", "udp", "--dport", "5000", "-j", "DROP");
    const baseline = { pins: entries(bench.pinRoot).length, stored: storedTables(bench.stateDir) };
    const started = performance.now();
    for (let i = 0; i < names.length; i += PARALLEL) {
      await Promise.all(names.slice(i, i + PARALLEL).map(async (ns) => {
        execFileSync("ip", ["netns", "add", ns]);
        const added = await bench.run(ns, "shim", ["iptables-legacy", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP"]);
        expect(added, ns).toMatchObject({ code: 0 });
      }));
    }
    const loaded = performance.now();
    expect(entries(bench.pinRoot).length).toBe(baseline.pins + COUNT);
    const theirs = pinnedLinkIds(bench.pinRoot);
    expect(theirs.length).toBe(3 * (baseline.pins + COUNT));
    expect(bench.helperLog).not.toContain("netfilter enforces it");
    for (const ns of names) execFileSync("ip", ["netns", "del", ns]);
    const deleted = performance.now();
    // The reaper runs every REAP_PERIOD_MS, and at every request.
    let left = { pins: -1, stored: -1, links: [] as number[] };
    for (let waited = 0; waited < 3 * REAP_PERIOD_MS; waited += 500) {
      await sleep(500);
      left = { pins: entries(bench.pinRoot).length, stored: storedTables(bench.stateDir), links: linksLeft(theirs) };
      if (left.pins === baseline.pins && left.links.length === 3 * baseline.pins && left.stored === baseline.stored) break;
    }
    const reaped = performance.now();
    expect(left.pins).toBe(baseline.pins);
    expect(left.links.length).toBe(3 * baseline.pins); // b's three stay
    expect(left.stored).toBe(baseline.stored);
    expect(bench.flow()).toBe(0); // b's DROP rule is still enforced
    expect(await bench.iptables("-S", "INPUT")).toContain("--dport 5000 -j DROP");
    console.info(
      `netns teardown: ${COUNT} netns given a compiled table in ${((loaded - started) / 1000).toFixed(1)} s, ` +
        `deleted; their ${3 * COUNT} links, pins and stored tables gone ${((reaped - deleted) / 1000).toFixed(1)} s later`,
    );
  }, 600_000 + COUNT * 2_000);
});
