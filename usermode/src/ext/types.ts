/**
 * The contract between the compiler and the match/target extensions: what an
 * extension decodes from its xt data and what code it asks the compiler to emit.
 */
import type { Insn, Reg } from "../codegen/asm/index.ts";
import type { ConntrackFieldName, FieldName, KernelFieldName } from "../codegen/fields.ts";
import type { IpHeaderMatch, Match, TargetAction } from "../ir/types.ts";
import type { LimitMatch } from "../ir/matches.ts";

/** "min <= value in reg <= max" for a u32 value (zero-extended in reg) and min <= max. */
export interface RangeTest {
  readonly reg: Reg;
  readonly min: number;
  readonly max: number;
}

/**
 * What a match extension emits through. An extension loads the values it tests into r1 and r2
 * (load() for header fields: the compiler knows where each lies) and states its tests with
 * requireAll/requireAny; the compiler chooses how to branch (one branch per test, or one per rule
 * when the verifier's branch budget is tight). r0 and r3-r5 belong to the compiler; r6-r9 to the
 * program. Extensions do not touch the stack.
 */
export interface MatchEmitter {
  /** reg = header field `field` in host order, zero-extended (codegen/fields.ts lists them). */
  load(reg: Reg, field: FieldName): void;
  /**
   * reg = kernel field `field` of the packet (fields.ts KERNEL_FIELDS: skb->mark, skb->_nfct),
   * zero-extended to 64 bits. The rule is declined on a kernel without that field.
   */
  kernelField(reg: Reg, field: KernelFieldName): void;
  /**
   * reg (r2) = field `field` of the packet's conntrack entry (fields.ts CONNTRACK_FIELDS: its
   * status, its tuples' addresses, ports and protocol), zero-extended, 0 when it has none, read
   * from the entry with a helper call; r1, which must hold a value, is kept. The tests folded so
   * far are decided first (the call clobbers the registers they are folded in). The rule is
   * declined on a kernel whose BTF does not say where the field is.
   */
  conntrackField(reg: 2, field: ConntrackFieldName): void;
  /** Appends instructions (ALU on r1/r2; no jumps, no loads: use load()). */
  emit(...insns: Insn[]): void;
  /** The rule goes on only if (every test holds) XOR invert; [] holds. */
  requireAll(tests: readonly RangeTest[], invert: boolean): void;
  /** The rule goes on only if (some test holds) XOR invert; [] does not hold. */
  requireAny(tests: readonly RangeTest[], invert: boolean): void;
  /** The rule does not match. */
  never(): void;
  /**
   * The transport header as tcp/udp/icmp/multiport read it: a non-first fragment does not match
   * (with hotdropAtFragmentOne, fragment offset 1 hotdrops, as tcp_mt); fewer than `bytes` bytes
   * after the IP header hotdrop (skb_header_pointer failing). bytes <= 20.
   */
  transportHeader(bytes: number, hotdropAtFragmentOne: boolean): void;
  /**
   * A token bucket as xt_limit keeps one for its rule (one per rule, shared by every CPU and every
   * path to the rule; codegen/token_bucket.ts): falls through when the packet conforms, taking the
   * bucket's cost, and goes to the next rule when it does not. It has a side effect, so it runs
   * only when every test before it holds, as netfilter stops at the first match that fails.
   */
  tokenBucket(bucket: LimitMatch): void;
}

/** A match extension: one file of ext/, one line of the registry; T is its member of ir/matches.ts. */
export interface MatchExtension<T extends Match = Match> {
  /** The xt name, which is also T's kind. */
  readonly name: T["kind"];
  /** Revisions this implementation compiles. */
  readonly revisions: readonly number[];
  /**
   * sizeof its xt struct (xt_match.matchsize): GET_ENTRIES gives back this many bytes of the data
   * (userSize when the match has one) and zeros up to XT_ALIGN of it, whatever the replace put in
   * the padding. By revision when the revisions' structs differ.
   */
  readonly structSize: number | Readonly<Record<number, number>>;
  /** xt_match.usersize: the bytes GET_ENTRIES gives back when the kernel keeps state after them (limit). */
  readonly userSize?: number;
  /** IP protocol the rule must name with -p (not negated), as the kernel's xt_match.proto; 0 for none or several. */
  readonly proto: number;
  /** When proto is 0: protocols of which the rule must name one (multiport's checkentry); absent for any. */
  readonly protos?: readonly number[];
  /**
   * Decodes the xt data (XT_ALIGN'd size) and checks it as the kernel's checkentry; throws saying
   * what is wrong (UnsupportedFeature for valid data the compiler does not implement).
   */
  decode(data: Uint8Array, revision: number): T;
  /** Emits code that falls through when the match holds and jumps to em.noMatch when it does not. */
  emit(em: MatchEmitter, match: T): void;
  /** Short text of the decoded match, in iptables-save words. */
  describe(match: T): string;
  /**
   * The match reads the packet's conntrack entry: its checkentry takes a reference on the netns's
   * conntrack (nf_ct_netns_get), so a table using it must too (enforce/conntrack_ref.ts).
   */
  readonly conntrack?: boolean;
}

/**
 * An argument of a target's kfunc after the context: a u32, or bytes that the program passes as a
 * pointer and a size (the kfunc's `name, name__sz` pair; at most TARGET_BYTES_MAX bytes).
 */
export type KfuncArg = { readonly u32: number } | { readonly bytes: Uint8Array };

/** The most bytes a KfuncArg may pass (NF_LOG_PREFIXLEN rounded up to 8: the program's stack area). */
export const TARGET_BYTES_MAX = 32;

/**
 * A target extension: one file of ext/, one line of the registry; T is its member of ir/targets.ts.
 * The compiler does the target by calling `kfunc` (one of the series' kfuncs for netfilter programs,
 * patch "bpf, netfilter: add kfuncs for the REJECT, LOG and MARK targets") with the program's context
 * and args(); on a kernel without that kfunc, the table is handed to netfilter.
 */
export interface TargetExtension<T extends TargetAction = TargetAction> {
  /** The xt name ("REJECT"); T's kind is its lower case. */
  readonly name: string;
  readonly kind: T["kind"];
  /** Revisions this implementation compiles. */
  readonly revisions: readonly number[];
  /** sizeof its xt struct (xt_target.targetsize): GET_ENTRIES gives back this many bytes of the data. */
  readonly structSize: number;
  /** The kfunc that does what the target does. */
  readonly kfunc: string;
  /** What happens after the kfunc: "drop" ends the packet (NF_DROP), "continue" goes on with the next rule (XT_CONTINUE). */
  readonly then: "drop" | "continue";
  /**
   * Decodes the xt data (XT_ALIGN'd size) and checks it with the rule's ipt_ip as the kernel's
   * checkentry does; throws saying what is wrong (UnsupportedFeature for valid data the compiler
   * does not do exactly).
   */
  decode(data: Uint8Array, revision: number, ip: IpHeaderMatch): T;
  /** The kfunc's arguments after the context, in order. */
  args(target: T): readonly KfuncArg[];
  /** Short text of the decoded target, in iptables-save words ("-j REJECT --reject-with tcp-reset"). */
  describe(target: T): string;
}

/** The protocols of which a rule using the match must name one with -p; [] for any. */
export function requiredProtos(ext: MatchExtension): readonly number[] {
  return ext.proto !== 0 ? [ext.proto] : (ext.protos ?? []);
}

/**
 * Thrown by decode for data that is valid netfilter but that the compiler does not implement
 * (tcp --tcp-option): netfilter enforces the table. Any other decode error is data netfilter
 * itself refuses: netfilter judges it too, and its errno is the answer.
 */
export class UnsupportedFeature extends Error {
  override readonly name = "UnsupportedFeature";
}

/** XT_ALIGN: xt data sizes are rounded up to the alignment of struct _xt_align (8 on every ABI we run on). */
export function xtAlign(size: number): number {
  return (size + 7) & ~7;
}

/** Throws unless data is exactly XT_ALIGN(structSize) bytes, as xt_check_match/xt_check_target require. */
export function expectXtSize(what: string, data: Uint8Array, structSize: number): DataView {
  const want = xtAlign(structSize);
  if (data.length !== want) {
    throw new Error(`${what}: data is ${data.length} bytes, expected ${want} (XT_ALIGN(${structSize}))`);
  }
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

/** Types an extension's functions by its own member of Match, for the registry's list. */
export function defineMatch<T extends Match>(ext: MatchExtension<T>): MatchExtension {
  return ext as unknown as MatchExtension;
}

/** Types a target extension's functions by its own member of TargetAction, for the registry's list. */
export function defineTarget<T extends TargetAction>(ext: TargetExtension<T>): TargetExtension {
  return ext as unknown as TargetExtension;
}
