// BpfError: a failed libbpf call, with the errno, the call and what it was called on.
import { constants } from "node:os";
import { libbpf_strerror } from "./libbpf.ts";
import { takeLibbpfMessages } from "./libbpf-log.ts";

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, value]) => [value, name] as [number, string]),
);

/** Symbolic name of a positive errno ("ENOENT"), or "errno N" when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** libbpf's text for a positive errno (it also knows libbpf's own 4000+ codes). */
export function errnoText(errno: number): string {
  const text = Buffer.alloc(256);
  libbpf_strerror(errno, text, text.length);
  const end = text.indexOf(0);
  return text.toString("utf8", 0, end < 0 ? text.length : end);
}

/** What a BpfError carries besides its message. */
export interface BpfErrorDetails {
  /** The verifier log of a rejected program load (log_level 1), when there is one. */
  verifierLog?: string;
  /** Messages libbpf printed during the failed call (the kernel's messages among them). */
  libbpfMessages?: readonly string[];
}

/** A libbpf call that failed: `call` names the function and its subject, `errno` is positive. */
export class BpfError extends Error {
  /** Positive errno of the failure. */
  readonly errno: number;
  /** Symbolic errno ("EACCES"). */
  readonly code: string;
  /** The call and its subject, e.g. "bpf_link_create(BPF_NETFILTER, ...)". */
  readonly call: string;
  /** Full verifier log of a rejected program load, when there is one. */
  readonly verifierLog: string | undefined;

  constructor(call: string, errno: number, details: BpfErrorDetails = {}, note?: string) {
    const code = errnoName(errno);
    let message = `${call}: ${errnoText(errno)} (${code})`;
    if (note !== undefined) message += `: ${note}`;
    const printed = details.libbpfMessages ?? [];
    if (printed.length > 0) message += `\nlibbpf: ${printed.join("\nlibbpf: ")}`;
    if (details.verifierLog !== undefined && details.verifierLog.length > 0) {
      message += `\nverifier log (tail):\n${logTail(details.verifierLog)}`;
    }
    super(message);
    this.name = "BpfError";
    this.errno = errno;
    this.code = code;
    this.call = call;
    this.verifierLog = details.verifierLog;
  }
}

/** The last lines of a verifier log, where the verifier says why it rejected the program. */
export function logTail(log: string, maxLines = 30, maxChars = 4000): string {
  const lines = log.trimEnd().split("\n");
  let tail = lines.slice(-maxLines).join("\n");
  if (tail.length > maxChars) tail = tail.slice(-maxChars);
  return tail;
}

/**
 * Checks the return value of a libbpf call: a negative value becomes a BpfError naming `call`,
 * otherwise it is returned (an fd, or 0). Messages libbpf printed during the call are attached, and so is
 * what `explain` says about the errno (e.g. that an ifindex does not exist), when it says something.
 */
export function check(call: string, ret: number, explain?: (errno: number) => string | undefined): number {
  const printed = takeLibbpfMessages();
  if (ret >= 0) return ret;
  throw new BpfError(call, -ret, { libbpfMessages: printed }, explain?.(-ret));
}
