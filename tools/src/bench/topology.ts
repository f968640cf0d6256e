/**
 * One sender netns and one receiver netns joined by a veth pair, named uniquely for this process.
 * IPv6 is off on both sides and the neighbours are static, so the receiver's interface counts only
 * the bench's frames; reverse-path filtering is off in the receiver, which routes the bench's
 * source prefixes back over the veth.
 */
import { execFileSync } from "node:child_process";
import { RECEIVER_ADDR, SENDER_ADDR, SOURCE_PREFIXES } from "./rulesets.ts";

/** A sender/receiver pair. */
export interface Topology {
  readonly sender: string;
  readonly receiver: string;
  /** The veth's name, the same on both ends. */
  readonly ifname: string;
  readonly senderMac: string;
  readonly receiverMac: string;
}

let made = 0;
const tag = process.pid.toString(36);

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function sysctl(netns: string, ...settings: string[]): void {
  execFileSync("ip", ["netns", "exec", netns, "sysctl", "-qw", ...settings], { stdio: ["ignore", "ignore", "pipe"] });
}

/** Creates a pair; `label` (a few letters) goes into the names to tell the pairs apart. */
export function createTopology(label: string): Topology {
  made += 1;
  const id = `${tag}${label}${made}`;
  const topology: Topology = {
    sender: `bench-s-${id}`,
    receiver: `bench-r-${id}`,
    ifname: `bn${id}`.slice(0, 15),
    senderMac: `02:be:00:${hex(made >> 8)}:${hex(made)}:01`,
    receiverMac: `02:be:00:${hex(made >> 8)}:${hex(made)}:02`,
  };
  try {
    const { sender, receiver, ifname } = topology;
    ip("netns", "add", sender);
    ip("netns", "add", receiver);
    for (const ns of [sender, receiver]) {
      sysctl(ns, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
    }
    ip("-n", sender, "link", "add", ifname, "address", topology.senderMac, "type", "veth",
      "peer", "name", ifname, "address", topology.receiverMac, "netns", receiver);
    ip("-n", sender, "addr", "add", `${SENDER_ADDR}/24`, "dev", ifname);
    ip("-n", receiver, "addr", "add", `${RECEIVER_ADDR}/24`, "dev", ifname);
    for (const ns of [sender, receiver]) {
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "link", "set", ifname, "up");
    }
    ip("-n", sender, "neigh", "add", RECEIVER_ADDR, "lladdr", topology.receiverMac, "dev", ifname, "nud", "permanent");
    ip("-n", receiver, "neigh", "add", SENDER_ADDR, "lladdr", topology.senderMac, "dev", ifname, "nud", "permanent");
    for (const prefix of SOURCE_PREFIXES) ip("-n", receiver, "route", "add", prefix, "dev", ifname);
    sysctl(receiver, "net.ipv4.conf.all.rp_filter=0", `net.ipv4.conf.${ifname}.rp_filter=0`, "net.ipv4.conf.default.rp_filter=0");
    return topology;
  } catch (error) {
    destroyTopology(topology);
    throw error;
  }
}

function hex(value: number): string {
  return (value & 255).toString(16).padStart(2, "0");
}

/** Deletes both netns (and with them the veth); safe to call twice. */
export function destroyTopology(topology: Topology): void {
  for (const ns of [topology.sender, topology.receiver]) {
    try {
      ip("netns", "del", ns);
    } catch {
      // already gone, or never made
    }
  }
}

/** The receiver interface's rx packet counter and drop counter. */
export function receiverCounters(topology: Topology): { rx: number; dropped: number } {
  const out = execFileSync("ip", ["-n", topology.receiver, "-s", "-j", "link", "show", "dev", topology.ifname], { encoding: "utf8" });
  const [link] = JSON.parse(out) as { stats64: { rx: { packets: number; dropped: number } } }[];
  return { rx: link!.stats64.rx.packets, dropped: link!.stats64.rx.dropped };
}
