import { describe, expect, it } from "vitest";
import type { IpHeaderMatch, MatchBlob, Table } from "../../src/ir/types.ts";
import { checkExtensions } from "../../src/service/registry_check.ts";

const anyTcp: IpHeaderMatch = {
  src: 0, srcMask: 0, dst: 0, dstMask: 0,
  inIface: "", inIfaceMask: new Uint8Array(16), outIface: "", outIfaceMask: new Uint8Array(16),
  proto: 6, flags: 0, invflags: 0,
};

/** struct xt_tcp (XT_ALIGN'd to 16): spts[2], dpts[2], option, flg_mask, flg_cmp, invflags. */
function tcpMatch(opts: { dport?: number; option?: number; invflags?: number }): MatchBlob {
  const data = new Uint8Array(16);
  const v = new DataView(data.buffer);
  v.setUint16(0, 0, true);
  v.setUint16(2, 0xffff, true);
  v.setUint16(4, opts.dport ?? 0, true);
  v.setUint16(6, opts.dport ?? 0xffff, true);
  data[8] = opts.option ?? 0;
  data[11] = opts.invflags ?? 0;
  return { name: "tcp", revision: 0, data };
}

function tableWith(match: MatchBlob): Table {
  return {
    name: "filter",
    validHooks: 0b1110,
    entryCount: 5,
    chains: [
      {
        name: "INPUT",
        hook: "INPUT",
        policy: "accept",
        policyCounterIndex: 1,
        rules: [{ counterIndex: 0, ip: anyTcp, matches: [match], target: { kind: "verdict", verdict: { kind: "drop" } } }],
      },
    ],
  };
}

describe("checkExtensions", () => {
  it("accepts a tcp port match the compiler implements", () => {
    expect(checkExtensions(tableWith(tcpMatch({ dport: 22 })))).toEqual({ kind: "ok" });
  });

  it("declines tcp --tcp-option, which netfilter accepts and the compiler does not implement", () => {
    expect(checkExtensions(tableWith(tcpMatch({ option: 5 })))).toEqual({
      kind: "declined",
      reason: "rule 1 in chain INPUT: match 'tcp': --tcp-option 5 is not supported",
    });
  });

  it("refuses with EINVAL what netfilter itself refuses: tcp data of the wrong size", () => {
    const d = checkExtensions(tableWith({ name: "tcp", revision: 0, data: new Uint8Array(4) }));
    expect(d.kind).toBe("error");
    expect(d.kind === "error" && d.errno).toBe(22);
  });

  it("declines an extension the registry does not know", () => {
    expect(checkExtensions(tableWith({ name: "owner", revision: 1, data: new Uint8Array(24) }))).toEqual({
      kind: "declined",
      reason: "rule 1 in chain INPUT: match 'owner' revision 1 is not supported",
    });
  });
});
