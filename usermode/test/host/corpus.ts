/** Parses the iptables extensions/*.t rule vectors of shared/conformance (IPv4 filter-table lines only). */
import { readFileSync } from "node:fs";

/** One rule vector: append `rule` to `chain`; native netfilter decides the expected outcome. */
export interface RuleVector {
  readonly file: string;
  readonly line: number;
  readonly chain: string;
  readonly rule: string;
}

/** What the parser left out and why, to print. */
export interface Skipped {
  readonly count: number;
  readonly reason: string;
}

/** Reads a .t file; returns the IPv4 filter-table vectors and the skipped-line counts by reason. */
export function readVectors(path: string, file: string): { vectors: RuleVector[]; skipped: Skipped[] } {
  const vectors: RuleVector[] = [];
  const skipped = new Map<string, number>();
  const skip = (reason: string): void => {
    skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
  };
  let chains: string[] = [];
  let table = "filter";
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      if (line.startsWith("*")) {
        table = line.slice(1);
        return;
      }
      if (line.startsWith(":")) {
        chains = line.slice(1).split(",");
        return;
      }
      let rule = line.split(";")[0]!;
      if (rule.startsWith("-6 ")) return skip("IPv6-only line");
      if (rule.startsWith("-4 ")) rule = rule.slice(3);
      if (table !== "filter") return skip(`table ${table} is not served by bpfilter`);
      for (const chain of chains) {
        if (["INPUT", "FORWARD", "OUTPUT"].includes(chain)) vectors.push({ file, line: i + 1, chain, rule });
        else skip(`chain ${chain} is not in the filter table`);
      }
    });
  return { vectors, skipped: [...skipped].map(([reason, count]) => ({ reason, count })) };
}
