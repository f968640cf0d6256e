// The one checker (ir/resolve.ts): every match and target decoded once into the typed IR, or the
// rule, the extension and the reason netfilter must enforce the table.
import { describe, expect, it } from "vitest";
import { resolveChains } from "../../src/ir/resolve.ts";
import type { XtTable } from "../../src/ipt/chains.ts";
import { ACCEPT, CONTINUE, DROP, RETURN, jump, tcpMatch, udpMatch, xtFilterTable } from "../codegen/ir-builders.ts";

const opaque = (name: string, size = 8) => ({ name, revision: 0, data: new Uint8Array(size) });
const u32Data = (value: number): Uint8Array => {
  const data = new Uint8Array(8);
  new DataView(data.buffer).setUint32(0, value, true);
  return data;
};

const HANDOVERS: readonly [string, XtTable, RegExp, { chain?: string; rule?: number; extension?: object }][] = [
  ["an unknown match", xtFilterTable({ INPUT: { rules: [{ target: ACCEPT }, { matches: [opaque("owner")], target: DROP }] } }), /^rule 2 in chain INPUT: match 'owner' revision 0 is not supported$/, { chain: "INPUT", rule: 2, extension: { kind: "match", name: "owner", revision: 0 } }],
  ["an unknown revision", xtFilterTable({ INPUT: { rules: [{ proto: 17, matches: [{ ...udpMatch({}), revision: 1 }], target: DROP }] } }), /^rule 1 in chain INPUT: match 'udp' revision 1 is not supported$/, { rule: 1 }],
  ["a tcp option", xtFilterTable({ OUTPUT: { rules: [{ proto: 6, matches: [tcpMatch({ option: 2 })], target: DROP }] } }), /^rule 1 in chain OUTPUT: match 'tcp': --tcp-option 2 is not supported$/, { chain: "OUTPUT" }],
  ["a short xt_udp (netfilter refuses it: it judges)", xtFilterTable({ INPUT: { rules: [{ proto: 17, matches: [{ ...udpMatch({}), data: new Uint8Array(10) }], target: DROP }] } }), /^rule 1 in chain INPUT: match 'udp': data is 10 bytes, expected 16 \(XT_ALIGN\(10\)\) \(netfilter judges it\)$/, {}],
  ["udp without -p udp", xtFilterTable({ INPUT: { rules: [{ proto: 6, matches: [udpMatch({})], target: DROP }] } }), /^rule 1 in chain INPUT: match 'udp' needs -p udp, the rule has -p tcp \(netfilter judges it\)$/, {}],
  ["udp with ! -p udp", xtFilterTable({ INPUT: { rules: [{ proto: 17, invflags: 0x40, matches: [udpMatch({})], target: DROP }] } }), /the rule has -p ! udp/, {}],
  ["an unknown target", xtFilterTable({ FORWARD: { rules: [{ target: { kind: "ext", name: "NFQUEUE", revision: 3, data: new Uint8Array(8) } }] } }), /^rule 1 in chain FORWARD: target 'NFQUEUE' revision 3 is not supported$/, { extension: { kind: "target", name: "NFQUEUE", revision: 3 } }],
  ["REJECT --reject-with tcp-reset without -p tcp (netfilter refuses it: it judges)", xtFilterTable({ INPUT: { rules: [{ proto: 17, target: { kind: "ext", name: "REJECT", revision: 0, data: u32Data(7) } }] } }), /^rule 1 in chain INPUT: target 'REJECT': --reject-with tcp-reset needs -p tcp .*\(netfilter judges it\)$/, { extension: { kind: "target", name: "REJECT", revision: 0 } }],
  ["a jump to a missing chain", xtFilterTable({ INPUT: { rules: [{ target: jump("nope") }] } }), /^rule 1 in chain INPUT: jump to chain 'nope', which does not exist$/, {}],
  ["a jump to a built-in chain", xtFilterTable({ INPUT: { rules: [{ target: jump("OUTPUT") }] } }), /^rule 1 in chain INPUT: jump to built-in chain 'OUTPUT'$/, {}],
  ["a loop a hook reaches", xtFilterTable({ INPUT: { rules: [{ target: jump("A") }] }, user: { A: [{ target: jump("B") }], B: [{ target: jump("A") }, { target: RETURN }] } }), /makes a loop \(A → B → A\)$/, {}],
  ["another table", { ...xtFilterTable({}), name: "nat" }, /^table 'nat' is not supported \(only filter\)$/, {}],
];

describe("resolveChains", () => {
  it.each(HANDOVERS)("hands %s to netfilter, naming the rule and extension", (_name, table, reason, where) => {
    const r = resolveChains(table);
    expect(r.kind).toBe("netfilter");
    expect(r.kind === "netfilter" && r.reason).toMatch(reason);
    expect(r).toMatchObject(where);
  });

  it("decodes every match into its typed predicate and keeps every verdict complete", () => {
    const r = resolveChains(
      xtFilterTable({
        INPUT: { rules: [{ proto: 6, matches: [tcpMatch({ dport: [22, 22], flagMask: 0x17, flagCmp: 0x02 })], target: ACCEPT }, { target: CONTINUE }, { target: jump("A") }] },
        user: { A: [{ target: RETURN }] },
      }),
    );
    if (r.kind !== "compile") throw new Error(r.reason);
    const [tcpRule, counted, jumped] = r.table.chains[0]!.rules;
    expect(tcpRule!.matches).toEqual([{ kind: "tcp", sport: { min: 0, max: 0xffff, invert: false }, dport: { min: 22, max: 22, invert: false }, flagMask: 0x17, flagCmp: 0x02, invertFlags: false }]);
    expect(tcpRule!.verdict).toEqual({ kind: "accept" });
    expect(counted!.verdict).toEqual({ kind: "continue" });
    expect(jumped!.verdict).toEqual({ kind: "jump", chain: "A" });
    expect(r.table.chains[3]!.rules[0]!.verdict).toEqual({ kind: "return" });
  });

  it("decodes a target extension into its action, checked against the rule's ipt_ip", () => {
    const r = resolveChains(xtFilterTable({ INPUT: { rules: [{ proto: 6, target: { kind: "ext", name: "REJECT", revision: 0, data: u32Data(7) } }] } }));
    if (r.kind !== "compile") throw new Error(r.reason);
    expect(r.table.chains[0]!.rules[0]!.verdict).toEqual({ kind: "reject", with: 7 });
  });

  it("takes a loop among chains that no built-in chain reaches, as netfilter does", () => {
    expect(resolveChains(xtFilterTable({ INPUT: { rules: [{ target: DROP }] }, user: { A: [{ target: jump("B") }], B: [{ target: jump("A") }] } })).kind).toBe("compile");
  });
});
