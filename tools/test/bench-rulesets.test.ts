// make bench's packets and rulesets: the late probe matches only the last rule, early the first, never none.
import { describe, expect, it } from "vitest";
import { buildFrame, internetChecksum, ipv4ToNumber, numberToIpv4 } from "../src/bench/packet.ts";
import { iptablesRestore, iptablesRule, nftLinear, nftSets } from "../src/bench/render.ts";
import { buildRuleset, matchingRules, SHAPES, type Shape } from "../src/bench/rulesets.ts";

describe("packet", () => {
  it("computes the IPv4 header checksum of the RFC 1071 style example", () => {
    // A well-known header (Wikipedia's example): checksum 0xb861.
    const header = Uint8Array.from(Buffer.from("450000730000400040110000c0a80001c0a800c7", "hex"));
    expect(internetChecksum(header).toString(16)).toBe("b861");
  });

  it("builds a UDP frame whose header checksums to zero and carries the ports", () => {
    const frame = buildFrame({ srcMac: "02:00:00:00:00:01", dstMac: "02:00:00:00:00:02", src: "198.18.0.2", dst: "192.0.2.2", proto: "udp", sport: 9, dport: 1025 });
    expect(frame.length).toBe(60);
    expect(Buffer.from(frame.subarray(0, 14)).toString("hex")).toBe("020000000002020000000001" + "0800");
    expect(internetChecksum(frame.subarray(14, 34))).toBe(0);
    expect(frame[23]).toBe(17);
    expect((frame[36]! << 8) | frame[37]!).toBe(1025);
  });

  it("builds a TCP SYN whose TCP checksum verifies", () => {
    const frame = buildFrame({ srcMac: "02:00:00:00:00:01", dstMac: "02:00:00:00:00:02", src: "192.0.2.1", dst: "192.0.2.2", proto: "tcp", sport: 9, dport: 22 });
    const tcp = frame.subarray(34, 54);
    const pseudo = Uint8Array.from([...frame.subarray(26, 34), 0, 6, 0, 20]);
    const sum = [...pseudo].reduce((s, b, i) => s + (i % 2 ? b : b << 8), 0);
    expect(internetChecksum(tcp, sum)).toBe(0);
    expect(tcp[13]).toBe(0x02);
  });

  it("rejects what is not an address, a MAC or a port, naming it", () => {
    expect(() => ipv4ToNumber("198.18.390.1")).toThrow("'198.18.390.1' is not an IPv4 address");
    expect(() => buildFrame({ srcMac: "02:00", dstMac: "02:00:00:00:00:02", src: "1.2.3.4", dst: "1.2.3.5", proto: "udp", sport: 1, dport: 2 })).toThrow("'02:00' is not a MAC");
    expect(() => buildFrame({ srcMac: "02:00:00:00:00:01", dstMac: "02:00:00:00:00:02", src: "1.2.3.4", dst: "1.2.3.5", proto: "udp", sport: 70000, dport: 2 })).toThrow("source port 70000");
    expect(numberToIpv4(ipv4ToNumber("100.64.12.1"))).toBe("100.64.12.1");
  });
});

describe("rulesets", () => {
  const cases: [Shape, number][] = SHAPES.flatMap((shape) => [1, 2, 7, 1000, 60_001, 100_000].map((n) => [shape, n] as [Shape, number]));
  it.each(cases)("%s with %i rules: late matches only the last rule, early the first, never none", (shape, size) => {
    const ruleset = buildRuleset(shape, size);
    const first = shape === "conntrack" ? 1 : 0;
    expect(ruleset.rules.length).toBe(size + first);
    expect(matchingRules(ruleset, ruleset.late)).toEqual([ruleset.rules.length - 1]);
    expect(matchingRules(ruleset, ruleset.early)).toEqual([first]);
    expect(matchingRules(ruleset, ruleset.never)).toEqual([]);
  });

  it("refuses a size it cannot build without reusing a match", () => {
    expect(() => buildRuleset("dport", 0)).toThrow("rule count 0");
    expect(() => buildRuleset("blocklist", 200_000)).toThrow("must be 1 to 120000");
  });
});

describe("render", () => {
  it("writes iptables-restore input with the DROP policy and, on request, fail2ban's chain", () => {
    expect(iptablesRestore(buildRuleset("dport", 2))).toBe(
      "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
        "-A INPUT -p udp -m udp --dport 1026 -j DROP\n-A INPUT -p udp -m udp --dport 1025 -j DROP\nCOMMIT\n",
    );
    const f2b = iptablesRestore(buildRuleset("blocklist", 1), { fail2ban: true });
    expect(f2b).toContain(":f2b-sshd - [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j f2b-sshd\n-A INPUT -s 198.18.0.2/32 -j DROP\n-A f2b-sshd -j RETURN\n");
  });

  it("writes the mixed and conntrack rules as iptables-save does", () => {
    expect(iptablesRule(buildRuleset("mixed", 1).rules[0]!)).toBe("-s 198.18.0.0/15 -d 192.0.2.2/32 -p udp -m udp --sport 10000:10099 --dport 1024:1027 -j DROP");
    expect(iptablesRule(buildRuleset("conntrack", 1).rules[0]!)).toBe("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
  });

  it("writes nftables linear with a counter per rule, 'last' on the last and 'miss' before the policy", () => {
    const text = nftLinear(buildRuleset("cidr", 2));
    expect(text).toContain("ip saddr 100.64.0.32/28 counter drop\n    ip saddr 100.64.0.0/27 counter name \"last\" drop\n    counter name \"miss\"\n");
    expect(text).toContain("policy drop;");
  });

  it("folds each shape into sets, with the key its rules test", () => {
    expect(nftSets(buildRuleset("dport", 2))).toMatch(/set services \{ type inet_proto \. inet_service;\n.*\n\s+udp \. 1026,\n\s+udp \. 1025\n/);
    expect(nftSets(buildRuleset("cidr", 1))).toContain("flags interval;");
    expect(nftSets(buildRuleset("mixed", 1))).toContain("198.18.0.0/15 . 192.0.2.2 . udp . 10000-10099 . 1024-1027");
    const ct = nftSets(buildRuleset("conntrack", 3));
    expect(ct).toContain("ct state established,related accept\n    ip saddr @sources counter name \"last\" drop\n    meta l4proto . th dport @services counter accept\n");
  });
});
