import { describe, expect, it } from "vitest";
import { describeMismatch, parseFragment, verifyConfig } from "../src/kernel/config.ts";

describe("config fragments", () => {
  const fragment = "# comment\nCONFIG_A=y\nCONFIG_B=\"/x\"\n# CONFIG_C is not set\n\nCONFIG_D=y\n";

  it("parses options, strings and not-set lines with their line numbers", () => {
    expect(parseFragment(fragment, "f.config")).toEqual([
      { option: "CONFIG_A", value: "y", file: "f.config", line: 2 },
      { option: "CONFIG_B", value: '"/x"', file: "f.config", line: 3 },
      { option: "CONFIG_C", value: "n", file: "f.config", line: 4 },
      { option: "CONFIG_D", value: "y", file: "f.config", line: 6 },
    ]);
  });

  it("rejects a line that is not a config line, naming file and line", () => {
    expect(() => parseFragment("CONFIG_A=y\nBPF=y\n", "x.config")).toThrow(/x\.config:2: not a config line/);
  });

  it("reports an option that merge_config dropped, and accepts what is set", () => {
    const merged = 'CONFIG_A=y\nCONFIG_B="/x"\n# CONFIG_C is not set\n';
    const missing = verifyConfig(parseFragment(fragment, "f.config"), merged);
    expect(missing.map((m) => m.option)).toEqual(["CONFIG_D"]);
    expect(describeMismatch(missing[0]!)).toBe("CONFIG_D=y (f.config:6) ended up not set (a dependency is unmet, or the option does not exist)");
  });

  it("reports a wrong value", () => {
    const missing = verifyConfig(parseFragment("CONFIG_A=y\n", "f"), "CONFIG_A=m\n");
    expect(describeMismatch(missing[0]!)).toBe("CONFIG_A=y (f:1) ended up m");
  });
});
