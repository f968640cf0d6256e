/**
 * The helper's side of the differential: the real SockoptHandler, in process, with the in-memory
 * enforcer and the real netfilter of its own netns. A request reaches it as the kernel side frames
 * it (all of a set's optval, the first sizeof(struct ipt_getinfo) bytes of a get), and one it
 * declines goes to that netns's netfilter, as the kernel does. A thrown exception is recorded:
 * the handler must answer every request with an errno.
 */
import { inNetns, namedNetnsPath } from "../../src/bpf/index.ts";
import { netnsCookie } from "../../src/enforce/netns_cookie.ts";
import type { NetnsRef } from "../../src/ipc/sockopt_call.ts";
import { Errno, IPT_GETINFO } from "../../src/ipt/abi.ts";
import { KernelNetfilter } from "../../src/service/kernel_netfilter.ts";
import { SockoptHandler } from "../../src/service/sockopt_handler.ts";
import { MemoryEnforcer } from "../service/memory_enforcer.ts";
import { callerBuffer, type GetResult, NativeSocket, type SetResult } from "./native.ts";

/** BPFILTER_GET_REQUEST_MAX of the kernel side: the bytes of a get's optval the helper sees. */
const GET_REQUEST_MAX = IPT_GETINFO.SIZE;

/** The handler threw instead of answering. */
export class HandlerCrash extends Error {}

/** The SockoptHandler serving one netns, with netfilter behind it. */
export class HelperSide {
  readonly log: string[] = [];
  private readonly handler: SockoptHandler;
  private readonly netns: NetnsRef;
  private readonly native: NativeSocket;

  constructor(netnsName: string) {
    const path = namedNetnsPath(netnsName);
    this.netns = { cookie: inNetns(path, netnsCookie), path };
    this.native = new NativeSocket(path);
    this.handler = new SockoptHandler({ enforcer: new MemoryEnforcer(), netfilter: new KernelNetfilter(), log: (l) => this.keep(l) });
  }

  private keep(line: string): void {
    this.log.push(line);
    if (this.log.length > 50) this.log.shift();
  }

  private answer(cmd: number, set: boolean, optval: Uint8Array, optlen: number) {
    try {
      return this.handler.handle({ cmd, set, optlen, optval, netns: this.netns });
    } catch (err) {
      throw new HandlerCrash(`${set ? "set" : "get"} ${cmd}: the handler threw: ${(err as Error).stack ?? String(err)}`);
    }
  }

  set(cmd: number, bytes: Uint8Array, optlen: number): SetResult {
    if (optlen < 0) return this.native.set(cmd, bytes, optlen); // refused by setsockopt(2) before any hook
    const buf = callerBuffer(bytes, optlen);
    const a = this.answer(cmd, true, new Uint8Array(buf.subarray(0, optlen)), optlen);
    if (a.status === -Errno.ENOPROTOOPT) return this.native.set(cmd, bytes, optlen);
    if (a.status !== 0) return { errno: -a.status };
    return a.out.length > 0 ? { errno: 0, counters: a.out } : { errno: 0 };
  }

  get(cmd: number, bytes: Uint8Array, optlen: number): GetResult {
    if (optlen < 0) return this.native.get(cmd, bytes, optlen); // the kernel refuses it before any hook
    const buf = callerBuffer(bytes, optlen);
    const a = this.answer(cmd, false, new Uint8Array(buf.subarray(0, Math.min(optlen, GET_REQUEST_MAX))), optlen);
    if (a.status === -Errno.ENOPROTOOPT) return this.native.get(cmd, bytes, optlen);
    if (a.status !== 0) return { errno: -a.status, buffer: new Uint8Array(buf), optlen };
    if (a.out.length > optlen) throw new HandlerCrash(`get ${cmd}: ${a.out.length} output bytes for optlen ${optlen}`);
    buf.set(a.out);
    return { errno: 0, buffer: new Uint8Array(buf), optlen: a.out.length };
  }

  close(): void {
    this.native.close();
  }
}
