// Whole-array reads and writes in a few syscalls (BPF_MAP_LOOKUP_BATCH / BPF_MAP_UPDATE_BATCH, Linux 5.6+):
// reading or restoring every rule counter of a table must not cost one syscall per rule.
import koffi from "koffi";
import { bpf_map_batch_opts } from "./abi.ts";
import { check } from "./errors.ts";
import { bpf_map_lookup_batch, bpf_map_update_batch } from "./libbpf.ts";

const ENOENT = 2;

/** Reads entries 0..count-1 of an array map: `stride` bytes per entry, in key order, into one buffer. */
export function lookupArrayBatch(fd: number, label: string, count: number, stride: number): Uint8Array {
  const values = new Uint8Array(count * stride);
  const keys = new Uint32Array(count);
  const opts = { sz: koffi.sizeof(bpf_map_batch_opts), elem_flags: 0, flags: 0 };
  let token: Uint32Array | null = null; // in_batch: where the previous call stopped (NULL: from the start)
  let done = 0;
  while (done < count) {
    const next = new Uint32Array(1);
    const got = Uint32Array.of(count - done);
    const part = values.subarray(done * stride);
    const ret = bpf_map_lookup_batch(fd, token, next, keys.subarray(done), part, got, opts);
    if (ret !== 0 && ret !== -ENOENT) check(`bpf_map_lookup_batch(${label}, from entry ${done})`, ret);
    // Array keys come back in order from 0, so entry i of the buffer is key i.
    for (let i = 0; i < got[0]!; i += 1) {
      if (keys[done + i] !== done + i) {
        throw new Error(`bpf_map_lookup_batch(${label}): entry ${done + i} came back as key ${keys[done + i]}`);
      }
    }
    done += got[0]!;
    if (ret === -ENOENT || got[0] === 0) break;
    token = next;
  }
  if (done !== count) throw new Error(`bpf_map_lookup_batch(${label}): read ${done} of ${count} entries`);
  return values;
}

/** Writes `values` (stride bytes each) to entries 0..n-1 of an array map. */
export function updateArrayBatch(fd: number, label: string, values: Uint8Array, stride: number): void {
  const count = values.length / stride;
  const keys = Uint32Array.from({ length: count }, (_, key) => key);
  const opts = { sz: koffi.sizeof(bpf_map_batch_opts), elem_flags: 0, flags: 0 };
  let done = 0;
  while (done < count) {
    const put = Uint32Array.of(count - done);
    const ret = bpf_map_update_batch(fd, keys.subarray(done), values.subarray(done * stride), put, opts);
    check(`bpf_map_update_batch(${label}, from entry ${done})`, ret);
    if (put[0] === 0) throw new Error(`bpf_map_update_batch(${label}): no progress at entry ${done}`);
    done += put[0]!;
  }
}
