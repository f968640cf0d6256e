/**
 * The real-socket end of the stateful differential flows, run inside a netns by
 * `ip netns exec <ns> node --import tsx flow_peer.ts <mode> <json>`:
 * - `serve {"tcp": [ports], "udp": [ports]}`: echoes every TCP connection (closing with FIN when
 *   the peer does) and every UDP datagram; prints "ready" once it listens, runs until killed;
 * - `run [steps]`: the client steps, one after the other, and prints what each saw as JSON.
 * The packets a step sends must not depend on timing: a connection waits less than the first SYN
 * retransmission (CONNECT_MS), a FIN or RST after data waits out the delayed ACK (SETTLE_MS), and
 * a connection that did not finish is reset (resetAndDestroy: one RST, no more) or, still
 * connecting, closed (which sends nothing).
 */
import { createSocket } from "node:dgram";
import { createServer, connect, type Socket } from "node:net";

/**
 * How long a step waits for a connection (ms): shorter than the kernel's first SYN retransmission
 * (1 s), so that a dropped SYN or SYN-ACK is never sent again.
 */
const CONNECT_MS = 700;
/** How long a step waits for a reply or a close once connected, and for a UDP reply (ms). */
const REPLY_MS = 1500;
/**
 * The pause before a FIN or RST that follows received data (ms): longer than the longest delayed
 * ACK (TCP_DELACK_MAX, 200 ms), so that the ACK of that data always leaves on its own and never
 * rides on the FIN, which would make the number of packets depend on timing.
 */
export const SETTLE_MS = 250;

/** One client step. */
export type FlowStep =
  /** TCP: connect, send "hello", wait for its echo, then close with FIN ("fin") or reset ("rst"). */
  | { readonly tcp: string; readonly port: number; readonly close: "fin" | "rst" }
  /** UDP: send one datagram, wait for a reply. */
  | { readonly udp: string; readonly port: number };

/** What a step saw: "echo, closed", "echo, reset", "connected" (no echo), "refused" (RST), "timeout", "error:<code>". */
export type FlowOutcome = string;

function tcpStep(host: string, port: number, close: "fin" | "rst"): Promise<FlowOutcome> {
  return new Promise((done) => {
    const socket: Socket = connect({ host, port });
    socket.setNoDelay(true);
    let outcome = "timeout";
    let finished = false;
    let timer = setTimeout(() => finish(outcome), CONNECT_MS);
    const rearm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(outcome), ms);
    };
    function finish(what: string): void {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      // A socket still connecting is closed (SYN_SENT sends nothing on close); a connected one reset.
      if (socket.connecting) socket.destroy();
      else if (!socket.destroyed) socket.resetAndDestroy();
      done(what);
    }
    socket.on("connect", () => {
      outcome = "connected";
      rearm(REPLY_MS);
      socket.write("hello");
    });
    socket.once("data", () => {
      outcome = "echo";
      rearm(REPLY_MS + SETTLE_MS);
      setTimeout(() => {
        if (close === "rst") finish("echo, reset");
        else if (!finished) socket.end();
      }, SETTLE_MS);
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
    const timer = setTimeout(() => finish("timeout"), REPLY_MS);
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
      socket.on("end", () => setTimeout(() => socket.end(), SETTLE_MS)); // the ACK of the FIN first, alone
      socket.on("error", () => socket.destroy());
      socket.setTimeout(REPLY_MS * 2, () => socket.resetAndDestroy());
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
