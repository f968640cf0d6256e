/**
 * The netfilter flavor: a BPF_PROG_TYPE_NETFILTER program at one of the filter table's hooks,
 * attached through a netfilter link (by way of the dispatcher). Its context is struct bpf_nf_ctx
 * {state, skb}, read-only. It sees the packet exactly as the filter table does: skb->data at the
 * IPv4 header, already validated by ip_rcv, reassembled at LOCAL_IN, after routing, with the real
 * devices (state->in, state->out), and loopback's packets too. The packet is read through a dynptr
 * over the skb (bpf_dynptr_from_skb, bpf_dynptr_slice); kernel struct fields through BTF-typed loads
 * at the offsets of the running kernel (NetfilterContextLayout).
 */
import { add, and, exit, ja, jeq, jgt, jle, jne, kfuncCall, ldx, lsh, mov, or, sub, toBe, type Insn, type Reg } from "./asm/index.ts";
import type { ProgramBuilder } from "./builder.ts";
import type { Flavor } from "./flavor.ts";
import { FILTER_HOOKS } from "./hooks.ts";
import { IPH, NF_VERDICT, REG, STACK, TRANSPORT, type NetfilterContextLayout } from "./layout.ts";

/** r1 = pointer to the dynptr, r2 = offset, r3 = buffer, r4 = size: bpf_dynptr_slice's arguments. */
function sliceArgs(offset: Reg | 0, buffer: number, size: number): Insn[] {
  return [
    mov.reg(1, 10),
    add.imm(1, STACK.DYNPTR),
    offset === 0 ? mov.imm(2, 0) : mov.reg(2, offset),
    mov.reg(3, 10),
    add.imm(3, buffer),
    mov.imm(4, size),
  ];
}

/**
 * The transport facts (layout.ts TRANSPORT). r8 holds the transport offset and r9 the transport
 * length while the slices are taken (kfunc calls clobber r0-r5); then r8 = facts, r9 = first word.
 */
function emitTransport(b: ProgramBuilder, layout: NetfilterContextLayout): void {
  const facts: Reg = 9;
  const thoff: Reg = 8;
  const positive = b.label("l4_len");
  const lengthDone = b.label("l4_len_done");
  const short = b.label("l4_short");
  const done = b.label("l4_done");
  b.emit(
    ldx("u8", thoff, REG.iph, IPH.VERSION_IHL),
    and.imm(thoff, 0x0f),
    lsh.imm(thoff, 2),
    ldx("u64", 1, REG.ctx, layout.ctxSkb),
    ldx("u32", facts, 1, layout.skbLen),
    jgt.reg(facts, thoff, positive),
    mov.imm(facts, 0),
    ja(lengthDone),
  );
  b.place(positive);
  b.emit(sub.reg(facts, thoff), jle.imm(facts, 0xffff, lengthDone), mov.imm(facts, 0xffff));
  b.place(lengthDone);
  // The longest of 20 or 4 transport bytes that the packet holds (a slice has a constant size).
  b.emit(...sliceArgs(thoff, STACK.TRANSPORT_BUFFER, TRANSPORT.MAX_BYTES), kfuncCall("bpf_dynptr_slice"), jeq.imm(0, 0, short));
  b.emit(
    ldx("u32", 4, 0, 0),
    ldx("u8", 3, 0, TRANSPORT.TCP_FLAGS_OFFSET),
    lsh.imm(3, TRANSPORT.FLAGS_SHIFT),
    or.reg(facts, 3),
    ja(done),
  );
  b.place(short);
  b.emit(...sliceArgs(thoff, STACK.TRANSPORT_BUFFER, TRANSPORT.FIRST_WORD_BYTES), kfuncCall("bpf_dynptr_slice"), mov.imm(4, 0), jeq.imm(0, 0, done));
  b.emit(ldx("u32", 4, 0, 0));
  b.place(done);
  b.emit(
    ldx("u16", 1, REG.iph, IPH.FRAG_OFF),
    toBe(1, 16),
    and.imm(1, 0x1fff),
    lsh.imm(1, TRANSPORT.FRAG_SHIFT),
    or.reg(facts, 1),
    mov.reg(TRANSPORT.facts, facts),
    mov.reg(TRANSPORT.firstWord, 4),
  );
}

/** The netfilter flavor for a kernel whose structs are laid out as `layout` says. */
export function netfilterFlavor(layout: NetfilterContextLayout): Flavor {
  return {
    name: "netfilter",
    progType: "netfilter",
    codes: { accept: NF_VERDICT.ACCEPT, drop: NF_VERDICT.DROP },
    prologue(b, pass) {
      b.emit(
        mov.reg(REG.ctx, 1),
        ldx("u64", 1, REG.ctx, layout.ctxSkb),
        mov.imm(2, 0),
        mov.reg(3, 10),
        add.imm(3, STACK.DYNPTR),
        kfuncCall("bpf_dynptr_from_skb"),
        jne.imm32(0, 0, pass),
        ...sliceArgs(0, STACK.IPH_BUFFER, IPH.MIN_LEN),
        kfuncCall("bpf_dynptr_slice"),
        jeq.imm(0, 0, pass), // shorter than an IPv4 header: never at an IPv4 hook
        mov.reg(REG.iph, 0),
      );
      emitTransport(b, layout);
    },
    packetBytes: (reg) => [ldx("u64", reg, REG.ctx, layout.ctxSkb), ldx("u32", reg, reg, layout.skbLen)],
    device(hook, which, reg) {
      if (!FILTER_HOOKS[hook][which]) return undefined;
      const field = which === "in" ? layout.stateIn : layout.stateOut;
      // A BTF-typed load through a NULL device reads zeros: netfilter's nulldevname.
      return { insns: [ldx("u64", reg, REG.ctx, layout.ctxState), ldx("u64", reg, reg, field)], nameOffset: layout.devName };
    },
    epilogue: (code) => [mov.imm(0, code), exit()],
  };
}
