/** The inode of a caller's netns (what `ls -l /proc/<pid>/ns/net` and lsns show), for bpfilter status. */
import { statSync } from "node:fs";
import { inCallerNetns } from "../enforce/caller_netns.ts";
import type { NetnsRef } from "../ipc/sockopt_call.ts";

/** Enters the caller's netns and reads the inode of the thread's netns there; undefined when it cannot. */
export function callerNetnsInode(netns: NetnsRef): number | undefined {
  try {
    return inCallerNetns(netns, () => statSync("/proc/thread-self/ns/net").ino);
  } catch {
    return undefined;
  }
}
