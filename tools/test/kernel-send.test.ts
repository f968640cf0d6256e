import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCoverLetter } from "../src/kernel/cover-letter.ts";
import { formatSeries } from "../src/kernel/series.ts";
import { describeMessages, parseDryRun, recipients, sendEmail, sendEmailArgv, writeMbox, type MailedMessage } from "../src/kernel/send.ts";
import { builtKernelTree, commitTwoPatches, fixtureEnv, kernelTreeSkip, makeBaseTree, scratch } from "./kernel-fixture.ts";

/** The kernel's own get_maintainer.pl, from the tree make kernel builds (run on a fixture MAINTAINERS). */
const KERNEL = builtKernelTree("scripts/get_maintainer.pl");
const GET_MAINTAINER = KERNEL && join(KERNEL, "scripts/get_maintainer.pl");

const MAINTAINERS = `NETWORKING [GENERAL]
M:\tNet Maintainer <net@example.org>
L:\tnetdev@example.org
S:\tMaintained
F:\tnet/

BPFILTER
M:\tFilter Person <filter@example.org>
R:\tReviewer One <review@example.org>
L:\tbpf@vger.kernel.org
S:\tMaintained
F:\tnet/bpfilter/

SOUND
M:\tNot Involved <sound@example.org>
S:\tMaintained
F:\tsound/
`;

const COVER = `# bpfilter: a tidier helper

The helper times out sooner and says what it is.

## Changelog
### v2
- [bpfilter: shorten the default helper timeout] 2 s instead of 5 s
- rebased on the fixture base
### v1
- first version
`;

const ADA = { name: "Ada Dev", email: "ada@example.org" };
const root = scratch("send");
let tree = "";
let out = "";
let files: string[] = [];
let messages: MailedMessage[] = [];

beforeAll(() => {
  if (!GET_MAINTAINER) return;
  // get_maintainer.pl checks that it runs at the top of a kernel tree.
  const top = { COPYING: "GPL\n", CREDITS: "\n", Kbuild: "\n", README: "fixture\n", MAINTAINERS, "scripts/get_maintainer.pl": readFileSync(GET_MAINTAINER, "utf8") };
  tree = makeBaseTree(root, "tree", top);
  for (const d of ["Documentation", "arch", "drivers", "fs", "init", "ipc", "kernel", "lib", "sound"]) mkdirSync(join(tree, d), { recursive: true });
  commitTwoPatches(tree);
  out = join(root, "v2");
  files = asAda(() => formatSeries(tree, parseCoverLetter(COVER, "cover-letter.md"), 2, out, "cover-letter.md", ADA));
  messages = parseDryRun(runDry());
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs fn as the fixture's author (git format-patch and send-email take the sender from the environment). */
function asAda<T>(fn: () => T): T {
  const saved = { ...process.env };
  Object.assign(process.env, fixtureEnv("2024-03-05T09:00:00Z"));
  try {
    return fn();
  } finally {
    process.env = saved;
  }
}

function runDry(): string {
  return asAda(() => sendEmail(tree, files, recipients(tree, files), true));
}

describe.runIf(GET_MAINTAINER)("make send: dry run of a formatted 2-patch fixture series", () => {
  it("numbers the cover letter and both patches under the bpf-next v2 prefix", () => {
    expect(messages.map((m) => m.subject)).toEqual([
      "[PATCH bpf-next v2 0/2] bpfilter: a tidier helper",
      "[PATCH bpf-next v2 1/2] bpfilter: shorten the default helper timeout",
      "[PATCH bpf-next v2 2/2] bpfilter: describe the helper in Kconfig",
    ]);
  });

  it("threads every patch under the cover letter", () => {
    const [cover, ...patches] = messages;
    expect(cover!.inReplyTo).toBeUndefined();
    for (const p of patches) {
      expect(p.inReplyTo).toBe(cover!.messageId);
      expect(p.references).toBe(cover!.messageId);
    }
    expect(describeMessages(messages).slice(1).every((l) => l.includes("replies to the cover letter"))).toBe(true);
  });

  it("sends to the list and Cc's whom get_maintainer.pl names, nobody else", () => {
    for (const m of messages) {
      expect(m.to).toEqual(["bpf@vger.kernel.org"]);
      expect([...m.cc].sort()).toEqual(["Filter Person <filter@example.org>", "Net Maintainer <net@example.org>", "Reviewer One <review@example.org>", "netdev@example.org"]);
    }
  });

  it("fills the cover letter and puts the v2 lines below the --- of the patch they name only", () => {
    const cover = readFileSync(files[0]!, "utf8");
    expect(cover).toContain("The helper times out sooner and says what it is.");
    expect(cover).toContain("v2:\n- bpfilter: shorten the default helper timeout: 2 s instead of 5 s\n- rebased on the fixture base\n\nv1:\n- first version");
    expect(cover).toMatch(/^base-commit: [0-9a-f]{40}$/m);
    expect(readFileSync(files[1]!, "utf8")).toContain("\n---\nChanges in v2:\n- 2 s instead of 5 s\n\n net/bpfilter/bpfilter_kern.c | 2 +-");
    expect(readFileSync(files[2]!, "utf8")).not.toContain("Changes in v2");
  });

  it("writes an mbox with every message and its recipients", () => {
    const mbox = join(root, "v2.mbox");
    writeMbox(files, recipients(tree, files), mbox);
    const text = readFileSync(mbox, "utf8");
    expect(text.match(/^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001$/gm)).toHaveLength(3);
    expect(text.match(/^To: bpf@vger\.kernel\.org$/gm)).toHaveLength(3);
    expect(text.match(/^In-Reply-To: /gm)).toHaveLength(2);
  });

  it("mails nothing unless asked: the dry run is in the argv, and a real send drops it", () => {
    const who = { to: ["bpf@vger.kernel.org"], cc: [] };
    expect(sendEmailArgv(files, who, true)).toContain("--dry-run");
    expect(sendEmailArgv(files, who, false)).not.toContain("--dry-run");
  });
});

describe("make series: refusals", () => {
  it("refuses a version with no changelog entry, and a changelog line naming a patch that is not there", () => {
    const t = makeBaseTree(root, "refusals");
    commitTwoPatches(t);
    const cover = parseCoverLetter(COVER, "cover-letter.md");
    expect(() => formatSeries(t, cover, 3, join(root, "v3"), "kernel/cover-letter.md", ADA)).toThrow(/kernel\/cover-letter\.md has no changelog entry for v3: add a "### v3" subsection/);
    const typo = parseCoverLetter(COVER.replace("[bpfilter: shorten", "[bpfilter: shortn"), "c.md");
    expect(() => formatSeries(t, typo, 2, join(root, "v2b"), "c.md", ADA)).toThrow(/names patch \[bpfilter: shortn the default helper timeout\], which is not in the series/);
    expect(existsSync(join(root, "v3"))).toBe(false);
  });
});

if (!GET_MAINTAINER) console.log(kernelTreeSkip("the send dry run", "scripts/get_maintainer.pl"));
