/**
 * The transport prologue: fragment offset, transport length, the TCP flags byte and the first
 * transport bytes, kept in registers r8/r9 (layout.ts TRANSPORT) once per packet, so that rules read
 * them without packet bounds checks (a branch each) and without stack reads (slow to verify).
 */
import { add, and, ja, jgt, jne, ldx, lsh, mov, or, rsh, sub, toBe, type Reg } from "./asm/index.ts";
import { IPH, REG, TRANSPORT } from "./layout.ts";
import type { ProgramBuilder } from "./builder.ts";

/** Expects REG.iph, REG.totLen and REG.dataEnd set by the IPv4 prologue (tot_len >= ihl * 4 checked). */
export function emitTransportPrologue(b: ProgramBuilder): void {
  const short = b.label("l4_short");
  const done = b.label("l4_done");
  b.emit(
    ldx("u8", 5, REG.iph, IPH.VERSION_IHL),
    and.imm(5, 0x0f),
    lsh.imm(5, 2), // r5 = thoff
    mov.reg(3, REG.totLen),
    sub.reg(3, 5), // r3 = transport length
    ldx("u16", 1, REG.iph, IPH.FRAG_OFF),
    toBe(1, 16),
    and.imm(1, 0x1fff),
    lsh.imm(1, TRANSPORT.FRAG_SHIFT),
    or.reg(1, 3), // r1 = the facts but the flags
    mov.imm(4, 0), // r4 = the first word
    mov.reg(2, REG.iph),
    add.reg(2, 5), // r2 = transport header
    // The longest of 20 or 4 bytes that the packet holds (constant sizes for the verifier).
    mov.reg(3, 2),
    add.imm(3, TRANSPORT.MAX_BYTES),
    jgt.reg(3, REG.dataEnd, short),
    ldx("u32", 4, 2, 0),
    ldx("u8", 3, 2, TRANSPORT.TCP_FLAGS_OFFSET),
    lsh.imm(3, TRANSPORT.FLAGS_SHIFT),
    or.reg(1, 3),
    ja(done),
  );
  b.place(short);
  b.emit(mov.reg(3, 2), add.imm(3, 4), jgt.reg(3, REG.dataEnd, done), ldx("u32", 4, 2, 0));
  b.place(done);
  b.emit(mov.reg(TRANSPORT.facts, 1), mov.reg(TRANSPORT.firstWord, 4));
}

/** r<dst> = the fragment offset (from the transport facts). */
export function emitLoadFragmentOffset(b: Pick<ProgramBuilder, "emit">, dst: Reg): void {
  b.emit(mov.reg(dst, TRANSPORT.facts), rsh.imm(dst, TRANSPORT.FRAG_SHIFT), and.imm32(dst, 0xffff));
}

/**
 * Where netfilter sees whole datagrams (INPUT after ip_local_deliver's reassembly, OUTPUT before
 * ip_fragment), a later fragment passes uncounted: its first fragment was judged for the datagram.
 */
export function emitSkipLaterFragments(b: ProgramBuilder, pass: string): void {
  emitLoadFragmentOffset(b, 1);
  b.emit(jne.imm32(1, 0, pass));
}
