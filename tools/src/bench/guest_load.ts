/**
 * Run inside the guest by the guest section (tools/vm, patched kernel, this checkout's helper):
 * for each size given, a fresh netns with a veth pair gets a blocklist table through an unmodified
 * iptables-legacy-restore (kernel mode: the kernel forwards it to the helper); prints one JSON line
 * per size: {"size", "ms", "code", "stderr", "enforcedBy"}.
 *   tsx tools/src/bench/guest_load.ts SIZE...
 */
import { execFileSync, spawnSync } from "node:child_process";
import { iptablesRestore } from "./render.ts";
import { buildRuleset } from "./rulesets.ts";

/**
 * Netfilter links on the system (the helper attaches three per netns it enforces). Debian 12's
 * bpftool (7.1) predates the netfilter link and prints its type as the number 10
 * (BPF_LINK_TYPE_NETFILTER); newer ones print "netfilter".
 */
function netfilterLinks(): number {
  const out = spawnSync("bpftool", ["-j", "link", "show"], { encoding: "utf8" }).stdout ?? "[]";
  return (JSON.parse(out || "[]") as { type?: string | number }[]).filter((l) => l.type === "netfilter" || l.type === 10).length;
}

for (const arg of process.argv.slice(2)) {
  const size = Number(arg);
  const ns = `bench-g-${size}`;
  execFileSync("ip", ["netns", "add", ns]);
  execFileSync("ip", ["-n", ns, "link", "add", "bg0", "type", "veth", "peer", "name", "bg1"]);
  execFileSync("ip", ["-n", ns, "link", "set", "bg0", "up"]);
  const linksBefore = netfilterLinks();
  const start = performance.now();
  const run = spawnSync("ip", ["netns", "exec", ns, "iptables-legacy-restore"], { input: iptablesRestore(buildRuleset("blocklist", size)), encoding: "utf8", timeout: 900_000 });
  const ms = performance.now() - start;
  const enforcedBy = netfilterLinks() > linksBefore ? "bpfilter" : "netfilter or none";
  console.log(JSON.stringify({ size, ms, code: run.status, stderr: (run.stderr ?? "").trim().split("\n").slice(-2).join(" | "), enforcedBy }));
  execFileSync("ip", ["netns", "del", ns]);
}
