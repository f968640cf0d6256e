/**
 * The deadline of a replace in kernel mode. The kernel waits bpfilter.timeout_ms for the helper's
 * answer to one request and then kills the helper, and the caller's iptables fails with ETIMEDOUT.
 * So the compiler may use a share of that wait; the rest is kept for handing the table to
 * netfilter instead and for the reply. Host mode has no such wait, hence no deadline.
 */
import { readFileSync } from "node:fs";
import type { Deadline } from "../ir/deadline.ts";

/** The module parameter the kernel waits by. */
export const KERNEL_TIMEOUT_PARAM = "/sys/module/bpfilter/parameters/timeout_ms";

/** The share of the kernel's wait that compiling and verifying may use. */
export const COMPILE_SHARE = 0.6;

/** The kernel's wait in ms, read now (root may change it at any time); undefined when it cannot be read. */
export function kernelTimeoutMs(path = KERNEL_TIMEOUT_PARAM): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const ms = Number.parseInt(text.trim(), 10);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** The deadline of a request received at `receivedAt` (performance.now()) when the kernel waits `timeoutMs`. */
export function answerDeadline(receivedAt: number, timeoutMs: number): Deadline {
  return {
    at: receivedAt + timeoutMs * COMPILE_SHARE,
    why: `the kernel waits ${timeoutMs} ms for the helper's answer (bpfilter.timeout_ms), and compiling may use ${Math.round(COMPILE_SHARE * 100)}% of it; raise it for bpfilter to compile a table this large`,
  };
}
