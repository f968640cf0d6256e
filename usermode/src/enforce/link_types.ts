/**
 * Which interfaces of a netns the programs go on. The compiled programs parse an Ethernet header
 * first, so they go on Ethernet and loopback devices. Tunnels that carry only IPv6 (sit, ip6tnl:
 * the fallback devices sit0 and ip6tnl0 exist in every netns once their module is loaded) carry
 * nothing iptables filters, and are left alone. Any other device without an Ethernet header (tun,
 * wireguard, ipip, gre) would have its IPv4 packets misread: while one is up, the netns is declined;
 * while it is down nothing passes it, and the interface signature notices when it comes up.
 */
import { BpfError, type NetInterface } from "../bpf/index.ts";
import { lastErrno, libc } from "../bpf/libc.ts";
import { withDgramSocket } from "./dgram_socket.ts";

const ioctl = libc.func("int ioctl(int fd, unsigned long request, _Inout_ uint8_t *ifreq)");

const SIOCGIFFLAGS = 0x8913;
const SIOCGIFHWADDR = 0x8927;
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;
const IFF_UP = 0x1;

/** ARPHRD_* types whose packets start with an Ethernet header: the programs go on these. */
export const ETHERNET_LINK_TYPES: ReadonlyMap<number, string> = new Map([
  [1, "ARPHRD_ETHER"],
  [772, "ARPHRD_LOOPBACK"],
]);

/** ARPHRD_* types of tunnels that carry only IPv6: nothing for iptables there. */
export const IPV6_ONLY_LINK_TYPES: ReadonlyMap<number, string> = new Map([
  [769, "ARPHRD_TUNNEL6"],
  [776, "ARPHRD_SIT"],
]);

/** An interface with its link type (ARPHRD_*) and whether it is up. */
export interface NetLink extends NetInterface {
  readonly type: number;
  readonly up: boolean;
}

/** Link type and state of each interface; call inside the netns (bpf/ inNetns). */
export function netLinks(netifs: readonly NetInterface[]): NetLink[] {
  return withDgramSocket("interface ioctls", (fd) => {
    const ask = (name: string, request: number, what: string): DataView => {
      const ifreq = new Uint8Array(IFREQ_SIZE);
      ifreq.set(Buffer.from(name).subarray(0, IFNAMSIZ - 1));
      if (ioctl(fd, request, ifreq) !== 0) throw new BpfError(`ioctl(${what}, '${name}')`, lastErrno());
      return new DataView(ifreq.buffer);
    };
    return netifs.map((netif) => ({
      ...netif,
      type: ask(netif.name, SIOCGIFHWADDR, "SIOCGIFHWADDR").getUint16(IFNAMSIZ, true), // ifr_hwaddr.sa_family
      up: (ask(netif.name, SIOCGIFFLAGS, "SIOCGIFFLAGS").getUint16(IFNAMSIZ, true) & IFF_UP) !== 0,
    }));
  });
}

/** The interfaces the programs go on, or why the netns cannot be enforced (see the file comment). */
export function programInterfaces(links: readonly NetLink[]): { readonly attach: NetLink[] } | { readonly declined: string } {
  const attach: NetLink[] = [];
  for (const link of links) {
    if (ETHERNET_LINK_TYPES.has(link.type)) attach.push(link);
    else if (IPV6_ONLY_LINK_TYPES.has(link.type) || !link.up) continue;
    else {
      return {
        declined: `interface ${link.name} is up and has link type ${link.type}, not Ethernet: the programs read an Ethernet header first and would misread its packets`,
      };
    }
  }
  return { attach };
}

/**
 * The interfaces of a netns as one comparable string (a change means: apply again). Up or down
 * only counts for the devices it decides about (neither Ethernet nor IPv6-only), so that an
 * Ethernet link going down and up does not recompile the table.
 */
export function linkSignature(links: readonly NetLink[]): string {
  const state = (link: NetLink) => (ETHERNET_LINK_TYPES.has(link.type) || IPV6_ONLY_LINK_TYPES.has(link.type) ? "" : link.up ? ":up" : ":down");
  return links.map((link) => `${link.name}:${link.ifindex}:${link.type}${state(link)}`).sort().join(" ");
}
