/**
 * Differential host test: the real iptables-legacy, command by command, once into native
 * netfilter in one fresh netns and once through the preload shim and the helper in another.
 * Output, errors and exit codes must be identical, and after every command so must
 * iptables-legacy-save -c, iptables -L -v -x, and the raw GET_INFO/GET_ENTRIES bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostBench, hostTierUnavailable, maskSave } from "./harness.ts";

const unavailable = hostTierUnavailable();
if (unavailable) console.warn(`skipping host differential tests: ${unavailable}`);

const ipt = "iptables-legacy";

/** One step: a command (argv) and, for restore, its stdin. */
interface Step {
  readonly argv: readonly string[];
  readonly stdin?: string;
}

const cmd = (...argv: string[]): Step => ({ argv: [ipt, ...argv] });

const RESTORE = `*filter
:INPUT DROP [3:180]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [7:420]
:chain-a - [0:0]
:chain-b - [0:0]
[11:2200] -A INPUT -i lo -j ACCEPT
[2:120] -A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh in" -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j chain-a
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A chain-a -s 192.0.2.0/24 -j chain-b
-A chain-a -j RETURN
-A chain-b -p udp -m udp --sport 1000:2000 -j DROP
-A chain-b -g chain-a
-A OUTPUT ! -o eth0 -f -j ACCEPT
COMMIT
`;

const steps: Step[] = [
  cmd("-L", "-n"),
  cmd("-S"),
  cmd("-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"),
  cmd("-I", "INPUT", "1", "-s", "10.0.0.0/8", "-j", "DROP"),
  cmd("-A", "INPUT", "-c", "5", "300", "-d", "198.51.100.7", "-p", "udp", "--sport", "53", "-j", "ACCEPT"),
  cmd("-N", "web"),
  cmd("-A", "web", "-p", "tcp", "-m", "multiport", "--dports", "80,443", "-j", "ACCEPT"),
  cmd("-A", "INPUT", "-i", "eth0", "-j", "web"),
  cmd("-A", "FORWARD", "-o", "veth+", "!", "-d", "192.168.1.1", "-j", "DROP"),
  cmd("-A", "INPUT", "-m", "limit", "--limit", "3/min", "--limit-burst", "7", "-j", "LOG", "--log-prefix", "lim: "),
  cmd("-A", "INPUT", "-p", "tcp", "-m", "hashlimit", "--hashlimit-upto", "5/s", "--hashlimit-name", "hl1", "-j", "ACCEPT"),
  cmd("-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW,ESTABLISHED", "-m", "mark", "--mark", "0x10/0xff", "-j", "ACCEPT"),
  cmd("-A", "INPUT", "-m", "quota", "--quota", "1000", "-j", "ACCEPT"),
  cmd("-A", "INPUT", "-m", "recent", "--name", "r1", "--set"),
  cmd("-A", "FORWARD", "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"),
  cmd("-A", "FORWARD", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "MARK", "--set-mark", "7"),
  cmd("-A", "OUTPUT", "-m", "owner", "--uid-owner", "0", "-j", "ACCEPT"),
  cmd("-R", "INPUT", "2", "-p", "udp", "--dport", "53", "-j", "ACCEPT"),
  cmd("-C", "INPUT", "-p", "udp", "--dport", "53", "-j", "ACCEPT"),
  cmd("-C", "INPUT", "-p", "udp", "--dport", "54", "-j", "ACCEPT"),
  cmd("-D", "INPUT", "-s", "10.0.0.0/8", "-j", "DROP"),
  cmd("-D", "INPUT", "-p", "udp", "--dport", "99", "-j", "DROP"),
  cmd("-D", "INPUT", "9"),
  cmd("-X", "web"),
  cmd("-A", "nosuch", "-j", "ACCEPT"),
  cmd("-A", "INPUT", "-j", "nosuch"),
  cmd("-N", "web"),
  cmd("-N", "loop-a"),
  cmd("-N", "loop-b"),
  cmd("-A", "loop-a", "-j", "loop-b"),
  cmd("-A", "loop-b", "-j", "loop-a"),
  cmd("-A", "INPUT", "-j", "loop-a"),
  cmd("-E", "web", "www"),
  cmd("-E", "nosuch", "other"),
  cmd("-P", "FORWARD", "DROP"),
  cmd("-P", "www", "DROP"),
  cmd("-L", "-v", "-x", "-n", "--line-numbers"),
  cmd("-Z", "INPUT"),
  cmd("-L", "INPUT", "-v", "-x", "-n"),
  cmd("-F", "www"),
  cmd("-X", "www"),
  cmd("-F"),
  cmd("-X"),
  cmd("-P", "FORWARD", "ACCEPT"),
  { argv: ["iptables-legacy-restore", "-c"], stdin: RESTORE },
  cmd("-L", "-v", "-x", "-n", "--line-numbers"),
  cmd("-S", "chain-b"),
  { argv: ["iptables-legacy-restore", "--noflush"], stdin: "*filter\n-A chain-b -j ACCEPT\nCOMMIT\n" },
  { argv: ["iptables-legacy-restore"], stdin: "*filter\n-A nosuch -j ACCEPT\nCOMMIT\n" },
  cmd("-t", "mangle", "-A", "PREROUTING", "-p", "udp", "-j", "MARK", "--set-mark", "1"),
  cmd("-t", "nat", "-L", "-n"),
  cmd("-t", "nosuch", "-L"),
  cmd("-Z"),
  cmd("-X", "chain-a"),
  cmd("-F"),
  cmd("-X"),
  cmd("-P", "INPUT", "ACCEPT"),
];

describe.skipIf(unavailable !== undefined)("iptables-legacy through bpfilter equals native netfilter", () => {
  const bench = new HostBench();

  beforeAll(() => bench.start(), 30_000);
  afterAll(() => bench.close());

  it.each(steps.map((s, i) => [i, s.argv.slice(1).join(" "), s] as const))("step %i: %s", async (_i, _label, step) => {
    const { native, bpfilter } = await bench.both(step.argv, step.stdin);
    expect(bpfilter).toEqual(native);
    const save = await bench.both(["iptables-legacy-save", "-c"]);
    expect(maskSave(save.bpfilter.stdout)).toBe(maskSave(save.native.stdout));
    expect(save.bpfilter.code).toBe(save.native.code);
    const dump = await bench.both([bench.probe, "dump"]);
    expect(dump.bpfilter).toEqual(dump.native);
  });

  it("the bpfilter netns's own netfilter table never saw the rules", async () => {
    await bench.run("bpfilter", [ipt, "-A", "INPUT", "-s", "203.0.113.9", "-j", "DROP"]);
    const viaHelper = await bench.run("bpfilter", [ipt, "-S", "INPUT"]);
    const viaNetfilter = await bench.run("native", ["ip", "netns", "exec", bench.bpfNs, ipt, "-S", "INPUT"]);
    expect(viaHelper.stdout).toContain("-A INPUT -s 203.0.113.9/32 -j DROP");
    expect(viaNetfilter.stdout).toBe("-P INPUT ACCEPT\n");
  });
});
