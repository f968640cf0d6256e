// Differential test against the kernel's netfilter: random INPUT rulesets go into iptables-legacy in
// a netns and into our INPUT program; random frames go through both (to netfilter over a veth pair, to
// our program through BPF_PROG_TEST_RUN at LOCAL_IN). The rules each frame hits (and so its verdict)
// and the byte counts must agree. The oracle is netfilter, not our reading of it. Fragments are left
// to the enforce oracle (test/enforce): netfilter's INPUT sees them only reassembled.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { IPT_F, IPT_INV } from "../../src/ir/types.ts";
import {
  ACCEPT, DROP, RETURN, dscpMatch, filterTable, icmpMatch, iprangeMatch, jump, lengthMatch, multiportMatch, tcpMatch, ttlMatch, udpMatch,
  type RuleSpec,
} from "./ir-builders.ts";
import { icmpHeader, ipv4Frame, PROTO, tcpHeader, udpHeader } from "./packets.ts";
import { hostBpfUnavailable, loadHook, type CounterHits } from "./harness.ts";
import { NetfilterPeer, PEER_ADDRESS } from "./netfilter-peer.ts";
import { namedNetnsPath } from "../../src/bpf/index.ts";

const unavailable = hostBpfUnavailable();
if (unavailable !== undefined) console.warn(`skipping the differential test: ${unavailable}`);

/** One generated rule: the iptables words and the IR spec, built from the same choices. */
interface GenRule {
  readonly words: string;
  readonly spec: RuleSpec;
}

const CIDRS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32", "192.0.2.0/24"];
const PORTS: [number, number][] = [[53, 53], [1, 1023], [1024, 65535], [80, 90], [0, 80]];
const SYN = { mask: 0x17, cmp: 0x02 };

const optionalInv = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.tuple(arb, fc.boolean()), { nil: undefined });

const genRule = (targets: readonly string[]): fc.Arbitrary<GenRule> =>
  fc
    .record({
      src: optionalInv(fc.constantFrom(...CIDRS)),
      dst: optionalInv(fc.constantFrom(`${PEER_ADDRESS}/32`, "10.99.0.0/24", "10.98.0.0/16")),
      proto: fc.constantFrom("none", "tcp", "udp", "icmp", "!udp", "frag", "!frag"),
      sport: optionalInv(fc.constantFrom(...PORTS)),
      dport: optionalInv(fc.constantFrom(...PORTS)),
      syn: optionalInv(fc.constant(true)),
      icmp: optionalInv(fc.constantFrom<[number, number]>([8, -1], [0, -1], [3, 1])),
      multiport: optionalInv(fc.constantFrom<[string, [number, number][]]>(["dports", [[53, 53], [80, 90]]], ["sports", [[1024, 65535]]], ["ports", [[80, 80], [85, 85]]])),
      extra: fc.constantFrom("none", "none", "ttl-lt", "ttl-eq", "length", "!length", "dscp", "!dscp", "iprange", "!iprange"),
      target: fc.constantFrom(...targets),
    })
    .map((c) => {
      const words: string[] = [];
      let invflags = 0;
      let flags = 0;
      let proto = 0;
      const matches = [];
      let src: string | undefined;
      let dst: string | undefined;
      if (c.src !== undefined) {
        words.push(`${c.src[1] ? "! " : ""}-s ${c.src[0]}`);
        src = c.src[0];
        if (c.src[1]) invflags |= IPT_INV.SRCIP;
      }
      if (c.dst !== undefined) {
        words.push(`${c.dst[1] ? "! " : ""}-d ${c.dst[0]}`);
        dst = c.dst[0];
        if (c.dst[1]) invflags |= IPT_INV.DSTIP;
      }
      const ports = { sport: c.sport?.[0], dport: c.dport?.[0], invSport: c.sport?.[1] ?? false, invDport: c.dport?.[1] ?? false };
      const portWords = [
        c.sport === undefined ? "" : `${c.sport[1] ? "! " : ""}--sport ${c.sport[0][0]}:${c.sport[0][1]}`,
        c.dport === undefined ? "" : `${c.dport[1] ? "! " : ""}--dport ${c.dport[0][0]}:${c.dport[0][1]}`,
      ].filter((w) => w !== "");
      switch (c.proto) {
        case "udp":
          proto = PROTO.UDP;
          words.push("-p udp", "-m udp", ...portWords);
          matches.push(udpMatch(ports));
          break;
        case "tcp":
          proto = PROTO.TCP;
          words.push("-p tcp", "-m tcp", ...portWords);
          if (c.syn !== undefined) words.push(`${c.syn[1] ? "! " : ""}--syn`);
          matches.push(tcpMatch({ ...ports, ...(c.syn === undefined ? {} : { flagMask: SYN.mask, flagCmp: SYN.cmp, invFlags: c.syn[1] }) }));
          break;
        case "icmp": {
          proto = PROTO.ICMP;
          words.push("-p icmp");
          if (c.icmp !== undefined) {
            const [type, code] = c.icmp[0];
            words.push("-m icmp", `${c.icmp[1] ? "! " : ""}--icmp-type ${code < 0 ? type : `${type}/${code}`}`);
            matches.push(icmpMatch(type, code < 0 ? [0, 0xff] : [code, code], c.icmp[1]));
          }
          break;
        }
        case "!udp":
          proto = PROTO.UDP;
          invflags |= IPT_INV.PROTO;
          words.push("! -p udp");
          break;
        case "frag":
        case "!frag":
          flags |= IPT_F.FRAG;
          if (c.proto === "!frag") invflags |= IPT_INV.FRAG;
          words.push(c.proto === "!frag" ? "! -f" : "-f");
          break;
      }
      if ((c.proto === "udp" || c.proto === "tcp") && c.multiport !== undefined) {
        const [side, list] = c.multiport[0];
        words.push("-m multiport", `${c.multiport[1] ? "! " : ""}--${side} ${list.map(([a, b]) => (a === b ? `${a}` : `${a}:${b}`)).join(",")}`);
        const entries = list.map(([a, b]): number | [number, number] => (a === b ? a : [a, b]));
        matches.push(multiportMatch(side === "sports" ? "source" : side === "dports" ? "destination" : "either", entries, c.multiport[1]));
      }
      switch (c.extra) {
        case "ttl-lt":
          words.push("-m ttl --ttl-lt 64");
          matches.push(ttlMatch(2, 64));
          break;
        case "ttl-eq":
          words.push("-m ttl --ttl-eq 1");
          matches.push(ttlMatch(0, 1));
          break;
        case "length":
        case "!length":
          words.push(`-m length ${c.extra === "!length" ? "! " : ""}--length 30:40`);
          matches.push(lengthMatch(30, 40, c.extra === "!length"));
          break;
        case "iprange":
        case "!iprange":
          words.push(`-m iprange ${c.extra === "!iprange" ? "! " : ""}--src-range 10.1.0.0-192.0.2.3`);
          matches.push(iprangeMatch(["10.1.0.0", "192.0.2.3", c.extra === "!iprange"]));
          break;
        case "dscp":
        case "!dscp":
          words.push(`-m dscp ${c.extra === "!dscp" ? "! " : ""}--dscp 0x0a`);
          matches.push(dscpMatch(0x0a, c.extra === "!dscp"));
          break;
      }
      words.push(`-j ${c.target}`);
      const target = { ACCEPT, DROP, RETURN, U: jump("U") }[c.target as "ACCEPT"]!;
      return { words: words.join(" "), spec: { src, dst, proto, flags, invflags, matches, target } as RuleSpec };
    });

interface GenTable {
  readonly policy: "ACCEPT" | "DROP";
  readonly input: readonly GenRule[];
  readonly user: readonly GenRule[];
}

const genTable: fc.Arbitrary<GenTable> = fc.record({
  policy: fc.constantFrom("ACCEPT", "DROP"),
  input: fc.array(genRule(["ACCEPT", "DROP", "U", "RETURN"]), { minLength: 1, maxLength: 8 }),
  user: fc.array(genRule(["ACCEPT", "DROP", "RETURN"]), { maxLength: 3 }),
});

function restoreText(t: GenTable): string {
  return [
    "*filter",
    `:INPUT ${t.policy} [0:0]`,
    ":FORWARD ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":U - [0:0]",
    ...t.input.map((r) => `-A INPUT ${r.words}`),
    ...t.user.map((r) => `-A U ${r.words}`),
    "COMMIT",
    "",
  ].join("\n");
}

const SOURCES = ["10.1.2.3", "10.5.5.5", "192.0.2.7", "172.16.0.1"];
const genFrame: fc.Arbitrary<Uint8Array> = fc
  .record({
    src: fc.constantFrom(...SOURCES),
    dst: fc.constantFrom(PEER_ADDRESS, "10.99.0.255"),
    kind: fc.constantFrom("udp", "tcp", "icmp", "other"),
    sport: fc.constantFrom(53, 80, 85, 1023, 1024, 40000),
    dport: fc.constantFrom(53, 80, 85, 1023, 1024, 40000),
    flags: fc.constantFrom(0x02, 0x12, 0x10, 0x03),
    icmp: fc.constantFrom<[number, number]>([8, 0], [0, 0], [3, 1], [3, 3]),
    // Don't fragment, or not: never a fragment (INPUT sees datagrams reassembled; see the file comment).
    frag: fc.constantFrom("none", "df"),
    cut: fc.constantFrom(0, 0, 0, 3),
    ttl: fc.constantFrom(1, 63, 64, 200),
    tos: fc.constantFrom(0, 0x0a << 2, 0x0a << 2 | 1, 0x2e << 2),
    pad: fc.constantFrom(0, 0, 8, 30),
  })
  .map((p) => {
    const l4 =
      p.kind === "udp" ? udpHeader(p.sport, p.dport) :
      p.kind === "tcp" ? tcpHeader(p.sport, p.dport, p.flags) :
      p.kind === "icmp" ? icmpHeader(...p.icmp) : new Uint8Array(12);
    const body = new Uint8Array(l4.length + p.pad);
    body.set(l4);
    const payload = p.cut > 0 ? l4.subarray(0, l4.length - p.cut) : body;
    const proto = { udp: PROTO.UDP, tcp: PROTO.TCP, icmp: PROTO.ICMP, other: 47 }[p.kind];

    return ipv4Frame({
      src: p.src,
      dst: p.dst,
      proto,
      ttl: p.ttl,
      tos: p.tos,
      payload,
      ...(p.frag === "df" ? { dontFragment: true } : {}),
      trailer: new Uint8Array(Math.max(0, 60 - 14 - 20 - payload.length)), // Ethernet minimum frame
    });
  });

function namesOf(hits: CounterHits): Record<string, [number, number]> {
  return Object.fromEntries(Object.entries(hits).sort(([a], [b]) => a.localeCompare(b)));
}

describe.skipIf(unavailable !== undefined)("differential: our INPUT program vs iptables-legacy", () => {
  let peer: NetfilterPeer;
  beforeAll(() => {
    peer = new NetfilterPeer(`${process.pid}`);
  });
  afterAll(() => peer?.close());

  it("hits the same rules with the same byte counts", { timeout: 600_000 }, () => {
    let round = 0;
    fc.assert(
      fc.property(genTable, fc.array(genFrame, { minLength: 12, maxLength: 12 }), (t, frames) => {
        const mode = (["fast", "guarded", "compact"] as const)[round++ % 3];
        peer.restore(restoreText(t));
        const table = filterTable({ INPUT: { policy: t.policy === "ACCEPT" ? "accept" : "drop", rules: t.input.map((r) => r.spec) }, user: { U: t.user.map((r) => r.spec) } });
        const prog = loadHook(table, "INPUT", mode);
        try {
          for (const frame of frames) {
            const theirs = namesOf(peer.send(frame));
            // ip_rcv trims the Ethernet padding before the hook; a test run's skb would keep it.
            prog.run(frame.subarray(0, 14 + ((frame[16]! << 8) | frame[17]!)), namedNetnsPath(peer.a));
            const ours = namesOf(prog.takeCounters());
            expect(ours, `${mode} mode\n${restoreText(t)}frame ${Buffer.from(frame).toString("hex")}`).toEqual(theirs);
          }
        } finally {
          prog.close();
        }
      }),
      { numRuns: 20, seed: 20261126 },
    );
  });
});
