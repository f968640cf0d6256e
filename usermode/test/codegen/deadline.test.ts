/** The compile deadline: a compile that reaches it declines, naming where it stopped; one that does not is unchanged. */
import { describe, expect, it } from "vitest";
import { compileTable, type NetfilterContextLayout } from "../../src/codegen/index.ts";
import { DROP, filterTable } from "./ir-builders.ts";
import { PROTO } from "./packets.ts";

const KERNEL: NetfilterContextLayout = { ctxState: 0, ctxSkb: 8, stateHook: 0, stateIn: 8, stateOut: 16, devName: 280, skbLen: 112, skbMark: 164, skbNfct: 104, skbPktType: { offset: 128, shift: 0 } };
const table = filterTable({ INPUT: { rules: Array.from({ length: 50 }, (_, i) => ({ proto: PROTO.UDP, dst: `10.0.${i}.1/32`, target: DROP })) } });

describe("compileTable with a deadline", () => {
  it("declines at the first rule once the deadline has passed, with the deadline's reason", () => {
    const result = compileTable(table, { kernel: KERNEL, deadline: { at: performance.now() - 1, why: "the kernel waits 5000 ms" } });
    expect(result).toEqual({ declined: true, reason: "INPUT program, at rule 1 in chain INPUT: not compiled in time: the kernel waits 5000 ms" });
  });

  it("compiles the same programs as without one when the deadline is far", () => {
    const free = compileTable(table, { kernel: KERNEL });
    const timed = compileTable(table, { kernel: KERNEL, deadline: { at: performance.now() + 3_600_000, why: "unused" } });
    expect(free.declined).not.toBe(true);
    expect(timed).toEqual(free);
  });
});
