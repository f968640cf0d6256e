/**
 * What bpfilter status and dump print, per netns: who enforces the filter table and why, each rule
 * with its counters, the pinned programs, maps and links with their ids, the recent log, and (dump)
 * the programs' instructions annotated with the rule each block implements.
 */
import { join } from "node:path";
import { openPinnedMap } from "../bpf/index.ts";
import { readRuleCounters } from "../enforce/rule_counters.ts";
import type { XtCounters } from "../ipt/counters.ts";
import { decodeReplaceHeader, translateTable } from "../ipt/translate.ts";
import type { Table } from "../ir/types.ts";
import type { ProgramListing } from "../service/enforcer.ts";
import { planTable } from "../service/plan.ts";
import type { NetnsStatus } from "../service/status_store.ts";
import type { StoredTable } from "../service/table_store.ts";
import { type PinnedObject, pinnedObjects } from "./pinned_objects.ts";
import { describeRule } from "./rule_text.ts";

/** What the CLI knows of one netns. */
export interface NetnsReport {
  readonly status: NetnsStatus;
  /** The resolved table bpfilter holds (from the table store). */
  readonly table?: Table;
  /** Its counters, read from the pins (sum over CPUs plus ADD_COUNTERS). */
  readonly counters?: readonly XtCounters[];
  readonly objects: readonly PinnedObject[];
  /** Things that could not be read, said as they are. */
  readonly problems: readonly string[];
}

/** Gathers the report of one netns from its status, its stored table and its pins. */
export function gather(status: NetnsStatus, stored: StoredTable | undefined, pinRoot: string): NetnsReport {
  const problems: string[] = [];
  let table: Table | undefined;
  if (status.owner === "bpfilter" && stored?.owner === "bpfilter") {
    const plan = planTable(translateTable(decodeReplaceHeader(stored.replace, stored.replace.length), stored.replace));
    if (plan.kind === "compile") table = plan.table;
    else problems.push(`the stored table does not compile any more: ${plan.reason}`);
  }
  const dir = join(pinRoot, status.cookie, "filter");
  let objects: PinnedObject[] = [];
  let counters: XtCounters[] | undefined;
  try {
    objects = pinnedObjects(dir);
    if (table !== undefined && objects.some((o) => o.pin === "counters")) {
      const maps = { counters: openPinnedMap(join(dir, "counters")), offsets: openPinnedMap(join(dir, "offsets")) };
      try {
        counters = readRuleCounters(maps, table.entryCount);
      } finally {
        maps.counters.close();
        maps.offsets.close();
      }
    }
  } catch (err) {
    problems.push(`pins in ${dir}: ${(err as Error).message}`);
  }
  return { status, table, counters, objects, problems };
}

function counterText(c: XtCounters | undefined): string {
  return c === undefined ? "[-:-]" : `[${c.packets}:${c.bytes}]`;
}

/** The first line of a netns: "netns 4026532280 (pid 1234): filter: bpfilter, 12 rules, 12 compiled". */
export function headline(report: NetnsReport): string {
  const { status, table } = report;
  const who = [status.pid !== undefined ? `pid ${status.pid}` : undefined, `cookie ${status.cookie}`].filter(Boolean).join(", ");
  const netns = status.inode !== undefined ? `netns ${status.inode} (${who})` : `netns cookie ${status.cookie}${status.pid !== undefined ? ` (pid ${status.pid})` : ""}`;
  if (status.owner === "netfilter") return `${netns}: filter: netfilter: ${status.reason ?? "(no reason recorded)"}`;
  if (status.enforced !== true) return `${netns}: filter: bpfilter, netfilter's initial table (ACCEPT policies), nothing to enforce yet`;
  const rules = table === undefined ? status.rules : table.chains.reduce((n, c) => n + c.rules.length, 0);
  const compiled = status.compiled !== undefined ? `${status.compiled} compiled` : "compiled: not recorded (taken over from pins)";
  return `${netns}: filter: bpfilter, ${rules} rules, ${compiled}`;
}

/** Rule lines with counters, chain by chain. */
function ruleLines(table: Table, counters: readonly XtCounters[] | undefined): string[] {
  const lines: string[] = [];
  for (const chain of table.chains) {
    const policy = chain.policyCounterIndex === undefined ? "" : ` (policy ${chain.policy!.toUpperCase()} ${counterText(counters?.[chain.policyCounterIndex])})`;
    lines.push(`  chain ${chain.name}${policy}`);
    chain.rules.forEach((rule, i) => lines.push(`  ${String(i + 1).padStart(4)} ${counterText(counters?.[rule.counterIndex]).padEnd(14)} ${describeRule(rule)}`));
  }
  return lines;
}

function objectLines(objects: readonly PinnedObject[]): string[] {
  const of = (kind: PinnedObject["kind"]): string[] =>
    objects
      .filter((o) => o.kind === kind)
      .map((o) => `${o.name !== undefined && o.name !== "" ? o.name : o.pin} (${o.type}) id ${o.id}${o.progId !== undefined ? ` prog ${o.progId}` : ""} [pin ${o.pin}]`);
  return [
    ["programs", of("prog")],
    ["maps", of("map")],
    ["links", of("link")],
  ]
    .filter(([, list]) => list!.length > 0)
    .map(([label, list]) => `  ${label}: ${(list as string[]).join(", ")}`);
}

/** The status of one netns, as bpfilter status prints it; `logLines` recent log lines at most. */
export function statusText(report: NetnsReport, logLines: number): string[] {
  const lines = [headline(report)];
  if (report.status.owner === "netfilter") lines.push("  (netfilter holds its rules: iptables-legacy -L -v -n in that netns shows them)");
  if (report.table !== undefined) lines.push(...ruleLines(report.table, report.counters));
  lines.push(...objectLines(report.objects));
  for (const problem of report.problems) lines.push(`  cannot read: ${problem}`);
  const log = report.status.log.slice(-logLines);
  if (log.length > 0) {
    lines.push(`  log (last ${log.length} of ${report.status.log.length}):`);
    for (const entry of log) lines.push(`    ${entry.time} ${entry.line}`);
  }
  return lines;
}

/** What a rule start stands for: "rule 3 in chain INPUT: -p tcp ... [5:300]" or "policy of INPUT". */
function ruleLabels(table: Table | undefined, counters: readonly XtCounters[] | undefined): Map<number, string> {
  const labels = new Map<number, string>();
  for (const chain of table?.chains ?? []) {
    chain.rules.forEach((rule, i) => labels.set(rule.counterIndex, `rule ${i + 1} in chain ${chain.name}: ${describeRule(rule)} ${counterText(counters?.[rule.counterIndex])}`));
    if (chain.policyCounterIndex !== undefined) labels.set(chain.policyCounterIndex, `policy of ${chain.name}: ${chain.policy!.toUpperCase()} ${counterText(counters?.[chain.policyCounterIndex])}`);
  }
  return labels;
}

/** The programs' instructions (`programs`: their listings), each rule's block headed by the rule it implements. */
export function dumpText(report: NetnsReport, programs: readonly ProgramListing[]): string[] {
  if (report.status.owner !== "bpfilter" || report.status.enforced !== true) return [];
  if (programs.length === 0) return ["  no listing recorded for these programs (the helper that loaded them did not write one)"];
  const labels = ruleLabels(report.table, report.counters);
  const lines: string[] = [];
  for (const program of programs) {
    const loaded = report.objects.some((o) => o.kind === "prog" && o.id === program.id);
    const state = loaded ? "loaded" : "not pinned any more: this is the listing of the last apply";
    lines.push(`  program ${program.name} id ${program.id} (${program.chains.join(", ")}), ${program.text.length} instructions, ${state}`);
    const starts = new Map<number, number[]>();
    for (const s of program.ruleStarts) starts.set(s.insn, [...(starts.get(s.insn) ?? []), s.counterIndex]);
    if (!starts.has(0)) lines.push("    ; prologue: parse the packet");
    program.text.forEach((text, insn) => {
      for (const index of starts.get(insn) ?? []) lines.push(`    ; ${labels.get(index) ?? `entry ${index}`}`);
      lines.push(`    ${String(insn).padStart(5)}: ${text}`);
    });
  }
  return lines;
}
