/** The length match (xt_length.c, struct xt_length_info): IP total length within [min, max], XOR invert. */
import type { LengthMatch } from "../ir/matches.ts";
import { defineMatch, expectXtSize } from "./types.ts";
import { requireRange } from "./ports.ts";

/** sizeof(struct xt_length_info): u16 min, u16 max, u8 invert, 1 byte of padding. */
export const XT_LENGTH_SIZE = 6;

/** The length match. */
export const length = defineMatch<LengthMatch>({
  name: "length",
  revisions: [0],
  structSize: XT_LENGTH_SIZE,
  proto: 0,
  decode(data) {
    const view = expectXtSize("match 'length'", data, XT_LENGTH_SIZE);
    return { kind: "length", min: view.getUint16(0, true), max: view.getUint16(2, true), invert: view.getUint8(4) !== 0 };
  },
  emit(em, m) {
    em.load(1, "ip.tot_len");
    requireRange(em, 1, m); // the same u16 range test as port_match
  },
  describe: (m) => `-m length ${m.invert ? "! " : ""}--length ${m.min === m.max ? m.min : `${m.min}:${m.max}`}`,
});
