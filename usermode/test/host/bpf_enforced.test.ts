/**
 * The whole helper with the real enforcing side: iptables-legacy through the shim, the handler,
 * and BpfEnforcer (codegen, load, attach, pinned counters) in a fresh netns, against native
 * netfilter in another. Output, exit codes, iptables-legacy-save -c and the raw GET_INFO and
 * GET_ENTRIES bytes must be identical after every command, while BPF programs are attached.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BpfEnforcer } from "../../src/enforce/bpf_enforcer.ts";
import { bpffsUnavailable, HostBench, hostTierUnavailable, maskSave } from "./harness.ts";

const unavailable = hostTierUnavailable() ?? bpffsUnavailable();
if (unavailable) console.warn(`skipping the BPF-enforced host test: ${unavailable}`);

const ipt = "iptables-legacy";
const cmd = (...argv: string[]): { argv: string[]; stdin?: string } => ({ argv: [ipt, ...argv] });

const RESTORE = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [4:240]
:OUTPUT ACCEPT [0:0]
:udp-in - [0:0]
[3:180] -A INPUT -p udp -j udp-in
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443 -m comment --comment web -j ACCEPT
-A udp-in -p udp -m udp --dport 53 -j ACCEPT
-A udp-in -s 198.51.100.0/24 -g udp-in-drop
:udp-in-drop - [0:0]
-A udp-in-drop -j DROP
COMMIT
`;

const steps = [
  cmd("-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"),
  cmd("-I", "INPUT", "-s", "10.0.0.0/8", "-j", "DROP"),
  cmd("-A", "INPUT", "-c", "7", "700", "-p", "udp", "--sport", "123"),
  cmd("-N", "svc"),
  cmd("-A", "svc", "-p", "tcp", "-m", "tcp", "--syn", "-j", "RETURN"),
  cmd("-A", "svc", "-j", "DROP"),
  cmd("-A", "INPUT", "-d", "192.0.2.1", "-j", "svc"),
  cmd("-P", "OUTPUT", "DROP"),
  cmd("-L", "-v", "-x", "-n", "--line-numbers"),
  cmd("-D", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"),
  cmd("-D", "INPUT", "-p", "tcp", "--dport", "23", "-j", "ACCEPT"),
  cmd("-Z"),
  cmd("-F"),
  cmd("-X"),
  cmd("-P", "OUTPUT", "ACCEPT"),
  { argv: ["iptables-legacy-restore", "-c"], stdin: RESTORE },
  cmd("-S"),
  cmd("-F"),
  cmd("-X"),
];

describe.skipIf(unavailable !== undefined)("iptables-legacy through bpfilter with BPF enforcement equals native netfilter", () => {
  const pinRoot = `/sys/fs/bpf/bpft-host-${process.pid}`;
  const enforcerLog: string[] = [];
  const bench = new HostBench(new BpfEnforcer({ pinRoot, log: (line) => enforcerLog.push(line) }));

  beforeAll(() => bench.start(), 30_000);
  afterAll(async () => {
    await bench.close();
    rmSync(pinRoot, { recursive: true, force: true });
  });

  it.each(steps.map((s, i) => [i, s.argv.slice(1).join(" "), s] as const))("step %i: %s", async (_i, _label, step) => {
    const { native, bpfilter } = await bench.both(step.argv, step.stdin);
    expect(bpfilter).toEqual(native);
    const save = await bench.both(["iptables-legacy-save", "-c"]);
    expect(maskSave(save.bpfilter.stdout)).toBe(maskSave(save.native.stdout));
    const dump = await bench.both([bench.probe, "dump"]);
    expect(dump.bpfilter).toEqual(dump.native);
  });

  it("enforced every replace with BPF programs and declined none", () => {
    expect(enforcerLog.filter((line) => line.includes(": enforced: ")).length).toBeGreaterThan(10);
    expect(bench.log.filter((line) => line.includes("declined"))).toEqual([]);
  });
});
