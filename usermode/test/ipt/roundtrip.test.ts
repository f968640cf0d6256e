/**
 * Round trips over generated tables: a translated ipt_replace reads back through GET_ENTRIES
 * as the same entries (comefrom set, counters filled in), and its IR has the generated chains,
 * rules and verdicts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Errno, IPT_ENTRY, IPT_GET_ENTRIES, IPT_REPLACE, STD_VERDICT } from "../../src/ipt/abi.ts";
import { encodeGetEntries } from "../../src/ipt/get_ctl.ts";
import { IptError } from "../../src/ipt/ipt_error.ts";
import { readChains, type XtTarget } from "../../src/ipt/chains.ts";
import { decodeReplaceHeader, type TranslatedTable, translateTable } from "../../src/ipt/translate.ts";
import { build, type RuleTarget, shapeArb } from "./table_arbitrary.ts";

function translateOrLoop(request: Uint8Array): TranslatedTable | "ELOOP" {
  try {
    return translateTable(decodeReplaceHeader(request, request.length), request);
  } catch (err) {
    if (err instanceof IptError && err.errno === Errno.ELOOP) return "ELOOP";
    throw err;
  }
}

function expectedTarget(t: RuleTarget): (target: XtTarget) => boolean {
  switch (t.kind) {
    case "none":
      return (target) => target.kind === "verdict" && target.verdict.kind === "continue";
    case "jump":
    case "goto":
      return (target) => target.kind === "verdict" && target.verdict.kind === t.kind && target.verdict.chain === `chain${t.chain}`;
    case "verdict": {
      const kind = t.verdict === STD_VERDICT.ACCEPT ? "accept" : t.verdict === STD_VERDICT.DROP ? "drop" : "return";
      return (target) => target.kind === "verdict" && target.verdict.kind === kind;
    }
  }
}

describe("ipt_replace -> kernel form -> GET_ENTRIES and IR", () => {
  it("reads back every entry byte for byte, with counters and comefrom filled in", () => {
    let loops = 0;
    fc.assert(
      fc.property(shapeArb, fc.bigInt({ min: 0n, max: 1n << 40n }), (shape, packets) => {
        const request = build(shape, 4);
        const table = translateOrLoop(request);
        if (table === "ELOOP") {
          loops++;
          return;
        }
        const counters = table.entries.map((e) => ({ packets: packets + BigInt(e.index), bytes: 2n * packets }));
        const get = new Uint8Array(IPT_GET_ENTRIES.SIZE + table.size);
        get.set(Buffer.from("filter"));
        new DataView(get.buffer).setUint32(IPT_GET_ENTRIES.size, table.size, true);
        const out = encodeGetEntries(get, get.length, table, counters);
        const entries = out.slice(IPT_GET_ENTRIES.entrytable);
        const view = new DataView(entries.buffer);
        const expected = request.slice(IPT_REPLACE.entries);
        const expectedView = new DataView(expected.buffer);
        for (const e of table.entries) {
          expect(view.getBigUint64(e.offset + IPT_ENTRY.counters, true)).toBe(counters[e.index]!.packets);
          expect(view.getBigUint64(e.offset + IPT_ENTRY.counters + 8, true)).toBe(counters[e.index]!.bytes);
          expectedView.setBigUint64(e.offset + IPT_ENTRY.counters, counters[e.index]!.packets, true);
          expectedView.setBigUint64(e.offset + IPT_ENTRY.counters + 8, counters[e.index]!.bytes, true);
          expectedView.setUint32(e.offset + IPT_ENTRY.comefrom, view.getUint32(e.offset + IPT_ENTRY.comefrom, true), true);
        }
        expect(entries).toEqual(expected);
      }),
    );
    expect(loops).toBeLessThan(100);
  });

  it("builds the IR chains, rules, counter slots and verdicts of the table", () => {
    fc.assert(
      fc.property(shapeArb, (shape) => {
        const table = translateOrLoop(build(shape, 4));
        if (table === "ELOOP") return;
        const ir = readChains(table);
        if (!ir.ok) throw new Error(ir.reason);
        const all = [...shape.builtin, ...shape.user];
        expect(ir.table.chains.map((c) => c.name)).toEqual(["INPUT", "FORWARD", "OUTPUT", ...shape.user.map((_, k) => `chain${k}`)]);
        expect(ir.table.entryCount).toBe(table.entries.length);
        ir.table.chains.forEach((chain, c) => {
          expect(chain.rules.map((r) => expectedTarget(all[c]![r.counterIndex - chain.rules[0]!.counterIndex]!)(r.target))).toEqual(
            chain.rules.map(() => true),
          );
          if (c < 3) {
            expect(chain.policy).toBe(shape.policies[c] === STD_VERDICT.ACCEPT ? "accept" : "drop");
            expect(chain.policyCounterIndex).toBe((chain.rules.at(-1)?.counterIndex ?? chain.policyCounterIndex! - 1) + 1);
          }
        });
        const slots = ir.table.chains.flatMap((c) => c.rules.map((r) => r.counterIndex));
        expect(new Set(slots).size).toBe(slots.length);
      }),
    );
  });
});
