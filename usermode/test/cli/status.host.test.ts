/**
 * bpfilter status and dump as a user runs them: the helper (host mode, real BpfEnforcer) keeps
 * its state in a directory; iptables-legacy through the shim sets rules, packets go through, and
 * the CLI, reading only that directory and the pins, says who enforces the table and why, shows
 * every rule with the counters native netfilter has for the same packets, names the programs,
 * maps and links with bpftool's ids, and annotates the programs' instructions with their rules.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.ts";
import { BpfEnforcer } from "../../src/enforce/bpf_enforcer.ts";
import { bpffsUnavailable, HostBench, hostTierUnavailable } from "../host/harness.ts";
import { sendReplayTraffic } from "../host/replay.ts";

const unavailable = hostTierUnavailable() ?? bpffsUnavailable();
if (unavailable) console.warn(`skipping the bpfilter status tests: ${unavailable}`);

function cli(...args: string[]): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = runCli(args, (l) => out.push(l), (l) => err.push(l), {});
  return { code, out, err };
}

describe("bpfilter status without helper state", () => {
  it("says where it looked and why nothing is there", () => {
    const { code, err } = cli("status", "--state-dir", "/nonexistent/bpfilter-state");
    expect(code).toBe(1);
    expect(err.join("\n")).toBe(
      "bpfilter: no helper state in /nonexistent/bpfilter-state: the helper has not served any iptables request with this state directory (it keeps its state there; see --state-dir and BPFILTER_STATE_DIR)",
    );
  });

  it("names a bad command or option", () => {
    expect(cli("stat").err[0]).toMatch(/^bpfilter: unknown command 'stat'\nusage: bpfilter status\|dump/);
    expect(cli("status", "--log", "x").err[0]).toMatch(/--log needs a number of lines, not 'x'/);
    expect(cli("dump", "--pin-root").code).toBe(64);
  });
});

describe.skipIf(unavailable !== undefined)("bpfilter status and dump of a running helper", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "bpfilter-state-"));
  const pinRoot = `/sys/fs/bpf/bpft-status-${process.pid}`;
  let bench: HostBench;
  let peers: { native: string; bpfilter: string };
  const enforcer = new BpfEnforcer({
    pinRoot,
    log: (line) => {
      const about = /^netns (\d+): (.*)$/s.exec(line);
      if (about !== null) bench.status?.log(BigInt(about[1]!), about[2]!);
    },
  });
  bench = new HostBench(enforcer, stateDir);
  const status = (...args: string[]) => cli(...args, "--state-dir", stateDir, "--pin-root", pinRoot);
  const inode = (): string => execFileSync("stat", ["-L", "-c", "%i", `/run/netns/${bench.bpfNs}`], { encoding: "utf8" }).trim();

  beforeAll(async () => {
    await bench.start();
    peers = bench.connectPeers();
  }, 60_000);
  afterAll(async () => {
    await bench.close();
    rmSync(pinRoot, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("shows bpfilter enforcing, each rule with netfilter's counters for the same packets, and the objects by id", async () => {
    for (const argv of [
      ["-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"],
      ["-N", "web"],
      ["-A", "web", "-p", "tcp", "-m", "multiport", "--dports", "80,443", "-j", "ACCEPT"],
      ["-A", "INPUT", "-j", "web"],
      ["-A", "INPUT", "-p", "udp", "-j", "DROP"],
    ]) {
      const { native, bpfilter } = await bench.both(["iptables", ...argv]);
      expect(bpfilter).toEqual(native);
    }
    await sendReplayTraffic(bench.nativeNs, peers.native);
    await sendReplayTraffic(bench.bpfNs, peers.bpfilter);
    const { code, out } = status("status");
    expect(code).toBe(0);
    expect(out[0]).toMatch(new RegExp(`^netns ${inode()} \\(pid \\d+, cookie \\d+\\): filter: bpfilter, 4 rules, 4 compiled$`));
    const native = execFileSync("ip", ["netns", "exec", bench.nativeNs, "iptables-legacy", "-L", "INPUT", "-v", "-x", "-n"], { encoding: "utf8" });
    const ssh = /^\s+(\d+)\s+(\d+) ACCEPT\s+(?:tcp|6) .*dpt:22$/m.exec(native)!;
    expect(out).toContain(`     1 ${`[${ssh[1]}:${ssh[2]}]`.padEnd(14)} -p tcp -m tcp --dport 22 -j ACCEPT`);
    expect(Number(ssh[1])).toBeGreaterThan(0);
    expect(out).toContain("  chain web");
    expect(out.some((l) => /^\s+1 \[\d+:\d+\]\s+-p tcp -m multiport --dports 80,443 -j ACCEPT$/.test(l))).toBe(true);
    const progs = JSON.parse(execFileSync("bpftool", ["-j", "prog", "show", "pinned", join(pinRoot, out[0]!.match(/cookie (\d+)/)![1]!, "filter", "input")], { encoding: "utf8" })) as { id: number; name: string };
    expect(out.find((l) => l.startsWith("  programs: "))).toContain(`${progs.name} (netfilter) id ${progs.id}`);
    expect(out.find((l) => l.startsWith("  maps: "))).toMatch(/bpfilter_count \(percpu_array\) id \d+ \[pin counters\]/);
    expect(out.join("\n")).toMatch(/log \(last \d+ of \d+\):\n\s+\S+ table filter: enforced: /);
  });

  it("annotates the programs' instructions with the rule each block implements", () => {
    const { out } = status("dump", inode());
    const text = out.join("\n");
    expect(text).toMatch(/program bpfilter_input id \d+ \(INPUT\), \d+ instructions, loaded/);
    expect(text).toMatch(/; rule 1 in chain INPUT: -p tcp -m tcp --dport 22 -j ACCEPT \[\d+:\d+\]\n\s+\d+: r1 = \*\(u8 \*\)\(r7 \+9\)/);
    expect(text).toContain("; rule 1 in chain web: -p tcp -m multiport --dports 80,443 -j ACCEPT");
    expect(text).toMatch(/; policy of INPUT: ACCEPT \[\d+:\d+\]/);
  });

  it("shows netfilter holding the table, and why, once a rule needs it; then bpfilter again", async () => {
    await bench.both(["iptables", "-I", "INPUT", "2", "-m", "addrtype", "--dst-type", "BROADCAST", "-j", "ACCEPT"]);
    expect(status("status").out[0]).toMatch(/: filter: netfilter: rule 2 in chain INPUT: match 'addrtype' revision \d is not supported$/);
    expect(status("status").out.join("\n")).toContain("table filter: netfilter enforces it from now on: rule 2 in chain INPUT: match 'addrtype'");
    await bench.both(["iptables", "-D", "INPUT", "2"]);
    expect(status("status").out[0]).toMatch(/: filter: bpfilter, 4 rules, 4 compiled$/);
    expect(status("status", "12345").err[0]).toMatch(/^bpfilter: no netns 12345 in .*; known: \d+ \(cookie \d+\)/);
  });
});
