/**
 * Command-by-command replays of what real tools do to iptables (usermode/test/replays/*.replay),
 * and the packets sent through both netns before their counters are compared.
 *
 * A replay file holds one shell command per line, as the tool runs it ("iptables -w -N f2b-sshd");
 * a line ending in "<<EOF" takes the lines up to "EOF" as its stdin (iptables-restore input);
 * lines starting with "#" are comments. `iptables` is the legacy one (HostBench's PATH).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { namedNetnsPath } from "../../src/bpf/index.ts";
import { type PacketSpec, sendRaw } from "../enforce/raw_packets.ts";

/** The folder of the replay files. */
export const REPLAY_DIR = join(import.meta.dirname, "..", "replays");

/** One command of a replay: its line number and the shell text (with its here-document, if any). */
export interface ReplayStep {
  readonly line: number;
  readonly script: string;
}

/** Reads a replay file; throws naming the line of an unterminated here-document. */
export function readReplay(path: string): ReplayStep[] {
  const lines = readFileSync(path, "utf8").split("\n");
  const steps: ReplayStep[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!line.endsWith("<<EOF")) {
      steps.push({ line: i + 1, script: line });
      continue;
    }
    const end = lines.indexOf("EOF", i + 1);
    if (end < 0) throw new Error(`${path}:${i + 1}: here-document without a closing EOF line`);
    steps.push({ line: i + 1, script: lines.slice(i, end + 1).join("\n") });
    i = end;
  }
  return steps;
}

/** Every replay file, by tool name (the file name without .replay). */
export function replayFiles(): { tool: string; path: string }[] {
  return readdirSync(REPLAY_DIR)
    .filter((name) => name.endsWith(".replay"))
    .sort()
    .map((name) => ({ tool: name.slice(0, -".replay".length), path: join(REPLAY_DIR, name) }));
}

const PEER = "10.201.0.1";
const TARGET = "10.201.0.2";

/**
 * What goes through both netns after a replay: from the peer to the netns (pings, TCP SYNs and a
 * stray ACK to the ports these tools open or close, a few UDP datagrams: fewer than ICMP's error
 * rate limit lets through at once, so that both answer every one), some from spoofed sources that
 * bans and docker rules name, and from the netns out to the peer.
 */
export const REPLAY_TRAFFIC: { readonly in: readonly PacketSpec[]; readonly out: readonly PacketSpec[] } = {
  in: [
    { proto: "icmp", src: PEER, dst: TARGET },
    { proto: "icmp", src: PEER, dst: TARGET },
    ...[22, 80, 443, 8080, 25, 6443, 41641].map((dport, i): PacketSpec => ({ proto: "tcp", src: PEER, dst: TARGET, sport: 40000 + i, dport })),
    { proto: "tcp", src: PEER, dst: TARGET, sport: 40100, dport: 22, flags: 0x10 },
    ...[53, 123, 67].map((dport, i): PacketSpec => ({ proto: "udp", src: PEER, dst: TARGET, sport: 41000 + i, dport })),
    { proto: "tcp", src: "192.0.2.5", dst: TARGET, sport: 40200, dport: 22 },
    { proto: "tcp", src: "172.17.0.2", dst: TARGET, sport: 40201, dport: 80 },
    { proto: "udp", src: "100.64.1.1", dst: TARGET, sport: 41641, dport: 41641 },
  ],
  out: [
    { proto: "icmp", src: TARGET, dst: PEER },
    { proto: "tcp", src: TARGET, dst: PEER, sport: 50000, dport: 80 },
    { proto: "udp", src: TARGET, dst: PEER, sport: 50001, dport: 53 },
  ],
};

/** Sends REPLAY_TRAFFIC through one netns and its peer, then waits for the answers to pass. */
export async function sendReplayTraffic(netns: string, peer: string): Promise<void> {
  sendRaw(namedNetnsPath(peer), REPLAY_TRAFFIC.in);
  sendRaw(namedNetnsPath(netns), REPLAY_TRAFFIC.out);
  await new Promise((done) => setTimeout(done, 300));
}
