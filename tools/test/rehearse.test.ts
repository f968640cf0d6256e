import { describe, expect, it } from "vitest";
import { duration, loadText, summaryLines } from "../src/rehearse/summary.ts";
import { freshDebianSources, parseDeb822, parseOneLine, renderDeb822 } from "../src/rehearse/sources.ts";

const DEB822 = `Types: deb
# a comment
URIs: http://archive.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://archive.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://elsewhere.example.org/
Suites: nodistro
Components: main
`;

describe("make rehearse: the apt sources of a fresh Debian 12", () => {
  it("reads deb822 stanzas, dropping disabled ones", () => {
    expect(parseDeb822(DEB822)).toEqual([
      { uri: "http://archive.example.org/debian", suite: "bookworm", components: ["main"] },
      { uri: "http://archive.example.org/debian", suite: "bookworm-updates", components: ["main"] },
      { uri: "http://archive.example.org/debian-security", suite: "bookworm-security", components: ["main"] },
    ]);
  });

  it("reads one-line entries, dropping deb-src, comments and options", () => {
    const text = "# deb http://x/ old main\ndeb [arch=amd64] http://a.example.org/debian bookworm main contrib\ndeb-src http://a.example.org/debian bookworm main\n";
    expect(parseOneLine(text)).toEqual([{ uri: "http://a.example.org/debian", suite: "bookworm", components: ["main", "contrib"] }]);
  });

  it("picks the three suites, and names one that is missing", () => {
    expect(freshDebianSources(parseDeb822(DEB822)).map((s) => s.suite)).toEqual(["bookworm", "bookworm-updates", "bookworm-security"]);
    const noSecurity = parseDeb822(DEB822).filter((s) => s.suite !== "bookworm-security");
    expect(() => freshDebianSources(noSecurity)).toThrow(/no "bookworm-security main": a fresh Debian 12 lists bookworm, bookworm-updates, bookworm-security/);
  });

  it("writes them back as deb822, one stanza per archive", () => {
    const text = renderDeb822(freshDebianSources(parseDeb822(DEB822)));
    expect(parseDeb822(text)).toEqual(freshDebianSources(parseDeb822(DEB822)));
    expect(text.match(/^Types: deb$/gm)).toHaveLength(2);
    expect(text).toContain("Suites: bookworm bookworm-updates\n");
  });
});

describe("make rehearse: the summary", () => {
  it("prints times and load, and passes only when every planned step passed", () => {
    expect(duration(61_400)).toBe("1 min 1 s");
    expect(duration(9_000)).toBe("9 s");
    expect(loadText([2, 3, 4])).toBe("load 2.0 at start, mean 3.0, max 4.0");
    const run = { command: "make run", status: 0, ms: 360_000, load: [2] } as const;
    const { lines, pass } = summaryLines([run, { command: "make test", status: 2, ms: 60_000, load: [3] }], ["make run", "make test"]);
    expect(lines).toEqual([
      "make run  PASS          6 min 0 s     (load 2.0 at start, mean 2.0, max 2.0)",
      "make test FAIL (exit 2) 1 min 0 s     (load 3.0 at start, mean 3.0, max 3.0)",
      "verdict: FAIL",
    ]);
    expect(pass).toBe(false);
    expect(summaryLines([run], ["make run", "make test"])).toEqual({ lines: [expect.stringMatching(/PASS/), "make test NOT RUN", "verdict: FAIL"], pass: false });
    expect(summaryLines([run], ["make run"]).pass).toBe(true);
  });
});
