/**
 * Ownership through the real iptables-legacy and the real netfilter of the bpfilter netns: a rule
 * bpfilter does not compile hands the table to netfilter at any time (with the counters iptables
 * expects), a later replace bpfilter compiles takes it back, and every command in between behaves
 * as native (see service/handover.ts). Native netfilter in another netns is the oracle.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryEnforcer } from "../service/memory_enforcer.ts";
import { matchRevisions } from "../../src/ext/registry.ts";
import { HostBench, hostTierUnavailable, maskSave } from "./harness.ts";

const unavailable = hostTierUnavailable();
if (unavailable) console.warn(`skipping host ownership tests: ${unavailable}`);

const ipt = "iptables-legacy";
/** A rule whose match ext/registry.ts does not compile (checked below, so that the test says when that changes). */
const unsupported = ["-A", "INPUT", "-m", "recent", "--name", "seen", "--set", "-j", "ACCEPT"];

describe.skipIf(unavailable !== undefined)("table ownership between bpfilter and netfilter", () => {
  const enforcer = new MemoryEnforcer();
  const bench = new HostBench(enforcer);

  beforeAll(() => bench.start(), 30_000);
  afterAll(() => bench.close());

  /** Runs argv both ways and expects the same exit status, output and iptables-legacy-save -c. */
  async function same(argv: string[]): Promise<void> {
    const { native, bpfilter } = await bench.both(argv);
    expect({ ...bpfilter, stdout: maskSave(bpfilter.stdout) }, argv.join(" ")).toEqual({ ...native, stdout: maskSave(native.stdout) });
    const save = await bench.both(["iptables-legacy-save", "-c"]);
    expect(maskSave(save.bpfilter.stdout), `save after ${argv.join(" ")}`).toBe(maskSave(save.native.stdout));
  }
  /** What the bpfilter netns's own netfilter holds, read natively. */
  const netfilterRules = async (): Promise<string> => (await bench.run("native", ["ip", "netns", "exec", bench.bpfNs, ipt, "-S", "INPUT"])).stdout;

  it("uses a match that ext/registry.ts does not compile", () => {
    expect(matchRevisions("recent"), "pick another unsupported match for these tests").toEqual([]);
  });

  it("hands a table holding compiled rules to netfilter, counters included, and serves every command as native", async () => {
    await same([ipt, "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"]);
    await same([ipt, "-A", "INPUT", "-c", "5", "300", "-p", "udp", "--dport", "53", "-j", "DROP"]);
    await same([ipt, ...unsupported]);
    expect(bench.log.join("\n")).toMatch(/netfilter enforces it from now on: rule 3 in chain INPUT: match 'recent' revision \d is not supported/);
    expect(await netfilterRules()).toContain("-A INPUT -m recent --set --name seen --mask 255.255.255.255 --rsource -j ACCEPT");
    await same([ipt, "-A", "INPUT", "-s", "192.0.2.1", "-j", "DROP"]);
    await same([ipt, "-N", "later"]);
    await same([ipt, "-L", "-v", "-x", "-n"]);
  });

  it("takes the table back at the first replace it compiles, leaving netfilter's table initial", async () => {
    await same([ipt, "-D", "INPUT", "3"]);
    expect(bench.log.join("\n")).toContain("bpfilter enforces it from now on");
    expect(await netfilterRules()).toBe("-P INPUT ACCEPT\n");
    await same([ipt, "-Z"]);
    await same([ipt, "-A", "later", "-j", "RETURN"]);
  });

  it("goes back and forth as often as the table does", async () => {
    const count = (what: string): number => bench.log.filter((line) => line.includes(what)).length;
    const [toNetfilter, toBpfilter] = [count("netfilter enforces it from now on"), count("bpfilter enforces it from now on")];
    for (let i = 0; i < 3; i++) {
      await same([ipt, "-I", "INPUT", "-m", "addrtype", "--dst-type", "BROADCAST", "-j", "ACCEPT"]);
      await same([ipt, "-D", "INPUT", "1"]);
    }
    expect([count("netfilter enforces it from now on") - toNetfilter, count("bpfilter enforces it from now on") - toBpfilter]).toEqual([3, 3]);
    await same([ipt, "-F"]);
    await same([ipt, "-X"]);
  });

  it("keeps bpfilter's rules, and answers netfilter's error, when netfilter refuses the table too", async () => {
    await same([ipt, "-A", "INPUT", "-p", "tcp", "--dport", "80", "-j", "ACCEPT"]);
    // -m tcp without -p tcp: netfilter's xt_check_match refuses it (EINVAL).
    await same(["sh", "-c", `${ipt}-restore -n <<'EOF'\n*filter\n-A INPUT -m tcp --dport 81 -j ACCEPT\nCOMMIT\nEOF`]);
    expect(await netfilterRules()).toBe("-P INPUT ACCEPT\n");
  });
});
