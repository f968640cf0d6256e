// koffi bindings to the few libc calls the bpf layer needs: setns, mount, and the interface index list.
// Like libbpf's, these run on the calling thread (the JS main thread); errno is read with koffi.errno().
import koffi from "koffi";
import "./abi.ts"; // registers struct if_nameindex
import { openSharedLibrary } from "./libbpf.ts";

/** The C library the bindings here come from. */
export const libc = openSharedLibrary("libc.so.6", "libc6");

/** int setns(fd, nstype): moves the calling thread into the namespace fd refers to. */
export const setns = libc.func("int setns(int fd, int nstype)");

/** int mount(source, target, fstype, flags, data). */
export const mount = libc.func(
  "int mount(const char *source, const char *target, const char *filesystemtype, unsigned long mountflags, const void *data)",
);

/** struct if_nameindex *if_nameindex(void): the interfaces of the calling thread's netns, {0, NULL}-terminated. */
export const if_nameindex_list = libc.func("if_nameindex *if_nameindex(void)");

/** void if_freenameindex(ptr). */
export const if_freenameindex = libc.func("void if_freenameindex(if_nameindex *ptr)");

/** unsigned int if_nametoindex(name): 0 when there is no such interface. */
export const if_nametoindex = libc.func("unsigned int if_nametoindex(const char *ifname)");

/** int socket(domain, type, protocol). */
export const socket = libc.func("int socket(int domain, int type, int protocol)");

/** int close(fd). */
export const close = libc.func("int close(int fd)");

/** CLONE_NEWNET: the nstype of a network namespace for setns. */
export const CLONE_NEWNET = 0x40000000;

/** The errno of the last failed libc call on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}
