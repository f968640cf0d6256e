/**
 * Keeps the filter table of each netns across helper restarts: the enforcing side keeps the
 * rules enforced (pinned programs and maps), and a restarted helper must describe those same
 * rules, so every accepted replace and every decline is written to a state directory, one file
 * per netns cookie (cookies are never reused while the system runs). A replace is written twice:
 * staged (beside the table before it, with the generation it goes to) just before the swap, and
 * alone after it; a helper that died in between learns which one is enforced from the generation.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A replace being swapped in as the record was written: its ipt_replace bytes and the generation it goes to. */
export interface StagedTable {
  readonly replace: Uint8Array;
  readonly generation: number;
}

/** What is kept of one netns's filter table. */
export type StoredTable =
  /**
   * bpfilter serves the table: the ipt_replace bytes (header and entries) it was set with.
   * `takeover`: it was taken from netfilter by a replace the helper died in, after the swap:
   * netfilter's own table may still hold the rules before it (handover.ts finishHandover).
   */
  | { readonly owner: "bpfilter"; readonly replace: Uint8Array; readonly staged?: StagedTable; readonly takeover?: true }
  /** netfilter owns the table since a decline; `staged`: a replace taking it over was being swapped in. */
  | { readonly owner: "netfilter"; readonly reason: string; readonly staged?: StagedTable }
  /** Nothing enforced yet (the initial table), and a first replace being swapped in. */
  | { readonly owner: "none"; readonly staged: StagedTable };

/**
 * What a record says once the enforcing side's generation is known: a staged replace is the table
 * if the enforced generation is the one it went to (the swap happened and the helper died before
 * it wrote the record again), else the table before it is. Undefined: nothing stored is enforced.
 */
export function settleStored(stored: StoredTable, generation: number | undefined): Exclude<StoredTable, { owner: "none" }> | undefined {
  const swapped = stored.staged !== undefined && stored.staged.generation === generation;
  if (stored.owner === "netfilter") {
    return swapped ? { owner: "bpfilter", replace: stored.staged!.replace, takeover: true } : { owner: "netfilter", reason: stored.reason };
  }
  const takeover = stored.owner === "bpfilter" && stored.takeover === true ? { takeover: true as const } : {};
  if (swapped) return { owner: "bpfilter", replace: stored.staged!.replace, ...takeover };
  return stored.owner === "none" ? undefined : { owner: "bpfilter", replace: stored.replace, ...takeover };
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "base64"));

interface StoredJson {
  owner: string;
  replace?: string;
  reason?: string;
  staged?: { replace?: string; generation?: number };
  takeover?: boolean;
}

function stagedOf(json: StoredJson): StagedTable | undefined {
  const staged = json.staged;
  if (staged === undefined) return undefined;
  if (typeof staged.replace !== "string" || typeof staged.generation !== "number") throw new Error("'staged' needs 'replace' and 'generation'");
  return { replace: bytes(staged.replace), generation: staged.generation };
}

/** Where the per-netns tables are kept. */
export interface TableStore {
  /** Every stored table, by netns cookie. */
  load(): Map<bigint, StoredTable>;
  /** Stores (replaces) the table of a netns. */
  save(cookie: bigint, table: StoredTable): void;
  /** Forgets the table of a netns. */
  remove(cookie: bigint): void;
}

const SUFFIX = ".filter.json";

/** The helper's state directory unless BPFILTER_STATE_DIR says otherwise: the table store and the status files. */
export const STATE_DIR_DEFAULT = "/run/bpfilter";

/** A TableStore of one JSON file per netns in a directory, each written atomically (write, rename). */
export class DirectoryTableStore implements TableStore {
  /** Creates `dir` if needed. */
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private file(cookie: bigint): string {
    return join(this.dir, `${cookie}${SUFFIX}`);
  }

  /** Reads every file; a file that does not parse is reported by name. */
  load(): Map<bigint, StoredTable> {
    const tables = new Map<bigint, StoredTable>();
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(SUFFIX)) continue;
      const path = join(this.dir, name);
      const cookie = BigInt(name.slice(0, -SUFFIX.length));
      const json = JSON.parse(readFileSync(path, "utf8")) as StoredJson;
      let staged: StagedTable | undefined;
      try {
        staged = stagedOf(json);
      } catch (err) {
        throw new Error(`${path}: ${(err as Error).message}`);
      }
      const takeover = json.takeover === true ? { takeover: true as const } : {};
      if (json.owner === "bpfilter" && typeof json.replace === "string") {
        tables.set(cookie, { owner: "bpfilter", replace: bytes(json.replace), ...(staged === undefined ? {} : { staged }), ...takeover });
      } else if (json.owner === "netfilter" && typeof json.reason === "string") {
        tables.set(cookie, { owner: "netfilter", reason: json.reason, ...(staged === undefined ? {} : { staged }) });
      } else if (json.owner === "none" && staged !== undefined) {
        tables.set(cookie, { owner: "none", staged });
      } else {
        throw new Error(`${path}: neither a bpfilter table with 'replace', a netfilter table with 'reason', nor a staged first table`);
      }
    }
    return tables;
  }

  /** Writes the file of a netns atomically. */
  save(cookie: bigint, table: StoredTable): void {
    const staged = table.staged === undefined ? {} : { staged: { replace: base64(table.staged.replace), generation: table.staged.generation } };
    const json: StoredJson =
      table.owner === "netfilter"
        ? { owner: table.owner, reason: table.reason, ...staged }
        : { owner: table.owner, ...(table.owner === "bpfilter" ? { replace: base64(table.replace), ...(table.takeover === true ? { takeover: true } : {}) } : {}), ...staged };
    const tmp = `${this.file(cookie)}.tmp`;
    writeFileSync(tmp, JSON.stringify(json), { mode: 0o600 });
    renameSync(tmp, this.file(cookie));
  }

  /** Deletes the file of a netns. */
  remove(cookie: bigint): void {
    rmSync(this.file(cookie), { force: true });
  }
}
