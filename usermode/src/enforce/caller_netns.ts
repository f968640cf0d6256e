/**
 * Entering the netns a request names. This is the one place that knows how (NetnsRef's fields and
 * the path to open); everything else in enforce/ calls inCallerNetns.
 */
import { BpfError, inNetns } from "../bpf/index.ts";
import type { NetnsRef } from "../ipc/sockopt_call.ts";
import { netnsCookie } from "./netns_cookie.ts";

const EINVAL = 22;

/**
 * Where a request's netns is entered: the path the ipc loop opened for exactly the socket's netns
 * (NetnsRef.path); "" for a netns that is gone, which cannot be entered (setns then fails, named).
 */
export function defaultNetnsPath(netns: NetnsRef): string {
  return netns.path ?? "";
}

/**
 * Runs fn inside the netns of `netns`, entered by `locate(netns)`, after checking that it is the
 * netns the request names (the path is the kernel's own descriptor of it, so a difference is a
 * bug). Throws a BpfError (EINVAL) naming both cookies when they differ.
 */
export function inCallerNetns<T>(netns: NetnsRef, fn: () => T, locate: (netns: NetnsRef) => string = defaultNetnsPath): T {
  const path = locate(netns);
  return inNetns(path, () => {
    const entered = netnsCookie();
    if (entered !== netns.cookie) {
      throw new BpfError(`setns('${path}')`, EINVAL, {}, `that is netns cookie ${entered}, the request names netns cookie ${netns.cookie}`);
    }
    return fn();
  });
}
