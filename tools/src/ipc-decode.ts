/**
 * tools/ipc-decode: decodes a captured byte stream of bpfilter frames (uapi/linux/bpfilter_ipc.h),
 * one line per frame in the helper's BPFILTER_TRACE=1 style, with the stream offset, the
 * command name, the table or extension it names, lengths and the reply status. It uses the
 * helper's own codec (usermode/src/ipc/), so it reads exactly what the helper would accept.
 */
import { readFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { DecodeError } from "../../usermode/src/ipc/byte_reader.ts";
import { FrameSplitter, PayloadError } from "../../usermode/src/ipc/frame_codec.ts";
import {
  BPFILTER_IPC_F_COMPAT,
  BPFILTER_IPC_F_SET,
  BPFILTER_IPC_VERSION,
  type Frame,
  HDR,
  HELLO,
  IpcType,
  ipcTypeName,
  NETNS_GONE,
  SOCKOPT,
  SOCKOPT_REPLY,
} from "../../usermode/src/ipc/protocol.ts";
import { IPT_SO_GET, IPT_SO_SET, readCString, sockoptName, XT_EXTENSION_MAXNAMELEN, XT_GET_REVISION, XT_TABLE_MAXNAMELEN } from "../../usermode/src/ipt/abi.ts";
import { isMain } from "./kernel/main-guard.ts";
import { toolMain, ToolError } from "./lib/proc.ts";

/** The decoded stream: one line per frame or error, and whether every byte made a valid frame. */
export interface DecodedStream {
  readonly lines: readonly string[];
  readonly frames: number;
  readonly errors: number;
}

/** "-92 (ENOPROTOOPT)" for a negative errno, "0" for success. */
export function statusName(status: number): string {
  if (status >= 0) return String(status);
  const name = Object.entries(osConstants.errno).find(([, n]) => n === -status)?.[0];
  return name ? `${status} (${name})` : String(status);
}

/** What a sockopt's optval names: the table for INFO/ENTRIES/REPLACE/ADD_COUNTERS, the extension for a revision query. */
function optvalSubject(cmd: number, set: boolean, optval: Uint8Array): string {
  const revision = !set && (cmd === IPT_SO_GET.REVISION_MATCH || cmd === IPT_SO_GET.REVISION_TARGET);
  if (revision) {
    if (optval.byteLength < XT_GET_REVISION.SIZE) return "";
    return ` name=${readCString(optval, XT_GET_REVISION.name, XT_EXTENSION_MAXNAMELEN)} revision=${optval[XT_GET_REVISION.revision]}`;
  }
  const named: readonly number[] = set ? [IPT_SO_SET.REPLACE, IPT_SO_SET.ADD_COUNTERS] : [IPT_SO_GET.INFO, IPT_SO_GET.ENTRIES];
  if (!named.includes(cmd) || optval.byteLength < XT_TABLE_MAXNAMELEN) return "";
  return ` table=${readCString(optval, 0, XT_TABLE_MAXNAMELEN)}`;
}

/** One frame as a trace line (the helper's BPFILTER_TRACE=1 fields, plus what the bytes name). */
export function describeFrame(frame: Frame): string {
  switch (frame.type) {
    case IpcType.HELLO:
    case IpcType.HELLO_REPLY: {
      const mismatch = frame.version === BPFILTER_IPC_VERSION ? "" : ` (this tree speaks version ${BPFILTER_IPC_VERSION})`;
      return `${ipcTypeName(frame.type)} seq=${frame.seq} version=${frame.version}${mismatch}`;
    }
    case IpcType.SOCKOPT: {
      const set = (frame.flags & BPFILTER_IPC_F_SET) !== 0;
      const compat = (frame.flags & BPFILTER_IPC_F_COMPAT) !== 0 ? " compat" : "";
      const peer = frame.peerNetnsFd >= 0 ? ` peer=${frame.peerPid}:fd${frame.peerNetnsFd}` : "";
      return (
        `SOCKOPT seq=${frame.seq} ${sockoptName(frame.cmd, set)}${compat}${optvalSubject(frame.cmd, set, frame.optval)} ` +
        `optlen=${frame.optlen} inlen=${frame.optval.byteLength} netns=${frame.netnsCookie}${peer}`
      );
    }
    case IpcType.SOCKOPT_REPLY:
      return `SOCKOPT_REPLY seq=${frame.seq} status=${statusName(frame.status)} outlen=${frame.out.byteLength}`;
    case IpcType.NETNS_GONE:
      return `NETNS_GONE seq=${frame.seq} netns=${frame.netnsCookie}`;
  }
}

/** The payload length of a frame (the header's len), for the offset bookkeeping. */
function payloadLength(frame: Frame): number {
  switch (frame.type) {
    case IpcType.HELLO:
    case IpcType.HELLO_REPLY:
      return HELLO.SIZE;
    case IpcType.SOCKOPT:
      return SOCKOPT.SIZE + frame.optval.byteLength;
    case IpcType.SOCKOPT_REPLY:
      return SOCKOPT_REPLY.SIZE + frame.out.byteLength;
    case IpcType.NETNS_GONE:
      return NETNS_GONE.SIZE;
  }
}

/**
 * Decodes a whole captured stream. A bad payload is reported and skipped (the header said how
 * long it was); a bad header loses the frame boundaries and ends the decoding, as it ends a
 * helper session.
 */
export function decodeStream(bytes: Uint8Array): DecodedStream {
  const splitter = new FrameSplitter();
  splitter.push(bytes);
  const lines: string[] = [];
  let offset = 0;
  let frames = 0;
  let errors = 0;
  for (;;) {
    const at = offset;
    try {
      const frame = splitter.next();
      if (frame === undefined) break;
      frames++;
      offset += HDR.SIZE + payloadLength(frame);
      lines.push(`@${at} ${describeFrame(frame)}`);
    } catch (err) {
      errors++;
      if (err instanceof PayloadError) {
        offset += HDR.SIZE + err.header.len;
        lines.push(`@${at} BAD PAYLOAD: ${err.message}`);
        continue;
      }
      if (err instanceof DecodeError) {
        lines.push(`@${at} BAD HEADER: ${err.message}; frame boundaries are lost, ${bytes.byteLength - at} byte(s) not decoded`);
        return { lines, frames, errors };
      }
      throw err;
    }
  }
  if (offset < bytes.byteLength) {
    errors++;
    lines.push(`@${offset} TRUNCATED: the stream ends inside a frame (${bytes.byteLength - offset} byte(s) of ${bytes.byteLength - offset < HDR.SIZE ? "a header" : "a payload"})`);
  }
  return { lines, frames, errors };
}

/** Parses a hex dump as text: hex digit pairs, whitespace, and optional "0x" / "offset:" prefixes ignored. */
export function parseHex(text: string): Uint8Array {
  const digits = text
    .split("\n")
    .map((l) => l.replace(/^\s*[0-9a-fA-F]+:\s/, "").replace(/0x/g, ""))
    .join("")
    .replace(/\s+/g, "");
  const bad = /[^0-9a-fA-F]/.exec(digits);
  if (bad) throw new ToolError(`hex input: ${JSON.stringify(bad[0])} is not a hex digit`);
  if (digits.length % 2) throw new ToolError(`hex input: odd number of hex digits (${digits.length})`);
  return Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16));
}

const USAGE = `usage: tools/ipc-decode [--hex] [FILE]
Decodes bpfilter frames (uapi/linux/bpfilter_ipc.h) from FILE or stdin, one line per frame.
  --hex   the input is a hex dump (pairs of hex digits; spaces, newlines, 0x and "offset:" ignored)
Exit status: 0 if every byte decoded into a valid frame, 1 otherwise.`;

if (isMain(import.meta.url)) {
  await toolMain("ipc-decode", () => {
    const args = process.argv.slice(2);
    if (args.includes("-h") || args.includes("--help")) {
      console.log(USAGE);
      return 0;
    }
    const hex = args.includes("--hex");
    const files = args.filter((a) => a !== "--hex");
    if (files.length > 1 || files.some((f) => f.startsWith("-") && f !== "-")) throw new ToolError(`unexpected arguments ${files.join(" ")}\n${USAGE}`);
    const input = readFileSync(files[0] && files[0] !== "-" ? files[0] : 0);
    const bytes = hex ? parseHex(input.toString("latin1")) : new Uint8Array(input);
    const decoded = decodeStream(bytes);
    for (const l of decoded.lines) console.log(l);
    console.log(`ipc-decode: ${bytes.byteLength} byte(s), ${decoded.frames} frame(s), ${decoded.errors} error(s)`);
    return decoded.errors ? 1 : 0;
  });
}
