/**
 * kernel/cover-letter.md: the cover letter of the series and its changelog. Format:
 *
 *   # <cover subject>
 *   <body, plain text as it goes out>
 *   ## Changelog
 *   ### v2
 *   - [<patch subject>] what changed in that patch (also printed below that patch's ---)
 *   - what changed in the series as a whole (cover letter only)
 *   ### v1
 *   - first version
 *
 * The older layout ("Subject: [PATCH …] <subject>" first, then a "Changelog" heading underlined
 * with dashes and "vN:" entries) is read too.
 */

/** One changelog line of a version, and the patch it is about (undefined: the series as a whole). */
export interface ChangelogLine {
  readonly text: string;
  readonly patch?: string;
}

/** The parsed cover letter. */
export interface CoverLetter {
  readonly subject: string;
  readonly body: string;
  /** Version number → its lines, in file order. */
  readonly changelog: ReadonlyMap<number, readonly ChangelogLine[]>;
}

const PATCH_REF = /^-\s*\[([^\]]+)\]\s*(.*)$/;

function parseEntry(line: string): ChangelogLine {
  const m = PATCH_REF.exec(line);
  return m ? { text: `- ${m[2]!.trim()}`, patch: m[1]!.trim() } : { text: line };
}

/** Collects changelog entries: a version heading starts a version, other non-blank lines belong to it. */
function parseChangelog(lines: readonly string[], heading: RegExp, file: string, firstLine: number): Map<number, ChangelogLine[]> {
  const out = new Map<number, ChangelogLine[]>();
  let current: ChangelogLine[] | undefined;
  lines.forEach((raw, i) => {
    const l = raw.trimEnd();
    const h = heading.exec(l.trim());
    if (h) {
      const v = Number(h[1]);
      if (out.has(v)) throw new Error(`${file}:${firstLine + i}: version v${v} has two changelog sections`);
      current = [];
      out.set(v, current);
    } else if (l.trim()) {
      if (!current) throw new Error(`${file}:${firstLine + i}: changelog line before any version heading: ${JSON.stringify(l)}`);
      if (/^\s/.test(l) && current.length) {
        const last = current.pop()!;
        // "- [patch]" alone on its line: the text starts on the next one.
        const text = last.text === "- " ? `- ${l.trim()}` : `${last.text}\n${l}`;
        current.push({ ...last, text });
      } else current.push(parseEntry(l));
    }
  });
  return out;
}

/** Parses kernel/cover-letter.md (`file` names it in errors). */
export function parseCoverLetter(text: string, file: string): CoverLetter {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const first = lines[0] ?? "";
  if (first.startsWith("# ")) {
    const at = lines.findIndex((l) => /^## Changelog\s*$/.test(l));
    if (at < 0) throw new Error(`${file}: no "## Changelog" section (it holds "### vN" subsections listing what changed)`);
    return {
      subject: first.slice(2).trim(),
      body: lines.slice(1, at).join("\n").trim(),
      changelog: parseChangelog(lines.slice(at + 1), /^### v(\d+)$/, file, at + 2),
    };
  }
  const legacy = /^Subject:\s*(?:\[[^\]]*\]\s*)?(.*)$/.exec(first);
  if (legacy) {
    const at = lines.findIndex((l, i) => l.trim() === "Changelog" && /^-{3,}$/.test(lines[i + 1]?.trim() ?? ""));
    if (at < 0) throw new Error(`${file}: no "Changelog" section (a "Changelog" line underlined with dashes, then "vN:" entries)`);
    return {
      subject: legacy[1]!.trim(),
      body: lines.slice(1, at).join("\n").trim(),
      changelog: parseChangelog(lines.slice(at + 2), /^v(\d+):$/, file, at + 3),
    };
  }
  throw new Error(`${file}:1: expected "# <cover subject>" as the first line, got ${JSON.stringify(first)}`);
}

/** The changelog as it goes into the cover letter: newest version first. */
export function renderChangelog(cover: CoverLetter, upTo: number): string {
  const versions = [...cover.changelog.keys()].filter((v) => v <= upTo).sort((a, b) => b - a);
  const block = versions.map((v) => {
    const lines = cover.changelog.get(v)!.map((l) => (l.patch ? `- ${l.patch}: ${l.text.slice(2)}` : l.text));
    return `v${v}:\n${lines.join("\n")}`;
  });
  return `Changelog\n---------\n\n${block.join("\n\n")}`;
}
