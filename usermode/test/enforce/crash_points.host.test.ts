/**
 * A helper that dies at each step of a replace (BPFILTER_CRASH_AT: staged, swapped, promoted), on
 * the real path: iptables-legacy through the shim, real datagrams over veth. After a restart, what
 * iptables lists is what is enforced, and the listed rules count the packets. Before the pins were
 * staged, a crash after the swap left the old rules listed while the new ones were enforced.
 *
 * Then the same under traffic, crash after crash, with a DROP rule in every version: no datagram
 * gets through, and each time the listing says whether the replace was swapped in.
 *
 * Then a helper that dies in a hand-over, each way and at each step: afterwards one side enforces,
 * the one that lists the table. Before, a crash there left the other side enforcing stale rules
 * for good: a rule deleted later still dropped.
 *
 *   npx vitest run usermode/test/enforce/crash_points.host.test.ts      (as root)
 *   BPFILTER_CRASH_CYCLES=300 npx vitest run usermode/test/enforce/crash_points.host.test.ts
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CRASH_POINTS, type CrashPoint } from "../../src/enforce/bpf_enforcer.ts";
import type { HandoverCrashPoint } from "../../src/service/handover.ts";
import { HelperBench, realPathUnavailable } from "./helper_process.ts";

const unavailable = realPathUnavailable();
if (unavailable) console.warn(`skipping the crash-point tests: ${unavailable}`);

const DROP = ["-p", "udp", "--dport", "5000", "-j", "DROP"];
const ACCEPT = ["-p", "udp", "--dport", "5000", "-j", "ACCEPT"];

/** The packet counters of INPUT's rules (iptables -S -v: "-A INPUT ... -c PACKETS BYTES -j X"), by their words without -c. */
function counted(listing: string): Map<string, number> {
  return new Map(listing.split("\n").flatMap((line) => {
    const m = /^(-A INPUT .*) -c (\d+) \d+( -j .*)$/.exec(line);
    return m === null ? [] : [[`${m[1]!}${m[3]!}`, Number(m[2])] as const];
  }));
}

/** Whether the replace of a crash at `point` is the one enforced afterwards (the swap happened). */
const SWAPPED: Readonly<Record<CrashPoint, boolean>> = { staged: false, swapped: true, promoted: true };

/** Crashes of the traffic test (each about 3 s): a bounded slice by default. */
const CYCLES = Number(process.env.BPFILTER_CRASH_CYCLES ?? 9);

/** A bench whose helper enforces INPUT's DROP rule for the flow's port. */
async function benchWithDrop(): Promise<HelperBench> {
  const bench = new HelperBench();
  await bench.start();
  await bench.iptables("-A", "INPUT", ...DROP);
  expect(bench.flow()).toBe(0);
  return bench;
}

describe.skipIf(unavailable !== undefined)("a helper killed during a replace", () => {
  let bench: HelperBench;
  beforeEach(async () => {
    bench = await benchWithDrop();
  }, 60_000);
  afterEach(() => bench.close());

  it.each(CRASH_POINTS)("at '%s': after a restart, iptables lists what is enforced, and its rules count", async (point) => {
    await bench.killHelper();
    await bench.startHelper({ BPFILTER_CRASH_AT: point });
    const inserted = await bench.run(bench.nsB, "shim", ["iptables-legacy", "-I", "INPUT", "1", ...ACCEPT]);
    expect(await bench.helperExit()).toBe("SIGKILL");
    expect(inserted.code).not.toBe(0); // the caller saw the helper die
    await bench.startHelper();
    const listed = await bench.iptables("-S", "INPUT");
    const acceptListed = listed.includes("-A INPUT -p udp -m udp --dport 5000 -j ACCEPT");
    expect(acceptListed).toBe(SWAPPED[point]);
    expect(bench.flow()).toBe(acceptListed ? 20 : 0);
    const counts = counted(await bench.iptables("-S", "INPUT", "-v"));
    if (acceptListed) {
      expect(counts.get("-A INPUT -p udp -m udp --dport 5000 -j ACCEPT")).toBe(20);
    } else {
      // the first flow's 20 and this one's: the counters went on across the crash
      expect(counts.get("-A INPUT -p udp -m udp --dport 5000 -j DROP")).toBe(40);
    }
    expect(bench.helperLog).toContain("a replace did not finish");
    // and the next command works on what is listed
    await bench.iptables("-D", "INPUT", ...DROP);
    expect(bench.flow()).toBe(20);
  }, 60_000);

  it(`${CYCLES} crashes under a UDP flood, a DROP rule in every version: no datagram through, every listing what is enforced`, async () => {
    const loop = `n=0; while [ ! -e ${bench.dir}/stop ]; do r=$(${bench.udpFlow} --from-ns /run/netns/${bench.nsA} --to-ns /run/netns/${bench.nsB} ` +
      `--to ${bench.addrB} --port 5000 --count 4 --wait-ms 1); n=$((n + \${r##* })); done; echo $n`;
    const flows = bench.run(bench.nsA, "native", ["sh", "-c", loop]);
    const listings: boolean[] = [];
    let expectedRules = 1;
    for (let i = 0; i < CYCLES; i++) {
      const point = CRASH_POINTS[i % CRASH_POINTS.length]!;
      await bench.killHelper();
      await bench.startHelper({ BPFILTER_CRASH_AT: point });
      await bench.run(bench.nsB, "shim", ["iptables-legacy", "-I", "INPUT", "1", "-p", "tcp", "--dport", String(7000 + i), "-j", "ACCEPT"]);
      expect(await bench.helperExit()).toBe("SIGKILL");
      await bench.startHelper();
      const listed = await bench.iptables("-S", "INPUT");
      const has = listed.includes(`--dport ${7000 + i} -j ACCEPT`);
      if (has) expectedRules++;
      listings.push(has === SWAPPED[point]);
      expect(listed.split("\n").filter((l) => l.startsWith("-A INPUT")).length).toBe(expectedRules);
    }
    writeFileSync(join(bench.dir, "stop"), "");
    const received = await flows;
    expect(received).toMatchObject({ code: 0, stdout: "0\n" });
    expect(listings.every(Boolean)).toBe(true);
    console.info(`crash points: ${CYCLES} crashes under traffic, ${expectedRules - 1} replaces swapped in and listed, 0 datagrams past the DROP rule`);
  }, 120_000 + CYCLES * 10_000);
});

/** A rule the compiler hands to netfilter (addrtype), on another port than the flow's. */
const HANDED = ["-p", "udp", "--dport", "5001", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DROP"];
const HANDED_LISTED = "-A INPUT -p udp -m udp --dport 5001 -m addrtype --dst-type LOCAL -j DROP";
const DROP_LISTED = "-A INPUT -p udp -m udp --dport 5000 -j DROP";

/** The rules iptables lists in INPUT. */
async function inputRules(bench: HelperBench): Promise<string[]> {
  return (await bench.iptables("-S", "INPUT")).split("\n").filter((line) => line.startsWith("-A INPUT"));
}

describe.skipIf(unavailable !== undefined)("a helper killed during a hand-over", () => {
  let bench: HelperBench;
  beforeEach(async () => {
    bench = await benchWithDrop();
  }, 60_000);
  afterEach(() => bench.close());

  /** Runs `args` with a helper that dies at `point`, and starts a new one. */
  const crashDuring = async (point: CrashPoint | HandoverCrashPoint, args: string[]): Promise<void> => {
    await bench.killHelper();
    await bench.startHelper({ BPFILTER_CRASH_AT: point });
    const result = await bench.run(bench.nsB, "shim", ["iptables-legacy", ...args]);
    expect(await bench.helperExit()).toBe("SIGKILL");
    expect(result.code).not.toBe(0);
    await bench.startHelper();
  };

  it.each(["handed", "released"] as const)("to netfilter, at '%s': netfilter enforces the new table, and no program is left", async (point) => {
    await crashDuring(point, ["-A", "INPUT", ...HANDED]);
    expect(await inputRules(bench)).toEqual([DROP_LISTED, HANDED_LISTED]);
    expect(bench.flow()).toBe(0);
    expect(bench.helperLog).toContain("netfilter enforces it from now on");
    // a stale program would still drop the flow once netfilter's rule is gone
    await bench.iptables("-D", "INPUT", ...DROP);
    expect(await inputRules(bench)).toEqual([HANDED_LISTED]);
    expect(bench.flow()).toBe(20);
  }, 60_000);

  it.each([
    ["staged", false],
    ["swapped", true],
    ["promoted", true],
    ["taken", true],
  ] as const)("from netfilter, at '%s': the side that lists the table is the only one that enforces it", async (point, taken) => {
    await bench.iptables("-A", "INPUT", ...HANDED); // netfilter holds [DROP, HANDED]
    await crashDuring(point, ["-D", "INPUT", ...HANDED]); // [DROP]: compiled, taken from netfilter
    expect(await inputRules(bench)).toEqual(taken ? [DROP_LISTED] : [DROP_LISTED, HANDED_LISTED]);
    expect(bench.flow()).toBe(0);
    if (taken && point !== "taken") expect(bench.helperLog).toContain("netfilter now holds its initial table, bpfilter enforces the replace");
    // netfilter's old table, if it were left, would still drop the flow
    await bench.iptables("-D", "INPUT", ...DROP);
    expect(await inputRules(bench)).toEqual(taken ? [] : [HANDED_LISTED]);
    expect(bench.flow()).toBe(20);
  }, 60_000);
});
