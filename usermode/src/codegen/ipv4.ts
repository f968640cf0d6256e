/**
 * The common prologue: find the IPv4 header behind the Ethernet header and give up (pass the
 * packet to the stack) on what ip_rcv_core would drop before netfilter sees it.
 */
import { add, and, jgt, jlt, jne, ldx, mov, rsh, toBe, lsh } from "./asm/index.ts";
import { ETH, ETH_P_IP_LE, IPH, REG } from "./layout.ts";
import type { ProgramBuilder } from "./builder.ts";

/**
 * Expects REG.iph = packet start and REG.dataEnd = packet end. Leaves REG.iph at the IPv4 header
 * (20 bytes checked) and REG.totLen = tot_len, or jumps to `pass` for a frame that is not IPv4
 * or is malformed (version != 4, ihl < 5, tot_len < ihl * 4). The caller checks tot_len against
 * the frame length (emitFrameCheck*), which differs between XDP and TC.
 */
export function emitIpv4Header(b: ProgramBuilder, pass: string): void {
  b.emit(
    mov.reg(0, REG.iph),
    add.imm(0, ETH.HLEN + IPH.MIN_LEN),
    jgt.reg(0, REG.dataEnd, pass),
    ldx("u16", 1, REG.iph, ETH.PROTO),
    jne.imm32(1, ETH_P_IP_LE, pass),
    add.imm(REG.iph, ETH.HLEN),
    ldx("u8", 1, REG.iph, IPH.VERSION_IHL),
    mov.reg(2, 1),
    rsh.imm(2, 4),
    jne.imm32(2, 4, pass),
    and.imm(1, 0x0f),
    jlt.imm32(1, 5, pass),
    lsh.imm(1, 2),
    ldx("u16", REG.totLen, REG.iph, IPH.TOT_LEN),
    toBe(REG.totLen, 16),
    and.imm(REG.totLen, 0xffff),
    jlt.reg(REG.totLen, 1, pass),
  );
}

/** XDP: tot_len must not exceed the frame behind the IPv4 header (data_end - iph). */
export function emitFrameCheckXdp(b: ProgramBuilder, pass: string): void {
  b.emit(mov.reg(0, REG.iph), add.reg(0, REG.totLen), jgt.reg(0, REG.dataEnd, pass));
}

/** TC: tot_len must not exceed skb->len - ETH_HLEN (the skb may be non-linear past data_end). */
export function emitFrameCheckSkb(b: ProgramBuilder, lenOff: number, pass: string): void {
  b.emit(
    ldx("u32", 1, REG.ctx, lenOff),
    mov.reg(0, REG.totLen),
    add.imm(0, ETH.HLEN),
    jgt.reg(0, 1, pass),
  );
}
