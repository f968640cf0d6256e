/** compileHook(): one IR table to the BPF program of one attach point, or a decline. */
import type { Table } from "../ir/types.ts";
import { assemble, disassemble, pendingBranchDepth, type Insn, type MapRef } from "./asm/index.ts";
import type { EmitMode } from "./emitter.ts";
import { RULE_LABEL } from "./rules.ts";
import { buildIngress } from "./ingress.ts";
import { buildEgress } from "./egress.ts";
import { catchDecline, DeclineError, type Decline } from "./decline.ts";

/** Where a program attaches: XDP on ingress (INPUT and FORWARD), TC on egress (OUTPUT). */
export type AttachPoint = "ingress" | "egress";

/** A compiled program, ready for bpf/ loadProgram. */
export interface CompiledProgram {
  readonly declined?: false;
  readonly hook: AttachPoint;
  /** The iptables chains the program enforces. */
  readonly chains: readonly ("INPUT" | "FORWARD" | "OUTPUT")[];
  readonly progType: "xdp" | "sched_cls";
  readonly insns: Uint8Array;
  readonly mapRefs: readonly MapRef[];
  /** Disassembly, one line per instruction. */
  readonly text: readonly string[];
  /**
   * Where the code of each rule and policy starts in `text`, by counterIndex, in program order (a
   * rule of a user chain appears once per jump that inlines it; one with no reachable code, not at all).
   */
  readonly ruleStarts: readonly { readonly insn: number; readonly counterIndex: number }[];
}

/** The rule starts that emitRule and emitBuiltinChain mark with RULE_LABEL labels. */
function ruleStarts(insns: readonly Insn[]): CompiledProgram["ruleStarts"] {
  const starts: { insn: number; counterIndex: number }[] = [];
  insns.forEach((ins, insn) => {
    for (const label of ins.labels ?? []) {
      if (label.startsWith(RULE_LABEL)) starts.push({ insn, counterIndex: Number.parseInt(label.slice(RULE_LABEL.length), 10) });
    }
  });
  return starts;
}

/** Options of the compiler. */
export interface CompileOptions {
  /** Interface name → ifindex in the target netns; without it, rules with -i/-o are declined. */
  readonly ifindexByName?: ReadonlyMap<string, number>;
  /** Force one emit mode (tests); by default fast, and compact when fast is too branchy for the verifier. */
  readonly mode?: EmitMode;
}

/** BPF_COMPLEXITY_LIMIT_JMP_SEQ: the verifier refuses more pending branch states (with a little headroom). */
export const MAX_PENDING_BRANCHES = 8000;

function finish(hook: AttachPoint, insns: readonly Insn[]): CompiledProgram {
  let assembled;
  try {
    assembled = assemble(insns);
  } catch (e) {
    throw new DeclineError(`${hook} program: ${(e as Error).message}`);
  }
  return {
    hook,
    chains: hook === "ingress" ? ["INPUT", "FORWARD"] : ["OUTPUT"],
    progType: hook === "ingress" ? "xdp" : "sched_cls",
    insns: assembled.insns,
    mapRefs: assembled.mapRefs,
    text: disassemble(assembled.insns, assembled.mapRefs),
    ruleStarts: ruleStarts(insns),
  };
}

/**
 * Builds the program in fast mode (a branch per test), and again in guarded then compact mode
 * (fewer branches, more instructions run per packet) while the verifier would keep too many
 * branches pending. When only compact fits, as many leading rules as the budget allows stay
 * guarded. Declines when even compact is too branchy.
 */
function build(table: Table, hook: AttachPoint, options: CompileOptions): Insn[] {
  const builder = hook === "ingress" ? buildIngress : buildEgress;
  const attempt = (mode: EmitMode, guardedRules = 0): { insns: Insn[]; depth: number } => {
    const insns = builder(table, { ...options, mode, guardedRules }).finish();
    return { insns, depth: pendingBranchDepth(insns) };
  };
  if (options.mode !== undefined) {
    const forced = attempt(options.mode);
    if (forced.depth <= MAX_PENDING_BRANCHES) return forced.insns;
    throw tooBranchy(hook, forced.depth);
  }
  const fast = attempt("fast");
  if (fast.depth <= MAX_PENDING_BRANCHES) return fast.insns;
  const guarded = attempt("guarded");
  if (guarded.depth <= MAX_PENDING_BRANCHES) return guarded.insns;
  const compact = attempt("compact");
  if (compact.depth > MAX_PENDING_BRANCHES) throw tooBranchy(hook, compact.depth);
  // Guarded rules cost about (guarded - compact) / rules pending states each: keep the leading ones.
  const rules = table.chains.reduce((n, c) => n + c.rules.length, 0);
  const perRule = Math.max(1e-6, (guarded.depth - compact.depth) / Math.max(1, rules));
  let guardedRules = Math.floor(((MAX_PENDING_BRANCHES - compact.depth) / perRule) * 0.9);
  for (let tries = 0; tries < 3 && guardedRules > 0; tries++, guardedRules = Math.floor(guardedRules * 0.8)) {
    const mixed = attempt("compact", guardedRules);
    if (mixed.depth <= MAX_PENDING_BRANCHES) return mixed.insns;
  }
  return compact.insns;
}

function tooBranchy(hook: AttachPoint, depth: number): DeclineError {
  return new DeclineError(
    `${hook} program: the verifier would keep ${depth} branches pending, more than the kernel's 8192 ` +
      "(BPF_COMPLEXITY_LIMIT_JMP_SEQ): too many rules or jumps into user chains for one program",
  );
}

/** Compiles the program of an attach point from a resolved table (ir/resolve.ts); what it cannot build faithfully is declined. */
export function compileProgram(table: Table, hook: AttachPoint, options: CompileOptions = {}): CompiledProgram | Decline {
  return catchDecline(() => {
    try {
      return finish(hook, build(table, hook, options));
    } catch (e) {
      if (e instanceof RangeError) throw new DeclineError(`${hook} program: ${e.message}`);
      throw e;
    }
  });
}

/** The program that enforces a hook: INPUT and FORWARD share the XDP ingress program, OUTPUT is TC egress. */
export function compileHook(table: Table, hook: "INPUT" | "OUTPUT" | "FORWARD", options: CompileOptions = {}): CompiledProgram | Decline {
  return compileProgram(table, hook === "OUTPUT" ? "egress" : "ingress", options);
}
