// Hand-assembled test programs, as raw struct bpf_insn bytes (the bpf layer's tests must not depend on
// codegen/). They are netfilter programs: they return NF_DROP or NF_ACCEPT. Encoding: u8 code, u8 (src_reg << 4 | dst_reg), s16 off, s32 imm, little-endian.
import type { MapRef } from "../../src/bpf/index.ts";

/** One struct bpf_insn. */
export function insn(code: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, code);
  view.setUint8(1, (src << 4) | dst);
  view.setInt16(2, off, true);
  view.setInt32(4, imm, true);
  return bytes;
}

/** Concatenates instructions into one program. */
export function program(...insns: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(insns.reduce((total, one) => total + one.length, 0));
  let offset = 0;
  for (const one of insns) {
    out.set(one, offset);
    offset += one.length;
  }
  return out;
}

/** r<dst> = imm (BPF_ALU64 | BPF_MOV | BPF_K). */
export const movImm = (dst: number, imm: number): Uint8Array => insn(0xb7, dst, 0, 0, imm);
/** r<dst> = r<src> (BPF_ALU64 | BPF_MOV | BPF_X). */
export const movReg = (dst: number, src: number): Uint8Array => insn(0xbf, dst, src, 0, 0);
/** r<dst> += imm (BPF_ALU64 | BPF_ADD | BPF_K). */
export const addImm = (dst: number, imm: number): Uint8Array => insn(0x07, dst, 0, 0, imm);
/** exit (BPF_JMP | BPF_EXIT). */
export const exit = (): Uint8Array => insn(0x95, 0, 0, 0, 0);
/** call helper #id (BPF_JMP | BPF_CALL). */
export const call = (id: number): Uint8Array => insn(0x85, 0, 0, 0, id);
/** if r<dst> == imm goto +off (BPF_JMP | BPF_JEQ | BPF_K). */
export const jeqImm = (dst: number, imm: number, off: number): Uint8Array => insn(0x15, dst, 0, off, imm);
/** if r<dst> > r<src> goto +off (BPF_JMP | BPF_JGT | BPF_X). */
export const jgtReg = (dst: number, src: number, off: number): Uint8Array => insn(0x2d, dst, src, off, 0);
/** r<dst> = *(u32 *)(r<src> + off). */
export const ldxW = (dst: number, src: number, off: number): Uint8Array => insn(0x61, dst, src, off, 0);
/** r<dst> = *(u64 *)(r<src> + off). */
export const ldxDW = (dst: number, src: number, off: number): Uint8Array => insn(0x79, dst, src, off, 0);
/** *(u64 *)(r<dst> + off) = r<src>. */
export const stxDW = (dst: number, src: number, off: number): Uint8Array => insn(0x7b, dst, src, off, 0);
/** *(u32 *)(r<dst> + off) = imm. */
export const stW = (dst: number, off: number, imm: number): Uint8Array => insn(0x62, dst, 0, off, imm);
/** *(u8 *)(r<dst> + off) = imm. */
export const stB = (dst: number, off: number, imm: number): Uint8Array => insn(0x72, dst, 0, off, imm);
/** r<dst> = map fd placeholder (BPF_LD_IMM64, src_reg BPF_PSEUDO_MAP_FD, imm 0): two slots. */
export const ldMapFd = (dst: number): Uint8Array => program(insn(0x18, dst, 1, 0, 0), insn(0, 0, 0, 0, 0));

/** Netfilter verdicts a netfilter program returns: NF_DROP. */
export const NF_DROP = 0;
/** NF_ACCEPT. */
export const NF_ACCEPT = 1;

/** "r0 = verdict; exit": a program that returns a constant. */
export function returns(verdict: number): Uint8Array {
  return program(movImm(0, verdict), exit());
}

/**
 * Looks up key 0 of the (percpu) array map `counters`, adds 1 to its u64, returns `verdict`. The map is
 * referenced by the BPF_LD_IMM64 at insn 0, hence the MapRef.
 */
export function countAndReturn(verdict: number): { insns: Uint8Array; mapRefs: MapRef[] } {
  const insns = program(
    ldMapFd(1), // 0-1: r1 = &counters
    stW(10, -4, 0), // 2: *(u32 *)(fp - 4) = 0 (the key)
    movReg(2, 10), // 3
    addImm(2, -4), // 4: r2 = fp - 4
    call(1), // 5: r0 = bpf_map_lookup_elem(r1, r2)
    jeqImm(0, 0, 3), // 6: if r0 == NULL goto 10
    ldxDW(1, 0, 0), // 7
    addImm(1, 1), // 8
    stxDW(0, 1, 0), // 9: *r0 += 1
    movImm(0, verdict), // 10
    exit(), // 11
  );
  return { insns, mapRefs: [{ insn: 0, map: "counters" }] };
}

/** The total over CPUs of the u64 counter that countAndReturn increments (one value per CPU). */
export function sumCounter(perCpu: readonly Uint8Array[]): bigint {
  return perCpu.reduce((total, value) => total + new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0, true), 0n);
}

/** A program the verifier rejects: it exits without setting r0 ("R0 !read_ok"). */
export function unsetR0(): Uint8Array {
  return program(exit());
}

/** A minimal IPv4 packet of `length` bytes (version 4, ihl 5, tot_len `length`): what a LOCAL_OUT test run takes. */
export function ipPacket(length = 64): Uint8Array {
  const packet = new Uint8Array(length);
  packet[0] = 0x45;
  new DataView(packet.buffer).setUint16(2, length);
  return packet;
}
