/**
 * The frame loop: handshake, dispatch with the request's seq, error replies for bad frames and
 * handler failures, fatal header errors, trace lines; and main.ts in kernel mode (--stdio) as a
 * child process, including the version-mismatch exit.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { closeSync, openSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { decodeFrame, encodeFrame, FrameSplitter } from "../../src/ipc/frame_codec.ts";
import { type LoopOptions, serveSession } from "../../src/ipc/loop.ts";
import { BPFILTER_IPC_VERSION as V, type Frame, HDR, IpcType } from "../../src/ipc/protocol.ts";
import { RequestNetnsError, type RequestNetnsOpener } from "../../src/ipc/request_netns.ts";
import { Errno } from "../../src/ipt/abi.ts";

const repo = resolve(import.meta.dirname, "../../..");
const stateDir = mkdtempSync(join(tmpdir(), "bpfilter-loop-state-"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const hello = (seq: number, version = V): Frame => ({ type: IpcType.HELLO, seq, version, flags: 0 });
const sockopt = (seq: number, cmd = 64, optval = new Uint8Array(84), peer = { pid: 0, fd: -1 }): Frame => ({
  type: IpcType.SOCKOPT,
  seq,
  cmd,
  flags: 0,
  optlen: optval.length,
  netnsCookie: 42n,
  peerPid: peer.pid,
  peerNetnsFd: peer.fd,
  optval,
});

/** Opens nothing: every request's netns is "/netns/<seq>"; closes are counted. */
function fakeOpener(closed: number[] = []): RequestNetnsOpener {
  return (frame) => ({ ref: { cookie: frame.netnsCookie, path: `/netns/${frame.seq}` }, close: () => void closed.push(frame.seq) });
}

async function* chunks(...parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield p;
}

/** Runs a session over `parts`; returns the frames written back, the log and how it ended. */
async function session(parts: Uint8Array[], answer: LoopOptions["answer"], trace = false, more: Partial<LoopOptions> = {}) {
  const written: Frame[] = [];
  const log: string[] = [];
  const end = await serveSession(chunks(...parts), async (b) => void written.push(decodeFrame(b)), {
    answer,
    log: (l) => log.push(l),
    trace,
    openNetns: fakeOpener(),
    ...more,
  });
  return { written, log, end };
}

const echoStatus = (status: number): LoopOptions["answer"] => () => ({ status, out: new Uint8Array([1, 2, 3]) });

describe("serveSession", () => {
  it("answers HELLO, then each SOCKOPT with its own seq", async () => {
    const { written, end } = await session([encodeFrame(hello(1)), encodeFrame(sockopt(5)), encodeFrame(sockopt(6))], (req) => ({
      status: 0,
      out: new Uint8Array([req.cmd]),
    }));
    expect(end).toEqual({ kind: "eof" });
    expect(written).toEqual([
      { type: IpcType.HELLO_REPLY, seq: 1, version: V, flags: 0 },
      { type: IpcType.SOCKOPT_REPLY, seq: 5, status: 0, out: new Uint8Array([64]) },
      { type: IpcType.SOCKOPT_REPLY, seq: 6, status: 0, out: new Uint8Array([64]) },
    ]);
  });

  it("refuses a version mismatch after replying with its own version", async () => {
    const { written, end } = await session([encodeFrame(hello(1, 1)), encodeFrame(sockopt(2))], echoStatus(0));
    expect(written).toEqual([{ type: IpcType.HELLO_REPLY, seq: 1, version: V, flags: 0 }]);
    expect(end).toEqual({ kind: "version-mismatch", peerVersion: 1 });
  });

  it("hands each SOCKOPT its netns, opened for the request and closed after it", async () => {
    const closed: number[] = [];
    const seen: string[] = [];
    const { written } = await session(
      [encodeFrame(hello(1)), encodeFrame(sockopt(5)), encodeFrame(sockopt(6))],
      (req) => {
        seen.push(`${req.netns.cookie} ${req.netns.path} closed=${closed.length}`);
        return { status: 0, out: new Uint8Array(0) };
      },
      false,
      { openNetns: fakeOpener(closed) },
    );
    expect(seen).toEqual(["42 /netns/5 closed=0", "42 /netns/6 closed=1"]);
    expect(closed).toEqual([5, 6]);
    expect(written).toHaveLength(3);
  });

  it("answers a request whose netns cannot be opened with that errno", async () => {
    const { written, log } = await session([encodeFrame(hello(1)), encodeFrame(sockopt(5))], echoStatus(0), false, {
      openNetns: () => {
        throw new RequestNetnsError(3, "getsockopt(BPFILTER_IPC_SO_GET_NETNS, seq 5) failed with errno 3");
      },
    });
    expect(written[1]).toEqual({ type: IpcType.SOCKOPT_REPLY, seq: 5, status: -3, out: new Uint8Array(0) });
    expect(log.join("\n")).toMatch(/seq 5: netns 42: getsockopt\(BPFILTER_IPC_SO_GET_NETNS, seq 5\) failed/);
  });

  it("passes NETNS_GONE to the netnsGone callback without a reply", async () => {
    const gone: bigint[] = [];
    const { written } = await session(
      [encodeFrame(hello(1)), encodeFrame({ type: IpcType.NETNS_GONE, seq: 2, netnsCookie: 77n }), encodeFrame(sockopt(3))],
      echoStatus(0),
      false,
      { netnsGone: (cookie) => void gone.push(cookie) },
    );
    expect(gone).toEqual([77n]);
    expect(written.map((f) => f.seq)).toEqual([1, 3]);
  });

  const replyCases: [string, Uint8Array[], LoopOptions["answer"], number, RegExp][] = [
    ["SOCKOPT before HELLO", [encodeFrame(sockopt(3))], echoStatus(0), -Errno.EPROTO, /before HELLO/],
    [
      "a malformed SOCKOPT payload",
      [encodeFrame(hello(1)), (() => { const f = encodeFrame(sockopt(3)); f[HDR.SIZE + 4] = 8; return f; })()],
      echoStatus(0),
      -Errno.EINVAL,
      /flags 0x8 has unknown bits/,
    ],
    [
      "a handler that throws",
      [encodeFrame(hello(1)), encodeFrame(sockopt(3))],
      () => {
        throw new Error("boom in handler");
      },
      -Errno.EINVAL,
      /handler failed, answered -EINVAL: Error: boom in handler/,
    ],
    [
      "a handler status above 0 (the kernel would kill the helper)",
      [encodeFrame(hello(1)), encodeFrame(sockopt(3))],
      echoStatus(2),
      -Errno.EINVAL,
      /handler returned status 2, not 0 or -errno/,
    ],
  ];
  it.each(replyCases)("answers %s with an errno and goes on", async (_name, parts, answer, status, logged) => {
    const { written, log, end } = await session([...parts, encodeFrame(sockopt(4))], answer);
    const replies = written.filter((f) => f.type === IpcType.SOCKOPT_REPLY);
    expect(replies[0]).toEqual({ type: IpcType.SOCKOPT_REPLY, seq: 3, status, out: new Uint8Array(0) });
    expect(replies[1]?.seq).toBe(4);
    expect(log.join("\n")).toMatch(logged);
    expect(end).toEqual({ kind: "eof" });
  });

  it("ends the session on a bad magic, which leaves the stream out of step", async () => {
    const bad = encodeFrame(sockopt(3));
    bad[0] = 0;
    const { end, written } = await session([encodeFrame(hello(1)), bad, encodeFrame(sockopt(4))], echoStatus(0));
    expect(written).toHaveLength(1);
    expect(end.kind).toBe("protocol-error");
    expect(end.kind === "protocol-error" && end.message).toMatch(/magic/);
  });

  it("reports a stream that ends inside a frame", async () => {
    const { end } = await session([encodeFrame(hello(1)), encodeFrame(sockopt(3)).subarray(0, 20)], echoStatus(0));
    expect(end).toEqual({ kind: "protocol-error", message: "stream ended inside a frame (20 bytes pending)" });
  });

  it("drops get bytes beyond optlen and the bytes of an error reply", async () => {
    const { written } = await session([encodeFrame(hello(1)), encodeFrame(sockopt(3, 64, new Uint8Array(2))), encodeFrame(sockopt(4))], (req) =>
      req.optlen === 2 ? { status: 0, out: new Uint8Array(5) } : { status: -Errno.ENOENT, out: new Uint8Array(5) },
    );
    expect(written.slice(1).map((f) => f.type === IpcType.SOCKOPT_REPLY && [f.status, f.out.length])).toEqual([
      [0, 2],
      [-Errno.ENOENT, 0],
    ]);
  });

  it("traces every frame with type, seq, command, lengths, status and time", async () => {
    const { log } = await session([encodeFrame(hello(1)), encodeFrame(sockopt(5, 65, new Uint8Array(40)))], echoStatus(-Errno.EAGAIN), true);
    expect(log[0]).toBe(`trace: rx HELLO seq=1 version=${V}`);
    expect(log[2]).toBe("trace: rx SOCKOPT seq=5 IPT_SO_GET_ENTRIES optlen=40 inlen=40 netns=42");
    expect(log[3]).toMatch(/^trace: tx SOCKOPT_REPLY seq=5 status=-11 outlen=0 \d+\.\d{3}ms$/);
  });
});

/** Runs main.ts --stdio with `input` on stdin; returns the frames on stdout, stderr and the exit code. */
function runStdio(input: Uint8Array, env: Record<string, string> = {}): Promise<{ frames: Frame[]; stderr: string; code: number | null }> {
  return new Promise((done) => {
    const child = spawn(resolve(repo, "node_modules/.bin/tsx"), [resolve(repo, "usermode/src/main.ts"), "--stdio"], {
      env: { ...process.env, BPFILTER_STATE_DIR: stateDir, ...env },
    });
    const splitter = new FrameSplitter();
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => splitter.push(b));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("close", (code) => {
      const frames: Frame[] = [];
      for (let f = splitter.next(); f !== undefined; f = splitter.next()) frames.push(f);
      done({ frames, stderr, code });
    });
    child.stdin.end(input);
  });
}

describe("main.ts --stdio (kernel mode)", () => {
  it("serves GET_INFO for a fresh netns and exits 0 at EOF", async () => {
    const getinfo = new Uint8Array(84);
    getinfo.set(Buffer.from("filter"));
    // No bpfilter kernel here to hand out the netns: name this process's own, as a peer would.
    const nsfd = openSync("/proc/self/ns/net", "r");
    const peer = { pid: process.pid, fd: nsfd };
    const run = runStdio(Buffer.concat([encodeFrame(hello(1)), encodeFrame(sockopt(2, 64, getinfo, peer))]));
    const { frames, code } = await run.finally(() => closeSync(nsfd));
    expect(code).toBe(0);
    const reply = frames[1]!;
    expect(reply.type === IpcType.SOCKOPT_REPLY && reply.status).toBe(0);
    const view = reply.type === IpcType.SOCKOPT_REPLY ? new DataView(reply.out.buffer, reply.out.byteOffset) : undefined;
    expect([view?.getUint32(76, true), view?.getUint32(80, true)]).toEqual([4, 632]);
  });

  it("replies to a version mismatch, then exits non-zero with a clear stderr line", async () => {
    const { frames, stderr, code } = await runStdio(encodeFrame(hello(1, 7)));
    expect(frames).toEqual([{ type: IpcType.HELLO_REPLY, seq: 1, version: V, flags: 0 }]);
    expect(code).toBe(1);
    expect(stderr).toContain(`bpfilter: the kernel speaks bpfilter protocol version 7, this helper speaks ${V}: exiting`);
  });

  it("logs every frame with BPFILTER_TRACE=1", async () => {
    const { stderr } = await runStdio(encodeFrame(hello(3)), { BPFILTER_TRACE: "1" });
    expect(stderr).toContain(`bpfilter: trace: rx HELLO seq=3 version=${V}`);
  });

  it("names a wrong flag in its usage error", async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(resolve(repo, "node_modules/.bin/tsx"), [resolve(repo, "usermode/src/main.ts"), "--listne", "x"]);
      let stderr = "";
      child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
      child.on("close", (code) => done({ code, stderr }));
    });
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("bpfilter: unknown argument '--listne'");
  });
});
