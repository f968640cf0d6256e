/**
 * The link-layer type of an interface (ARPHRD_*, from SIOCGIFHWADDR). The compiled programs parse
 * an Ethernet header first; an interface without one (tun, wireguard, ipip: the IP header comes
 * first) would have its packets misread, so a netns with such an interface is declined.
 */
import { BpfError, type NetInterface } from "../bpf/index.ts";
import { lastErrno, libc } from "../bpf/libc.ts";

const socket = libc.func("int socket(int domain, int type, int protocol)");
const ioctl = libc.func("int ioctl(int fd, unsigned long request, _Inout_ uint8_t *ifreq)");
const close = libc.func("int close(int fd)");

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SIOCGIFHWADDR = 0x8927;
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;

/** The ARPHRD_* types the programs handle: both start packets with an Ethernet header. */
export const ETHERNET_LINK_TYPES: ReadonlyMap<number, string> = new Map([
  [1, "ARPHRD_ETHER"],
  [772, "ARPHRD_LOOPBACK"],
]);

/** ARPHRD_* of each interface, by name; call inside the netns (bpf/ inNetns). */
export function linkTypes(netifs: readonly NetInterface[]): Map<string, number> {
  const fd = socket(AF_INET, SOCK_DGRAM, 0) as number;
  if (fd < 0) throw new BpfError("socket(AF_INET, SOCK_DGRAM) for SIOCGIFHWADDR", lastErrno());
  try {
    const types = new Map<string, number>();
    for (const netif of netifs) {
      const ifreq = new Uint8Array(IFREQ_SIZE);
      ifreq.set(Buffer.from(netif.name).subarray(0, IFNAMSIZ - 1));
      if (ioctl(fd, SIOCGIFHWADDR, ifreq) !== 0) throw new BpfError(`ioctl(SIOCGIFHWADDR, '${netif.name}')`, lastErrno());
      types.set(netif.name, new DataView(ifreq.buffer).getUint16(IFNAMSIZ, true)); // ifr_hwaddr.sa_family
    }
    return types;
  } finally {
    close(fd);
  }
}

/** Why the programs cannot enforce a table in a netns with these interfaces, or undefined. */
export function unsupportedInterface(types: ReadonlyMap<string, number>): string | undefined {
  for (const [name, type] of types) {
    if (!ETHERNET_LINK_TYPES.has(type)) {
      return `interface ${name} has link type ${type}, not Ethernet: the programs read an Ethernet header first and would misread its packets`;
    }
  }
  return undefined;
}
