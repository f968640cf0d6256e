/** Frame codec: fast-check round trips, stream splitting at any chunking, and every rejection. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecodeError } from "../../src/ipc/byte_reader.ts";
import { decodeFrame, encodeFrame, FrameSplitter, PayloadError } from "../../src/ipc/frame_codec.ts";
import { BPFILTER_IPC_MAX_PAYLOAD, type Frame, HDR, IpcType, SOCKOPT } from "../../src/ipc/protocol.ts";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = fc.uint8Array({ maxLength: 300 });

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    type: fc.constantFrom(IpcType.HELLO, IpcType.HELLO_REPLY),
    seq: u32,
    version: u32,
    flags: fc.constant(0),
  }),
  fc.record({
    type: fc.constant(IpcType.SOCKOPT),
    seq: u32,
    cmd: u32,
    flags: fc.constantFrom(0, 1, 2, 3),
    netnsCookie: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    peerPid: fc.constant(0),
    peerNetnsFd: fc.constant(-1),
    optval: bytes,
  }).chain((f) => fc.integer({ min: f.optval.length, max: 0xffffffff }).map((optlen) => ({ ...f, optlen }))),
  fc.record({
    type: fc.constant(IpcType.SOCKOPT_REPLY),
    seq: u32,
    status: fc.integer({ min: -511, max: -1 }),
    out: fc.constant(new Uint8Array(0)),
  }),
  fc.record({ type: fc.constant(IpcType.SOCKOPT_REPLY), seq: u32, status: fc.constant(0), out: bytes }),
);

describe("frame codec", () => {
  it("decode(encode(frame)) is the frame", () => {
    fc.assert(
      fc.property(frameArb, (frame) => {
        expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
      }),
    );
  });

  it("a stream of frames split at arbitrary points decodes to the same frames", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 6 }), fc.array(fc.nat(40), { maxLength: 20 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f)));
        const splitter = new FrameSplitter();
        const decoded: Frame[] = [];
        let at = 0;
        for (const cut of [...cuts, stream.length]) {
          splitter.push(stream.subarray(at, Math.min(stream.length, at + cut)));
          at = Math.min(stream.length, at + cut);
          for (let f = splitter.next(); f !== undefined; f = splitter.next()) decoded.push(f);
        }
        expect(decoded).toEqual(frames);
        expect(splitter.pending).toBe(0);
      }),
    );
  });
});

/** A valid SOCKOPT frame to corrupt. */
function sockopt(): Uint8Array {
  return encodeFrame({
    type: IpcType.SOCKOPT,
    seq: 7,
    cmd: 64,
    flags: 0,
    optlen: 8,
    netnsCookie: 1n,
    peerPid: 0,
    peerNetnsFd: -1,
    optval: new Uint8Array(4),
  });
}

function patch(frame: Uint8Array, at: number, value: number): Uint8Array {
  const copy = frame.slice();
  new DataView(copy.buffer).setUint32(at, value, true);
  return copy;
}

describe("frame codec rejections name the field", () => {
  const payload = HDR.SIZE;
  const cases: [string, Uint8Array, RegExp, boolean][] = [
    ["bad magic", patch(sockopt(), HDR.magic, 0x12345678), /magic 0x12345678/, false],
    ["len past the maximum", patch(sockopt(), HDR.len, BPFILTER_IPC_MAX_PAYLOAD + 1), /exceeds BPFILTER_IPC_MAX_PAYLOAD/, false],
    ["short header", sockopt().subarray(0, 10), /header needs 16/, false],
    ["trailing bytes", Buffer.concat([sockopt(), Buffer.from([1])]), /1 trailing bytes/, true],
    ["payload shorter than len", sockopt().subarray(0, sockopt().length - 1), /payload has 35 bytes, header len says 36/, true],
    ["unknown flags", patch(sockopt(), payload + SOCKOPT.flags, 6), /flags 0x6 has unknown bits/, true],
    ["a peer fd below -1", patch(sockopt(), payload + SOCKOPT.peer_netns_fd, -2), /peer_netns_fd -2 is neither -1 nor a descriptor/, true],
    ["a peer fd without a peer pid", patch(sockopt(), payload + SOCKOPT.peer_netns_fd, 3), /peer_pid 0 and peer_netns_fd 3 must be set together/, true],
    ["inlen above optlen", patch(sockopt(), payload + SOCKOPT.optlen, 2), /inlen 4 exceeds optlen 2/, true],
    ["inlen beyond the payload", patch(sockopt(), payload + SOCKOPT.inlen, 8), /field 'optval' at offset 32 needs 8 bytes, only 4 left/, true],
    ["inlen short of the payload", patch(patch(sockopt(), payload + SOCKOPT.inlen, 2), payload + SOCKOPT.optlen, 8), /2 trailing bytes/, true],
    ["unknown type", patch(sockopt(), HDR.version, 9 << 16 | 1), /unknown frame type 9/, true],
    [
      "a positive reply status",
      encodeFrame({ type: IpcType.SOCKOPT_REPLY, seq: 2, status: 3, out: new Uint8Array(0) }),
      /status 3 is neither 0 nor a negative errno/,
      true,
    ],
    [
      "a failed reply with output",
      encodeFrame({ type: IpcType.SOCKOPT_REPLY, seq: 2, status: -22, out: new Uint8Array(4) }),
      /failed status -22 carries 4 bytes/,
      true,
    ],
    [
      "HELLO flags",
      patch(encodeFrame({ type: IpcType.HELLO, seq: 1, version: 1, flags: 0 }), payload + 4, 1),
      /bpfilter_ipc_hello.flags 0x1 must be zero/,
      true,
    ],
  ];
  it.each(cases)("%s", (_name, frame, message, recoverable) => {
    let error: unknown;
    try {
      decodeFrame(frame);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as Error).message).toMatch(message);
    expect(error instanceof PayloadError).toBe(recoverable);
  });
});
