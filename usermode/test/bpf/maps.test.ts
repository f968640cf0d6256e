// Maps on the real kernel: round trips per map type, per-CPU values, deletion, iteration, size checks.
import { describe, expect, it } from "vitest";
import { BpfError, createMap, possibleCpus, type BpfMap, type MapSpec } from "../../src/bpf/index.ts";

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

function withMap<T>(spec: MapSpec, fn: (map: BpfMap) => T): T {
  const map = createMap(spec);
  try {
    return fn(map);
  } finally {
    map.close();
  }
}

describe("possibleCpus", () => {
  it("matches the kernel's possible CPU mask", async () => {
    const { readFileSync } = await import("node:fs");
    const ranges = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim().split(",");
    const count = ranges.reduce((total, range) => {
      const [first, last] = range.split("-").map(Number);
      return total + ((last ?? first!) - first! + 1);
    }, 0);
    expect(possibleCpus()).toBe(count);
  });
});

describe("createMap", () => {
  it.each<MapSpec>([
    { type: "array", name: "arr", keySize: 4, valueSize: 12, maxEntries: 8 },
    { type: "hash", name: "hash", keySize: 6, valueSize: 3, maxEntries: 8 },
  ])("$type: a value read back is the value written", (spec) => {
    withMap(spec, (map) => {
      const key = spec.type === "hash" ? bytes(spec.keySize, 1) : u32(5);
      const value = bytes(spec.valueSize, 2);
      map.update(key, value);
      expect(map.lookup(key)).toEqual(value);
    });
  });

  it("array: an untouched slot reads as zeros and a key past maxEntries as absent", () => {
    withMap({ type: "array", name: "arr", keySize: 4, valueSize: 8, maxEntries: 2 }, (map) => {
      expect(map.lookup(u32(1))).toEqual(new Uint8Array(8));
      expect(map.lookup(u32(2))).toBeUndefined();
    });
  });

  it("hash: keys() lists what was inserted, delete() removes it once", () => {
    withMap({ type: "hash", name: "hash", keySize: 4, valueSize: 4, maxEntries: 16 }, (map) => {
      for (const key of [3, 1, 9]) map.update(u32(key), u32(key * 10));
      const keys = map.keys().map((key) => new DataView(key.buffer, key.byteOffset).getUint32(0, true));
      expect(keys.sort((a, b) => a - b)).toEqual([1, 3, 9]);
      expect(map.delete(u32(3))).toBe(true);
      expect(map.delete(u32(3))).toBe(false);
      expect(map.lookup(u32(3))).toBeUndefined();
      expect(map.lookup(u32(9))).toEqual(u32(90));
    });
  });

  it.each([4, 8, 12])("percpu_array with %i-byte values: one value per possible CPU, written and read back", (valueSize) => {
    withMap({ type: "percpu_array", name: "pcpu", keySize: 4, valueSize, maxEntries: 4 }, (map) => {
      const values = Array.from({ length: possibleCpus() }, (_, cpu) => bytes(valueSize, cpu + 1));
      map.updatePerCpu(u32(2), values);
      expect(map.lookupPerCpu(u32(2))).toEqual(values);
      expect(map.lookupPerCpu(u32(1))).toEqual(values.map(() => new Uint8Array(valueSize)));
    });
  });

  it.each<{ what: string; spec: MapSpec; message: string }>([
    { what: "an array with an 8-byte key", spec: { type: "array", name: "a", keySize: 8, valueSize: 4, maxEntries: 1 }, message: "map 'a': array maps need keySize 4, not 8" },
    { what: "zero entries", spec: { type: "hash", name: "h", keySize: 4, valueSize: 4, maxEntries: 0 }, message: "map 'h': maxEntries 0 is not a positive 32-bit integer" },
    { what: "a name with a space", spec: { type: "hash", name: "h h", keySize: 4, valueSize: 4, maxEntries: 1 }, message: "map 'h h': name may only hold" },
  ])("refuses $what", ({ spec, message }) => {
    expect(() => createMap(spec)).toThrow(message);
  });

  it("turns a kernel refusal into a BpfError naming the map", () => {
    // A hash value over KMALLOC_MAX_SIZE is refused by the kernel (E2BIG), not by our checks.
    expect(() => createMap({ type: "hash", name: "huge", keySize: 4, valueSize: 1 << 30, maxEntries: 1 })).toThrow(
      /bpf_map_create\(hash 'huge', key 4, value 1073741824, entries 1\): .*\(E2BIG\)/,
    );
  });

  it.each<{ what: string; call: (map: BpfMap) => unknown; message: string }>([
    { what: "a short key", call: (map) => map.lookup(new Uint8Array(2)), message: "key is 2 bytes, the map's keySize is 4" },
    { what: "a long value", call: (map) => map.update(u32(0), new Uint8Array(9)), message: "value is 9 bytes, the map's valueSize is 8" },
    { what: "a per-CPU read of a plain array", call: (map) => map.lookupPerCpu(u32(0)), message: "lookupPerCpu() does not apply to array maps" },
  ])("refuses $what", ({ call, message }) => {
    withMap({ type: "array", name: "arr", keySize: 4, valueSize: 8, maxEntries: 1 }, (map) => {
      expect(() => call(map)).toThrow(message);
    });
  });

  it("refuses a per-CPU write with the wrong number of values", () => {
    withMap({ type: "percpu_array", name: "pcpu", keySize: 4, valueSize: 8, maxEntries: 1 }, (map) => {
      const values = Array.from({ length: possibleCpus() + 1 }, () => new Uint8Array(8));
      expect(() => map.updatePerCpu(u32(0), values)).toThrow(`updatePerCpu() has ${values.length} values, there are ${possibleCpus()} possible CPUs`);
    });
  });

  /** Keys 0, the last one, and every 97th in between: enough to catch an off-by-one stride, cheap under TCG. */
  const sampleKeys = (maxEntries: number): number[] =>
    [...new Set([0, maxEntries - 1, ...Array.from({ length: Math.ceil(maxEntries / 97) }, (_, i) => i * 97)])];

  it.each([1, 5, 4096])("array of %i: lookupAll() and updateAll() agree with per-key lookup and update", (maxEntries) => {
    withMap({ type: "array", name: "arr", keySize: 4, valueSize: 12, maxEntries }, (map) => {
      const written = Array.from({ length: maxEntries }, (_, key) => bytes(12, key));
      for (const key of [0, maxEntries - 1]) map.update(u32(key), written[key]!);
      const read = map.lookupAll();
      expect(read.length).toBe(maxEntries);
      for (const key of sampleKeys(maxEntries)) expect(read[key]).toEqual(map.lookup(u32(key)));
      map.updateAll(written);
      for (const key of sampleKeys(maxEntries)) expect(map.lookup(u32(key))).toEqual(written[key]);
      expect(Buffer.concat(map.lookupAll())).toEqual(Buffer.concat(written));
    });
  });

  it.each([
    { maxEntries: 3, valueSize: 16 },
    { maxEntries: 4096, valueSize: 16 },
    { maxEntries: 7, valueSize: 12 },
  ])("percpu array of $maxEntries x $valueSize bytes: lookupAllPerCpu() and updateAllPerCpu() agree with per-key calls", ({ maxEntries, valueSize }) => {
    withMap({ type: "percpu_array", name: "pcpu", keySize: 4, valueSize, maxEntries }, (map) => {
      const written = Array.from({ length: maxEntries }, (_, key) =>
        Array.from({ length: possibleCpus() }, (_, cpu) => bytes(valueSize, key * 7 + cpu)),
      );
      map.updateAllPerCpu(written);
      for (const key of sampleKeys(maxEntries)) expect(map.lookupPerCpu(u32(key))).toEqual(written[key]);
      map.updatePerCpu(u32(1), written[0]!);
      const read = map.lookupAllPerCpu();
      // Each value owns its buffer, so a DataView over value.buffer reads that value.
      expect(read.flat().every((value) => value.byteOffset === 0 && value.buffer.byteLength === valueSize)).toBe(true);
      expect(read[1]).toEqual(written[0]);
      expect(Buffer.concat(read.slice(2).flat())).toEqual(Buffer.concat(written.slice(2).flat()));
    });
  });

  it.each<{ what: string; spec: MapSpec; call: (map: BpfMap) => unknown; message: string }>([
    { what: "lookupAll on a hash", spec: { type: "hash", name: "h", keySize: 4, valueSize: 4, maxEntries: 2 }, call: (map) => map.lookupAll(), message: "lookupAll() does not apply to hash maps" },
    { what: "updateAll past maxEntries", spec: { type: "array", name: "a", keySize: 4, valueSize: 4, maxEntries: 2 }, call: (map) => map.updateAll([u32(0), u32(0), u32(0)]), message: "3 values for 2 entries" },
    { what: "updateAll with a short value", spec: { type: "array", name: "a", keySize: 4, valueSize: 4, maxEntries: 2 }, call: (map) => map.updateAll([u32(0), new Uint8Array(3)]), message: "value for key 1 is 3 bytes" },
    { what: "lookupAllPerCpu on a plain array", spec: { type: "array", name: "a", keySize: 4, valueSize: 4, maxEntries: 2 }, call: (map) => map.lookupAllPerCpu(), message: "lookupAllPerCpu() does not apply to array maps" },
  ])("refuses $what", ({ spec, call, message }) => {
    withMap(spec, (map) => expect(() => call(map)).toThrow(message));
  });

  it("reports a kernel error on update as a BpfError naming the map", () => {
    withMap({ type: "array", name: "arr", keySize: 4, valueSize: 8, maxEntries: 1 }, (map) => {
      expect(() => map.update(u32(7), new Uint8Array(8))).toThrow(BpfError);
      expect(() => map.update(u32(7), new Uint8Array(8))).toThrow(/bpf_map_update_elem\(map 'arr' \(fd \d+\)\): .*\(E2BIG\)/);
    });
  });
});
