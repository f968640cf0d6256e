// XDP through bpf_link: attach, atomic program swap (bpf_link_update), pin, detach.
import { closeSync } from "node:fs";
import koffi from "koffi";
import { BPF_XDP, XDP_FLAGS, bpf_link_create_opts, bpf_link_update_opts } from "./abi.ts";
import { check } from "./errors.ts";
import { bpf_link_create, bpf_link_detach, bpf_link_update, bpf_xdp_query_id } from "./libbpf.ts";
import type { BpfProgram } from "./loader.ts";
import { missingIfindexNote } from "./netns.ts";
import { getPinned, pinObject } from "./pin.ts";

const EBUSY = 16;

/** A bpf_link: the program stays attached while the link fd is open or pinned. */
export interface BpfLink {
  /** The link fd; owned by this object until close(). */
  readonly fd: number;
  /** Atomically replaces the attached program (bpf_link_update): no packet sees neither program. */
  update(newProg: BpfProgram): void;
  /** Pins the link in bpffs, so that it stays attached after close() and after the helper exits. */
  pin(path: string): void;
  /** Detaches the program now, even when the link is pinned (bpf_link_detach); the fd stays open. */
  detach(): void;
  /** Closes the fd: an unpinned link detaches, a pinned one stays. */
  close(): void;
}

/**
 * Attaches an XDP program to `ifindex` (in the calling thread's netns) through a bpf_link. `mode` forces
 * generic ("skb") or driver ("native") XDP; without it the kernel uses the driver's XDP when it has one.
 */
export function attachXdp(ifindex: number, prog: BpfProgram, mode?: "skb" | "native"): BpfLink {
  const flags = mode === undefined ? 0 : XDP_FLAGS[mode];
  const subject = `BPF_XDP, program '${prog.name}', ifindex ${ifindex}${mode === undefined ? "" : `, ${mode} mode`}`;
  const opts = { sz: koffi.sizeof(bpf_link_create_opts), flags };
  const fd = check(`bpf_link_create(${subject})`, bpf_link_create(prog.fd, ifindex, BPF_XDP, opts), (errno) =>
    errno === EBUSY ? `ifindex ${ifindex} already has an XDP program (a bpf_link or one set over netlink)` : missingIfindexNote(ifindex),
  );
  return linkFromFd(fd, `XDP link on ifindex ${ifindex}`);
}

/** Opens the link pinned at `path` (e.g. by a previous helper); the new fd is owned by the result. */
export function openPinnedLink(path: string): BpfLink {
  return linkFromFd(getPinned(path), `link pinned at '${path}'`);
}

/** Wraps a link fd (taking ownership of it); `label` names the link in errors. */
export function linkFromFd(fd: number, label: string): BpfLink {
  return {
    fd,
    update(newProg) {
      const opts = { sz: koffi.sizeof(bpf_link_update_opts), flags: 0, old_prog_fd: 0 };
      check(`bpf_link_update(${label}, to program '${newProg.name}')`, bpf_link_update(fd, newProg.fd, opts));
    },
    pin(path) {
      pinObject(fd, path);
    },
    detach() {
      check(`bpf_link_detach(${label})`, bpf_link_detach(fd));
    },
    close() {
      closeSync(fd);
    },
  };
}

/** The id of the XDP program attached to ifindex in the calling thread's netns, or 0 when there is none. */
export function attachedXdpProgId(ifindex: number): number {
  const id = [0];
  check(`bpf_xdp_query_id(ifindex ${ifindex})`, bpf_xdp_query_id(ifindex, 0, id), () => missingIfindexNote(ifindex));
  return id[0] ?? 0;
}
