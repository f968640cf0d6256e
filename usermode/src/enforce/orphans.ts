/**
 * Netns that only the helper's pins keep alive. A netfilter link holds a reference on its netns, so
 * a netns whose last process exits and whose last bind mount goes away does not die while the
 * helper's links are pinned in it: the kernel never tears it down, and never says it is gone.
 * unusedNetns() looks for what else can keep a netns: a task in it, an nsfs mount of it (ip netns
 * add), an open fd on it. A netns with none of these is an orphan, and releasing its links lets it
 * die. What the scan cannot see: a socket created in the netns by a process outside it, which also
 * keeps it alive (its rules stop being enforced when the helper releases it).
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { netnsInode, openPinnedLink, openPinnedMap } from "../bpf/index.ts";
import { FILTER_HOOK_NAMES, GENERATION_VALUE } from "../codegen/index.ts";
import { allTablePins, HOOK_PIN, PIN, type TablePins } from "./pins.ts";

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // the process exited meanwhile, or it is not ours to read
  }
}

function link(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** The inode of a netns's /proc/net/dev entry, as the task at `taskDir` sees it (readable without ptrace rights). */
function procNetDevInode(taskDir: string): bigint | undefined {
  try {
    return statSync(`${taskDir}/net/dev`, { bigint: true }).ino;
  } catch {
    return undefined;
  }
}

/** The inode in a /proc link to a netns ("net:[4026532281]"), or undefined for another link. */
function inodeOf(target: string | undefined): bigint | undefined {
  return target?.startsWith("net:[") === true ? BigInt(target.slice("net:[".length, -1)) : undefined;
}

/** The nsfs mounts of netns in a mountinfo file ("36 25 0:4 net:[4026532281] /run/netns/x ... - nsfs nsfs rw"). */
function nsfsMounts(mountinfo: string): bigint[] {
  return mountinfo.split("\n").flatMap((line) => {
    const fields = line.split(" ");
    const inode = fields[fields.indexOf("-") + 1] === "nsfs" ? inodeOf(fields[3]) : undefined;
    return inode === undefined ? [] : [inode];
  });
}

/** A netns the helper enforces in: its nsfs inode and the inode of its /proc/net/dev entry (0: unknown). */
export interface EnforcedNetns {
  readonly inode: bigint;
  readonly procNetDev: bigint;
}

/** The calling thread's netns as EnforcedNetns (call inside it: bpf/ inNetns). */
export function enteredNetns(): EnforcedNetns {
  return { inode: netnsInode(), procNetDev: procNetDevInode("/proc/thread-self") ?? 0n };
}

/**
 * The nsfs inodes of `wanted` that nothing but the helper's links keeps: no task is in the netns, no
 * nsfs mount and no open fd refers to it. Looks in order of cost (each process's netns, the mounts,
 * each thread's netns, every open fd) and stops as soon as every wanted netns is found in use, so
 * that the usual case (each has a process or a bind mount) reads one link per process. A task whose
 * ns/net link the helper may not read (ptrace rights) is placed by the inode of its /proc/<pid>/net/dev
 * entry, which is per netns and readable by anyone; the fds and mounts of such a process are not seen.
 */
export function unusedNetns(wanted: readonly EnforcedNetns[], proc = "/proc"): Set<bigint> {
  const left = new Set(wanted.map((w) => w.inode));
  const byProcNetDev = new Map(wanted.filter((w) => w.procNetDev !== 0n).map((w) => [w.procNetDev, w.inode]));
  const found = (inode: bigint | undefined): boolean => {
    if (inode !== undefined) left.delete(inode);
    return left.size === 0;
  };
  /** The netns inode of the task at taskDir, by its ns/net link or else its /proc/net/dev entry. */
  const netnsOf = (taskDir: string): bigint | undefined => {
    const inode = inodeOf(link(`${taskDir}/ns/net`));
    if (inode !== undefined) return inode;
    const dev = procNetDevInode(taskDir);
    return dev === undefined ? undefined : byProcNetDev.get(dev);
  };
  if (left.size === 0) return left;
  const pids = entries(proc).filter((name) => /^\d+$/.test(name));
  for (const pid of pids) if (found(netnsOf(`${proc}/${pid}`))) return left;
  const mountNamespaces = new Set<string>();
  for (const pid of pids) {
    const mountNamespace = link(`${proc}/${pid}/ns/mnt`);
    if (mountNamespace === undefined || mountNamespaces.has(mountNamespace)) continue;
    mountNamespaces.add(mountNamespace);
    let mountinfo = "";
    try {
      mountinfo = readFileSync(`${proc}/${pid}/mountinfo`, "utf8");
    } catch {
      continue;
    }
    for (const inode of nsfsMounts(mountinfo)) if (found(inode)) return left;
  }
  for (const pid of pids) {
    for (const tid of entries(`${proc}/${pid}/task`)) if (found(netnsOf(`${proc}/${pid}/task/${tid}`))) return left;
  }
  for (const pid of pids) {
    for (const fd of entries(`${proc}/${pid}/fd`)) if (found(inodeOf(link(`${proc}/${pid}/fd/${fd}`)))) return left;
  }
  return left;
}

/**
 * Releases every table under `root` whose netns nothing but the helper's links keeps alive: detaches
 * its links (the netns can then die) and removes its pins. Returns the tables released.
 */
export function reapOrphans(root: string, log: (line: string) => void = () => {}): TablePins[] {
  const tables = allTablePins(root).map((pins) => ({ pins, netns: pinnedNetns(pins, log) }));
  const unused = unusedNetns(tables.flatMap((t) => (typeof t.netns === "object" ? [t.netns] : [])));
  const reaped: TablePins[] = [];
  for (const { pins, netns } of tables) {
    if (netns === "unreadable" || (netns !== undefined && !unused.has(netns.inode))) continue;
    const inode = netns?.inode;
    try {
      for (const hook of FILTER_HOOK_NAMES) {
        if (!pins.has(HOOK_PIN[hook].link)) continue;
        const link = openPinnedLink(pins.path(HOOK_PIN[hook].link));
        try {
          link.detach();
        } finally {
          link.close();
        }
      }
    } catch (error) {
      log(`${pins.dir}: not reaped, its links cannot be detached: ${(error as Error).message}`);
      continue;
    }
    pins.removeAll();
    reaped.push(pins);
    log(
      inode === undefined
        ? `${pins.dir}: an incomplete pin directory (no generation map): removed`
        : `${pins.dir}: nothing but the helper's links keeps netns ${pins.cookie} (inode ${inode}) alive: released, pins removed`,
    );
  }
  return reaped;
}

/** The netns a table's generation map records; undefined without the map; "unreadable" (logged) when it cannot be read. */
function pinnedNetns(pins: TablePins, log: (line: string) => void): EnforcedNetns | undefined | "unreadable" {
  if (!pins.has(PIN.generation)) return undefined;
  try {
    const generation = openPinnedMap(pins.path(PIN.generation));
    try {
      const value = generation.lookup(new Uint8Array(4));
      if (value === undefined) return undefined;
      const view = new DataView(value.buffer);
      return { inode: view.getBigUint64(GENERATION_VALUE.NETNS_INODE, true), procNetDev: view.getBigUint64(GENERATION_VALUE.PROC_NET_DEV_INODE, true) };
    } finally {
      generation.close();
    }
  } catch (error) {
    log(`${pins.dir}: not reaped, its generation map cannot be read: ${(error as Error).message}`);
    return "unreadable";
  }
}
