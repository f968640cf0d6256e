// Extension decoding: strict XT_ALIGN'd sizes and checkentry-like validation into the typed
// matches of ir/matches.ts, describe() text, and the registry's lookups.
import { describe, expect, it } from "vitest";
import { describeMatch, findMatch, findTarget, matchRevisions } from "../../src/ext/registry.ts";

function bytes(size: number, fill: (v: DataView) => void = () => {}): Uint8Array {
  const out = new Uint8Array(size);
  fill(new DataView(out.buffer));
  return out;
}

const udp = findMatch("udp", 0)!;
const tcp = findMatch("tcp", 0)!;
const icmp = findMatch("icmp", 0)!;
const multiport = findMatch("multiport", 1)!;
const dscp = findMatch("dscp", 0)!;
const ttl = findMatch("ttl", 0)!;
const length = findMatch("length", 0)!;
const comment = findMatch("comment", 0)!;
const iprange = findMatch("iprange", 1)!;

describe("match decode", () => {
  it.each([
    ["udp, raw struct size", () => udp.decode(bytes(10), 0), /match 'udp': data is 10 bytes, expected 16/],
    ["udp, too long", () => udp.decode(bytes(24), 0), /data is 24 bytes, expected 16/],
    ["udp, unknown invflags", () => udp.decode(bytes(16, (v) => v.setUint8(8, 0x04)), 0), /match 'udp': unknown invflags 0x4/],
    ["tcp, raw struct size", () => tcp.decode(bytes(12), 0), /match 'tcp': data is 12 bytes, expected 16/],
    ["tcp, unknown invflags", () => tcp.decode(bytes(16, (v) => v.setUint8(11, 0x10)), 0), /unknown invflags 0x10/],
    ["tcp, option", () => tcp.decode(bytes(16, (v) => v.setUint8(8, 2)), 0), /--tcp-option 2 is not supported/],
    ["icmp, raw struct size", () => icmp.decode(bytes(4), 0), /match 'icmp': data is 4 bytes, expected 8/],
    ["icmp, unknown invflags", () => icmp.decode(bytes(8, (v) => v.setUint8(3, 2)), 0), /unknown invflags 0x2/],
    ["multiport, bad flags", () => multiport.decode(bytes(48, (v) => v.setUint8(0, 3)), 1), /flags 3 is not source, destination or either/],
    ["multiport, count 16", () => multiport.decode(bytes(48, (v) => v.setUint8(1, 16)), 1), /count 16 exceeds 15/],
    ["multiport, range without end", () => multiport.decode(bytes(48, (v) => { v.setUint8(1, 15); v.setUint8(32 + 14, 1); }), 1), /range at port 15 has no end/],
    ["multiport, range ending past count", () => multiport.decode(bytes(48, (v) => { v.setUint8(1, 2); v.setUint8(32 + 1, 1); }), 1), /range at port 2 has no end within count 2/],
    ["multiport, range end starting a range", () => multiport.decode(bytes(48, (v) => { v.setUint8(1, 3); v.setUint8(32, 1); v.setUint8(33, 1); }), 1), /end of the range at port 1 starts a range too/],
    ["multiport, reversed range", () => multiport.decode(bytes(48, (v) => { v.setUint8(1, 2); v.setUint16(2, 2000, true); v.setUint16(4, 1000, true); v.setUint8(32, 1); }), 1), /range 2000:1000 is reversed/],
    ["dscp above 0x3f", () => dscp.decode(bytes(8, (v) => v.setUint8(0, 0x40)), 0), /dscp 64 exceeds 63/],
    ["comment, short", () => comment.decode(bytes(255), 0), /data is 255 bytes, expected 256/],
    ["iprange, raw struct size", () => iprange.decode(bytes(68), 1), /match 'iprange': data is 68 bytes, expected 72/],
  ])("rejects %s", (_name, decode, message) => {
    expect(decode).toThrow(message);
  });

  it.each([
    ["udp", () => udp.describe(udp.decode(bytes(16, (v) => { v.setUint16(2, 0xffff, true); v.setUint16(4, 53, true); v.setUint16(6, 53, true); v.setUint8(8, 2); }), 0)), "-m udp ! --dport 53"],
    ["tcp", () => tcp.describe(tcp.decode(bytes(16, (v) => { v.setUint16(0, 1, true); v.setUint16(2, 1023, true); v.setUint16(6, 0xffff, true); v.setUint8(9, 0x17); v.setUint8(10, 0x02); }), 0)), "-m tcp --sport 1:1023 --tcp-flags 0x17 0x2"],
    ["icmp", () => icmp.describe(icmp.decode(bytes(8, (v) => { v.setUint8(0, 3); v.setUint8(1, 1); v.setUint8(2, 3); v.setUint8(3, 1); }), 0)), "-m icmp ! --icmp-type 3/1:3"],
    ["multiport", () => multiport.describe(multiport.decode(bytes(48, (v) => { v.setUint8(0, 1); v.setUint8(1, 3); v.setUint16(2, 22, true); v.setUint16(4, 80, true); v.setUint16(6, 90, true); v.setUint8(33, 1); v.setUint8(47, 1); }), 1)), "-m multiport ! --dports 22,80:90"],
    ["ttl", () => ttl.describe(ttl.decode(bytes(8, (v) => { v.setUint8(0, 3); v.setUint8(1, 9); }), 0)), "-m ttl --ttl-gt 9"],
    ["length", () => length.describe(length.decode(bytes(8, (v) => { v.setUint16(0, 10, true); v.setUint16(2, 20, true); }), 0)), "-m length --length 10:20"],
    ["dscp", () => dscp.describe(dscp.decode(bytes(8, (v) => { v.setUint8(0, 0x2e); v.setUint8(1, 1); }), 0)), "-m dscp ! --dscp 0x2e"],
    ["iprange", () => iprange.describe(iprange.decode(bytes(72, (v) => { v.setUint32(0, 0x0a000001); v.setUint32(16, 0x0a0000ff); v.setUint32(32, 0xc0000200); v.setUint32(48, 0xc0000201); v.setUint8(64, 0x23); }), 1)), "-m iprange --src-range 10.0.0.1-10.0.0.255 ! --dst-range 192.0.2.0-192.0.2.1"],
    ["comment", () => comment.describe(comment.decode(bytes(256, (v) => v.setUint8(0, 0x61)), 0)), '-m comment --comment "a"'],
  ])("decodes and describes %s", (_name, describeIt, text) => {
    expect(describeIt()).toBe(text);
  });

  it("decodes into the member of Match named by the extension, and describes it through the registry", () => {
    const m = udp.decode(bytes(16, (v) => { v.setUint16(2, 0xffff, true); v.setUint16(4, 53, true); v.setUint16(6, 53, true); }), 0);
    expect(m).toEqual({ kind: "udp", sport: { min: 0, max: 0xffff, invert: false }, dport: { min: 53, max: 53, invert: false } });
    expect(describeMatch(m)).toBe("-m udp --dport 53");
  });
});

describe("registry", () => {
  it.each([
    ["udp", [0]],
    ["tcp", [0]],
    ["icmp", [0]],
    ["owner", []],
  ])("match %s revisions", (name, revisions) => {
    expect(matchRevisions(name)).toEqual(revisions);
  });

  it("knows REJECT, LOG and MARK; the standard target is resolved by ipt/", () => {
    expect(findTarget("REJECT", 0)?.kind).toBe("reject");
    expect(findTarget("LOG", 0)?.kind).toBe("log");
    expect(findTarget("MARK", 2)?.kind).toBe("mark");
    expect(findTarget("REJECT", 1)).toBeUndefined();
    expect(findTarget("", 0)).toBeUndefined();
  });

  it("finds by name and revision only", () => {
    expect(findMatch("udp", 1)).toBeUndefined();
    expect(findMatch("udp", 0)?.proto).toBe(17);
  });
});
