// The kernel's HZ (CONFIG_HZ, from the kernel's own config), which xt_limit's credits depend on.
// A program reads jiffies with bpf_jiffies64 (enforce/buckets.ts reads them that way too).
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";

const CONFIG_SOURCES = ["/proc/config.gz", `/boot/config-${release()}`];

let hz: number | undefined | null = null;

/**
 * CONFIG_HZ of the running kernel, from /proc/config.gz (CONFIG_IKCONFIG_PROC) or
 * /boot/config-<release>; undefined when neither says it (read once).
 */
export function kernelHz(): number | undefined {
  if (hz !== null) return hz;
  hz = undefined;
  for (const path of CONFIG_SOURCES) {
    if (!existsSync(path)) continue;
    const raw = readFileSync(path);
    const text = (path.endsWith(".gz") ? gunzipSync(raw) : raw).toString("latin1");
    const m = /^CONFIG_HZ=(\d+)$/m.exec(text);
    if (m !== null) {
      hz = Number(m[1]);
      break;
    }
  }
  return hz;
}

/** Where kernelHz() looks, for messages. */
export const KERNEL_HZ_SOURCES = CONFIG_SOURCES.join(" or ");
