/**
 * What make bench found on main, as tests against native netfilter (real BpfEnforcer):
 * - fail2ban banning on top of a 10k-rule blocklist that bpfilter compiles: every ban must land
 *   (the table goes to netfilter with its counters) where the helper used to answer EOPNOTSUPP;
 * - a 100k-rule /32 blocklist, which the verifier refuses (E2BIG after 1M processed instructions):
 *   the restore must succeed, the table handed to netfilter, where the helper used to answer E2BIG.
 * Both compile and verify large programs: tens of seconds on a loaded 2-core machine.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { netfilterContextLayout } from "../../src/bpf/nf_context.ts";
import { BpfEnforcer } from "../../src/enforce/bpf_enforcer.ts";
import { bpffsUnavailable, HostBench, hostTierUnavailable, maskSave } from "./harness.ts";

const unavailable = hostTierUnavailable() ?? bpffsUnavailable();
if (unavailable) console.warn(`skipping the large-table tests: ${unavailable}`);

/** An iptables-restore input: INPUT drops n distinct /32 sources (10.x.y.z). */
function blocklist(n: number): string {
  const lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"];
  for (let i = 0; i < n; i++) lines.push(`-A INPUT -s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 -j DROP`);
  return [...lines, "COMMIT", ""].join("\n");
}

describe.skipIf(unavailable !== undefined)("large tables through bpfilter equal native netfilter", () => {
  const pinRoot = `/sys/fs/bpf/bpft-large-${process.pid}`;
  const bench = new HostBench(new BpfEnforcer({ pinRoot }));

  beforeAll(() => bench.start(), 60_000);
  afterAll(async () => {
    await bench.close();
    rmSync(pinRoot, { recursive: true, force: true });
  });

  const same = async (argv: string[], stdin?: string): Promise<void> => {
    const { native, bpfilter } = await bench.both(argv, stdin);
    expect(bpfilter, argv.join(" ")).toEqual(native);
  };

  it("bans with fail2ban on top of a 10k-rule blocklist that bpfilter enforces", async () => {
    await same(["iptables-restore"], blocklist(10_000));
    expect(bench.log.join("\n")).not.toContain("netfilter enforces it from now on");
    await same(["iptables", "-w", "-N", "f2b-sshd"]);
    await same(["iptables", "-w", "-A", "f2b-sshd", "-j", "RETURN"]);
    await same(["iptables", "-w", "-I", "INPUT", "-p", "tcp", "-m", "multiport", "--dports", "22", "-j", "f2b-sshd"]);
    for (const addr of ["192.0.2.1", "192.0.2.2", "198.51.100.7"]) {
      await same(["iptables", "-w", "-I", "f2b-sshd", "1", "-s", addr, "-j", "REJECT", "--reject-with", "icmp-port-unreachable"]);
    }
    await same(["iptables", "-w", "-D", "f2b-sshd", "-s", "192.0.2.2", "-j", "REJECT", "--reject-with", "icmp-port-unreachable"]);
    // REJECT compiles to the series' kfunc; a kernel without it (the host's) hands the table over.
    if (netfilterContextLayout().kfuncs?.includes("bpf_nf_reject_ipv4") === true) {
      expect(bench.log.join("\n")).not.toContain("netfilter enforces it from now on");
    } else {
      expect(bench.log.join("\n")).toMatch(/netfilter enforces it from now on: rule 1 in chain f2b-sshd: target 'REJECT' needs kfunc bpf_nf_reject_ipv4, which this kernel does not have/);
    }
    const save = await bench.both(["iptables-save", "-c"]);
    expect(maskSave(save.bpfilter.stdout)).toBe(maskSave(save.native.stdout));
  }, 300_000);

  it("restores a 100k-rule blocklist that the verifier refuses: netfilter takes it", async () => {
    await same(["iptables", "-F"]);
    await same(["iptables", "-X"]);
    await same(["iptables-restore"], blocklist(100_000));
    expect(bench.log.join("\n")).toMatch(/netfilter enforces it from now on: (bpfilter could not enforce it: bpf_prog_load.*E2BIG|.*program exceeds \d+ instructions)/);
    const count = await bench.both(["sh", "-c", "iptables -S INPUT | wc -l"]);
    expect(count.bpfilter).toEqual(count.native);
    expect(count.native.stdout.trim()).toBe("100001");
  }, 600_000);
});
