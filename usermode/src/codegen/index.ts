/** The compiler: IR table → netfilter programs (one per hook), the dispatcher, and the counters map they share. */
export { compileHook, compileTable, type CompiledProgram, type CompiledTable, type CompileOptions } from "./compile.ts";
export type { Decline } from "./decline.ts";
export type { Deadline } from "./deadline.ts";
export type { EmitMode } from "./emitter.ts";
export { COUNTERS_MAP, COUNTERS_MAP_NAME, COUNTER_VALUE_SIZE, countersMapSpec, type CountersMapSpec } from "./counters.ts";
export { FILTER_HOOKS, FILTER_HOOK_NAMES, FILTER_LINK_PRIORITIES, NF_HOOK_NUMBER, NF_IP_PRI_FILTER, type FilterHook } from "./hooks.ts";
export { NF_VERDICT, type NetfilterContextLayout } from "./layout.ts";
export {
  buildDispatcher,
  dispatchSlot,
  DISPATCHER_NAMES,
  GENERATION_MAP,
  GENERATION_VALUE,
  GENERATIONS,
  PROGRAMS_MAP,
  SLOTS_PER_GENERATION,
  type Dispatcher,
} from "./dispatcher.ts";
export { bucketInitialValues, bucketSlots, LIMIT_VALUE, LIMITS_MAP, LIMITS_MAP_NAME } from "./token_bucket.ts";
