/**
 * Puts a table's two programs on every interface of a netns: the ingress (XDP) program through a
 * pinned bpf_link per interface, the egress (TC) program as a cls_bpf filter at a fixed handle and
 * priority on the interface's clsact qdisc. A replace swaps each attachment in place
 * (bpf_link_update, TC replace): an interface never goes without a program. Must run inside the
 * netns (bpf/ inNetns): TC and XDP attach by ifindex of the calling thread's netns.
 */
import { attachXdp, BpfError, ensureClsact, tcFilter, type BpfLink, type BpfProgram } from "../bpf/index.ts";
import type { TablePins } from "./pins.ts";

/** The TC filter handle of the egress program (fixed, so that a restarted helper can name it). */
export const TC_HANDLE = 0xbf;
/** The TC filter priority of the egress program: first on the egress side. */
export const TC_PRIORITY = 1;

const ENOLINK = 67;

/** The two programs of a table. */
export interface TablePrograms {
  readonly ingress: BpfProgram;
  readonly egress: BpfProgram;
}

/**
 * Attaches `next` to every interface in `ifindexes`, updating the XDP links in `links` (ifindex →
 * link) in place and creating (and pinning) the missing ones. `previous` are the programs attached
 * now, if any. On failure every attachment is put back as it was and the error is thrown. Returns
 * the links of `ifindexes`; links of interfaces that are gone are detached, closed and unpinned.
 */
export function attachPrograms(
  pins: TablePins,
  links: ReadonlyMap<number, BpfLink>,
  ifindexes: readonly number[],
  next: TablePrograms,
  previous: TablePrograms | undefined,
): Map<number, BpfLink> {
  const undo: (() => void)[] = [];
  const attached = new Map<number, BpfLink>();
  try {
    for (const ifindex of ifindexes) {
      attached.set(ifindex, swapXdp(pins, links.get(ifindex), ifindex, next.ingress, previous?.ingress, undo));
      swapTc(ifindex, next.egress, previous?.egress, undo);
    }
  } catch (error) {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch {
        // best effort: the first error is the one to report
      }
    }
    throw error;
  }
  for (const [ifindex, link] of links) {
    if (!attached.has(ifindex)) dropLink(pins, ifindex, link);
  }
  return attached;
}

function swapXdp(
  pins: TablePins,
  link: BpfLink | undefined,
  ifindex: number,
  prog: BpfProgram,
  previous: BpfProgram | undefined,
  undo: (() => void)[],
): BpfLink {
  if (link !== undefined) {
    try {
      link.update(prog);
      if (previous !== undefined) undo.push(() => link.update(previous));
      return link;
    } catch (error) {
      // ENOLINK: the interface the link was made for is gone, and another took its ifindex.
      if (!(error instanceof BpfError && error.errno === ENOLINK)) throw error;
      link.close();
      pins.remove(pins.xdpLink(ifindex));
    }
  }
  const fresh = attachXdp(ifindex, prog);
  undo.push(() => {
    fresh.detach();
    fresh.close();
    pins.remove(pins.xdpLink(ifindex));
  });
  pins.replace(fresh.fd, pins.xdpLink(ifindex));
  return fresh;
}

function swapTc(ifindex: number, prog: BpfProgram, previous: BpfProgram | undefined, undo: (() => void)[]): void {
  ensureClsact(ifindex, "egress");
  const filter = tcFilter(ifindex, "egress", TC_HANDLE, TC_PRIORITY);
  filter.replace(prog); // creates the filter when it is missing (NLM_F_CREATE)
  undo.push(() => (previous === undefined ? filter.detach() : filter.replace(previous)));
}

function dropLink(pins: TablePins, ifindex: number, link: BpfLink): void {
  try {
    link.detach();
  } catch {
    // already detached: its interface is gone
  }
  link.close();
  pins.remove(pins.xdpLink(ifindex));
}

/** Detaches both programs from every interface in `links` and removes their link pins. */
export function detachPrograms(pins: TablePins, links: ReadonlyMap<number, BpfLink>): void {
  for (const [ifindex, link] of links) {
    dropLink(pins, ifindex, link);
    try {
      tcFilter(ifindex, "egress", TC_HANDLE, TC_PRIORITY).detach();
    } catch {
      // the interface or its qdisc is gone, and the filter with it
    }
  }
}
