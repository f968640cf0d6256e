/**
 * netfilter's initial filter table (iptable_filter.c, ipt_alloc_initial_table): INPUT, FORWARD
 * and OUTPUT with policy ACCEPT, then the final ERROR entry; 4 entries, 632 bytes.
 */
import { NF_INET_HOOK } from "../ir/types.ts";
import { STD_VERDICT } from "./abi.ts";
import { encodeEntry, encodeReplace } from "./entry_builder.ts";
import { decodeReplaceHeader, type TranslatedTable, translateTable } from "./translate.ts";

/** valid_hooks of the filter table: INPUT, FORWARD, OUTPUT. */
export const FILTER_VALID_HOOKS = (1 << NF_INET_HOOK.INPUT) | (1 << NF_INET_HOOK.FORWARD) | (1 << NF_INET_HOOK.OUTPUT);

/** The ipt_replace request that describes the initial filter table. */
export function initialFilterReplace(): Uint8Array {
  const policy = encodeEntry({ target: { kind: "standard", verdict: STD_VERDICT.ACCEPT } });
  const error = encodeEntry({ target: { kind: "error", errorName: "ERROR" } });
  const hookEntry = [0, 0, policy.byteLength, 2 * policy.byteLength, 0];
  return encodeReplace(
    { name: "filter", validHooks: FILTER_VALID_HOOKS, hookEntry, underflow: hookEntry, numCounters: 4 },
    [policy, policy, policy, error],
  );
}

/** The initial filter table in kernel form, as a fresh netns's netfilter holds it. */
export function initialFilterTable(): TranslatedTable {
  const request = initialFilterReplace();
  return translateTable(decodeReplaceHeader(request, request.byteLength), request);
}
