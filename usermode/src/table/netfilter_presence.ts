/**
 * netfilter lists a table in /proc/net/ip_tables_names once a request has looked it up in that
 * netns, and iptables-save without -t saves only the tables listed there. A request the helper
 * serves never reaches netfilter, so the kernel-mode helper looks the served table up itself, in
 * the caller's netns, once per netns (the kernel sends the helper's own iptables calls straight
 * to netfilter). The host-mode shim does the same in the caller's process.
 */
import { inNetns } from "../bpf/netns.ts";
import { close, libc, socket } from "../bpf/libc.ts";
import { IPT_SO_GET, IPT_SO_SET } from "../ipt/abi.ts";
import type { SockoptRequest } from "./sockopt_handler.ts";

const getsockopt = libc.func("int getsockopt(int fd, int level, int optname, _Inout_ void *optval, _Inout_ uint32_t *optlen)");

const AF_INET = 2;
const SOCK_RAW = 3;
const IPPROTO_RAW = 255;
const IPPROTO_IP = 0;
/** sizeof(struct ipt_getinfo); its first XT_TABLE_MAXNAMELEN bytes are the table name. */
const IPT_GETINFO_SIZE = 84;
const XT_TABLE_MAXNAMELEN = 32;

/** The table a request names (the name leads ipt_getinfo, ipt_get_entries, ipt_replace, xt_counters_info). */
export function requestTableName(req: SockoptRequest): string | undefined {
  const named: number[] = req.set ? [IPT_SO_SET.REPLACE, IPT_SO_SET.ADD_COUNTERS] : [IPT_SO_GET.INFO, IPT_SO_GET.ENTRIES];
  if (!named.includes(req.cmd) || req.optval.length < XT_TABLE_MAXNAMELEN) return undefined;
  const nul = req.optval.subarray(0, XT_TABLE_MAXNAMELEN).indexOf(0);
  if (nul <= 0) return undefined;
  return Buffer.from(req.optval.subarray(0, nul)).toString("latin1");
}

/** Looks a table up in netfilter in the netns at `netnsPath`; returns -1 on failure, 0 on success. */
export function lookUpInNetfilter(netnsPath: string, table: string): number {
  return inNetns(netnsPath, () => {
    const fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW) as number;
    if (fd < 0) return -1;
    try {
      const info = Buffer.alloc(IPT_GETINFO_SIZE);
      info.write(table, 0, XT_TABLE_MAXNAMELEN - 1, "latin1");
      return (getsockopt(fd, IPPROTO_IP, IPT_SO_GET.INFO, info, [IPT_GETINFO_SIZE]) as number) === 0 ? 0 : -1;
    } finally {
      close(fd);
    }
  });
}

/** Remembers which (netns, table) pairs netfilter already lists, and looks up the others. */
export class NetfilterPresence {
  private readonly listed = new Set<string>();

  constructor(
    private readonly served: string,
    private readonly log: (line: string) => void,
    private readonly lookUp: (netnsPath: string, table: string) => number = lookUpInNetfilter,
  ) {}

  /** Before a request for the served table: make netfilter list it in the caller's netns. */
  touch(req: SockoptRequest): void {
    if (requestTableName(req) !== this.served) return;
    const key = `${req.netns.cookie}:${this.served}`;
    if (this.listed.has(key)) return;
    try {
      if (req.netns.path === undefined) return;
      if (this.lookUp(req.netns.path, this.served) === 0) this.listed.add(key);
      else this.log(`netns ${req.netns.cookie}: netfilter did not look up table '${this.served}'; iptables-save without -t may omit it`);
    } catch (err) {
      this.log(`netns ${req.netns.cookie}: cannot enter ${req.netns.path} to list table '${this.served}': ${(err as Error).message}`);
    }
  }
}
