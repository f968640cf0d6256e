/**
 * Keeps the filter table of each netns across helper restarts: the enforcing side keeps the
 * rules enforced (pinned programs and maps), and a restarted helper must describe those same
 * rules, so every accepted replace and every decline is written to a state directory, one file
 * per netns cookie (cookies are never reused while the system runs).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What is kept of one netns's filter table. */
export type StoredTable =
  /** bpfilter serves the table: the ipt_replace bytes (header and entries) it was set with. */
  | { readonly owner: "bpfilter"; readonly replace: Uint8Array }
  /** netfilter owns the table since a decline. */
  | { readonly owner: "netfilter"; readonly reason: string };

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
      const json = JSON.parse(readFileSync(path, "utf8")) as { owner: string; replace?: string; reason?: string };
      if (json.owner === "bpfilter" && typeof json.replace === "string") {
        tables.set(cookie, { owner: "bpfilter", replace: new Uint8Array(Buffer.from(json.replace, "base64")) });
      } else if (json.owner === "netfilter" && typeof json.reason === "string") {
        tables.set(cookie, { owner: "netfilter", reason: json.reason });
      } else {
        throw new Error(`${path}: neither a bpfilter table with 'replace' nor a netfilter table with 'reason'`);
      }
    }
    return tables;
  }

  /** Writes the file of a netns atomically. */
  save(cookie: bigint, table: StoredTable): void {
    const json =
      table.owner === "bpfilter"
        ? { owner: table.owner, replace: Buffer.from(table.replace).toString("base64") }
        : { owner: table.owner, reason: table.reason };
    const tmp = `${this.file(cookie)}.tmp`;
    writeFileSync(tmp, JSON.stringify(json), { mode: 0o600 });
    renameSync(tmp, this.file(cookie));
  }

  /** Deletes the file of a netns. */
  remove(cookie: bigint): void {
    rmSync(this.file(cookie), { force: true });
  }
}
