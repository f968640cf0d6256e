// A veth pair between two fresh network namespaces, for attach tests with real packets. Names are unique
// per process and call; destroy() deletes both namespaces (and with them the veth pair).
import { execFileSync } from "node:child_process";
import { ifindexOf, inNetns, namedNetnsPath } from "../../src/bpf/index.ts";

/** Two netns "a" and "b" joined by a veth pair, addressed 192.0.2.1 (a) and 192.0.2.2 (b). */
export interface VethPair {
  readonly a: VethEnd;
  readonly b: VethEnd;
  /** Deletes both namespaces; safe to call twice. */
  destroy(): void;
}

/** One end of the pair: its netns, interface, ifindex (inside that netns) and IPv4 address. */
export interface VethEnd {
  netns: string;
  netnsPath: string;
  ifname: string;
  ifindex: number;
  address: string;
  mac: string;
}

let created = 0;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Creates the pair; the caller must destroy() it (in afterAll or finally). */
export function createVethPair(): VethPair {
  created += 1;
  const tag = `${process.pid}x${created}`;
  const ends = (["a", "b"] as const).map((side, i) => ({
    netns: `bpft-${side}-${tag}`,
    ifname: `bpt${side}${tag}`.slice(0, 15),
    address: `192.0.2.${i + 1}`,
    mac: `02:b9:f0:00:00:0${i + 1}`,
  }));
  const [a, b] = ends as [(typeof ends)[0], (typeof ends)[0]];
  const destroy = (): void => {
    for (const end of ends) {
      try {
        ip("netns", "del", end.netns);
      } catch {
        // already gone, or never created
      }
    }
  };
  try {
    for (const end of ends) ip("netns", "add", end.netns);
    ip("link", "add", a.ifname, "address", a.mac, "netns", a.netns, "type", "veth",
      "peer", "name", b.ifname, "address", b.mac, "netns", b.netns);
    for (const [end, peer] of [[a, b], [b, a]] as const) {
      ip("-n", end.netns, "addr", "add", `${end.address}/24`, "dev", end.ifname);
      ip("-n", end.netns, "link", "set", end.ifname, "up");
      // Static neighbours: no ARP, so a program that drops everything cannot leave a stale entry behind.
      ip("-n", end.netns, "neigh", "add", peer.address, "lladdr", peer.mac, "dev", end.ifname, "nud", "permanent");
    }
    const withIndex = (end: (typeof ends)[0]): VethEnd => {
      const netnsPath = namedNetnsPath(end.netns);
      return { ...end, netnsPath, ifindex: inNetns(netnsPath, () => ifindexOf(end.ifname)) };
    };
    return { a: withIndex(a), b: withIndex(b), destroy };
  } catch (error) {
    destroy();
    throw error;
  }
}
