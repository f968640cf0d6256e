/**
 * The real path on the host: the helper as its own process in host mode, real iptables-legacy
 * through the LD_PRELOAD shim in netns b, real UDP datagrams from netns a over veth. The rule is
 * enforced by the helper's netfilter programs (not by netfilter's table, which stays empty), counted, survives a
 * SIGKILLed helper, is described again by the restarted helper, and deleting it restores the flow.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HelperBench, realPathUnavailable } from "./helper_process.ts";

const unavailable = realPathUnavailable();
if (unavailable) console.warn(`skipping the real-path tests: ${unavailable}`);

const rule = ["INPUT", "-p", "udp", "--dport", "5000", "-j", "DROP"];

/** The packet counter of the udp dpt:5000 rule in `iptables -L INPUT -v -x -n` output. */
function ruleCounter(listing: string): number | undefined {
  const line = listing.split("\n").find((l) => l.includes("udp dpt:5000"));
  return line === undefined ? undefined : Number(line.trim().split(/\s+/)[0]);
}

/** Program id → name and type, from `bpftool prog show`. */
function programs(): Map<number, { type: string | number; name: string }> {
  const progs = JSON.parse(execFileSync("bpftool", ["-j", "prog", "show"], { encoding: "utf8" })) as { id: number; type: string | number; name?: string }[];
  return new Map(progs.map((p) => [p.id, { type: p.type, name: p.name ?? "" }]));
}

/** "hook:priority:program" for each netfilter link the helper pinned for netns b's filter table. */
function pinnedLinks(pinRoot: string): string[] {
  const [dir] = readdirSync(pinRoot).map((cookie) => join(pinRoot, cookie, "filter"));
  const names = programs();
  return ["link_input", "link_forward", "link_output"].map((pin) => {
    const link = JSON.parse(execFileSync("bpftool", ["-j", "link", "show", "pinned", join(dir!, pin)], { encoding: "utf8" })) as { type: number | string; prog_id: number };
    return `${pin}:${link.type}:${names.get(link.prog_id)?.name ?? `id ${link.prog_id}`}`;
  });
}

describe.skipIf(unavailable !== undefined)("iptables-legacy through the shim, enforced by the helper's programs", () => {
  const bench = new HelperBench();
  beforeAll(() => bench.start(), 60_000);
  afterAll(() => bench.close());

  it("a UDP flow goes through before any rule", () => {
    expect(bench.flow()).toBe(20);
  });

  it("-A INPUT -p udp --dport 5000 -j DROP stops the flow and counts every datagram", async () => {
    await bench.iptables("-A", ...rule);
    expect(bench.flow()).toBe(0);
    expect(ruleCounter(await bench.iptables("-L", "INPUT", "-v", "-x", "-n"))).toBe(20);
    // bpftool 7.1 (Debian 12) predates netfilter programs and links: it prints their types as numbers (32, 10).
    const loaded = [...programs().values()].map((p) => ({ ...p, type: p.type === "netfilter" ? 32 : p.type }));
    for (const name of ["bpfilter_disp", "bpfilter_input", "bpfilter_fwd", "bpfilter_output"]) expect(loaded).toContainEqual({ type: 32, name });
    expect(pinnedLinks(bench.pinRoot).map((l) => l.replace(/:netfilter:/, ":10:"))).toEqual(["link_input:10:bpfilter_disp", "link_forward:10:bpfilter_disp", "link_output:10:bpfilter_disp"]);
  });

  it("netfilter itself holds no rule: the shim did not fall back", async () => {
    const native = await bench.run(bench.nsB, "native", ["iptables-legacy", "-S"]);
    expect(native).toMatchObject({ code: 0, stdout: "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n" });
  });

  it("the rule stays enforced when the helper is SIGKILLed, and a restarted helper describes it with its counter", async () => {
    await bench.killHelper();
    expect(bench.flow()).toBe(0);
    await bench.startHelper();
    expect(ruleCounter(await bench.iptables("-L", "INPUT", "-v", "-x", "-n"))).toBe(40);
    expect(bench.helperLog).toContain("taken over from the pins");
  });

  it("a flow during 10 replaces that keep the DROP rule: no datagram gets through, every one is counted", async () => {
    const loop = `n=0; for i in $(seq 150); do r=$(${bench.udpFlow} --from-ns /run/netns/${bench.nsA} --to-ns /run/netns/${bench.nsB} ` +
      `--to ${bench.addrB} --port 5000 --count 4 --wait-ms 1); n=$((n + \${r##* })); done; echo $n`;
    const flows = bench.run(bench.nsA, "native", ["sh", "-c", loop]);
    for (let i = 0; i < 10; i++) await bench.iptables("-I", "INPUT", "1", "-p", "tcp", "--dport", String(7000 + i), "-j", "ACCEPT");
    const received = await flows;
    expect(received).toMatchObject({ code: 0, stdout: "0\n" });
    for (let i = 0; i < 10; i++) await bench.iptables("-D", "INPUT", "-p", "tcp", "--dport", String(7000 + i), "-j", "ACCEPT");
    expect(ruleCounter(await bench.iptables("-L", "INPUT", "-v", "-x", "-n"))).toBe(40 + 600);
  });

  it("-Z zeroes the counters, -c sets them (ADD_COUNTERS)", async () => {
    await bench.iptables("-Z", "INPUT");
    expect(ruleCounter(await bench.iptables("-L", "INPUT", "-v", "-x", "-n"))).toBe(0);
    await bench.iptables("-A", "INPUT", "-p", "udp", "--dport", "5009", "-c", "7", "700", "-j", "DROP");
    const save = await bench.iptables("-S", "INPUT", "-v");
    expect(save).toContain("-A INPUT -p udp -m udp --dport 5009 -c 7 700 -j DROP");
    await bench.iptables("-D", "INPUT", "-p", "udp", "--dport", "5009", "-j", "DROP");
  });

  it("-D restores the flow; the policy counts what now goes through", async () => {
    await bench.iptables("-I", "INPUT", "-p", "udp", "--dport", "5001", "-j", "DROP");
    await bench.iptables("-D", ...rule);
    expect(bench.flow()).toBe(20);
    const listing = await bench.iptables("-L", "INPUT", "-v", "-x", "-n");
    expect(listing).toContain("Chain INPUT (policy ACCEPT 20 packets");
    expect(listing).not.toContain("dpt:5000");
  });
});
