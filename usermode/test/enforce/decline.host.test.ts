/**
 * A table the compiler cannot take is declined to netfilter, through the real path: iptables-legacy
 * via the shim sets a rule with a match ext/registry.ts does not compile (addrtype); netfilter then
 * holds and enforces it (native iptables-legacy lists it, the UDP flow over veth is dropped and
 * counted by netfilter), no program of the helper is attached (nothing pinned), and every GET through the shim
 * shows netfilter's table.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matchRevisions } from "../../src/ext/registry.ts";
import { HelperBench, realPathUnavailable } from "./helper_process.ts";

const unavailable = realPathUnavailable();
if (unavailable) console.warn(`skipping the decline tests: ${unavailable}`);

/** The table directories the helper pinned (netns cookie/table): none once netfilter enforces. */
function pinnedTables(bench: HelperBench): string[] {
  if (!existsSync(bench.pinRoot)) return [];
  return readdirSync(bench.pinRoot).flatMap((cookie) => readdirSync(join(bench.pinRoot, cookie)).map((table) => `${cookie}/${table}`));
}

const rule = ["INPUT", "-p", "udp", "--dport", "5000", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DROP"];

describe.skipIf(unavailable !== undefined)("a declined table is enforced by netfilter", () => {
  const bench = new HelperBench();
  beforeAll(() => bench.start(), 60_000);
  afterAll(() => bench.close());

  it("uses a match the registry does not compile", () => {
    expect(matchRevisions("addrtype"), "pick another match the compiler does not know").toEqual([]);
  });

  it("the rule set through the shim lands in netfilter, which drops the flow", async () => {
    await bench.iptables("-A", ...rule);
    expect(bench.helperLog).toMatch(/table filter: netfilter enforces it from now on: rule 1 in chain INPUT: match 'addrtype'/);
    const native = await bench.run(bench.nsB, "native", ["iptables-legacy", "-S", "INPUT"]);
    expect(native.stdout).toBe("-P INPUT ACCEPT\n-A INPUT -p udp -m udp --dport 5000 -m addrtype --dst-type LOCAL -j DROP\n");
    expect(bench.flow()).toBe(0);
    expect(pinnedTables(bench)).toEqual([]);
  });

  it("GETs through the shim show netfilter's table, counters included", async () => {
    for (const argv of [["-S"], ["-L", "-v", "-x", "-n"]]) {
      const native = await bench.run(bench.nsB, "native", ["iptables-legacy", ...argv]);
      const shim = await bench.run(bench.nsB, "shim", ["iptables-legacy", ...argv]);
      expect(shim).toEqual(native);
    }
    const listing = await bench.iptables("-L", "INPUT", "-v", "-x", "-n");
    expect(listing).toMatch(/^\s+20\s+\d+ DROP .*udp dpt:5000 ADDRTYPE match dst-type LOCAL$/m);
  });
});

describe.skipIf(unavailable !== undefined)("a decline after bpfilter enforced rules", () => {
  const bench = new HelperBench();
  beforeAll(() => bench.start(), 60_000);
  afterAll(() => bench.close());

  it("detaches the helper's programs once the flushed table is handed to netfilter", async () => {
    await bench.iptables("-A", "INPUT", "-p", "udp", "--dport", "5000", "-j", "DROP");
    expect(bench.flow()).toBe(0);
    await bench.iptables("-F", "INPUT");
    expect(bench.flow()).toBe(20);
    await bench.iptables("-A", ...rule);
    expect(bench.helperLog).toContain("table filter: released, no program is attached");
    expect(pinnedTables(bench)).toEqual([]);
    expect(bench.flow()).toBe(0);
    const native = await bench.run(bench.nsB, "native", ["iptables-legacy", "-S", "INPUT"]);
    expect(native.stdout).toContain("--dst-type LOCAL -j DROP");
  });
});
