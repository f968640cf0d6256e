/**
 * The netfilter flavor: a BPF_PROG_TYPE_NETFILTER program at one of the filter table's hooks,
 * attached through a netfilter link (by way of the dispatcher). Its context is struct bpf_nf_ctx
 * {state, skb}, read-only. It sees the packet exactly as the filter table does: skb->data at the
 * IPv4 header, already validated by ip_rcv, reassembled at LOCAL_IN, after routing, with the real
 * devices (state->in, state->out), and loopback's packets too. The packet is read through a dynptr
 * over the skb (bpf_dynptr_from_skb, bpf_dynptr_slice); kernel struct fields through BTF-typed loads
 * at the offsets of the running kernel (NetfilterContextLayout).
 */
import { add, and, call, div, exit, ja, jeq, jgt, jle, jne, kfuncCall, ldx, lsh, mov, or, rsh, st, sub, toBe, type Insn, type Reg } from "./asm/index.ts";
import type { ProgramBuilder } from "./builder.ts";
import type { Flavor } from "./flavor.ts";
import { FILTER_HOOKS } from "./hooks.ts";
import { HELPER, IPH, NF_VERDICT, NFCT_INFOMASK, REG, STACK, TRANSPORT, type NetfilterContextLayout } from "./layout.ts";

/**
 * The transport facts (layout.ts TRANSPORT). r8 holds the transport offset and r9 the transport
 * length while the transport bytes are read (calls clobber r0-r5); then r8 = facts, r9 = first word.
 * The first min(length, 20) transport bytes are copied into a zeroed stack buffer with
 * bpf_dynptr_read (a helper: cheaper for the verifier than a kfunc), and only the prologue reads it.
 */
function emitTransport(b: ProgramBuilder, layout: NetfilterContextLayout): void {
  const facts: Reg = 9;
  const thoff: Reg = 8;
  const positive = b.label("l4_len");
  const lengthDone = b.label("l4_len_done");
  const sized = b.label("l4_sized");
  const buffer = STACK.TRANSPORT_BUFFER;
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
  // The size read, min(skb->len - thoff, 20), from a fresh load of skb->len: the verifier tracks a
  // helper's size precisely, and a size computed from r9 would make it track the transport length
  // precisely through every rule (states that differ in it would not be pruned). Never 0: with
  // nothing read the buffer would stay known zeroes on that path, a second state for every rule;
  // reading 1 byte past the end fails and leaves the zeroes, which is the same at run time.
  const some = b.label("l4_some");
  b.emit(ldx("u64", 2, REG.ctx, layout.ctxSkb), ldx("u32", 2, 2, layout.skbLen), jgt.reg(2, thoff, some), mov.imm(2, 1), ja(sized));
  b.place(some);
  b.emit(sub.reg(2, thoff), jle.imm(2, TRANSPORT.MAX_BYTES, sized), mov.imm(2, TRANSPORT.MAX_BYTES));
  b.place(sized);
  b.emit(
    st("u64", 10, buffer, 0),
    st("u64", 10, buffer + 8, 0),
    st("u32", 10, buffer + 16, 0),
    mov.reg(1, 10),
    add.imm(1, buffer),
    mov.reg(3, 10),
    add.imm(3, STACK.DYNPTR),
    mov.reg(4, thoff),
    mov.imm(5, 0),
    call(HELPER.DYNPTR_READ),
    ldx("u32", 4, 10, buffer),
    ldx("u8", 3, 10, buffer + TRANSPORT.TCP_FLAGS_OFFSET),
    lsh.imm(3, TRANSPORT.FLAGS_SHIFT),
    or.reg(facts, 3),
    ldx("u16", 1, REG.iph, IPH.FRAG_OFF),
    toBe(1, 16),
    and.imm(1, 0x1fff),
    lsh.imm(1, TRANSPORT.FRAG_SHIFT),
    or.reg(facts, 1),
    mov.reg(TRANSPORT.facts, facts),
    mov.reg(TRANSPORT.firstWord, 4),
  );
}

/**
 * reg = nf_ct_expires(ct) / HZ from the timeout at STACK.CT_FIELD: max((s32)(timeout - (u32)jiffies), 0)
 * in seconds, without a branch (a negative difference masks itself to 0). Clobbers r0-r5.
 */
function expiresSeconds(reg: Reg, hz: number): Insn[] {
  const temp: Reg = reg === 3 ? 4 : 3;
  return [
    call(HELPER.JIFFIES64),
    ldx("u32", reg, 10, STACK.CT_FIELD),
    sub.reg32(reg, 0),
    mov.reg(temp, reg),
    rsh.imm(temp, 31), // 1 when the s32 difference is negative
    sub.imm(temp, 1), // then 0, else all ones
    and.reg(reg, temp),
    div.imm(reg, hz),
  ];
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
        mov.reg(1, 10),
        add.imm(1, STACK.DYNPTR),
        mov.imm(2, 0),
        mov.reg(3, 10),
        add.imm(3, STACK.IPH_BUFFER),
        mov.imm(4, IPH.MIN_LEN),
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
    kernelField(field, reg) {
      const skb = ldx("u64", reg, REG.ctx, layout.ctxSkb);
      if (field === "skb.pkt_type") {
        const { offset, shift } = layout.skbPktType;
        return [skb, ldx("u8", reg, reg, offset), ...(shift === 0 ? [] : [rsh.imm(reg, shift)]), and.imm(reg, 7)];
      }
      const offset = { "skb.mark": layout.skbMark, "skb.nfct": layout.skbNfct }[field];
      if (offset === undefined) return undefined;
      return [skb, ldx(field === "skb.mark" ? "u32" : "u64", reg, reg, offset)];
    },
    conntrackField(field, reg) {
      const location = layout.ctFields?.[field];
      if (layout.skbNfct === undefined || location === undefined) return undefined;
      if (field === "ct.expires" && layout.hz === undefined) return undefined;
      const size = ({ 1: "u8", 2: "u16", 4: "u32", 8: "u64" } as const)[location.size as 1 | 2 | 4 | 8];
      // The entry is _nfct without its ctinfo bits. Without one the address is the field's offset,
      // below the first page: bpf_probe_read_kernel fails there and zeroes what it was to fill, so
      // such a packet reads 0, as the branch-free code wants.
      return [
        mov.reg(1, 10),
        add.imm(1, STACK.CT_FIELD),
        mov.imm(2, location.size),
        ldx("u64", 3, REG.ctx, layout.ctxSkb),
        ldx("u64", 3, 3, layout.skbNfct),
        and.imm(3, ~NFCT_INFOMASK),
        add.imm(3, location.offset),
        call(HELPER.PROBE_READ_KERNEL),
        ...(field === "ct.expires" ? expiresSeconds(reg, layout.hz!) : [ldx(size, reg, 10, STACK.CT_FIELD)]),
      ];
    },
    ...(layout.hz === undefined ? {} : { hz: layout.hz }),
    hasKfunc: (name) => layout.kfuncs?.includes(name) ?? false,
    epilogue: (code) => [mov.imm(0, code), exit()],
  };
}
