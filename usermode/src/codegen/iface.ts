/**
 * Interface matching of struct ipt_ip (-i/-o with masks and the "+" wildcard). BPF sees
 * ifindexes, not names, so names are resolved at compile time with the netns's interface list.
 */
import { ldx, type Reg } from "./asm/index.ts";
import { REG } from "./layout.ts";
import { DeclineError } from "./decline.ts";
import type { RuleEmitter } from "./emitter.ts";

/** IFNAMSIZ. */
const IFNAMSIZ = 16;

/** Where a hook finds an interface index: nowhere (no such device at this hook), the context or the stack. */
export type IfindexSource =
  | { readonly kind: "none" }
  | { readonly kind: "ctx"; readonly off: number }
  | { readonly kind: "stack"; readonly off: number };

/** An -i or -o match as ipt_ip holds it. */
export interface IfaceMatch {
  readonly name: string;
  readonly mask: Uint8Array;
  readonly invert: boolean;
}

function nameBytes(name: string): Uint8Array {
  const bytes = new Uint8Array(IFNAMSIZ);
  bytes.set(Buffer.from(name, "latin1").subarray(0, IFNAMSIZ));
  return bytes;
}

/** ifname_compare_aligned() == 0: the device name equals the pattern under the mask. */
export function ifaceNameMatches(device: string, m: IfaceMatch): boolean {
  const dev = nameBytes(device);
  const pattern = nameBytes(m.name);
  for (let i = 0; i < IFNAMSIZ; i++) {
    if (((dev[i]! ^ pattern[i]!) & (m.mask[i] ?? 0)) !== 0) return false;
  }
  return true;
}

/** Text of the match for messages: "-i eth+", "! -o lo". */
export function describeIface(flag: "-i" | "-o", m: IfaceMatch): string {
  const wildcard = m.mask[Math.min(m.name.length, IFNAMSIZ - 1)] === 0 && m.name.length < IFNAMSIZ;
  return `${m.invert ? "! " : ""}${flag} ${m.name}${wildcard ? "+" : ""}`;
}

function loadIfindex(em: RuleEmitter, dst: Reg, source: IfindexSource): void {
  if (source.kind === "ctx") em.emit(ldx("u32", dst, REG.ctx, source.off));
  if (source.kind === "stack") em.emit(ldx("u32", dst, 10, source.off));
}

/**
 * Emits the -i/-o check: the rule goes on only if the device matches (XOR invert). Without a device
 * at this hook the name is "" and the result is known now; otherwise ifindexByName must be given.
 */
export function emitIfaceMatch(
  em: RuleEmitter,
  flag: "-i" | "-o",
  m: IfaceMatch,
  source: IfindexSource,
  ifindexByName: ReadonlyMap<string, number> | undefined,
): void {
  if (m.mask.every((byte) => byte === 0)) {
    if (m.invert) em.never();
    return;
  }
  if (source.kind === "none") {
    if (ifaceNameMatches("", m) === m.invert) em.never();
    return;
  }
  if (ifindexByName === undefined) {
    throw new DeclineError(`interface match '${describeIface(flag, m)}' needs the netns's interface list, and none was given`);
  }
  const indexes = [...ifindexByName].filter(([name]) => ifaceNameMatches(name, m)).map(([, index]) => index);
  loadIfindex(em, 1, source);
  em.requireAny(indexes.map((index) => ({ reg: 1, min: index, max: index })), m.invert);
}
