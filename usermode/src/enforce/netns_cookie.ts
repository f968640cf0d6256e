/**
 * The cookie of the calling thread's netns (SO_NETNS_COOKIE on a socket made in it), to check that
 * the netns entered through /proc/<pid>/ns/net is the one the request names: the pid is the
 * caller's process, and one of its threads may have moved to another netns.
 */
import { BpfError } from "../bpf/index.ts";
import { lastErrno, libc } from "../bpf/libc.ts";
import { withDgramSocket } from "./dgram_socket.ts";

const getsockopt = libc.func("int getsockopt(int fd, int level, int optname, _Out_ uint8_t *optval, _Inout_ uint32_t *optlen)");

const SOL_SOCKET = 1;
const SO_NETNS_COOKIE = 71;

/** The cookie of the calling thread's netns; call inside the netns (bpf/ inNetns). */
export function netnsCookie(): bigint {
  return withDgramSocket("SO_NETNS_COOKIE", (fd) => {
    const cookie = new Uint8Array(8);
    const length = Uint32Array.of(8);
    if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, length) !== 0) throw new BpfError("getsockopt(SO_NETNS_COOKIE)", lastErrno());
    return new DataView(cookie.buffer).getBigUint64(0, true);
  });
}
