/**
 * The frame loop: reads frames from a byte stream (stdin in kernel mode, a unix socket
 * connection in host mode), answers HELLO, hands each SOCKOPT to the sockopt handler with the
 * request's netns open, and writes its SOCKOPT_REPLY with the same seq; a NETNS_GONE goes to
 * the netnsGone callback and has no reply. A malformed payload gets an error reply; a handler
 * exception gets -EINVAL and a log line; only a header that puts the stream out of step ends
 * the session.
 */
import { DecodeError } from "./byte_reader.ts";
import { encodeFrame, FrameSplitter, PayloadError } from "./frame_codec.ts";
import {
  BPFILTER_IPC_F_COMPAT,
  BPFILTER_IPC_F_SET,
  BPFILTER_IPC_MAX_ERRNO,
  BPFILTER_IPC_VERSION,
  type Frame,
  IpcType,
  ipcTypeName,
  type SockoptFrame,
} from "./protocol.ts";
import { Errno, sockoptName } from "../ipt/abi.ts";
import type { SockoptAnswer, SockoptRequest } from "./sockopt_call.ts";
import { type RequestNetns, RequestNetnsError, type RequestNetnsOpener } from "./request_netns.ts";

/** How a session ended. */
export type SessionEnd =
  | { readonly kind: "eof" }
  | { readonly kind: "version-mismatch"; readonly peerVersion: number }
  | { readonly kind: "protocol-error"; readonly message: string };

/** What the loop needs from its surroundings. */
export interface LoopOptions {
  /** Answers one sockopt (may be async). */
  readonly answer: (req: SockoptRequest) => SockoptAnswer | Promise<SockoptAnswer>;
  /** Writes one line to the log (stderr). */
  readonly log: (line: string) => void;
  /** BPFILTER_TRACE=1: log every frame. */
  readonly trace: boolean;
  /** Opens the netns a SOCKOPT names, for as long as it is served (request_netns.ts). */
  readonly openNetns: RequestNetnsOpener;
  /** A netns the helper was asked about is gone: drop what is kept for it. */
  readonly netnsGone?: (cookie: bigint) => void;
}

/** Writes encoded frames to the peer, in order. */
export type FrameWriter = (bytes: Uint8Array) => Promise<void>;

function describe(frame: Frame): string {
  switch (frame.type) {
    case IpcType.HELLO:
    case IpcType.HELLO_REPLY:
      return `${ipcTypeName(frame.type)} seq=${frame.seq} version=${frame.version}`;
    case IpcType.SOCKOPT: {
      const set = (frame.flags & BPFILTER_IPC_F_SET) !== 0;
      const compat = (frame.flags & BPFILTER_IPC_F_COMPAT) !== 0 ? " compat" : "";
      const peer = frame.peerNetnsFd >= 0 ? ` peer=${frame.peerPid}:fd${frame.peerNetnsFd}` : "";
      return `SOCKOPT seq=${frame.seq} ${sockoptName(frame.cmd, set)}${compat} optlen=${frame.optlen} inlen=${frame.optval.byteLength} netns=${frame.netnsCookie}${peer}`;
    }
    case IpcType.SOCKOPT_REPLY:
      return `SOCKOPT_REPLY seq=${frame.seq} status=${frame.status} outlen=${frame.out.byteLength}`;
    case IpcType.NETNS_GONE:
      return `NETNS_GONE seq=${frame.seq} netns=${frame.netnsCookie}`;
  }
}

/** Runs one session over a stream until EOF, a version mismatch or a fatal protocol error. */
export async function serveSession(input: AsyncIterable<Uint8Array>, write: FrameWriter, opts: LoopOptions): Promise<SessionEnd> {
  const splitter = new FrameSplitter();
  let greeted = false;
  const send = async (frame: Frame, started: number): Promise<void> => {
    if (opts.trace) opts.log(`trace: tx ${describe(frame)} ${(performance.now() - started).toFixed(3)}ms`);
    await write(encodeFrame(frame));
  };
  const reply = (seq: number, status: number, out: Uint8Array, started: number): Promise<void> =>
    send({ type: IpcType.SOCKOPT_REPLY, seq, status, out }, started);

  // When the first byte of the frame being read arrived: the peer's wait runs from its send.
  let frameStart = performance.now();
  for await (const chunk of input) {
    const chunkAt = performance.now();
    if (splitter.pending === 0) frameStart = chunkAt;
    splitter.push(chunk);
    for (;;) {
      const started = performance.now();
      let frame: Frame | undefined;
      try {
        frame = splitter.next();
      } catch (err) {
        if (err instanceof PayloadError) {
          opts.log(`bad frame: ${err.message}`);
          if (err.header.type === IpcType.SOCKOPT) {
            await reply(err.header.seq, -Errno.EINVAL, new Uint8Array(0), started);
            continue;
          }
          if (err.header.type === IpcType.HELLO) {
            await send({ type: IpcType.HELLO_REPLY, seq: err.header.seq, version: BPFILTER_IPC_VERSION, flags: 0 }, started);
            return { kind: "protocol-error", message: err.message };
          }
          continue;
        }
        if (err instanceof DecodeError) return { kind: "protocol-error", message: err.message };
        throw err;
      }
      if (frame === undefined) break;
      const receivedAt = frameStart;
      frameStart = chunkAt; // a next frame in this chunk came with it
      if (opts.trace) opts.log(`trace: rx ${describe(frame)}`);
      switch (frame.type) {
        case IpcType.HELLO:
          await send({ type: IpcType.HELLO_REPLY, seq: frame.seq, version: BPFILTER_IPC_VERSION, flags: 0 }, started);
          if (frame.version !== BPFILTER_IPC_VERSION) return { kind: "version-mismatch", peerVersion: frame.version };
          greeted = true;
          break;
        case IpcType.SOCKOPT:
          if (!greeted) {
            opts.log(`SOCKOPT seq ${frame.seq} before HELLO: answered -EPROTO`);
            await reply(frame.seq, -Errno.EPROTO, new Uint8Array(0), started);
            break;
          }
          await answerSockopt(frame, opts, receivedAt, (status, out) => reply(frame.seq, status, out, started));
          break;
        case IpcType.NETNS_GONE:
          try {
            opts.netnsGone?.(frame.netnsCookie);
          } catch (err) {
            opts.log(`NETNS_GONE netns ${frame.netnsCookie}: ${(err as Error).stack ?? String(err)}`);
          }
          break;
        default:
          opts.log(`unexpected ${ipcTypeName(frame.type)} seq ${frame.seq} from the peer: ignored`);
      }
    }
  }
  if (splitter.pending !== 0) return { kind: "protocol-error", message: `stream ended inside a frame (${splitter.pending} bytes pending)` };
  return { kind: "eof" };
}

async function answerSockopt(
  frame: SockoptFrame,
  opts: LoopOptions,
  receivedAt: number,
  reply: (status: number, out: Uint8Array) => Promise<void>,
): Promise<void> {
  const set = (frame.flags & BPFILTER_IPC_F_SET) !== 0;
  const compat = (frame.flags & BPFILTER_IPC_F_COMPAT) !== 0;
  let netns: RequestNetns;
  try {
    netns = opts.openNetns(frame);
  } catch (err) {
    if (!(err instanceof RequestNetnsError)) throw err;
    opts.log(`${sockoptName(frame.cmd, set)} seq ${frame.seq}: netns ${frame.netnsCookie}: ${err.message}`);
    await reply(-err.errno, new Uint8Array(0));
    return;
  }
  let answer: SockoptAnswer;
  try {
    answer = await opts.answer({ cmd: frame.cmd, set, compat, optlen: frame.optlen, optval: frame.optval, netns: netns.ref, receivedAt });
  } catch (err) {
    netns.close();
    opts.log(`${sockoptName(frame.cmd, set)} seq ${frame.seq}: handler failed, answered -EINVAL: ${(err as Error).stack ?? String(err)}`);
    await reply(-Errno.EINVAL, new Uint8Array(0));
    return;
  }
  netns.close();
  if (answer.status > 0 || answer.status < -BPFILTER_IPC_MAX_ERRNO) {
    opts.log(`${sockoptName(frame.cmd, set)} seq ${frame.seq}: handler returned status ${answer.status}, not 0 or -errno: answered -EINVAL`);
    await reply(-Errno.EINVAL, new Uint8Array(0));
    return;
  }
  let out = answer.out;
  if (!set && out.byteLength > frame.optlen) {
    opts.log(`${sockoptName(frame.cmd, set)} seq ${frame.seq}: reply of ${out.byteLength} bytes cut to optlen ${frame.optlen}`);
    out = out.subarray(0, frame.optlen);
  }
  if (answer.status < 0) out = new Uint8Array(0);
  await reply(answer.status, out);
}
