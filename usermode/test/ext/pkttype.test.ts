// The pkttype match: decoding, describe() text, and pkttype_mt's results by packet, written by hand
// from xt_pkttype.c (a looped-back packet is multicast or broadcast by its destination; invert is an int).
import { describe, expect, it } from "vitest";
import { describeMatch, findMatch } from "../../src/ext/registry.ts";
import { pkttypeHolds } from "../../src/ext/pkttype.ts";
import type { PkttypeMatch } from "../../src/ir/matches.ts";

const pkttype = findMatch("pkttype", 0)!;

function data(type: number, invert: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setInt32(0, type, true);
  new DataView(out.buffer).setInt32(4, invert, true);
  return out;
}

describe("pkttype", () => {
  it("decodes and describes", () => {
    expect(pkttype.decode(data(1, 0), 0)).toEqual({ kind: "pkttype", pkttype: 1, invert: 0 });
    expect(describeMatch(pkttype.decode(data(2, 1), 0))).toBe("-m pkttype ! --pkt-type multicast");
    expect(describeMatch(pkttype.decode(data(0, 0), 0))).toBe("-m pkttype --pkt-type unicast");
    expect(() => pkttype.decode(new Uint8Array(16), 0)).toThrow(/data is 16 bytes, expected 8/);
  });

  // [match, packets (pkt_type, multicast destination) for which pkttype_mt returns true]
  const PACKETS = [[0, false], [1, false], [2, true], [3, false], [5, true], [5, false]] as const;
  it.each([
    [{ pkttype: 0, invert: 0 }, ["0"]],
    [{ pkttype: 1, invert: 0 }, ["1", "5 to unicast"]],
    [{ pkttype: 2, invert: 0 }, ["2 to multicast", "5 to multicast"]],
    [{ pkttype: 2, invert: 1 }, ["0", "1", "3", "5 to unicast"]],
    [{ pkttype: 5, invert: 0 }, []],
    [{ pkttype: 0, invert: 2 }, ["0", "1", "2 to multicast", "3", "5 to multicast", "5 to unicast"]],
  ])("%o", (fields, holds) => {
    const m: PkttypeMatch = { kind: "pkttype", ...fields };
    const name = ([type, mc]: readonly [number, boolean]) => (type === 2 || type === 5 ? `${type} to ${mc ? "multicast" : "unicast"}` : `${type}`);
    expect(PACKETS.filter(([type, mc]) => pkttypeHolds(m, type, mc)).map(name)).toEqual(holds);
  });
});
