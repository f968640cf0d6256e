/**
 * buildProgram(): one built-in chain of the filter table (and the user chains it reaches, inlined)
 * as one program of a flavor: the flavor's prologue, a stub for packets the table does not judge,
 * the chain's rules, its policy.
 */
import { ja } from "./asm/index.ts";
import type { Deadline } from "./deadline.ts";
import type { Table } from "../ir/types.ts";
import { ProgramBuilder } from "./builder.ts";
import { VerdictTails } from "./counters.ts";
import type { EmitMode } from "./emitter.ts";
import type { FilterHook, Flavor } from "./flavor.ts";
import { emitBuiltinChain } from "./rules.ts";
import { terminalTargets } from "./targets.ts";
import { bucketSlots } from "./token_bucket.ts";

/** How to emit the rules (compile.ts picks it from the verifier's branch budget). */
export interface BuildOptions {
  readonly mode: EmitMode;
  /** With mode "compact": emit the first this many rules guarded (faster per packet) and the rest compact. */
  readonly guardedRules?: number;
  /** When the compile must be done (see deadline.ts). */
  readonly deadline?: Deadline;
}

/** The per-rule mode function of BuildOptions. */
export function ruleModes(options: BuildOptions): () => EmitMode {
  let rules = 0;
  const guarded = options.guardedRules ?? 0;
  return () => (options.mode === "compact" && rules++ < guarded ? "guarded" : options.mode);
}

/** Emits the program of `hook`'s chain in `flavor`. */
export function buildProgram(flavor: Flavor, table: Table, hook: FilterHook, options: BuildOptions): ProgramBuilder {
  const b = new ProgramBuilder();
  const pass = b.label("pass");
  const rules = b.label("rules");
  flavor.prologue(b, pass);
  // The pass stub sits before the rules, so that the prologue's jumps to it stay short.
  b.emit(ja(rules));
  b.place(pass);
  b.emit(...flavor.epilogue(flavor.codes.accept));
  b.place(rules);
  const ctx = { b, table, flavor, hook, mode: ruleModes(options), tails: new VerdictTails(flavor, terminalTargets(table.chains)), deadline: options.deadline, buckets: bucketSlots(table) };
  emitBuiltinChain(ctx, table.chains.find((c) => c.hook === hook));
  return b;
}
