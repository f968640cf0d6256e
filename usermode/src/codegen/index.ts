/** The compiler: IR table → XDP/TC programs, with the counters map they share. */
export { compileHook, compileProgram, type AttachPoint, type CompiledProgram, type CompileOptions } from "./compile.ts";
export type { Decline } from "./decline.ts";
export type { EmitMode } from "./emitter.ts";
export { COUNTERS_MAP, COUNTER_VALUE_SIZE, countersMapSpec, type CountersMapSpec } from "./counters.ts";
export { XDP_ACTION } from "./ingress.ts";
export { TC_ACTION } from "./egress.ts";
