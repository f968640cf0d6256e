/**
 * One packets/s measurement over veth: the sender (sender.c) sends one frame from the sender netns
 * for a fixed time, pinned to one CPU; then the receiver interface's rx counter and the system's own
 * counter (the last rule's, or the chain's miss) must both have grown by exactly what was sent.
 * A rate is never computed from packets that were lost: a mismatch is reported, not averaged.
 */
import { join } from "node:path";
import { BUILD } from "../lib/paths.ts";
import type { ChainCounters } from "./counters.ts";
import { buildFrame, frameHex } from "./packet.ts";
import { RECEIVER_ADDR, type Probe } from "./rulesets.ts";
import { lastLines, runBounded } from "./run.ts";
import { receiverCounters, type Topology } from "./topology.ts";

export const SENDER_EXE = join(BUILD, "bench", "bench-sender");

/** What the sender printed. */
export interface SenderReport {
  readonly sent: number;
  readonly elapsed_ns: number;
  readonly refused: number;
  readonly backoff_ns: number;
}

/** One measurement. */
export interface RateSample {
  readonly pps?: number;
  readonly sent: number;
  /** The receiver interface's rx delta. */
  readonly received: number;
  /** The system counter's delta (undefined for the ceiling, which has no counter). */
  readonly counted?: number;
  readonly refused: number;
  /** Why there is no rate (a count mismatch, a failed sender). */
  readonly error?: string;
}

/** The frame of a probe from the topology's sender to its receiver. */
export function probeFrame(topology: Topology, probe: Probe): Uint8Array {
  return buildFrame({ srcMac: topology.senderMac, dstMac: topology.receiverMac, dst: RECEIVER_ADDR, ...probe });
}

/** Parses the sender's JSON line. */
export function parseSenderReport(stdout: string): SenderReport {
  const report = JSON.parse(stdout.trim()) as SenderReport;
  for (const key of ["sent", "elapsed_ns", "refused", "backoff_ns"] as const) {
    if (typeof report[key] !== "number") throw new Error(`the sender's report has no ${key}: ${stdout.trim()}`);
  }
  return report;
}

/** The counter a probe's packets land in. */
export type CounterName = keyof ChainCounters;

/**
 * Sends `probe` for `seconds` and checks the counts. `read` reads the system's counters (undefined:
 * the ceiling, where only the interface counts).
 */
export async function measureRate(
  topology: Topology,
  probe: Probe,
  counter: CounterName,
  read: (() => Promise<ChainCounters>) | undefined,
  seconds: number,
  cpu: number,
): Promise<RateSample> {
  const before = { iface: receiverCounters(topology), system: read ? await read() : undefined };
  const hex = frameHex(probeFrame(topology, probe));
  const argv = ["ip", "netns", "exec", topology.sender, "taskset", "-c", String(cpu), SENDER_EXE,
    "--ifname", topology.ifname, "--frame", hex, "--seconds", String(seconds)];
  const outcome = await runBounded(argv, { limitSeconds: seconds + 30 });
  if (outcome.code !== 0 || outcome.timedOutAfter !== undefined) {
    const why = outcome.timedOutAfter !== undefined ? `timed out after ${outcome.timedOutAfter} s` : lastLines(outcome.stderr);
    return { sent: 0, received: 0, refused: 0, error: `sender: ${why}` };
  }
  const report = parseSenderReport(outcome.stdout);
  // The receive path runs in the sender's softirq, so the counts are final when it returns; give a
  // straggler (a deferred softirq) a moment before calling it lost.
  let received = 0;
  let counted: number | undefined;
  for (let attempt = 0; attempt < 10; attempt++) {
    received = receiverCounters(topology).rx - before.iface.rx;
    counted = read && before.system ? (await read())[counter] - before.system[counter] : undefined;
    if (received === report.sent && (counted === undefined || counted === report.sent)) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  const base = { sent: report.sent, received, refused: report.refused, ...(counted === undefined ? {} : { counted }) };
  if (report.sent === 0) return { ...base, error: "the sender sent nothing" };
  if (received !== report.sent) return { ...base, error: `sent ${report.sent}, the receiver's interface counted ${received}` };
  if (counted !== undefined && counted !== report.sent) {
    return { ...base, error: `sent ${report.sent}, the ${counter === "last" ? "last rule" : "chain's miss counter"} counted ${counted}` };
  }
  return { ...base, pps: report.sent / (report.elapsed_ns / 1e9) };
}
