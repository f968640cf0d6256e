/**
 * The real Netfilter port: a raw IPv4 socket made inside the caller's netns, and the iptables
 * sockopts on it, exactly as iptables-legacy issues them. The helper's own calls reach netfilter:
 * in kernel mode the kernel does not forward them to the helper, in host mode nothing preloads it.
 */
import { constants } from "node:os";
import koffi from "koffi";
import { BpfError } from "../bpf/index.ts";
import { errnoName } from "../bpf/errors.ts";
import { close, lastErrno, libc, socket } from "../bpf/libc.ts";
import { inCallerNetns } from "../enforce/caller_netns.ts";
import type { NetnsRef } from "../ipc/sockopt_call.ts";
import {
  Errno,
  IPT_GET_ENTRIES,
  IPT_GETINFO,
  IPT_REPLACE,
  IPT_SO_GET,
  IPT_SO_SET,
  sockoptName,
  writeCString,
  XT_COUNTERS,
  XT_COUNTERS_INFO,
  XT_TABLE_MAXNAMELEN,
} from "../ipt/abi.ts";
import { decodeCounters, encodeCounters, type XtCounters } from "../ipt/counters.ts";
import { decodeGetInfo, type TableInfo } from "../ipt/get_ctl.ts";
import { IptError } from "../ipt/ipt_error.ts";
import type { Netfilter } from "./netfilter.ts";

const getsockopt = libc.func("int getsockopt(int fd, int level, int optname, void *optval, _Inout_ uint32_t *optlen)");
const setsockopt = libc.func("int setsockopt(int fd, int level, int optname, const void *optval, uint32_t optlen)");

const AF_INET = 2;
const SOCK_RAW = 3;
const IPPROTO_RAW = 255;
const IPPROTO_IP = 0;



/** Runs fn with a raw IPv4 socket in the caller's netns (iptables' own kind of socket). */
function withIptSocket<T>(netns: NetnsRef, fn: (fd: number) => T): T {
  return inCallerNetns(netns, () => {
    const fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW) as number;
    if (fd < 0) throw new IptError(lastErrno(), `netfilter: socket(AF_INET, SOCK_RAW) in netns ${netns.cookie}: ${errnoName(lastErrno())}`);
    try {
      return fn(fd);
    } finally {
      close(fd);
    }
  });
}

function refused(netns: NetnsRef, cmd: number, set: boolean, table: string): IptError {
  const errno = lastErrno();
  return new IptError(errno, `netfilter: ${sockoptName(cmd, set)} of table ${table} in netns ${netns.cookie}: ${errnoName(errno)}`);
}

/** Turns a failure to enter the caller's netns (setns refused, the process is gone) into an IptError with its errno. */
function entering<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BpfError) throw new IptError(err.errno, `netfilter: ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    const errno = code === undefined ? undefined : (constants.errno as Record<string, number>)[code];
    if (errno !== undefined) throw new IptError(errno, `netfilter: ${(err as Error).message}`);
    throw err;
  }
}

/** netfilter reached through the helper's own sockopts; see the file comment. */
export class KernelNetfilter implements Netfilter {
  info(netns: NetnsRef, table: string): TableInfo {
    return entering(() =>
      withIptSocket(netns, (fd) => {
        const buf = Buffer.alloc(IPT_GETINFO.SIZE);
        writeCString(buf, IPT_GETINFO.name, XT_TABLE_MAXNAMELEN - 1, table);
        if ((getsockopt(fd, IPPROTO_IP, IPT_SO_GET.INFO, buf, [IPT_GETINFO.SIZE]) as number) !== 0) throw refused(netns, IPT_SO_GET.INFO, false, table);
        return decodeGetInfo(buf);
      }),
    );
  }

  entries(netns: NetnsRef, table: string, size: number): Uint8Array {
    return entering(() =>
      withIptSocket(netns, (fd) => {
        const buf = Buffer.alloc(IPT_GET_ENTRIES.SIZE + size);
        writeCString(buf, IPT_GET_ENTRIES.name, XT_TABLE_MAXNAMELEN - 1, table);
        buf.writeUInt32LE(size, IPT_GET_ENTRIES.size);
        if ((getsockopt(fd, IPPROTO_IP, IPT_SO_GET.ENTRIES, buf, [buf.length]) as number) !== 0) throw refused(netns, IPT_SO_GET.ENTRIES, false, table);
        return new Uint8Array(buf.subarray(IPT_GET_ENTRIES.entrytable));
      }),
    );
  }

  replace(netns: NetnsRef, request: Uint8Array): XtCounters[] {
    const buf = Buffer.from(request);
    const table = buf.toString("latin1", 0, Math.max(0, buf.indexOf(0))).slice(0, XT_TABLE_MAXNAMELEN);
    const numCounters = buf.readUInt32LE(IPT_REPLACE.num_counters);
    if (numCounters * XT_COUNTERS.SIZE > 1 << 30) throw new IptError(Errno.ENOMEM, `netfilter: num_counters ${numCounters} is too large`);
    const old = koffi.alloc("uint8_t", Math.max(1, numCounters * XT_COUNTERS.SIZE));
    try {
      buf.writeBigUInt64LE(koffi.address(old) as bigint, IPT_REPLACE.counters);
      entering(() =>
        withIptSocket(netns, (fd) => {
          if ((setsockopt(fd, IPPROTO_IP, IPT_SO_SET.REPLACE, buf, buf.length) as number) !== 0) throw refused(netns, IPT_SO_SET.REPLACE, true, table);
        }),
      );
      return decodeCounters(new Uint8Array(koffi.view(old, numCounters * XT_COUNTERS.SIZE).slice(0)));
    } finally {
      koffi.free(old);
    }
  }

  addCounters(netns: NetnsRef, table: string, counters: readonly XtCounters[]): void {
    const buf = Buffer.alloc(XT_COUNTERS_INFO.SIZE + counters.length * XT_COUNTERS.SIZE);
    writeCString(buf, XT_COUNTERS_INFO.name, XT_TABLE_MAXNAMELEN - 1, table);
    buf.writeUInt32LE(counters.length, XT_COUNTERS_INFO.num_counters);
    buf.set(encodeCounters(counters), XT_COUNTERS_INFO.counters);
    entering(() =>
      withIptSocket(netns, (fd) => {
        if ((setsockopt(fd, IPPROTO_IP, IPT_SO_SET.ADD_COUNTERS, buf, buf.length) as number) !== 0) throw refused(netns, IPT_SO_SET.ADD_COUNTERS, true, table);
      }),
    );
  }
}
