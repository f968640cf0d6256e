/**
 * Interface matching of struct ipt_ip (-i/-o with masks and the "+" wildcard), as netfilter's
 * ifname_compare_aligned() does it: the device's 16 name bytes XOR the rule's name, under the rule's
 * mask, must be zero. The device is the packet's real one at the hook (state->in, state->out), read
 * when the packet comes, so no interface list is needed at compile time and an interface created
 * later is matched from its first packet.
 */
import { and, ldx, or, xor, type Reg } from "./asm/index.ts";
import type { DeviceAccess } from "./flavor.ts";
import type { RuleEmitter } from "./emitter.ts";

/** IFNAMSIZ. */
export const IFNAMSIZ = 16;

/** An -i or -o match as ipt_ip holds it. */
export interface IfaceMatch {
  readonly name: string;
  readonly mask: Uint8Array;
  readonly invert: boolean;
}

/** The 16 bytes of an interface name as ipt_ip and net_device hold it (NUL-padded). */
export function nameBytes(name: string): Uint8Array {
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

function word(bytes: Uint8Array, i: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4 * i, true);
}

const DIFF: Reg = 1;
/** The register the device pointer is loaded into (Flavor.device). */
export const DEVICE: Reg = 2;
const TEMP: Reg = 3;

/**
 * Emits the -i/-o check: the rule goes on only if the device matches (XOR invert). Where the hook has
 * no such device the name is "" and the result is known now. r1 = OR over the name's u32 words of
 * (word ^ pattern) & mask, which is 0 exactly when the name matches; r2 and r3 are scratch.
 */
export function emitIfaceMatch(em: RuleEmitter, m: IfaceMatch, device: DeviceAccess | undefined): void {
  if (m.mask.every((byte) => byte === 0)) {
    if (m.invert) em.never();
    return;
  }
  if (device === undefined) {
    if (ifaceNameMatches("", m) === m.invert) em.never();
    return;
  }
  const pattern = nameBytes(m.name);
  em.emit(...device.insns);
  let first = true;
  for (let i = 0; i < IFNAMSIZ / 4; i++) {
    const mask = word(m.mask, i);
    if (mask === 0) continue;
    const dst = first ? DIFF : TEMP;
    em.emit(ldx("u32", dst, DEVICE, device.nameOffset + 4 * i));
    const want = (word(pattern, i) & mask) >>> 0;
    if (want !== 0) em.emit(xor.imm32(dst, want));
    if (mask !== 0xffff_ffff) em.emit(and.imm32(dst, mask));
    if (!first) em.emit(or.reg32(DIFF, TEMP));
    first = false;
  }
  em.requireAll([{ reg: DIFF, min: 0, max: 0 }], m.invert);
}
