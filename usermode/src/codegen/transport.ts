/**
 * Reading the transport facts that the prologue keeps in registers (layout.ts TRANSPORT), so that
 * rules read them without packet bounds checks (a branch each) and without stack reads (slow to
 * verify).
 */
import { and, mov, rsh, type Reg } from "./asm/index.ts";
import { TRANSPORT } from "./layout.ts";
import type { ProgramBuilder } from "./builder.ts";

/** r<dst> = the fragment offset (from the transport facts). */
export function emitLoadFragmentOffset(b: Pick<ProgramBuilder, "emit">, dst: Reg): void {
  b.emit(mov.reg(dst, TRANSPORT.facts), rsh.imm(dst, TRANSPORT.FRAG_SHIFT), and.imm32(dst, 0xffff));
}
