/**
 * Raw iptables sockopts on a raw IPv4 socket made once inside a netns, as iptables-legacy issues
 * them: any bytes, any optlen (signed, so that a negative one reaches the kernel as it is). The
 * fuzzer's oracle, and the path a declined request takes on the helper's side.
 */
import koffi from "koffi";
import { inNetns } from "../../src/bpf/index.ts";
import { close, lastErrno, libc, socket } from "../../src/bpf/libc.ts";
import { IPT_REPLACE, IPT_SO_SET, XT_COUNTERS } from "../../src/ipt/abi.ts";

const setsockopt = libc.func("int setsockopt(int fd, int level, int optname, const void *optval, int optlen)");
const getsockopt = libc.func("int getsockopt(int fd, int level, int optname, void *optval, _Inout_ int *optlen)");

const IPPROTO_IP = 0;
/** The largest counter array a replace is given room for; beyond it the pointer is left unmapped. */
const MAX_COUNTER_BYTES = 1 << 20;

/** What a set answered: errno 0 on success, and for a replace the old counters written back. */
export interface SetResult {
  readonly errno: number;
  readonly counters?: Uint8Array;
}

/** What a get answered: errno, the caller's buffer afterwards and the optlen written back. */
export interface GetResult {
  readonly errno: number;
  readonly buffer: Uint8Array;
  readonly optlen: number;
}

/** The caller's buffer: `bytes`, zero-padded to optlen. */
export function callerBuffer(bytes: Uint8Array, optlen: number): Buffer {
  const buf = Buffer.alloc(Math.max(bytes.length, Math.min(Math.max(optlen, 0), MAX_COUNTER_BYTES)));
  buf.set(bytes);
  return buf;
}

/** A raw socket of one netns. */
export class NativeSocket {
  private readonly fd: number;

  constructor(netnsPath: string) {
    this.fd = inNetns(netnsPath, () => socket(2, 3, 255) as number); // AF_INET, SOCK_RAW, IPPROTO_RAW
    if (this.fd < 0) throw new Error(`socket in ${netnsPath}: errno ${lastErrno()}`);
  }

  /** setsockopt; a replace gets a real counters buffer of num_counters entries when it fits. */
  set(cmd: number, bytes: Uint8Array, optlen: number): SetResult {
    const buf = callerBuffer(bytes, optlen);
    let old: unknown;
    let counterBytes = 0;
    if (cmd === IPT_SO_SET.REPLACE && buf.length >= IPT_REPLACE.SIZE) {
      counterBytes = buf.readUInt32LE(IPT_REPLACE.num_counters) * XT_COUNTERS.SIZE;
      if (counterBytes <= MAX_COUNTER_BYTES) {
        old = koffi.alloc("uint8_t", Math.max(1, counterBytes));
        buf.writeBigUInt64LE(koffi.address(old) as bigint, IPT_REPLACE.counters);
      }
    }
    try {
      const rc = setsockopt(this.fd, IPPROTO_IP, cmd, buf, optlen) as number;
      const errno = rc === 0 ? 0 : lastErrno();
      if (old === undefined || errno !== 0) return { errno };
      return { errno, counters: new Uint8Array(koffi.view(old, counterBytes).slice(0)) };
    } finally {
      if (old !== undefined) koffi.free(old);
    }
  }

  /** getsockopt into a copy of the caller's buffer. */
  get(cmd: number, bytes: Uint8Array, optlen: number): GetResult {
    const buf = callerBuffer(bytes, optlen);
    const len = [optlen];
    const rc = getsockopt(this.fd, IPPROTO_IP, cmd, buf, len) as number;
    return { errno: rc === 0 ? 0 : lastErrno(), buffer: new Uint8Array(buf), optlen: len[0]! };
  }

  close(): void {
    close(this.fd);
  }
}
