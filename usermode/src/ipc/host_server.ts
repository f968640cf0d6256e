/** Host mode: a unix socket server; each connection is one frame session (HELLO first). */
import { unlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { type LoopOptions, serveSession } from "./loop.ts";

function writerFor(socket: Socket): (bytes: Uint8Array) => Promise<void> {
  return (bytes) =>
    new Promise((resolve, reject) => {
      socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
}

/** Listens on `path` (replacing a stale socket file) and serves every connection; resolves once listening. */
export async function listenHost(path: string, opts: LoopOptions): Promise<Server> {
  try {
    unlinkSync(path);
  } catch {
    // no stale socket
  }
  const server = createServer((socket) => {
    serveSession(socket, writerFor(socket), opts)
      .then((end) => {
        if (end.kind === "version-mismatch") opts.log(`client speaks protocol version ${end.peerVersion}, not ours: connection closed`);
        if (end.kind === "protocol-error") opts.log(`client connection closed: ${end.message}`);
        socket.end();
      })
      .catch((err: unknown) => {
        opts.log(`client connection failed: ${(err as Error).stack ?? String(err)}`);
        socket.destroy();
      });
    socket.on("error", (err) => opts.log(`client connection error: ${err.message}`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  return server;
}
