/**
 * Encodes and decodes the frames of uapi/linux/bpfilter_ipc.h. A header error (bad magic, a
 * length past BPFILTER_IPC_MAX_PAYLOAD) leaves the stream out of step and is fatal; a payload
 * error is reported with the frame's seq so that the loop can answer it.
 */
import { ByteReader, DecodeError } from "./byte_reader.ts";
import {
  BPFILTER_IPC_F_SET,
  BPFILTER_IPC_MAGIC,
  BPFILTER_IPC_MAX_PAYLOAD,
  BPFILTER_IPC_VERSION,
  type Frame,
  HDR,
  BPFILTER_IPC_F_COMPAT,
  BPFILTER_IPC_MAX_ERRNO,
  HELLO,
  IpcType,
  ipcTypeName,
  NETNS_GONE,
  SOCKOPT,
  SOCKOPT_REPLY,
} from "./protocol.ts";

/** struct bpfilter_ipc_hdr, decoded. */
export interface IpcHeader {
  readonly version: number;
  readonly type: number;
  readonly seq: number;
  readonly len: number;
}

/** A payload that could not be decoded; `seq` and `type` come from its valid header. */
export class PayloadError extends DecodeError {
  constructor(
    readonly header: IpcHeader,
    message: string,
  ) {
    super(message);
  }
}

/** Decodes and checks a 16-byte header (magic and length bound; the version is checked by the loop). */
export function decodeHeader(bytes: Uint8Array): IpcHeader {
  const r = new ByteReader(bytes, "bpfilter_ipc_hdr");
  const magic = r.u32("magic");
  const version = r.u16("version");
  const type = r.u16("type");
  const seq = r.u32("seq");
  const len = r.u32("len");
  r.end();
  if (magic !== BPFILTER_IPC_MAGIC) {
    throw new DecodeError(
      `bpfilter_ipc_hdr: magic 0x${magic.toString(16)} is not BPFILTER_IPC_MAGIC 0x${BPFILTER_IPC_MAGIC.toString(16)}`,
    );
  }
  if (len > BPFILTER_IPC_MAX_PAYLOAD) {
    throw new DecodeError(
      `bpfilter_ipc_hdr: len ${len} of ${ipcTypeName(type)} seq ${seq} exceeds BPFILTER_IPC_MAX_PAYLOAD ${BPFILTER_IPC_MAX_PAYLOAD}`,
    );
  }
  return { version, type, seq, len };
}

/** Decodes the payload of a frame whose header was accepted; rejects short, long and malformed payloads. */
export function decodePayload(header: IpcHeader, payload: Uint8Array): Frame {
  const fail = (message: string): never => {
    throw new PayloadError(header, `${ipcTypeName(header.type)} seq ${header.seq}: ${message}`);
  };
  if (payload.byteLength !== header.len) {
    fail(`payload has ${payload.byteLength} bytes, header len says ${header.len}`);
  }
  try {
    switch (header.type) {
      case IpcType.HELLO:
      case IpcType.HELLO_REPLY: {
        const r = new ByteReader(payload, "bpfilter_ipc_hello");
        const version = r.u32("version");
        const flags = r.u32("flags");
        r.end();
        if (flags !== 0) fail(`bpfilter_ipc_hello.flags 0x${flags.toString(16)} must be zero`);
        return { type: header.type, seq: header.seq, version, flags };
      }
      case IpcType.SOCKOPT: {
        const r = new ByteReader(payload, "bpfilter_ipc_sockopt");
        const cmd = r.u32("cmd");
        const flags = r.u32("flags");
        const optlen = r.u32("optlen");
        const inlen = r.u32("inlen");
        const netnsCookie = r.u64("netns_cookie");
        const peerPid = r.u32("peer_pid");
        const peerNetnsFd = r.s32("peer_netns_fd");
        if ((flags & ~(BPFILTER_IPC_F_SET | BPFILTER_IPC_F_COMPAT)) !== 0) fail(`bpfilter_ipc_sockopt.flags 0x${flags.toString(16)} has unknown bits`);
        if (peerNetnsFd < -1) fail(`bpfilter_ipc_sockopt.peer_netns_fd ${peerNetnsFd} is neither -1 nor a descriptor`);
        if ((peerNetnsFd === -1) !== (peerPid === 0)) fail(`bpfilter_ipc_sockopt: peer_pid ${peerPid} and peer_netns_fd ${peerNetnsFd} must be set together`);
        if (inlen > optlen) fail(`bpfilter_ipc_sockopt.inlen ${inlen} exceeds optlen ${optlen}`);
        const optval = r.bytesOf("optval", inlen);
        r.end();
        return { type: IpcType.SOCKOPT, seq: header.seq, cmd, flags, optlen, netnsCookie, peerPid, peerNetnsFd, optval };
      }
      case IpcType.SOCKOPT_REPLY: {
        const r = new ByteReader(payload, "bpfilter_ipc_sockopt_reply");
        const status = r.s32("status");
        const outlen = r.u32("outlen");
        const out = r.bytesOf("out", outlen);
        r.end();
        if (status > 0 || status < -BPFILTER_IPC_MAX_ERRNO) fail(`bpfilter_ipc_sockopt_reply.status ${status} is neither 0 nor a negative errno of userspace`);
        if (status < 0 && outlen !== 0) fail(`bpfilter_ipc_sockopt_reply: failed status ${status} carries ${outlen} bytes`);
        return { type: IpcType.SOCKOPT_REPLY, seq: header.seq, status, out };
      }
      case IpcType.NETNS_GONE: {
        const r = new ByteReader(payload, "bpfilter_ipc_netns_gone");
        const netnsCookie = r.u64("netns_cookie");
        r.end();
        return { type: IpcType.NETNS_GONE, seq: header.seq, netnsCookie };
      }
      default:
        return fail(`unknown frame type ${header.type}`);
    }
  } catch (err) {
    if (err instanceof PayloadError) throw err;
    throw new PayloadError(header, `${ipcTypeName(header.type)} seq ${header.seq}: ${(err as Error).message}`);
  }
}

/** Decodes one complete frame (header and payload) and rejects trailing bytes. */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.byteLength < HDR.SIZE) {
    throw new DecodeError(`bpfilter_ipc_hdr: frame has ${bytes.byteLength} bytes, a header needs ${HDR.SIZE}`);
  }
  const header = decodeHeader(bytes.subarray(0, HDR.SIZE));
  const payload = bytes.subarray(HDR.SIZE);
  if (payload.byteLength > header.len) {
    throw new PayloadError(header, `${ipcTypeName(header.type)} seq ${header.seq}: ${payload.byteLength - header.len} trailing bytes after the payload`);
  }
  return decodePayload(header, payload);
}

/** Encodes a frame: the header with len patched after the payload is written. */
export function encodeFrame(frame: Frame): Uint8Array {
  let payloadSize: number;
  switch (frame.type) {
    case IpcType.HELLO:
    case IpcType.HELLO_REPLY:
      payloadSize = HELLO.SIZE;
      break;
    case IpcType.SOCKOPT:
      payloadSize = SOCKOPT.SIZE + frame.optval.byteLength;
      break;
    case IpcType.SOCKOPT_REPLY:
      payloadSize = SOCKOPT_REPLY.SIZE + frame.out.byteLength;
      break;
    case IpcType.NETNS_GONE:
      payloadSize = NETNS_GONE.SIZE;
      break;
  }
  if (payloadSize > BPFILTER_IPC_MAX_PAYLOAD) {
    throw new RangeError(`${ipcTypeName(frame.type)} seq ${frame.seq}: payload ${payloadSize} exceeds BPFILTER_IPC_MAX_PAYLOAD`);
  }
  const bytes = new Uint8Array(HDR.SIZE + payloadSize);
  const view = new DataView(bytes.buffer);
  view.setUint32(HDR.magic, BPFILTER_IPC_MAGIC, true);
  view.setUint16(HDR.version, BPFILTER_IPC_VERSION, true);
  view.setUint16(HDR.type, frame.type, true);
  view.setUint32(HDR.seq, frame.seq, true);
  const p = HDR.SIZE;
  switch (frame.type) {
    case IpcType.HELLO:
    case IpcType.HELLO_REPLY:
      view.setUint32(p + HELLO.version, frame.version, true);
      view.setUint32(p + HELLO.flags, frame.flags, true);
      break;
    case IpcType.SOCKOPT:
      view.setUint32(p + SOCKOPT.cmd, frame.cmd, true);
      view.setUint32(p + SOCKOPT.flags, frame.flags, true);
      view.setUint32(p + SOCKOPT.optlen, frame.optlen, true);
      view.setUint32(p + SOCKOPT.inlen, frame.optval.byteLength, true);
      view.setBigUint64(p + SOCKOPT.netns_cookie, frame.netnsCookie, true);
      view.setUint32(p + SOCKOPT.peer_pid, frame.peerPid, true);
      view.setInt32(p + SOCKOPT.peer_netns_fd, frame.peerNetnsFd, true);
      bytes.set(frame.optval, p + SOCKOPT.SIZE);
      break;
    case IpcType.SOCKOPT_REPLY:
      view.setInt32(p + SOCKOPT_REPLY.status, frame.status, true);
      view.setUint32(p + SOCKOPT_REPLY.outlen, frame.out.byteLength, true);
      bytes.set(frame.out, p + SOCKOPT_REPLY.SIZE);
      break;
    case IpcType.NETNS_GONE:
      view.setBigUint64(p + NETNS_GONE.netns_cookie, frame.netnsCookie, true);
      break;
  }
  view.setUint32(HDR.len, payloadSize, true);
  return bytes;
}

/**
 * Splits a byte stream into frames. push() a chunk, then take frames with next() until it
 * returns undefined. A header error throws DecodeError (fatal); a payload error throws
 * PayloadError after consuming that frame, so the caller can answer it and go on.
 */
export class FrameSplitter {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private header: IpcHeader | undefined;

  /** Appends bytes read from the stream. */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
  }

  /** Bytes buffered and not yet returned as a frame (a non-zero value at EOF is a short frame). */
  get pending(): number {
    return this.buffered + (this.header === undefined ? 0 : HDR.SIZE);
  }

  private consume(size: number): Uint8Array {
    const out = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const head = this.chunks[0]!;
      const n = Math.min(head.byteLength, size - filled);
      out.set(head.subarray(0, n), filled);
      filled += n;
      if (n === head.byteLength) this.chunks.shift();
      else this.chunks[0] = head.subarray(n);
    }
    this.buffered -= size;
    return out;
  }

  /** The next complete frame, or undefined when more bytes are needed. */
  next(): Frame | undefined {
    if (this.header === undefined) {
      if (this.buffered < HDR.SIZE) return undefined;
      this.header = decodeHeader(this.consume(HDR.SIZE));
    }
    const header = this.header;
    if (this.buffered < header.len) return undefined;
    this.header = undefined;
    return decodePayload(header, this.consume(header.len));
  }
}
