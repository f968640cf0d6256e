/**
 * Differential fuzzing of IPT_SO_SET_REPLACE against the real kernel: fast-check builds valid
 * filter tables (rules, user chains, jumps, gotos, rules without -j) and corrupts them one
 * field at a time; the same blob goes to native netfilter and through bpfilter. The errno, the
 * old counters, GET_INFO and the raw GET_ENTRIES bytes (comefrom included) must be identical.
 * BPFILTER_FUZZ_RUNS sets the number of cases (default 150).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IPT_ENTRY, IPT_REPLACE } from "../../src/ipt/abi.ts";
import { initialFilterReplace } from "../../src/ipt/initial_table.ts";
import { MemoryEnforcer } from "../service/memory_enforcer.ts";
import { build, shapeArb } from "../ipt/table_arbitrary.ts";
import { HostBench, hostTierUnavailable } from "./harness.ts";

const unavailable = hostTierUnavailable();
if (unavailable) console.warn(`skipping the SET_REPLACE differential fuzz: ${unavailable}`);

/** One corruption: a 32/16/8-bit write at a field offset (relative to the replace header or an entry). */
interface Corruption {
  readonly entry: number | undefined;
  readonly field: number;
  readonly width: 1 | 2 | 4;
  readonly value: number;
}

const headerFields = [IPT_REPLACE.valid_hooks, IPT_REPLACE.num_entries, IPT_REPLACE.size, IPT_REPLACE.hook_entry + 4, IPT_REPLACE.hook_entry + 8, IPT_REPLACE.underflow + 4, IPT_REPLACE.underflow + 12];
const entryFields: [number, 1 | 2 | 4][] = [
  [0, 4], // ip.src
  [82, 1], // ip.flags
  [83, 1], // ip.invflags
  [IPT_ENTRY.target_offset, 2],
  [IPT_ENTRY.next_offset, 2],
  [IPT_ENTRY.SIZE, 2], // target_size
  [IPT_ENTRY.SIZE + 2, 1], // target name[0]
  [IPT_ENTRY.SIZE + 31, 1], // target revision
  [IPT_ENTRY.SIZE + 32, 4], // verdict or errorname
];
const valueArb = fc.oneof(
  fc.integer({ min: -6, max: 0 }),
  fc.constantFrom(8, 16, 32, 40, 64, 112, 144, 152, 176, 304, 456, 632, 0xffffffff),
  fc.nat(2000).map((n) => n * 8),
  fc.nat(0xffff),
);
const corruptionArb: fc.Arbitrary<Corruption | undefined> = fc.option(
  fc.oneof(
    fc.record({ entry: fc.constant(undefined), field: fc.constantFrom(...headerFields), width: fc.constant(4 as const), value: valueArb }),
    fc.tuple(fc.nat(12), fc.constantFrom(...entryFields), valueArb).map(([entry, [field, width], value]) => ({ entry, field, width, value })),
  ),
  { freq: 4, nil: undefined },
);

function corrupt(request: Uint8Array, c: Corruption | undefined): Uint8Array {
  if (c === undefined) return request;
  const copy = request.slice();
  const view = new DataView(copy.buffer);
  let at = c.field;
  if (c.entry !== undefined) {
    let offset = IPT_REPLACE.entries;
    for (let i = 0; i < c.entry && offset < copy.length; i++) offset += view.getUint16(offset + IPT_ENTRY.next_offset, true);
    if (offset + c.field + c.width > copy.length) return copy;
    at = offset + c.field;
  }
  if (c.width === 4) view.setUint32(at, c.value >>> 0, true);
  else if (c.width === 2) view.setUint16(at, c.value & 0xffff, true);
  else view.setUint8(at, c.value & 0xff);
  return copy;
}

describe.skipIf(unavailable !== undefined)("SET_REPLACE through bpfilter equals netfilter on valid and corrupted tables", () => {
  const bench = new HostBench(new MemoryEnforcer());
  const initial = join(bench.dir, "initial.bin");

  beforeAll(async () => {
    await bench.start();
    writeFileSync(initial, initialFilterReplace());
  }, 30_000);
  afterAll(() => bench.close());

  it("agrees on errno, old counters, GET_INFO and GET_ENTRIES bytes", async () => {
    let accepted = 0;
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(shapeArb, corruptionArb, async (shape, corruption) => {
        const request = corrupt(build(shape, 4), corruption);
        const file = join(bench.dir, "request.bin");
        writeFileSync(file, request);
        const { native, bpfilter } = await bench.both([bench.probe, "replace", file, initial]);
        expect(bpfilter).toEqual(native);
        if (native.stdout.includes("errno 0")) accepted++;
        else rejected++;
      }),
      { numRuns: Number(process.env.BPFILTER_FUZZ_RUNS ?? 150) },
    );
    console.info(`SET_REPLACE fuzz: ${accepted} accepted, ${rejected} rejected, identically`);
    expect(accepted).toBeGreaterThan(10);
    expect(rejected).toBeGreaterThan(10);
  }, 300_000);

  it.each([
    ["a standard target of revision 200 (netfilter: ENOENT)", 0],
    ["an ERROR target of revision 1", 3],
  ])("agrees on %s", async (_name, entry) => {
    const request = corrupt(initialFilterReplace(), { entry, field: IPT_ENTRY.SIZE + 31, width: 1, value: entry === 0 ? 200 : 1 });
    const file = join(bench.dir, "revision.bin");
    writeFileSync(file, request);
    const { native, bpfilter } = await bench.both([bench.probe, "replace", file, initial]);
    expect(native.stdout).not.toContain("errno 0");
    expect(bpfilter).toEqual(native);
  });
});

describe.skipIf(unavailable !== undefined)("the shim against netfilter, on what the kernel checks itself", () => {
  const bench = new HostBench(new MemoryEnforcer());
  beforeAll(() => bench.start(), 60_000);
  afterAll(() => bench.close());

  it("answers every IPT_SO_* call with optlen -1 as netfilter does (EINVAL)", async () => {
    const { native, bpfilter } = await bench.both([bench.probe, "badlen"]);
    expect(native.stdout).toMatch(/^set 64 errno 22$/m);
    expect(bpfilter).toEqual(native);
  });

  it("reads and writes an optval that ends at an unmapped page as far as netfilter does", async () => {
    const file = join(bench.dir, "initial-badoptval.bin");
    writeFileSync(file, initialFilterReplace());
    const { native, bpfilter } = await bench.both([bench.probe, "badoptval", file]);
    expect(native.stdout).toContain("replace, optlen past the readable table errno 0\nreplace, the table's last bytes unreadable errno 14\n");
    expect(bpfilter).toEqual(native);
  });

  it("succeeds, as netfilter, when ipt_replace.counters cannot be written", async () => {
    const file = join(bench.dir, "initial-badcounters.bin");
    writeFileSync(file, initialFilterReplace());
    const { native, bpfilter } = await bench.both([bench.probe, "badcounters", file]);
    expect(native).toEqual({ code: 0, stdout: "errno 0\n", stderr: "" });
    expect(bpfilter).toEqual(native);
  });
});
