import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCheck, sendEmailCheck, toolChecks, withFixturePatch } from "../src/setup-checks.ts";
import { allPackages, DEBIAN_PACKAGES, unavailableCause, unavailablePackages } from "../src/setup.ts";
import { pinnedBase } from "../src/kernel/tree.ts";

describe("make setup: the package list", () => {
  it("takes the kernel base package from kernel/BASE", () => {
    expect(Object.keys(allPackages())).toContain(pinnedBase().pkg);
  });

  it("lists the recommends that --no-install-recommends would leave out", () => {
    expect(DEBIAN_PACKAGES).toHaveProperty("libmailtools-perl");
    expect(DEBIAN_PACKAGES).toHaveProperty("dwarves");
  });

  it("every package a tool check names is one that setup installs", () => {
    const { pkg, tarball } = pinnedBase();
    const listed = new Set(Object.keys(allPackages()));
    const named = withFixturePatch((d, p) => [...toolChecks(pkg, tarball), sendEmailCheck(d, p)]).flatMap((c) => c.packages);
    expect(named.filter((n) => !listed.has(n))).toEqual([]);
  });
});

describe("make setup: a package apt cannot find", () => {
  const policy = [
    "linux-source-6.12:",
    "  Installed: (none)",
    "  Candidate: (none)",
    "  Version table:",
    "flex:",
    "  Installed: (none)",
    "  Candidate: 2.6.4-8.2",
    "",
  ].join("\n");

  it("is found in apt-cache policy output, and an unknown name counts as unavailable", () => {
    expect(unavailablePackages(policy, ["linux-source-6.12", "flex", "no-such-package"])).toEqual(["linux-source-6.12", "no-such-package"]);
  });

  it("fails with the suite of a standard Debian 12 that provides it", () => {
    expect(unavailableCause("linux-source-6.12")).toMatch(/^linux-source-6\.12: no apt source offers it; Debian 12 provides it in bookworm-security /);
    expect(unavailableCause("flex")).toMatch(/provides it in bookworm /);
  });
});

describe("make setup: tool checks", () => {
  it("passes a tool that runs", () => {
    expect(runCheck({ packages: ["coreutils"], usedBy: "test", argv: ["true"] })).toBeUndefined();
  });

  it("names the package and the missing Perl module in one line", () => {
    const cause = runCheck({ packages: ["libmailtools-perl"], usedBy: "make send", argv: ["perl", "-MNo::Such::Module", "-e", "1"] });
    expect(cause).toMatch(/^`perl -MNo::Such::Module -e` \(make send\) does not run: Can't locate No\/Such\/Module\.pm .*\[Debian package: libmailtools-perl; apt-get install libmailtools-perl\]$/);
    expect(cause).not.toContain("\n");
  });

  it("names the package of a binary that is not there", () => {
    expect(runCheck({ packages: ["netsniff-ng"], usedBy: "make bench", argv: ["bpfilter-no-such-tool", "-v"] })).toMatch(
      /does not run: .*ENOENT.*\[Debian package: netsniff-ng; apt-get install netsniff-ng\]/,
    );
  });

  it("judges by output where the exit status says nothing (trafgen -v exits 1)", () => {
    expect(runCheck({ packages: ["x"], usedBy: "t", argv: ["sh", "-c", "echo 'trafgen 0.6.8'; exit 1"], expect: /^trafgen \d/m })).toBeUndefined();
    expect(runCheck({ packages: ["x"], usedBy: "t", argv: ["sh", "-c", "echo other; exit 0"], expect: /^trafgen \d/m })).toMatch(/`echo other; exit 0` \(t\) does not run: other/);
  });

  it("git send-email --dry-run of the fixture patch works here, also for a user with no git identity", () => {
    expect(withFixturePatch((d, p) => runCheck(sendEmailCheck(d, p)))).toBeUndefined();
    const home = process.env.HOME;
    process.env.HOME = mkdtempSync(join(tmpdir(), "bpfilter-nohome-"));
    try {
      expect(withFixturePatch((d, p) => runCheck(sendEmailCheck(d, p)))).toBeUndefined();
    } finally {
      rmSync(process.env.HOME, { recursive: true, force: true });
      process.env.HOME = home;
    }
  });
});
