/**
 * The real path on the host: the helper as its own process in host mode, real iptables-legacy
 * through the LD_PRELOAD shim in netns b, real UDP datagrams from netns a over veth. The rule is
 * enforced by the helper's XDP program (not by netfilter, which stays empty), counted, survives a
 * SIGKILLed helper, is described again by the restarted helper, and deleting it restores the flow.
 */
import { execFileSync } from "node:child_process";
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
function programs(): Map<number, { type: string; name: string }> {
  const progs = JSON.parse(execFileSync("bpftool", ["-j", "prog", "show"], { encoding: "utf8" })) as { id: number; type: string; name?: string }[];
  return new Map(progs.map((p) => [p.id, { type: p.type, name: p.name ?? "" }]));
}

/** "device:kind:program" for every XDP and TC attachment `bpftool net show` lists in netns `ns`. */
function attachments(ns: string): string[] {
  const out = execFileSync("ip", ["netns", "exec", ns, "bpftool", "-j", "net", "show"], { encoding: "utf8" });
  type Attachment = { devname: string; kind?: string; id: number };
  const [net] = JSON.parse(out) as { xdp: Attachment[]; tc: Attachment[] }[];
  const names = programs();
  return [...net!.xdp.map((x) => ({ ...x, kind: "xdp" })), ...net!.tc]
    .map((a) => `${a.devname}:${a.kind}:${names.get(a.id)?.name ?? `id ${a.id}`}`)
    .sort();
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
    expect([...programs().values()]).toContainEqual({ type: "xdp", name: "bpfilter_in" });
    const veth = bench.veth;
    expect(attachments(bench.nsB)).toEqual(
      [`lo:xdp:bpfilter_in`, `lo:clsact/egress:bpfilter_out`, `${veth}:xdp:bpfilter_in`, `${veth}:clsact/egress:bpfilter_out`].sort(),
    );
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
