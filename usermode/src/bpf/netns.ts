// Network namespaces and their interfaces, seen from the calling thread.
//
// setns(2) moves only the calling thread. Node runs JS, and therefore every libbpf and libc call made
// through koffi, on its main thread; libuv's thread pool (async fs, dns) and V8's helper threads stay in
// the original netns. So inside inNetns() only synchronous calls see the target netns: BPF attach calls
// that take an ifindex, netlink (TC), if_nameindex(), and child processes spawned synchronously (they
// inherit the thread's netns). Anything asynchronous started inside fn runs after the switch back, so
// inNetns refuses an fn that returns a Promise.
import { closeSync, openSync, statSync } from "node:fs";
import { BpfError } from "./errors.ts";
import { CLONE_NEWNET, if_freenameindex, if_nameindex_list, if_nametoindex, lastErrno, setns } from "./libc.ts";
import koffi from "koffi";
import { if_nameindex } from "./abi.ts";

/** One network interface: its index and its name. */
export interface NetInterface {
  ifindex: number;
  name: string;
}

/** Path of a named netns as `ip netns add` creates it. */
export function namedNetnsPath(name: string): string {
  return `/run/netns/${name}`;
}

/**
 * Runs fn with the calling (main) thread in the netns at `netnsPath` (/proc/<pid>/ns/net or
 * /run/netns/<name>) and moves the thread back afterwards, also when fn throws. fn must be synchronous.
 */
export function inNetns<T>(netnsPath: string, fn: () => T): T {
  const home = openSync("/proc/thread-self/ns/net", "r");
  let target: number | undefined;
  try {
    target = openSync(netnsPath, "r");
    if (setns(target, CLONE_NEWNET) !== 0) {
      throw new BpfError(`setns('${netnsPath}', CLONE_NEWNET)`, lastErrno());
    }
    try {
      const result = fn();
      if (typeof (result as { then?: unknown } | null)?.then === "function") {
        throw new TypeError(`inNetns('${netnsPath}'): fn returned a Promise; only synchronous work runs inside the netns`);
      }
      return result;
    } finally {
      if (setns(home, CLONE_NEWNET) !== 0) {
        // The thread is stuck in the wrong netns: nothing after this can be trusted.
        throw new BpfError(`setns(back from '${netnsPath}', CLONE_NEWNET)`, lastErrno());
      }
    }
  } finally {
    if (target !== undefined) closeSync(target);
    closeSync(home);
  }
}

/** All interfaces of the calling thread's netns (if_nameindex(3), which asks the kernel over netlink). */
export function interfaces(): NetInterface[] {
  const list = if_nameindex_list();
  if (list === null) throw new BpfError("if_nameindex()", lastErrno());
  try {
    const found: NetInterface[] = [];
    const size = koffi.sizeof(if_nameindex);
    for (let offset = 0; ; offset += size) {
      const entry = koffi.decode(list, offset, if_nameindex) as { if_index: number; if_name: string | null };
      if (entry.if_index === 0) return found;
      found.push({ ifindex: entry.if_index, name: entry.if_name ?? "" });
    }
  } finally {
    if_freenameindex(list);
  }
}

/** The ifindex of every interface of the calling thread's netns. */
export function ifindexes(): number[] {
  return interfaces().map((netif) => netif.ifindex);
}

/** The ifindex of interface `name` in the calling thread's netns; throws when there is none. */
export function ifindexOf(name: string): number {
  const ifindex = if_nametoindex(name);
  if (ifindex === 0) throw new BpfError(`if_nametoindex('${name}')`, lastErrno());
  return ifindex;
}

/** "no interface has ifindex N in this netns" when that is so, for error messages; else undefined. */
export function missingIfindexNote(ifindex: number): string | undefined {
  try {
    if (ifindexes().includes(ifindex)) return undefined;
  } catch {
    return undefined;
  }
  return `no interface has ifindex ${ifindex} in this netns`;
}

/** The inode number of the calling thread's netns (nsfs): what /proc/<pid>/ns/net links name as net:[inode]. */
export function netnsInode(): bigint {
  return statSync("/proc/thread-self/ns/net", { bigint: true }).ino;
}
