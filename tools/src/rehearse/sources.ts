/**
 * The apt sources of the rehearsal root: the ones a fresh Debian 12 has (bookworm,
 * bookworm-updates, bookworm-security), taken from this machine's own Debian entries so that
 * the root uses the same archive as the host. Reads both the one-line (.list) and the deb822
 * (.sources) formats.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ToolError } from "../lib/proc.ts";

/** The suites a fresh Debian 12 lists. */
export const FRESH_SUITES = ["bookworm", "bookworm-updates", "bookworm-security"] as const;

/** One `deb` line: an archive, a suite, its components. */
export interface AptSource {
  readonly uri: string;
  readonly suite: string;
  readonly components: readonly string[];
}

/** The `deb` entries of a one-line sources.list (deb-src, comments and options dropped). */
export function parseOneLine(text: string): AptSource[] {
  return text.split("\n").flatMap((raw) => {
    const line = raw.replace(/#.*/, "").replace(/\[[^\]]*\]/, " ").trim().split(/\s+/);
    if (line[0] !== "deb" || line.length < 4) return [];
    return [{ uri: line[1]!, suite: line[2]!, components: line.slice(3) }];
  });
}

/** The `deb` entries of a deb822 .sources file (Enabled: no stanzas dropped). */
export function parseDeb822(text: string): AptSource[] {
  const stanzas = text.replace(/^#.*(?:\n|$)/gm, "").split(/\n\s*\n/);
  return stanzas.flatMap((stanza) => {
    const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*(?:\\n[ \\t]+.*)*)`, "mi").exec(stanza)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
    if (!field("Types").includes("deb") || field("Enabled")[0]?.toLowerCase() === "no") return [];
    return field("URIs").flatMap((uri) => field("Suites").map((suite) => ({ uri, suite, components: field("Components") })));
  });
}

/** This machine's apt entries, from /etc/apt/sources.list and sources.list.d/ (*.list, *.sources). */
export function hostSources(etcApt = "/etc/apt"): AptSource[] {
  const files: [string, (t: string) => AptSource[]][] = [];
  if (existsSync(join(etcApt, "sources.list"))) files.push([join(etcApt, "sources.list"), parseOneLine]);
  const dir = join(etcApt, "sources.list.d");
  for (const name of existsSync(dir) ? readdirSync(dir).sort() : []) {
    if (name.endsWith(".list")) files.push([join(dir, name), parseOneLine]);
    if (name.endsWith(".sources")) files.push([join(dir, name), parseDeb822]);
  }
  return files.flatMap(([path, parse]) => parse(readFileSync(path, "utf8")));
}

/** The entries for the fresh suites; fails naming a suite this machine does not list. */
export function freshDebianSources(all: readonly AptSource[]): AptSource[] {
  const picked = FRESH_SUITES.map((suite) => {
    const s = all.find((e) => e.suite === suite && e.components.includes("main"));
    if (!s) throw new ToolError(`this machine's apt sources have no "${suite} main": a fresh Debian 12 lists ${FRESH_SUITES.join(", ")}, and the rehearsal copies them from here`);
    return s;
  });
  return picked;
}

/** The deb822 file a fresh Debian 12 root gets (/etc/apt/sources.list.d/debian.sources). */
export function renderDeb822(sources: readonly AptSource[]): string {
  const byUri = new Map<string, AptSource[]>();
  for (const s of sources) byUri.set(`${s.uri} ${s.components.join(" ")}`, [...(byUri.get(`${s.uri} ${s.components.join(" ")}`) ?? []), s]);
  return [...byUri.values()]
    .map((group) =>
      [
        "Types: deb",
        `URIs: ${group[0]!.uri}`,
        `Suites: ${group.map((s) => s.suite).join(" ")}`,
        `Components: ${group[0]!.components.join(" ")}`,
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
        "",
      ].join("\n"),
    )
    .join("\n");
}
