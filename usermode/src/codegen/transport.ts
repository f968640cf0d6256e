/**
 * The transport prologue: fragment offset, transport length and the first bytes of the
 * transport header, saved on the stack once per packet so that rules read them without
 * packet bounds checks (each of which would cost the verifier a branch per rule).
 */
import { add, and, ja, jgt, jne, ldx, lsh, mov, st, stx, sub, toBe } from "./asm/index.ts";
import { IPH, L4_COPY, REG, STACK } from "./layout.ts";
import type { ProgramBuilder } from "./builder.ts";

function emitCopy(b: ProgramBuilder, from: 2, bytes: number): void {
  for (let off = 0; off < bytes; off += 4) b.emit(ldx("u32", 4, from, off), stx("u32", 10, STACK.L4_BYTES + off, 4));
}

/** Expects REG.iph, REG.totLen and REG.dataEnd set by the IPv4 prologue (tot_len >= ihl * 4 checked). */
export function emitTransportPrologue(b: ProgramBuilder): void {
  b.emit(
    ldx("u16", 1, REG.iph, IPH.FRAG_OFF),
    toBe(1, 16),
    and.imm32(1, 0x1fff),
    stx("u32", 10, STACK.FRAG_OFFSET, 1),
    ldx("u8", 1, REG.iph, IPH.VERSION_IHL),
    and.imm(1, 0x0f),
    lsh.imm(1, 2),
    mov.reg(2, REG.totLen),
    sub.reg(2, 1),
    stx("u32", 10, STACK.L4_LEN, 2),
  );
  for (let off = 0; off < 24; off += 8) b.emit(st("u64", 10, STACK.L4_BYTES + off, 0));
  b.emit(mov.reg(2, REG.iph), add.reg(2, 1));
  const done = b.label("l4_copied");
  // Copy the longest of 20, 8 or 4 bytes that the packet holds (the verifier needs constant sizes).
  const sizes = [L4_COPY, 8, 4];
  sizes.forEach((bytes, i) => {
    const shorter = i + 1 < sizes.length ? b.label(`l4_${sizes[i + 1]}`) : done;
    b.emit(mov.reg(3, 2), add.imm(3, bytes), jgt.reg(3, REG.dataEnd, shorter));
    emitCopy(b, 2, bytes);
    if (i + 1 < sizes.length) {
      b.emit(ja(done));
      b.place(shorter);
    }
  });
  b.place(done);
}

/**
 * Where netfilter sees whole datagrams (INPUT after ip_local_deliver's reassembly, OUTPUT before
 * ip_fragment), a later fragment passes uncounted: its first fragment was judged for the datagram.
 */
export function emitSkipLaterFragments(b: ProgramBuilder, pass: string): void {
  b.emit(ldx("u32", 1, 10, STACK.FRAG_OFFSET), jne.imm32(1, 0, pass));
}
