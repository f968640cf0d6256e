/**
 * Target extensions in a program: a call of the target's kfunc (ext/types.ts TargetExtension) with
 * the program's context and the target's arguments. The compiler emits no kfunc the running kernel
 * lacks: such a rule leaves the table to netfilter, saying which kfunc and where it comes from.
 */
import { add, kfuncCall, mov, st } from "./asm/index.ts";
import type { Reg } from "./asm/index.ts";
import { targetOf } from "../ext/registry.ts";
import { TARGET_BYTES_MAX, type TargetExtension } from "../ext/types.ts";
import type { Chain, TargetAction } from "../ir/types.ts";
import type { ProgramBuilder } from "./builder.ts";
import { DeclineError } from "./decline.ts";
import type { Flavor } from "./flavor.ts";
import { REG, STACK } from "./layout.ts";

/** Declines unless the kernel has the kfunc of the rule's target (where: "rule 3 in chain INPUT"). */
export function requireKfunc(flavor: Flavor, ext: TargetExtension, where: string): void {
  if (flavor.hasKfunc(ext.kfunc)) return;
  throw new DeclineError(
    `${where}: target '${ext.name}' needs kfunc ${ext.kfunc}, which this kernel does not have ` +
      "(the bpfilter series' CONFIG_NETFILTER_BPF_KFUNCS; as a module, nf_bpf_kfuncs must be loaded)",
  );
}

/** The terminal target verdicts of a chain list (REJECT), one per distinct action, in first-use order. */
export function terminalTargets(chains: readonly Chain[]): TargetAction[] {
  const seen = new Map<string, TargetAction>();
  for (const chain of chains) {
    for (const rule of chain.rules) {
      const ext = targetOf(rule.verdict);
      if (ext?.then !== "drop") continue;
      const action = rule.verdict as TargetAction;
      seen.set(actionKey(action), action);
    }
  }
  return [...seen.values()];
}

/** A key that is equal for equal actions (the tail of a terminal target is shared by its rules). */
export function actionKey(action: TargetAction): string {
  return JSON.stringify(action);
}

/**
 * Emits the call of the target's kfunc: r1 = ctx, then each argument in the next register (bytes
 * as pointer and size: copied to STACK.TARGET_BYTES, zero-padded to 4 bytes). Clobbers r0-r5.
 */
export function emitTargetCall(b: ProgramBuilder, ext: TargetExtension, action: TargetAction): void {
  b.emit(mov.reg(1, REG.ctx));
  let reg = 2;
  const next = (): Reg => {
    if (reg > 5) throw new Error(`target '${ext.name}': its kfunc's arguments need more than 5 registers`);
    return reg++ as Reg;
  };
  for (const arg of ext.args(action)) {
    if ("u32" in arg) {
      b.emit(mov.imm32(next(), arg.u32 | 0));
      continue;
    }
    const bytes = arg.bytes;
    if (bytes.length === 0 || bytes.length > TARGET_BYTES_MAX) throw new Error(`target '${ext.name}': ${bytes.length} bytes for its kfunc (1-${TARGET_BYTES_MAX})`);
    const words = new Uint8Array((bytes.length + 3) & ~3);
    words.set(bytes);
    const view = new DataView(words.buffer);
    for (let at = 0; at < words.length; at += 4) b.emit(st("u32", 10, STACK.TARGET_BYTES + at, view.getInt32(at, true)));
    const pointer = next();
    b.emit(mov.reg(pointer, 10), add.imm(pointer, STACK.TARGET_BYTES));
    b.emit(mov.imm32(next(), bytes.length));
  }
  b.emit(kfuncCall(ext.kfunc));
}
