/**
 * The ingress program (XDP): parse IPv4, split INPUT from FORWARD with bpf_fib_lookup, run
 * that chain. ACCEPT → XDP_PASS, DROP → XDP_DROP; what netfilter would not see → XDP_PASS.
 */
import { add, call, jeq, jle, ldx, mov, st, stx } from "./asm/index.ts";
import type { Table } from "../ir/types.ts";
import { AF_INET, FIB, FIB_RET, HELPER, IPH, REG, STACK, XDP_MD } from "./layout.ts";
import { emitFrameCheckXdp, emitIpv4Header } from "./ipv4.ts";
import { emitBuiltinChain, type ChainContext } from "./rules.ts";
import { emitReturn, VerdictTails } from "./counters.ts";
import { ProgramBuilder } from "./builder.ts";
import { emitSkipLaterFragments, emitTransportPrologue } from "./transport.ts";
import type { EmitMode } from "./emitter.ts";

/** enum xdp_action values the program returns. */
export const XDP_ACTION = { DROP: 1, PASS: 2 } as const;

function emitFibLookup(b: ProgramBuilder): void {
  const fib = STACK.FIB;
  for (let off = 0; off < FIB.SIZE; off += 8) b.emit(st("u64", 10, fib + off, 0));
  b.emit(
    st("u8", 10, fib + FIB.FAMILY, AF_INET),
    ldx("u8", 1, REG.iph, IPH.PROTOCOL),
    stx("u8", 10, fib + FIB.L4_PROTOCOL, 1),
    ldx("u32", 1, REG.ctx, XDP_MD.INGRESS_IFINDEX),
    stx("u32", 10, fib + FIB.IFINDEX, 1),
    ldx("u8", 1, REG.iph, IPH.TOS),
    stx("u8", 10, fib + FIB.TOS, 1),
    ldx("u32", 1, REG.iph, IPH.SADDR),
    stx("u32", 10, fib + FIB.IPV4_SRC, 1),
    ldx("u32", 1, REG.iph, IPH.DADDR),
    stx("u32", 10, fib + FIB.IPV4_DST, 1),
    mov.reg(1, REG.ctx),
    mov.reg(2, 10),
    add.imm(2, fib),
    mov.imm(3, FIB.SIZE),
    mov.imm(4, 0),
    call(HELPER.FIB_LOOKUP),
  );
}

/** Options of a program builder. */
export interface BuildOptions {
  readonly ifindexByName?: ReadonlyMap<string, number>;
  readonly mode: EmitMode;
  /** With mode "compact": emit the first this many rules guarded (faster per packet) and the rest compact. */
  readonly guardedRules?: number;
}

/** The per-rule mode function of BuildOptions. */
export function ruleModes(options: BuildOptions): () => EmitMode {
  let rules = 0;
  const guarded = options.guardedRules ?? 0;
  return () => (options.mode === "compact" && rules++ < guarded ? "guarded" : options.mode);
}

/**
 * Emits the XDP program. INPUT sees reassembled datagrams in netfilter (ip_local_deliver defragments
 * before the hook), so the first fragment stands for the datagram and later ones pass. FIB answers: NOT_FWDED (local, broadcast, multicast, no route) and
 * FWD_DISABLED (forwarding off: only local packets survive routing) → INPUT; SUCCESS and NO_NEIGH
 * → FORWARD unless ttl <= 1 (ip_forward drops those before the hook); anything else → pass.
 */
export function buildIngress(table: Table, options: BuildOptions): ProgramBuilder {
  const b = new ProgramBuilder();
  const pass = b.label("pass");
  const input = b.label("input");
  const forward = b.label("forward");
  const codes = { accept: XDP_ACTION.PASS, drop: XDP_ACTION.DROP };
  b.emit(
    mov.reg(REG.ctx, 1),
    ldx("u32", REG.iph, REG.ctx, XDP_MD.DATA),
    ldx("u32", REG.dataEnd, REG.ctx, XDP_MD.DATA_END),
  );
  emitIpv4Header(b, pass);
  emitFrameCheckXdp(b, pass);
  emitTransportPrologue(b);
  emitFibLookup(b);
  b.emit(
    jeq.imm(0, FIB_RET.NOT_FWDED, input),
    jeq.imm(0, FIB_RET.FWD_DISABLED, input),
    jeq.imm(0, FIB_RET.SUCCESS, forward),
    jeq.imm(0, FIB_RET.NO_NEIGH, forward),
  );
  b.place(pass);
  emitReturn(b, XDP_ACTION.PASS);

  const chainOf = (hook: string) => table.chains.find((c) => c.hook === hook);
  const forwardCtx: ChainContext = {
    b,
    table,
    codes,
    devices: { in: { kind: "ctx", off: XDP_MD.INGRESS_IFINDEX }, out: { kind: "stack", off: STACK.OUT_IFINDEX } },
    ifindexByName: options.ifindexByName,
    mode: ruleModes(options),
    tails: new VerdictTails(codes),
    forwarded: true,
  };
  const inputCtx: ChainContext = {
    ...forwardCtx,
    devices: { in: { kind: "ctx", off: XDP_MD.INGRESS_IFINDEX }, out: { kind: "none" } },
    forwarded: false,
  };
  const emitForward = (): void => {
    b.place(forward);
    b.emit(
      ldx("u8", 1, REG.iph, IPH.TTL),
      jle.imm32(1, 1, pass),
      ldx("u32", 1, 10, STACK.FIB + FIB.IFINDEX),
      stx("u32", 10, STACK.OUT_IFINDEX, 1),
    );
    emitBuiltinChain(forwardCtx, chainOf("FORWARD"));
  };
  const emitInput = (): void => {
    b.place(input);
    emitSkipLaterFragments(b, pass);
    emitBuiltinChain(inputCtx, chainOf("INPUT"));
  };
  // The dispatch jumps over the first chain (s16 offsets): put the shorter one first.
  if ((chainOf("FORWARD")?.rules.length ?? 0) <= (chainOf("INPUT")?.rules.length ?? 0)) {
    emitForward();
    emitInput();
  } else {
    emitInput();
    emitForward();
  }
  return b;
}
