/**
 * Kconfig fragments: parse them, and check that a merged .config really carries every option.
 * merge_config.sh drops an option whose dependencies are unmet with only a warning; this is the check.
 */

/** One option a fragment asks for. `value` is "n" for `# CONFIG_X is not set`. */
export interface FragmentOption {
  readonly option: string;
  readonly value: string;
  readonly file: string;
  readonly line: number;
}

/** An option the merged config does not carry as asked. */
export interface ConfigMismatch extends FragmentOption {
  readonly got: string;
}

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

/** Parses a config fragment (or a whole .config). Throws on a line that is neither an option nor a comment. */
export function parseFragment(text: string, file: string): FragmentOption[] {
  const out: FragmentOption[] = [];
  text.split("\n").forEach((raw, i) => {
    const l = raw.trim();
    const set = SET.exec(l);
    const unset = UNSET.exec(l);
    if (set) out.push({ option: set[1]!, value: set[2]!, file, line: i + 1 });
    else if (unset) out.push({ option: unset[1]!, value: "n", file, line: i + 1 });
    else if (l !== "" && !l.startsWith("#")) throw new Error(`${file}:${i + 1}: not a config line: ${JSON.stringify(raw)}`);
  });
  return out;
}

/** Returns every fragment option that the merged .config does not set to the asked value. */
export function verifyConfig(fragments: readonly FragmentOption[], dotconfig: string): ConfigMismatch[] {
  const merged = new Map(parseFragment(dotconfig, ".config").map((o) => [o.option, o.value]));
  return fragments
    .map((o) => ({ ...o, got: merged.get(o.option) ?? "n" }))
    .filter((o) => o.got !== o.value);
}

/** One line per mismatch, naming the option, the fragment line, what was asked and what came out. */
export function describeMismatch(m: ConfigMismatch): string {
  const got = m.got === "n" ? "not set (a dependency is unmet, or the option does not exist)" : m.got;
  return `${m.option}=${m.value} (${m.file}:${m.line}) ended up ${got}`;
}
