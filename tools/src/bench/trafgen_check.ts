/**
 * A cross-check of the bench's own sender with netsniff-ng's trafgen (PACKET_TX_RING): a fixed
 * number of the same frame into a pair, the rate from trafgen's wall clock, and whether the receiver
 * counted them all. trafgen in a netns cannot raise its send buffer (it says so) and may fail to
 * flush its ring under XDP; this records what it did rather than relying on it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastLines, runBounded } from "./run.ts";
import { receiverCounters, type Topology } from "./topology.ts";

/** What trafgen did. */
export interface TrafgenSample {
  readonly target: string;
  readonly sent: number;
  readonly received: number;
  readonly pps?: number;
  readonly error?: string;
}

/** A trafgen packet configuration for one frame: `{ 0x02, 0xbe, ... }`. */
export function trafgenConfig(frame: Uint8Array): string {
  return `{ ${[...frame].map((b) => `0x${b.toString(16).padStart(2, "0")}`).join(", ")} }\n`;
}

/** Sends `count` frames with trafgen on one CPU. */
export async function trafgenRate(topology: Topology, target: string, frame: Uint8Array, count: number, cpu: number): Promise<TrafgenSample> {
  const dir = mkdtempSync(join(tmpdir(), "bench-trafgen-"));
  try {
    const conf = join(dir, "frame.cfg");
    writeFileSync(conf, trafgenConfig(frame));
    const before = receiverCounters(topology).rx;
    const outcome = await runBounded(["ip", "netns", "exec", topology.sender, "taskset", "-c", String(cpu), "trafgen",
      "--dev", topology.ifname, "--conf", conf, "--cpus", "1", "-n", String(count)], { limitSeconds: 60 });
    const received = receiverCounters(topology).rx - before;
    const base = { target, sent: count, received };
    if (outcome.timedOutAfter !== undefined) return { ...base, error: `timed out after ${outcome.timedOutAfter} s` };
    if (outcome.code !== 0) return { ...base, error: `trafgen exit ${outcome.code}: ${lastLines(outcome.stderr + outcome.stdout)}` };
    if (received !== count) return { ...base, error: `trafgen sent ${count}, the receiver counted ${received}` };
    return { ...base, pps: count / (outcome.ms / 1000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
