/**
 * Reaps the pins of netns that are gone. A netns dies without telling the helper; its interfaces go
 * with it, and the pinned XDP links of its tables become defunct (the kernel reports ifindex 0 for
 * them). A table directory whose links are all defunct enforces nothing any more: removing it frees
 * its programs and maps.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { check, openPinnedLink } from "../bpf/index.ts";
import { bpf_obj_get_info_by_fd } from "../bpf/libbpf.ts";
import { TablePins } from "./pins.ts";

/** Offset of xdp.ifindex in struct bpf_link_info (type, id, prog_id, then the 8-aligned union). */
const LINK_INFO_XDP_IFINDEX = 16;

/** The ifindex an XDP link is attached to; 0 when its interface is gone (a defunct link). */
export function xdpLinkIfindex(linkFd: number, label: string): number {
  const info = new Uint8Array(LINK_INFO_XDP_IFINDEX + 8);
  const length = Uint32Array.of(info.length);
  check(`bpf_obj_get_info_by_fd(${label})`, bpf_obj_get_info_by_fd(linkFd, info, length));
  return new DataView(info.buffer).getUint32(LINK_INFO_XDP_IFINDEX, true);
}

/** Whether any XDP link pinned for the table is still attached to an interface. */
function anyLinkAttached(pins: TablePins): boolean {
  return pins.xdpLinkIfindexes().some((ifindex) => {
    const path = pins.path(pins.xdpLink(ifindex));
    const link = openPinnedLink(path);
    try {
      return xdpLinkIfindex(link.fd, `XDP link pinned at '${path}'`) !== 0;
    } finally {
      link.close();
    }
  });
}

/** Removes the pin directories under `root` whose netns is gone; returns the directories removed. */
export function reapStalePins(root: string, log: (line: string) => void = () => {}): string[] {
  if (!existsSync(root)) return [];
  const reaped: string[] = [];
  for (const cookie of readdirSync(root)) {
    if (!/^\d+$/.test(cookie)) continue;
    for (const tableName of readdirSync(join(root, cookie))) {
      const pins = new TablePins(root, BigInt(cookie), tableName);
      try {
        if (anyLinkAttached(pins)) continue;
      } catch (error) {
        log(`${pins.dir}: not reaped, its links cannot be read: ${(error as Error).message}`);
        continue;
      }
      pins.removeAll();
      reaped.push(pins.dir);
      log(`${pins.dir}: netns ${cookie} is gone (no interface left): pins removed`);
    }
  }
  return reaped;
}
