// The differential oracle: a netns "A" where iptables-legacy (the kernel's netfilter) enforces a
// ruleset on INPUT, fed with raw frames from a netns "B" over a veth pair; per-rule counters show
// which rules each frame hit.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** MAC address of A's veth end, which crafted frames are addressed to (see packets.ts). */
export const PEER_MAC = "02:00:00:00:00:01";
/** A's address: frames to it go through INPUT. */
export const PEER_ADDRESS = "10.99.0.1";

const SENDER_C = `#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = if_nametoindex(argv[1]), .sll_halen = 6 };
  unsigned char frame[2048];
  size_t len = strlen(argv[2]) / 2;
  if (fd < 0 || to.sll_ifindex == 0 || len > sizeof(frame)) { perror("sender"); return 1; }
  for (size_t i = 0; i < len; i++) sscanf(argv[2] + 2 * i, "%2hhx", &frame[i]);
  if (sendto(fd, frame, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len) { perror("sendto"); return 1; }
  return 0;
}
`;

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], ...(input === undefined ? {} : { input }) });
}

/** Counter hits by rule name ("INPUT#2", "INPUT:policy", "U#1"): [packets, bytes]. */
export type NetfilterHits = Record<string, [number, number]>;

/** Two netns joined by a veth pair, iptables-legacy in A; close() removes them. */
export class NetfilterPeer {
  readonly a: string;
  readonly b: string;
  private readonly dir: string;
  private readonly sender: string;

  constructor(tag: string) {
    this.a = `cg-nfa-${tag}`;
    this.b = `cg-nfb-${tag}`;
    this.dir = mkdtempSync(join(tmpdir(), "cg-sender-"));
    this.sender = join(this.dir, "send");
    writeFileSync(`${this.sender}.c`, SENDER_C);
    run("gcc", ["-O1", "-o", this.sender, `${this.sender}.c`]);
    run("ip", ["netns", "add", this.a]);
    run("ip", ["netns", "add", this.b]);
    run("ip", ["-n", this.a, "link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", this.b]);
    run("ip", ["-n", this.a, "link", "set", "a0", "address", PEER_MAC]);
    run("ip", ["-n", this.a, "addr", "add", `${PEER_ADDRESS}/24`, "dev", "a0"]);
    for (const [ns, dev] of [[this.a, "a0"], [this.a, "lo"], [this.b, "b0"], [this.b, "lo"]] as const) run("ip", ["-n", ns, "link", "set", dev, "up"]);
  }

  /** Replaces A's filter table with iptables-restore text. */
  restore(text: string): void {
    run("ip", ["netns", "exec", this.a, "iptables-legacy-restore"], text);
  }

  /** Sends one Ethernet frame from B to A, then returns the rules it hit (counters zeroed after). */
  send(frame: Uint8Array): NetfilterHits {
    run("ip", ["netns", "exec", this.b, this.sender, "b0", Buffer.from(frame).toString("hex")]);
    execFileSync("sleep", ["0.02"]);
    const hits = parseCounters(run("ip", ["netns", "exec", this.a, "iptables-legacy-save", "-c", "-t", "filter"]));
    run("ip", ["netns", "exec", this.a, "iptables-legacy", "-Z"]);
    return hits;
  }

  close(): void {
    for (const ns of [this.a, this.b]) {
      try {
        run("ip", ["netns", "del", ns]);
      } catch {
        // not created
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Nonzero counters of iptables-save -c output, named as the codegen tests name them. */
export function parseCounters(save: string): NetfilterHits {
  const hits: NetfilterHits = {};
  const ruleNumbers = new Map<string, number>();
  for (const line of save.split("\n")) {
    const policy = /^:(\S+) \S+ \[(\d+):(\d+)\]$/.exec(line);
    if (policy !== null && policy[2] !== "0") hits[`${policy[1]}:policy`] = [Number(policy[2]), Number(policy[3])];
    const rule = /^\[(\d+):(\d+)\] -A (\S+) /.exec(line);
    if (rule === null) continue;
    const n = (ruleNumbers.get(rule[3]!) ?? 0) + 1;
    ruleNumbers.set(rule[3]!, n);
    if (rule[1] !== "0") hits[`${rule[3]}#${n}`] = [Number(rule[1]), Number(rule[2])];
  }
  return hits;
}
