import { describe, expect, it } from "vitest";
import { parseCoverLetter, renderChangelog } from "../src/kernel/cover-letter.ts";
import { insertBelowSeparator, parseVersion, patchNotes } from "../src/kernel/series.ts";

const MARKDOWN = `# bpfilter: a framed protocol

Body line one.

Body line two.

## Changelog
### v2
- [bpfilter: add the protocol] reject len past the limit
  before reading the payload
- rebased
- [bpfilter: add the protocol]
  name the frame in errors
### v1
- first version
`;

const LEGACY = `Subject: [PATCH bpf-next v1 0/5] bpfilter: a framed protocol

Body line one.

Changelog
---------

v1:
- first version: framed protocol with HELLO,
  restart
`;

describe("kernel/cover-letter.md", () => {
  it("reads subject, body and per-version changelog lines with the patch they name", () => {
    const c = parseCoverLetter(MARKDOWN, "c.md");
    expect(c.subject).toBe("bpfilter: a framed protocol");
    expect(c.body).toBe("Body line one.\n\nBody line two.");
    expect(c.changelog.get(2)).toEqual([
      { text: "- reject len past the limit\n  before reading the payload", patch: "bpfilter: add the protocol" },
      { text: "- rebased" },
      { text: "- name the frame in errors", patch: "bpfilter: add the protocol" },
    ]);
    expect(c.changelog.get(1)).toEqual([{ text: "- first version" }]);
  });

  it("reads the older Subject:/underlined-Changelog layout", () => {
    const c = parseCoverLetter(LEGACY, "c.md");
    expect(c.subject).toBe("bpfilter: a framed protocol");
    expect(c.body).toBe("Body line one.");
    expect(c.changelog.get(1)).toEqual([{ text: "- first version: framed protocol with HELLO,\n  restart" }]);
  });

  it.each([
    ["no heading", "bpfilter\n", /c\.md:1: expected "# <cover subject>"/],
    ["no changelog", "# s\nbody\n", /no "## Changelog" section/],
    ["line before a version", "# s\n## Changelog\n- x\n", /c\.md:3: changelog line before any version heading/],
    ["a version twice", "# s\n## Changelog\n### v1\n- a\n### v1\n- b\n", /c\.md:5: version v1 has two changelog sections/],
  ])("rejects %s, naming the line", (_, text, error) => {
    expect(() => parseCoverLetter(text, "c.md")).toThrow(error);
  });

  it("renders the changelog newest first, up to the version being formatted", () => {
    const c = parseCoverLetter(MARKDOWN.replace("### v2", "### v3\n- later\n### v2"), "c.md");
    expect(renderChangelog(c, 2)).toBe(
      "Changelog\n---------\n\nv2:\n- bpfilter: add the protocol: reject len past the limit\n  before reading the payload\n- rebased\n- bpfilter: add the protocol: name the frame in errors\n\nv1:\n- first version",
    );
  });
});

describe("patch notes", () => {
  const lines = parseCoverLetter(MARKDOWN, "c.md").changelog.get(2)!;
  it("gives a patch only the lines that name it", () => {
    expect(patchNotes(lines, "bpfilter: add the protocol", 2)).toBe("Changes in v2:\n- reject len past the limit\n  before reading the payload\n- name the frame in errors\n\n");
    expect(patchNotes(lines, "bpfilter: other", 2)).toBe("");
  });
  it("puts them right below the first ---, and refuses a patch without one", () => {
    expect(insertBelowSeparator("Subject: x\n\nmsg\n---\n a | 1 +\n", "N\n\n", "p")).toBe("Subject: x\n\nmsg\n---\nN\n\n a | 1 +\n");
    expect(() => insertBelowSeparator("Subject: x\n", "N", "0001-x.patch")).toThrow(/0001-x\.patch: no "---" line/);
  });
  it.each([
    [undefined, /make series V=N/],
    ["0", /V=0 is not a version number/],
    ["v2", /V=v2 is not a version number/],
  ])("refuses V=%s", (v, error) => {
    expect(() => parseVersion(v)).toThrow(error);
  });
});
