/**
 * Ownership through the real iptables-legacy, with extensions checked by ext/registry.ts: a table
 * still in its initial state is handed to netfilter by a rule bpfilter does not compile, and from
 * then on behaves exactly as native; a table holding rules bpfilter enforces refuses such a rule
 * (EOPNOTSUPP) and keeps its rules, by design (see service/sockopt_handler.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryEnforcer } from "../service/memory_enforcer.ts";
import { matchRevisions } from "../../src/ext/registry.ts";
import { checkExtensions, REGISTRY_REVISIONS } from "../../src/service/registry_check.ts";
import { HostBench, hostTierUnavailable, maskSave } from "./harness.ts";

const unavailable = hostTierUnavailable();
if (unavailable) console.warn(`skipping host ownership tests: ${unavailable}`);

const ipt = "iptables-legacy";
/** A rule whose match ext/registry.ts does not compile (checked below, so that the test says when that changes). */
const unsupported = ["-A", "INPUT", "-m", "recent", "--name", "seen", "--set", "-j", "ACCEPT"];

describe.skipIf(unavailable !== undefined)("table ownership between bpfilter and netfilter", () => {
  const bench = new HostBench(new MemoryEnforcer(checkExtensions));

  beforeAll(() => bench.start(REGISTRY_REVISIONS), 30_000);
  afterAll(() => bench.close());

  it("uses a match that ext/registry.ts does not compile", () => {
    expect(matchRevisions("recent"), "pick another unsupported match for these tests").toEqual([]);
  });

  it("hands an initial table to netfilter, which then serves every command as native", async () => {
    for (const argv of [
      [ipt, ...unsupported],
      [ipt, "-A", "INPUT", "-p", "udp", "--dport", "53", "-j", "DROP"],
      [ipt, "-N", "later"],
      [ipt, "-L", "-v", "-x", "-n"],
      ["iptables-legacy-save", "-c"],
    ]) {
      const { native, bpfilter } = await bench.both(argv);
      expect({ ...bpfilter, stdout: maskSave(bpfilter.stdout) }).toEqual({ ...native, stdout: maskSave(native.stdout) });
    }
    expect(bench.log.join("\n")).toMatch(/table filter declined, netfilter enforces it from now on: rule 1 in chain INPUT: match 'recent' revision \d is not supported/);
    // The rules are in the bpfilter netns's own netfilter table: netfilter enforces them.
    const netfilter = await bench.run("native", ["ip", "netns", "exec", bench.bpfNs, ipt, "-S", "INPUT"]);
    expect(netfilter.stdout).toContain("-A INPUT -m recent --set --name seen --mask 255.255.255.255 --rsource -j ACCEPT");
  });

  it("refuses an unsupported rule while it enforces rules, and keeps them", async () => {
    bench.renewBpfNamespace();
    const rule = [ipt, "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"];
    expect((await bench.run("bpfilter", rule)).code).toBe(0);
    const refused = await bench.run("bpfilter", [ipt, ...unsupported]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("iptables: Operation not supported.\n");
    const after = await bench.run("bpfilter", [ipt, "-S", "INPUT"]);
    expect(after.stdout).toBe("-P INPUT ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n");
    expect(bench.log.join("\n")).toContain("not handed to netfilter because the table holds rules bpfilter enforces");
  });

  it("hands the table over again once it is flushed back to the initial table", async () => {
    const flushed = await bench.run("bpfilter", [ipt, "-F"]);
    expect(flushed.code).toBe(0);
    const { native, bpfilter } = await bench.both([ipt, ...unsupported]);
    expect(bpfilter).toEqual(native);
    const netfilter = await bench.run("native", ["ip", "netns", "exec", bench.bpfNs, ipt, "-S", "INPUT"]);
    expect(netfilter.stdout).toContain("-A INPUT -m recent --set --name seen");
  });
});
