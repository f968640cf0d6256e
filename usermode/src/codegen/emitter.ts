/**
 * The match emitter: extensions state tests (requireAll / requireAny), and this file turns them
 * into BPF in one of two modes. "fast" branches to the next rule on the first failing test (few
 * instructions run). "compact" folds every test of a rule into a fail bit in r5 and branches once:
 * the verifier keeps a pending state for every extra branch to the next rule and refuses more
 * than 8192, so large rulesets need it.
 */
import { and, exit, ja, jeq, jgt, jle, jne, ldImm64, ldx, mov, neg, or, rsh, stx, sub, toBe, xor, type Insn, type Reg } from "./asm/index.ts";
import type { MatchEmitter, RangeTest } from "../ext/types.ts";
import { REG, STACK, TRANSPORT } from "./layout.ts";
import { FIELDS, type FieldLocation, type FieldName } from "./fields.ts";
import { emitLoadFragmentOffset } from "./transport.ts";
import type { ProgramBuilder } from "./builder.ts";
import type { ConntrackFieldName, KernelFieldName } from "./fields.ts";
import { DeclineError } from "./decline.ts";
import type { LimitMatch } from "../ir/matches.ts";

/**
 * How tests become branches: "fast" one per test; "guarded" one for the rule's first test (most
 * packets leave the rule there) and the rest folded; "compact" one per rule.
 */
export type EmitMode = "fast" | "guarded" | "compact";

/** A MatchEmitter for one rule; finish() emits its last branch (compact mode). */
export interface RuleEmitter extends MatchEmitter {
  finish(): void;
}

/** Instructions that leave field `name` in host order in reg (zero-extended); r0-r5 but reg untouched. */
export function fieldLoad(reg: Reg, name: FieldName): Insn[] {
  const field: FieldLocation = FIELDS[name];
  const swap = (bits: 16 | 32): Insn[] => [toBe(reg, bits)];
  if (field.header === "ip") {
    const size = ({ 1: "u8", 2: "u16", 4: "u32" } as const)[field.size];
    return [ldx(size, reg, REG.iph, field.offset), ...(field.size === 1 ? [] : swap(field.size === 2 ? 16 : 32))];
  }
  if (field.size === 1 && field.offset === TRANSPORT.TCP_FLAGS_OFFSET) {
    return [mov.reg(reg, TRANSPORT.facts), rsh.imm(reg, TRANSPORT.FLAGS_SHIFT)];
  }
  if (field.offset + field.size > TRANSPORT.FIRST_WORD_BYTES) {
    throw new Error(`field '${name}': only the first ${TRANSPORT.FIRST_WORD_BYTES} transport bytes and the TCP flags are kept`);
  }
  const out: Insn[] = [mov.reg32(reg, TRANSPORT.firstWord)];
  if (field.offset > 0) out.push(rsh.imm32(reg, field.offset * 8));
  out.push(field.size === 1 ? and.imm32(reg, 0xff) : toBe(reg, field.size === 2 ? 16 : 32));
  return out;
}

const ACC: Reg = 5;
const BIT: Reg = 3;
const COMBINED: Reg = 4;
const TEMP: Reg = 0;

function checkTest(t: RangeTest): void {
  if (t.min > t.max) throw new Error(`test of r${t.reg}: empty range ${t.min}..${t.max}`);
}

/** Fast mode: jump to `to` when the value is outside the range. */
function jumpIfOut(b: ProgramBuilder, t: RangeTest, to: string): void {
  checkTest(t);
  if (t.min === t.max) b.emit(jne.imm32(t.reg, t.min, to));
  else if (t.min === 0) b.emit(jgt.imm32(t.reg, t.max, to));
  else b.emit(mov.reg32(COMBINED, t.reg), sub.imm32(COMBINED, t.min), jgt.imm32(COMBINED, t.max - t.min, to));
}

/** Fast mode: jump to `to` when the value is inside the range. */
function jumpIfIn(b: ProgramBuilder, t: RangeTest, to: string): void {
  checkTest(t);
  if (t.min === t.max) b.emit(jeq.imm32(t.reg, t.min, to));
  else if (t.min === 0) b.emit(jle.imm32(t.reg, t.max, to));
  else b.emit(mov.reg32(COMBINED, t.reg), sub.imm32(COMBINED, t.min), jle.imm32(COMBINED, t.max - t.min, to));
}

/** Compact mode: BIT = 1 when the value is outside the range, else 0 (no branch). */
function bitOut(b: ProgramBuilder, t: RangeTest): void {
  checkTest(t);
  if (t.min === t.max) {
    // (u32)(v ^ k) != 0  <=>  -(u64)(v ^ k) has its sign bit set
    b.emit(mov.reg32(BIT, t.reg));
    if (t.min !== 0) b.emit(xor.imm32(BIT, t.min));
    b.emit(neg(BIT), rsh.imm(BIT, 63));
    return;
  }
  // v < min or v > max  <=>  ((v - min) | (max - v)) < 0 in 64-bit arithmetic on u32 values
  // (imm is sign-extended: constants from 2^31 up are loaded with LD_IMM64)
  b.emit(mov.reg32(BIT, t.reg));
  if (t.min >= 0x8000_0000) b.emit(ldImm64(TEMP, t.min), sub.reg(BIT, TEMP));
  else if (t.min !== 0) b.emit(sub.imm(BIT, t.min));
  b.emit(t.max >= 0x8000_0000 ? ldImm64(TEMP, t.max) : mov.imm(TEMP, t.max), sub.reg(TEMP, t.reg));
  b.emit(or.reg(BIT, TEMP), rsh.imm(BIT, 63));
}

/** Where kernel fields are read (the flavor's kernelField); undefined for a field the kernel lacks. */
export type KernelFieldLoad = (field: KernelFieldName, reg: Reg) => readonly Insn[] | undefined;

const noKernelFields: KernelFieldLoad = () => undefined;

/** Where a field of the packet's conntrack entry is read (the flavor's conntrackField); undefined when the kernel does not say. */
export type ConntrackFieldLoad = (field: ConntrackFieldName, reg: Reg) => readonly Insn[] | undefined;

const noConntrackFields: ConntrackFieldLoad = () => undefined;

/** Emits a limit match's token bucket (rules.ts: codegen/token_bucket.ts with the rule's slot); jumps to noMatch when over the limit. */
export type BucketEmit = (bucket: LimitMatch, noMatch: string) => void;

const noBuckets: BucketEmit = () => {
  throw new DeclineError("match 'limit' is not compiled here");
};

/**
 * A RuleEmitter writing to b; failing tests go to noMatch, hotdrops return dropCode; kernel fields
 * are read with kernelField.
 */
export function ruleEmitter(
  b: ProgramBuilder,
  noMatch: string,
  dropCode: number,
  ruleMode: EmitMode,
  kernelField: KernelFieldLoad = noKernelFields,
  bucket: BucketEmit = noBuckets,
  conntrackField: ConntrackFieldLoad = noConntrackFields,
): RuleEmitter {
  let accUsed = false;
  let tests = 0;
  /** The mode of the next test: guarded branches on the first one only. */
  const next = (): "fast" | "compact" => (ruleMode === "guarded" ? (tests++ === 0 ? "fast" : "compact") : ruleMode);
  /** The mode of a hotdrop check: compact once the accumulator holds folded tests. */
  const hotdropMode = (): "fast" | "compact" => (accUsed ? "compact" : "fast");
  const accOr = (reg: Reg): void => {
    b.emit(accUsed ? or.reg(ACC, reg) : mov.reg(ACC, reg));
    accUsed = true;
  };
  /** Leaves the OR of the tests' out-bits (or in-bits) in the returned register. */
  const combine = (tests: readonly RangeTest[], inverted: boolean): Reg => {
    tests.forEach((t, i) => {
      bitOut(b, t);
      if (inverted) b.emit(xor.imm(BIT, 1));
      if (tests.length > 1) b.emit(i === 0 ? mov.reg(COMBINED, BIT) : or.reg(COMBINED, BIT));
    });
    return tests.length > 1 ? COMBINED : BIT;
  };
  const hotdropIfIn = (t: RangeTest): void => {
    const ok = b.label("not_hotdrop");
    if (hotdropMode() === "fast") {
      jumpIfOut(b, t, ok);
    } else {
      bitOut(b, t);
      b.emit(xor.imm(BIT, 1));
      if (accUsed) b.emit(mov.reg(COMBINED, ACC), xor.imm(COMBINED, 1), and.reg(BIT, COMBINED));
      b.emit(jeq.imm(BIT, 0, ok));
    }
    b.emit(mov.imm(0, dropCode), exit());
    b.place(ok);
  };
  /** Branches on the tests folded so far (before a call, which clobbers ACC). */
  const decideFolded = (): void => {
    if (accUsed) b.emit(jne.imm(ACC, 0, noMatch));
    accUsed = false;
  };
  const never = (): void => {
    if (ruleMode !== "compact") {
      b.emit(ja(noMatch));
    } else {
      b.emit(accUsed ? or.imm(ACC, 1) : mov.imm(ACC, 1));
      accUsed = true;
    }
  };
  return {
    emit: (...insns) => b.emit(...insns),
    load: (reg, field) => b.emit(...fieldLoad(reg, field)),
    kernelField(reg, field) {
      const insns = kernelField(field, reg);
      if (insns === undefined) throw new DeclineError(`this kernel has no ${field} (sk_buff member missing from its BTF)`);
      b.emit(...insns);
    },
    never,
    requireAll(tests, invert) {
      if (tests.length === 0) {
        if (invert) never();
        return;
      }
      if (next() === "compact") {
        const fails = combine(tests, false); // some test fails
        if (invert) b.emit(xor.imm(fails, 1));
        accOr(fails);
      } else if (!invert) {
        for (const t of tests) jumpIfOut(b, t, noMatch);
      } else if (tests.length === 1) {
        jumpIfIn(b, tests[0]!, noMatch); // negation folded into the jump opcode
      } else {
        const ok = b.label("some_test_fails");
        for (const t of tests) jumpIfOut(b, t, ok);
        b.emit(ja(noMatch));
        b.place(ok);
      }
    },
    requireAny(tests, invert) {
      if (tests.length === 0) {
        if (!invert) never();
        return;
      }
      if (next() === "compact") {
        const holds = combine(tests, true); // some test holds
        if (!invert) b.emit(xor.imm(holds, 1));
        accOr(holds);
      } else if (invert) {
        for (const t of tests) jumpIfIn(b, t, noMatch);
      } else if (tests.length === 1) {
        jumpIfOut(b, tests[0]!, noMatch);
      } else {
        const hit = b.label("some_test_holds");
        for (const t of tests) jumpIfIn(b, t, hit);
        b.emit(ja(noMatch));
        b.place(hit);
      }
    },
    transportHeader(bytes, hotdropAtFragmentOne) {
      if (bytes < 1 || bytes > TRANSPORT.MAX_BYTES) throw new Error(`transportHeader: ${bytes} bytes; 1..${TRANSPORT.MAX_BYTES} are known`);
      emitLoadFragmentOffset(b, 1);
      if (hotdropAtFragmentOne) hotdropIfIn({ reg: 1, min: 1, max: 1 });
      this.requireAll([{ reg: 1, min: 0, max: 0 }], false);
      b.emit(mov.reg32(1, TRANSPORT.facts), and.imm32(1, 0xffff));
      hotdropIfIn({ reg: 1, min: 0, max: bytes - 1 });
    },
    conntrackField(reg, field) {
      const insns = conntrackField(field, reg);
      if (insns === undefined) {
        throw new DeclineError(
          `the program cannot read the conntrack entry's ${field} on this kernel: struct nf_conn must be in its BTF (built in, or module nf_conntrack loaded)` +
            (field === "ct.expires" ? ", and its CONFIG_HZ known" : ""),
        );
      }
      decideFolded(); // the call clobbers ACC
      b.emit(stx("u64", 10, STACK.CT_KEEP, 1), ...insns, ldx("u64", 1, 10, STACK.CT_KEEP));
    },
    tokenBucket(m) {
      // A side effect: the tests folded so far must hold first (netfilter stops at the first match that fails).
      decideFolded();
      bucket(m, noMatch);
    },
    finish() {
      if (accUsed) b.emit(jne.imm(ACC, 0, noMatch));
    },
  };
}
