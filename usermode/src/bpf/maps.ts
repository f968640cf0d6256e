// BPF maps: create, look up and update array, per-CPU array, hash and prog array maps by fd. A prog
// array's value is a program fd when written and the program's id when read.
import { closeSync } from "node:fs";
import { BPF_MAP_TYPE, bpf_map_create_opts, bpf_map_info } from "./abi.ts";
import { check } from "./errors.ts";
import { checkObjectName } from "./names.ts";
import {
  bpf_map_create,
  bpf_map_delete_elem,
  bpf_map_get_next_key,
  bpf_map_lookup_elem,
  bpf_map_update_elem,
  bpf_obj_get_info_by_fd,
  libbpf_num_possible_cpus,
} from "./libbpf.ts";
import { lookupArrayBatch, updateArrayBatch } from "./map-batch.ts";
import { getPinned } from "./pin.ts";
import koffi from "koffi";

/** What createMap makes: the kernel map type, its name (<= 15 chars) and its sizes. */
export interface MapSpec {
  type: "array" | "percpu_array" | "hash" | "prog_array";
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

/**
 * An open BPF map. Keys and values are raw bytes in the kernel's (host, little-endian) layout; every value
 * returned is a fresh Uint8Array with its own buffer (byteOffset 0), so `new DataView(v.buffer)` is safe.
 */
export interface BpfMap {
  /** The map fd; owned by this object until close(). */
  readonly fd: number;
  /** The spec the map was created (or opened) with. */
  readonly spec: MapSpec;
  /** Closes the fd; the map lives on while a program or a pin still holds it. */
  close(): void;
  /** The value at key, or undefined when the key is absent. Not for percpu maps. */
  lookup(key: Uint8Array): Uint8Array | undefined;
  /** The value at key on every possible CPU (index = CPU). Percpu maps only. */
  lookupPerCpu(key: Uint8Array): Uint8Array[];
  /** Sets the value at key (BPF_ANY). Not for percpu maps. */
  update(key: Uint8Array, value: Uint8Array): void;
  /** Sets the value at key on every possible CPU; values.length must be possibleCpus(). */
  updatePerCpu(key: Uint8Array, values: readonly Uint8Array[]): void;
  /** Deletes key from a hash map (empties a prog array slot); returns false when it was absent. */
  delete(key: Uint8Array): boolean;
  /** All keys currently in the map, in kernel iteration order. */
  keys(): Uint8Array[];
  /** Every entry of an array map, index = key, in a few syscalls (batch lookup). */
  lookupAll(): Uint8Array[];
  /** Every entry of a percpu array map, [key][cpu], in a few syscalls (batch lookup). */
  lookupAllPerCpu(): Uint8Array[][];
  /** Writes values[i] to key i of an array map (values.length <= maxEntries), in a few syscalls. */
  updateAll(values: readonly Uint8Array[]): void;
  /** Writes values[i][cpu] to key i of a percpu array map, in a few syscalls. */
  updateAllPerCpu(values: readonly (readonly Uint8Array[])[]): void;
}

const BPF_ANY = 0;
const ENOENT = 2;
let cachedCpus: number | undefined;

/** A u32 map key or value (an array map's index, a prog array's fd) in host byte order, as the kernel reads it. */
export function u32Bytes(value: number): Uint8Array {
  return new Uint8Array(Uint32Array.of(value).buffer);
}

/** Number of possible CPUs: the number of per-CPU slots the kernel returns for a percpu map value. */
export function possibleCpus(): number {
  cachedCpus ??= check("libbpf_num_possible_cpus()", libbpf_num_possible_cpus());
  return cachedCpus;
}

/** Creates a map; its fd is closed by close(). */
export function createMap(spec: MapSpec): BpfMap {
  checkObjectName("map", spec.name);
  for (const field of ["keySize", "valueSize", "maxEntries"] as const) {
    const value = spec[field];
    if (!Number.isInteger(value) || value <= 0 || value > 0xffffffff) {
      throw new RangeError(`map '${spec.name}': ${field} ${value} is not a positive 32-bit integer`);
    }
  }
  if (spec.type !== "hash" && spec.keySize !== 4) {
    throw new RangeError(`map '${spec.name}': ${spec.type} maps need keySize 4, not ${spec.keySize}`);
  }
  const opts = { sz: koffi.sizeof(bpf_map_create_opts) };
  const call = `bpf_map_create(${spec.type} '${spec.name}', key ${spec.keySize}, value ${spec.valueSize}, entries ${spec.maxEntries})`;
  const fd = check(
    call,
    bpf_map_create(BPF_MAP_TYPE[spec.type], spec.name, spec.keySize, spec.valueSize, spec.maxEntries, opts),
  );
  return mapFromFd(fd, spec);
}

/** Wraps an fd of an existing map (e.g. from getPinned) whose layout is `spec`; takes ownership of the fd. */
export function mapFromFd(fd: number, spec: MapSpec): BpfMap {
  const perCpu = spec.type === "percpu_array";
  const label = `map '${spec.name}' (fd ${fd})`;
  const slot = Math.ceil(spec.valueSize / 8) * 8; // the kernel rounds each CPU's value up to 8 bytes

  const checkKey = (key: Uint8Array): void => {
    if (key.length !== spec.keySize) {
      throw new RangeError(`${label}: key is ${key.length} bytes, the map's keySize is ${spec.keySize}`);
    }
  };
  const checkPerCpu = (want: boolean, what: string): void => {
    if (perCpu !== want) throw new TypeError(`${label}: ${what} does not apply to ${spec.type} maps`);
  };
  const checkArray = (what: string): void => {
    if (spec.type === "hash") throw new TypeError(`${label}: ${what} does not apply to hash maps`);
  };
  const checkCount = (count: number): void => {
    if (count > spec.maxEntries) throw new RangeError(`${label}: ${count} values for ${spec.maxEntries} entries`);
  };
  /** Lays out one key's per-CPU values the way the kernel wants them: 8-byte aligned slots. */
  const perCpuSlots = (values: readonly Uint8Array[], into: Uint8Array, what: string): void => {
    if (values.length !== possibleCpus()) {
      throw new RangeError(`${label}: ${what} has ${values.length} values, there are ${possibleCpus()} possible CPUs`);
    }
    values.forEach((value, cpu) => {
      checkValue(value, `${what}, CPU ${cpu}`);
      into.set(value, cpu * slot);
    });
  };
  const splitPerCpu = (all: Uint8Array): Uint8Array[] =>
    Array.from({ length: possibleCpus() }, (_, cpu) => all.slice(cpu * slot, cpu * slot + spec.valueSize));
  const checkValue = (value: Uint8Array, what: string): void => {
    if (value.length !== spec.valueSize) {
      throw new RangeError(`${label}: ${what} is ${value.length} bytes, the map's valueSize is ${spec.valueSize}`);
    }
  };
  const lookupRaw = (key: Uint8Array, size: number): Uint8Array | undefined => {
    checkKey(key);
    const value = new Uint8Array(size);
    const ret = bpf_map_lookup_elem(fd, key, value);
    if (ret === -ENOENT) return undefined;
    check(`bpf_map_lookup_elem(${label})`, ret);
    return value;
  };

  return {
    fd,
    spec,
    close: () => closeSync(fd),
    lookup(key) {
      checkPerCpu(false, "lookup()");
      return lookupRaw(key, spec.valueSize);
    },
    lookupPerCpu(key) {
      checkPerCpu(true, "lookupPerCpu()");
      const all = lookupRaw(key, slot * possibleCpus());
      if (all === undefined) throw new RangeError(`${label}: key is out of range`);
      return splitPerCpu(all);
    },
    update(key, value) {
      checkPerCpu(false, "update()");
      checkKey(key);
      checkValue(value, "value");
      check(`bpf_map_update_elem(${label})`, bpf_map_update_elem(fd, key, value, BPF_ANY));
    },
    updatePerCpu(key, values) {
      checkPerCpu(true, "updatePerCpu()");
      checkKey(key);
      const all = new Uint8Array(slot * possibleCpus());
      perCpuSlots(values, all, "updatePerCpu()");
      check(`bpf_map_update_elem(${label})`, bpf_map_update_elem(fd, key, all, BPF_ANY));
    },
    delete(key) {
      checkKey(key);
      const ret = bpf_map_delete_elem(fd, key);
      if (ret === -ENOENT) return false;
      check(`bpf_map_delete_elem(${label})`, ret);
      return true;
    },
    keys() {
      const keys: Uint8Array[] = [];
      let previous: Uint8Array | null = null;
      for (;;) {
        const next = new Uint8Array(spec.keySize);
        const ret = bpf_map_get_next_key(fd, previous, next);
        if (ret === -ENOENT) return keys;
        check(`bpf_map_get_next_key(${label})`, ret);
        keys.push(next);
        previous = next;
      }
    },
    lookupAll() {
      checkArray("lookupAll()");
      checkPerCpu(false, "lookupAll()");
      const all = lookupArrayBatch(fd, label, spec.maxEntries, spec.valueSize);
      return Array.from({ length: spec.maxEntries }, (_, key) => all.slice(key * spec.valueSize, (key + 1) * spec.valueSize));
    },
    lookupAllPerCpu() {
      checkPerCpu(true, "lookupAllPerCpu()");
      const stride = slot * possibleCpus();
      const all = lookupArrayBatch(fd, label, spec.maxEntries, stride);
      return Array.from({ length: spec.maxEntries }, (_, key) => splitPerCpu(all.subarray(key * stride, (key + 1) * stride)));
    },
    updateAll(values) {
      checkArray("updateAll()");
      checkPerCpu(false, "updateAll()");
      checkCount(values.length);
      const all = new Uint8Array(values.length * spec.valueSize);
      values.forEach((value, key) => {
        checkValue(value, `value for key ${key}`);
        all.set(value, key * spec.valueSize);
      });
      if (values.length > 0) updateArrayBatch(fd, label, all, spec.valueSize);
    },
    updateAllPerCpu(values) {
      checkPerCpu(true, "updateAllPerCpu()");
      checkCount(values.length);
      const stride = slot * possibleCpus();
      const all = new Uint8Array(values.length * stride);
      values.forEach((perKey, key) => perCpuSlots(perKey, all.subarray(key * stride), `key ${key}`));
      if (values.length > 0) updateArrayBatch(fd, label, all, stride);
    },
  };
}

/** The MapSpec and kernel id of the map behind `fd` (BPF_OBJ_GET_INFO_BY_FD); `label` names it in errors. */
export function mapSpecOf(fd: number, label = `map fd ${fd}`): MapSpec & { id: number } {
  const raw = new Uint8Array(koffi.sizeof(bpf_map_info));
  const length = Uint32Array.of(raw.length);
  check(`bpf_obj_get_info_by_fd(${label})`, bpf_obj_get_info_by_fd(fd, raw, length));
  const info = koffi.decode(raw, bpf_map_info) as {
    type: number;
    id: number;
    key_size: number;
    value_size: number;
    max_entries: number;
    name: string;
  };
  const type = (Object.keys(BPF_MAP_TYPE) as MapSpec["type"][]).find((name) => BPF_MAP_TYPE[name] === info.type);
  if (type === undefined) {
    throw new TypeError(`${label}: map type ${info.type} is not one the bpf layer handles (${Object.keys(BPF_MAP_TYPE).join(", ")})`);
  }
  return { type, name: info.name, keySize: info.key_size, valueSize: info.value_size, maxEntries: info.max_entries, id: info.id };
}

/** Opens the map pinned at `path` (e.g. by a previous helper), reading its spec from the kernel. */
export function openPinnedMap(path: string): BpfMap {
  const fd = getPinned(path);
  try {
    const { id: _id, ...spec } = mapSpecOf(fd, `map pinned at '${path}'`);
    return mapFromFd(fd, spec);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}
