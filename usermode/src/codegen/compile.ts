/** compileHook(): the program of one built-in chain of an IR table, or a decline; compileTable(): all three. */
import type { Table } from "../ir/types.ts";
import { assemble, disassemble, pendingBranchDepth, type Insn, type KfuncRef, type MapRef } from "./asm/index.ts";
import type { EmitMode } from "./emitter.ts";
import { RULE_LABEL } from "./rules.ts";
import { catchDecline, DeclineError, type Decline } from "./decline.ts";
import { checkDeadline, type Deadline } from "./deadline.ts";
import { FILTER_HOOK_NAMES, FILTER_HOOKS, type FilterHook } from "./hooks.ts";
import type { NetfilterContextLayout } from "./layout.ts";
import { netfilterFlavor } from "./netfilter.ts";
import { buildProgram } from "./program.ts";
import type { Flavor } from "./flavor.ts";

/** A compiled program, ready for bpf/ loadProgram. */
export interface CompiledProgram {
  readonly declined?: false;
  /** The chain it enforces. */
  readonly hook: FilterHook;
  /** Its name in the kernel (bpftool prog show). */
  readonly name: string;
  readonly progType: Flavor["progType"];
  readonly insns: Uint8Array;
  readonly mapRefs: readonly MapRef[];
  readonly kfuncRefs: readonly KfuncRef[];
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
  /** The running kernel's struct offsets (bpf/ netfilterContextLayout()). */
  readonly kernel: NetfilterContextLayout;
  /** Force one emit mode (tests); by default fast, and compact when fast is too branchy for the verifier. */
  readonly mode?: EmitMode;
  /** When compiling must be done: past it the table is declined (see deadline.ts). */
  readonly deadline?: Deadline;
}

/** BPF_COMPLEXITY_LIMIT_JMP_SEQ: the verifier refuses more pending branch states (with a little headroom). */
export const MAX_PENDING_BRANCHES = 8000;

function finish(flavor: Flavor, hook: FilterHook, insns: readonly Insn[]): CompiledProgram {
  let assembled;
  try {
    assembled = assemble(insns);
  } catch (e) {
    throw new DeclineError(`${hook} program: ${(e as Error).message}`);
  }
  return {
    hook,
    name: FILTER_HOOKS[hook].program,
    progType: flavor.progType,
    insns: assembled.insns,
    mapRefs: assembled.mapRefs,
    kfuncRefs: assembled.kfuncRefs,
    text: disassemble(assembled.insns, assembled.mapRefs, assembled.kfuncRefs),
    ruleStarts: ruleStarts(insns),
  };
}

/**
 * Builds the program in fast mode (a branch per test), and again in guarded then compact mode
 * (fewer branches, more instructions run per packet) while the verifier would keep too many
 * branches pending. When only compact fits, as many leading rules as the budget allows stay
 * guarded. Declines when even compact is too branchy.
 */
function build(flavor: Flavor, table: Table, hook: FilterHook, forced: EmitMode | undefined, deadline: Deadline | undefined): Insn[] {
  const attempt = (mode: EmitMode, guardedRules = 0): { insns: Insn[]; depth: number } => {
    const insns = buildProgram(flavor, table, hook, { mode, guardedRules, deadline }).finish();
    checkDeadline(deadline, `${hook} program, ${mode} mode`);
    return { insns, depth: pendingBranchDepth(insns) };
  };
  if (forced !== undefined) {
    const result = attempt(forced);
    if (result.depth <= MAX_PENDING_BRANCHES) return result.insns;
    throw tooBranchy(hook, result.depth);
  }
  const fast = attempt("fast");
  if (fast.depth <= MAX_PENDING_BRANCHES) return fast.insns;
  const guarded = attempt("guarded");
  if (guarded.depth <= MAX_PENDING_BRANCHES) return guarded.insns;
  const compact = attempt("compact");
  if (compact.depth > MAX_PENDING_BRANCHES) throw tooBranchy(hook, compact.depth);
  // Guarded rules cost about (guarded - compact) / rules pending states each: keep the leading ones.
  const rules = reachedRules(table, hook);
  const perRule = Math.max(1e-6, (guarded.depth - compact.depth) / Math.max(1, rules));
  let guardedRules = Math.floor(((MAX_PENDING_BRANCHES - compact.depth) / perRule) * 0.9);
  for (let tries = 0; tries < 3 && guardedRules > 0; tries++, guardedRules = Math.floor(guardedRules * 0.8)) {
    const mixed = attempt("compact", guardedRules);
    if (mixed.depth <= MAX_PENDING_BRANCHES) return mixed.insns;
  }
  return compact.insns;
}

/** The rules a hook's program emits, user chains counted once per jump into them (they are inlined). */
function reachedRules(table: Table, hook: FilterHook): number {
  const byName = new Map(table.chains.map((c) => [c.name, c]));
  const count = (name: string, depth: number): number => {
    const chain = byName.get(name);
    if (chain === undefined || depth > table.chains.length) return 0;
    return chain.rules.reduce((n, rule) => {
      const v = rule.verdict;
      return n + 1 + (v.kind === "jump" || v.kind === "goto" ? count(v.chain, depth + 1) : 0);
    }, 0);
  };
  const chain = table.chains.find((c) => c.hook === hook);
  return chain === undefined ? 0 : count(chain.name, 0);
}

function tooBranchy(hook: FilterHook, depth: number): DeclineError {
  return new DeclineError(
    `${hook} program: the verifier would keep ${depth} branches pending, more than the kernel's 8192 ` +
      "(BPF_COMPLEXITY_LIMIT_JMP_SEQ): too many rules or jumps into user chains for one program",
  );
}

function compileWith(flavor: Flavor, table: Table, hook: FilterHook, options: CompileOptions): CompiledProgram | Decline {
  return catchDecline(() => {
    try {
      const program = finish(flavor, hook, build(flavor, table, hook, options.mode, options.deadline));
      checkDeadline(options.deadline, `${hook} program, assembled`);
      return program;
    } catch (e) {
      if (e instanceof RangeError) throw new DeclineError(`${hook} program: ${e.message}`);
      throw e;
    }
  });
}

/**
 * Compiles the program of `hook`'s chain from a resolved table (ir/resolve.ts); what it cannot build
 * faithfully (the verifier's limits) is declined.
 */
export function compileHook(table: Table, hook: FilterHook, options: CompileOptions): CompiledProgram | Decline {
  return compileWith(netfilterFlavor(options.kernel), table, hook, options);
}

/** The programs of a table's three hooks. */
export interface CompiledTable {
  readonly declined?: false;
  readonly programs: Readonly<Record<FilterHook, CompiledProgram>>;
}

/** Compiles INPUT, FORWARD and OUTPUT; the first decline declines the table. */
export function compileTable(table: Table, options: CompileOptions): CompiledTable | Decline {
  const flavor = netfilterFlavor(options.kernel);
  const programs: Partial<Record<FilterHook, CompiledProgram>> = {};
  for (const hook of FILTER_HOOK_NAMES) {
    const program = compileWith(flavor, table, hook, options);
    if (program.declined === true) return program;
    programs[hook] = program;
  }
  return { programs: programs as CompiledTable["programs"] };
}
