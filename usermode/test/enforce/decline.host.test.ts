/**
 * A table the compiler cannot take is declined to netfilter, through the real path: iptables-legacy
 * via the shim sets a rule with a match ext/registry.ts does not compile (conntrack); netfilter then
 * holds and enforces it (native iptables-legacy lists it, the UDP flow over veth is dropped and
 * counted by netfilter), no program of the helper is attached, and every GET through the shim
 * shows netfilter's table.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matchRevisions } from "../../src/ext/registry.ts";
import { HelperBench, realPathUnavailable } from "./helper_process.ts";

const unavailable = realPathUnavailable();
if (unavailable) console.warn(`skipping the decline tests: ${unavailable}`);

const rule = ["INPUT", "-p", "udp", "--dport", "5000", "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"];

describe.skipIf(unavailable !== undefined)("a declined table is enforced by netfilter", () => {
  const bench = new HelperBench();
  beforeAll(() => bench.start(), 60_000);
  afterAll(() => bench.close());

  it("uses a match the registry does not compile", () => {
    expect(matchRevisions("conntrack"), "pick another match the compiler does not know").toEqual([]);
  });

  it("the rule set through the shim lands in netfilter, which drops the flow", async () => {
    await bench.iptables("-A", ...rule);
    expect(bench.helperLog).toMatch(/table filter: netfilter enforces it from now on: rule 1 in chain INPUT: match 'conntrack'/);
    const native = await bench.run(bench.nsB, "native", ["iptables-legacy", "-S", "INPUT"]);
    expect(native.stdout).toBe("-P INPUT ACCEPT\n-A INPUT -p udp -m udp --dport 5000 -m conntrack --ctstate NEW -j DROP\n");
    expect(bench.flow()).toBe(0);
    const netns = execFileSync("ip", ["netns", "exec", bench.nsB, "bpftool", "-j", "net", "show"], { encoding: "utf8" });
    expect(JSON.parse(netns)).toEqual([{ xdp: [], tc: [], flow_dissector: [] }]);
  });

  it("GETs through the shim show netfilter's table, counters included", async () => {
    for (const argv of [["-S"], ["-L", "-v", "-x", "-n"]]) {
      const native = await bench.run(bench.nsB, "native", ["iptables-legacy", ...argv]);
      const shim = await bench.run(bench.nsB, "shim", ["iptables-legacy", ...argv]);
      expect(shim).toEqual(native);
    }
    const listing = await bench.iptables("-L", "INPUT", "-v", "-x", "-n");
    expect(listing).toMatch(/^\s+20\s+\d+ DROP .*udp dpt:5000 ctstate NEW$/m);
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
    const netns = execFileSync("ip", ["netns", "exec", bench.nsB, "bpftool", "-j", "net", "show"], { encoding: "utf8" });
    expect(JSON.parse(netns)).toEqual([{ xdp: [], tc: [], flow_dissector: [] }]);
    expect(bench.flow()).toBe(0);
    const native = await bench.run(bench.nsB, "native", ["iptables-legacy", "-S", "INPUT"]);
    expect(native.stdout).toContain("--ctstate NEW -j DROP");
  });
});
