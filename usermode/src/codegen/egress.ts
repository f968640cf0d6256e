/**
 * The egress program (TC sched_cls, direct action): OUTPUT for locally generated packets
 * (ingress_ifindex == 0; forwarded ones carry their input device). ACCEPT → TC_ACT_OK, DROP → TC_ACT_SHOT.
 * netfilter's OUTPUT sees datagrams before IP fragments them: the first fragment stands for the
 * datagram and later fragments pass.
 */
import { add, call, ja, jle, jne, ldx, mov } from "./asm/index.ts";
import type { Table } from "../ir/types.ts";
import { HELPER, MAX_HEADER_BYTES, REG, SK_BUFF } from "./layout.ts";
import { emitFrameCheckSkb, emitIpv4Header } from "./ipv4.ts";
import { emitBuiltinChain } from "./rules.ts";
import { emitReturn, VerdictTails } from "./counters.ts";
import { ProgramBuilder } from "./builder.ts";
import { emitSkipLaterFragments, emitTransportPrologue } from "./transport.ts";
import { ruleModes, type BuildOptions } from "./ingress.ts";

/** TC action codes the program returns. */
export const TC_ACTION = { OK: 0, SHOT: 2 } as const;


function emitLoadPacket(b: ProgramBuilder): void {
  b.emit(ldx("u32", REG.iph, REG.ctx, SK_BUFF.DATA), ldx("u32", REG.dataEnd, REG.ctx, SK_BUFF.DATA_END));
}

/**
 * Makes the first min(skb->len, MAX_HEADER_BYTES) bytes linear when they are not (a GSO or
 * paged skb), so that header reads see them; packet pointers are reloaded after the pull.
 */
function emitPullHeaders(b: ProgramBuilder): void {
  const want = b.label("want");
  const linear = b.label("linear");
  b.emit(ldx("u32", 2, REG.ctx, SK_BUFF.LEN), jle.imm(2, MAX_HEADER_BYTES, want), mov.imm(2, MAX_HEADER_BYTES));
  b.place(want);
  emitLoadPacket(b);
  b.emit(mov.reg(0, REG.iph), add.reg(0, 2), jle.reg(0, REG.dataEnd, linear));
  b.emit(mov.reg(1, REG.ctx), call(HELPER.SKB_PULL_DATA));
  emitLoadPacket(b);
  b.place(linear);
}

/** Emits the TC egress program. */
export function buildEgress(table: Table, options: BuildOptions): ProgramBuilder {
  const b = new ProgramBuilder();
  const pass = b.label("pass");
  b.emit(mov.reg(REG.ctx, 1), ldx("u32", 1, REG.ctx, SK_BUFF.INGRESS_IFINDEX), jne.imm32(1, 0, pass));
  emitPullHeaders(b);
  emitIpv4Header(b, pass);
  emitFrameCheckSkb(b, SK_BUFF.LEN, pass);
  emitTransportPrologue(b);
  // The pass stub sits before the rules, so that the prologue's jumps to it stay short.
  const rules = b.label("rules");
  b.emit(ja(rules));
  b.place(pass);
  emitReturn(b, TC_ACTION.OK);
  b.place(rules);
  emitSkipLaterFragments(b, pass);
  emitBuiltinChain(
    {
      b,
      table,
      codes: { accept: TC_ACTION.OK, drop: TC_ACTION.SHOT },
      devices: { in: { kind: "none" }, out: { kind: "ctx", off: SK_BUFF.IFINDEX } },
      ifindexByName: options.ifindexByName,
      mode: ruleModes(options),
      tails: new VerdictTails({ accept: TC_ACTION.OK, drop: TC_ACTION.SHOT }),
    },
    table.chains.find((c) => c.hook === "OUTPUT"),
  );
  return b;
}
