// Program and map names as the kernel accepts them (bpf_obj_name_cpy): up to 15 of [A-Za-z0-9_.].
import { BPF_OBJ_NAME_LEN } from "./abi.ts";

/** Throws unless `name` is a valid, untruncated BPF object name; `kind` is "map" or "program". */
export function checkObjectName(kind: "map" | "program", name: string): void {
  if (name.length === 0 || name.length > BPF_OBJ_NAME_LEN - 1) {
    throw new RangeError(`${kind} '${name}': name must be 1 to ${BPF_OBJ_NAME_LEN - 1} characters long`);
  }
  if (!/^[A-Za-z0-9_.]+$/.test(name)) {
    throw new RangeError(`${kind} '${name}': name may only hold letters, digits, '_' and '.'`);
  }
}
