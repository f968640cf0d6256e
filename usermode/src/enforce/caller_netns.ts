/**
 * Entering the caller's netns: the one place that knows how a request's NetnsRef is entered
 * (/proc/<pid>/ns/net, checked against the cookie the request names: that path is the netns of the
 * caller's main thread, and a thread that moved elsewhere must not get rules in the wrong netns).
 */
import { BpfError, inNetns } from "../bpf/index.ts";
import type { NetnsRef } from "../ipc/sockopt_call.ts";
import { netnsCookie } from "./netns_cookie.ts";

const EINVAL = 22;

/** Runs fn (synchronous) inside the netns of `netns`; a BpfError (EINVAL) naming both cookies when they differ. */
export function inCallerNetns<T>(netns: NetnsRef, fn: () => T): T {
  const path = `/proc/${netns.pid}/ns/net`;
  return inNetns(path, () => {
    const entered = netnsCookie();
    if (entered !== netns.cookie) {
      throw new BpfError(`setns('${path}')`, EINVAL, {}, `that is netns cookie ${entered}, the request names netns cookie ${netns.cookie}`);
    }
    return fn();
  });
}
