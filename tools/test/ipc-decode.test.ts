import { describe, expect, it } from "vitest";
import { encodeFrame } from "../../usermode/src/ipc/frame_codec.ts";
import { BPFILTER_IPC_F_SET, BPFILTER_IPC_MAGIC, BPFILTER_IPC_VERSION, type Frame, IpcType } from "../../usermode/src/ipc/protocol.ts";
import { decodeStream, parseHex, statusName } from "../src/ipc-decode.ts";

/** optval bytes starting with a NUL-padded name of `size` bytes. */
function named(name: string, size: number, total: number, tail: number[] = []): Uint8Array {
  const b = new Uint8Array(total);
  b.set(Buffer.from(name), 0);
  b.set(tail, size);
  return b;
}

const hello: Frame = { type: IpcType.HELLO, seq: 1, version: BPFILTER_IPC_VERSION, flags: 0 };
const getInfo: Frame = { type: IpcType.SOCKOPT, seq: 2, cmd: 64, flags: 0, optlen: 84, netnsCookie: 4097n, peerPid: 0, peerNetnsFd: -1, optval: named("filter", 32, 84) };
const decline: Frame = { type: IpcType.SOCKOPT_REPLY, seq: 2, status: -92, out: new Uint8Array(0) };
const replace: Frame = { type: IpcType.SOCKOPT, seq: 3, cmd: 64, flags: BPFILTER_IPC_F_SET, optlen: 200, netnsCookie: 1n, peerPid: 9, peerNetnsFd: 5, optval: named("nat", 32, 200) };
const revision: Frame = { type: IpcType.SOCKOPT, seq: 4, cmd: 66, flags: 0, optlen: 30, netnsCookie: 1n, peerPid: 0, peerNetnsFd: -1, optval: named("tcp", 29, 30, [1]) };
const answer: Frame = { type: IpcType.SOCKOPT_REPLY, seq: 4, status: 0, out: new Uint8Array([1, 0, 0, 0]) };

function stream(...frames: (Frame | Uint8Array)[]): Uint8Array {
  return Buffer.concat(frames.map((f) => (f instanceof Uint8Array ? f : encodeFrame(f))));
}

describe("tools/ipc-decode", () => {
  it("prints one trace line per frame, with offsets, command names, table or extension, and errno names", () => {
    const d = decodeStream(stream(hello, getInfo, decline, replace, revision, answer));
    expect(d.lines).toEqual([
      `@0 HELLO seq=1 version=${BPFILTER_IPC_VERSION}`,
      "@24 SOCKOPT seq=2 IPT_SO_GET_INFO table=filter optlen=84 inlen=84 netns=4097",
      "@156 SOCKOPT_REPLY seq=2 status=-92 (ENOPROTOOPT) outlen=0",
      "@180 SOCKOPT seq=3 IPT_SO_SET_REPLACE table=nat optlen=200 inlen=200 netns=1 peer=9:fd5",
      "@428 SOCKOPT seq=4 IPT_SO_GET_REVISION_MATCH name=tcp revision=1 optlen=30 inlen=30 netns=1",
      "@506 SOCKOPT_REPLY seq=4 status=0 outlen=4",
    ]);
    expect([d.frames, d.errors]).toEqual([6, 0]);
  });

  it("reports a bad payload and goes on with the next frame", () => {
    const bad = encodeFrame({ ...hello, seq: 7 });
    new DataView(bad.buffer).setUint32(16 + 4, 3, true); // hello.flags must be zero
    const d = decodeStream(stream(bad, decline));
    expect(d.lines[0]).toBe("@0 BAD PAYLOAD: HELLO seq 7: bpfilter_ipc_hello.flags 0x3 must be zero");
    expect(d.lines[1]).toBe("@24 SOCKOPT_REPLY seq=2 status=-92 (ENOPROTOOPT) outlen=0");
    expect(d.errors).toBe(1);
  });

  it.each([
    ["a bad magic stops decoding: the frame boundaries are lost", (b: Uint8Array) => new DataView(b.buffer).setUint32(24, BPFILTER_IPC_MAGIC + 1, true), /^@24 BAD HEADER: bpfilter_ipc_hdr: magic 0x4250464a is not BPFILTER_IPC_MAGIC 0x42504649; .* 132 byte\(s\) not decoded$/],
    ["a stream cut inside a payload", (b: Uint8Array) => b, /^@24 TRUNCATED: the stream ends inside a frame \(10 byte\(s\) of a header\)$/],
  ])("%s", (_, mutate, line) => {
    const b = new Uint8Array(stream(hello, getInfo));
    mutate(b);
    const input = line.source.includes("TRUNCATED") ? b.subarray(0, 34) : b;
    const d = decodeStream(input);
    expect(d.lines.at(-1)).toMatch(line);
    expect(d.errors).toBe(1);
  });

  it("reads hex dumps with offsets, 0x prefixes and spaces", () => {
    expect([...parseHex("0000: 49 46 50 42\n0004: 0x01 0x00")]).toEqual([0x49, 0x46, 0x50, 0x42, 1, 0]);
    expect(() => parseHex("4g")).toThrow(/"g" is not a hex digit/);
    expect(() => parseHex("414")).toThrow(/odd number of hex digits \(3\)/);
  });

  it.each([
    [0, "0"],
    [-1, "-1 (EPERM)"],
    [-110, "-110 (ETIMEDOUT)"],
    [-4095, "-4095"],
  ])("names status %d as %s", (status, name) => {
    expect(statusName(status)).toBe(name);
  });
});
