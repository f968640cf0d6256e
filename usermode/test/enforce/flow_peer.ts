/**
 * The real-socket end of the stateful differential flows, run inside a netns by
 * `ip netns exec <ns> node --import tsx flow_peer.ts <mode> <json>`:
 * - `serve {"tcp": [ports], "udp": [ports]}`: echoes every TCP connection (closing with FIN when
 *   the peer does) and every UDP datagram; prints "ready" once it listens, runs until killed;
 * - `run [steps]`: the client steps, one after the other, and prints what each saw as JSON.
 * Every wait is bounded by STEP_MS, shorter than the kernel's first SYN retransmission (1 s), so
 * that a dropped packet never leads to a retransmission whose timing would make two runs differ;
 * a connection that did not finish is reset (resetAndDestroy), which sends one RST and no more, or,
 * still connecting, closed, which sends nothing.
 */
import { createSocket } from "node:dgram";
import { createServer, connect, type Socket } from "node:net";

/** How long a step waits for what it expects (ms). */
const STEP_MS = 600;

/** One client step. */
export type FlowStep =
  /** TCP: connect, send `data`, wait for its echo, then close with FIN ("fin") or reset ("rst"). */
  | { readonly tcp: string; readonly port: number; readonly close: "fin" | "rst" }
  /** UDP: send one datagram, wait for a reply. */
  | { readonly udp: string; readonly port: number };

/** What a step saw: "echo" (and "closed" after a FIN close), "refused" (RST), "timeout", "error:<code>". */
export type FlowOutcome = string;

function tcpStep(host: string, port: number, close: "fin" | "rst"): Promise<FlowOutcome> {
  return new Promise((done) => {
    const socket: Socket = connect({ host, port });
    socket.setNoDelay(true);
    let outcome = "timeout";
    let finished = false;
    const finish = (what: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      // A socket still connecting is closed (SYN_SENT sends nothing on close); a connected one reset.
      if (socket.connecting) socket.destroy();
      else if (!socket.destroyed) socket.resetAndDestroy();
      done(what);
    };
    const timer = setTimeout(() => finish(outcome), STEP_MS);
    socket.on("connect", () => {
      outcome = "connected";
      socket.write("hello");
    });
    socket.on("data", () => {
      outcome = "echo";
      if (close === "rst") finish("echo, reset");
      else socket.end();
    });
    socket.on("close", () => finish(outcome === "echo" ? "echo, closed" : outcome));
    socket.on("error", (error: NodeJS.ErrnoException) => finish(error.code === "ECONNREFUSED" ? "refused" : `error:${error.code}`));
  });
}

function udpStep(host: string, port: number): Promise<FlowOutcome> {
  return new Promise((done) => {
    const socket = createSocket("udp4");
    const finish = (what: string) => {
      clearTimeout(timer);
      socket.close();
      done(what);
    };
    const timer = setTimeout(() => finish("timeout"), STEP_MS);
    socket.on("message", () => finish("reply"));
    // A connected UDP socket reports the ICMP port unreachable that comes back as ECONNREFUSED.
    socket.on("error", (error: NodeJS.ErrnoException) => finish(error.code === "ECONNREFUSED" ? "unreachable" : `error:${error.code}`));
    socket.connect(port, host, () => socket.send("ping"));
  });
}

async function run(steps: readonly FlowStep[]): Promise<void> {
  const outcomes: FlowOutcome[] = [];
  for (const step of steps) outcomes.push("tcp" in step ? await tcpStep(step.tcp, step.port, step.close) : await udpStep(step.udp, step.port));
  process.stdout.write(`${JSON.stringify(outcomes)}\n`);
}

function serve(ports: { readonly tcp: readonly number[]; readonly udp: readonly number[] }): void {
  let listening = 0;
  const ready = () => {
    if (++listening === ports.tcp.length + ports.udp.length) process.stdout.write("ready\n");
  };
  for (const port of ports.tcp) {
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      socket.setNoDelay(true);
      socket.on("data", (chunk) => socket.write(chunk));
      socket.on("end", () => socket.end());
      socket.on("error", () => socket.destroy());
      socket.setTimeout(STEP_MS * 2, () => socket.resetAndDestroy());
    });
    server.listen(port, "0.0.0.0", ready);
  }
  for (const port of ports.udp) {
    const socket = createSocket("udp4");
    socket.on("message", (message, from) => socket.send(message, from.port, from.address));
    socket.bind(port, "0.0.0.0", ready);
  }
}

const [mode, json] = process.argv.slice(2);
if (mode === "serve") serve(JSON.parse(json!));
else if (mode === "run") await run(JSON.parse(json!));
else throw new Error(`flow_peer: mode '${mode}' is not serve or run`);
