// BPF links: the kernel object that keeps a program attached while an fd or a pin holds it.
import { closeSync } from "node:fs";
import koffi from "koffi";
import { bpf_link_update_opts } from "./abi.ts";
import { check } from "./errors.ts";
import { bpf_link_detach, bpf_link_update, bpf_obj_get_info_by_fd } from "./libbpf.ts";
import type { BpfProgram } from "./loader.ts";
import { getPinned, pinObject } from "./pin.ts";

/** A bpf_link: the program stays attached while the link fd is open or pinned. */
export interface BpfLink {
  /** The link fd; owned by this object until close(). */
  readonly fd: number;
  /** Replaces the attached program (bpf_link_update), where the link type allows it (netfilter links do not). */
  update(newProg: BpfProgram): void;
  /** Pins the link in bpffs, so that it stays attached after close() and after the helper exits. */
  pin(path: string): void;
  /** Detaches the program now, even when the link is pinned (bpf_link_detach); the fd stays open. */
  detach(): void;
  /** Closes the fd: an unpinned link detaches, a pinned one stays. */
  close(): void;
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

/** The head of struct bpf_link_info: type, id, prog_id, then (8-aligned) the type's union. */
export interface LinkInfo {
  readonly type: number;
  readonly id: number;
  readonly progId: number;
  /** The bytes of the type-specific union (32 bytes are enough for the types the helper reads). */
  readonly details: DataView;
}

/** BPF_OBJ_GET_INFO_BY_FD on a link; `label` names it in errors. */
export function linkInfo(fd: number, label: string): LinkInfo {
  const info = new Uint8Array(48);
  const length = Uint32Array.of(info.length);
  check(`bpf_obj_get_info_by_fd(${label})`, bpf_obj_get_info_by_fd(fd, info, length));
  const view = new DataView(info.buffer);
  return { type: view.getUint32(0, true), id: view.getUint32(4, true), progId: view.getUint32(8, true), details: new DataView(info.buffer, 16) };
}
