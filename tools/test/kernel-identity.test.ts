/**
 * kernel/patches names nobody: kernel-export drops the author, and the trees the tools apply the
 * series to get an author back (the build's stand-in, or the person who formats the series).
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { withoutAuthor } from "../src/kernel/export.ts";
import { personIdentity, withAuthor } from "../src/kernel/tree.ts";

const PATCH = [
  "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001",
  "From: Ada Dev <ada@example.org>",
  "Date: Sat, 2 Mar 2024 09:00:00 +0000",
  "Subject: [PATCH] bpfilter: x",
  "",
  "Why.",
  "",
  "Reviewed-by: Bo Rev <bo@example.org>",
  "Signed-off-by: Ada Dev <ada@example.org>",
  "---",
  " a | 1 +",
  "",
].join("\n");

describe("withoutAuthor", () => {
  it("drops the From: line and the author's own Signed-off-by, and keeps other trailers", () => {
    expect(withoutAuthor(PATCH)).toBe(PATCH.replace("From: Ada Dev <ada@example.org>\n", "").replace("Signed-off-by: Ada Dev <ada@example.org>\n", ""));
  });
  it("leaves no empty line before --- when the sign-off was the only trailer", () => {
    const only = PATCH.replace("Reviewed-by: Bo Rev <bo@example.org>\n", "");
    expect(withoutAuthor(only)).toContain("Why.\n---\n");
  });
  it("keeps the blank line after the header of a commit without a body", () => {
    const bare = "From 0 Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH] x\n\nSigned-off-by: A <a@b>\n---\n f | 1 +\n";
    expect(withoutAuthor(bare)).toBe("From 0 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] x\n\n---\n f | 1 +\n");
  });
});

describe("withAuthor", () => {
  it("puts an author back into an exported patch, for git am, and round-trips", () => {
    const ada = { name: "Ada Dev", email: "ada@example.org" };
    const exported = withoutAuthor(PATCH);
    const back = withAuthor(exported, ada);
    expect(back).toMatch(/^From 0+ Mon Sep 17 00:00:00 2001\nFrom: Ada Dev <ada@example.org>\nDate: /);
    expect(withoutAuthor(back)).toBe(exported);
    expect(withAuthor(PATCH, { name: "X", email: "x@y" })).toBe(PATCH);
  });
  it("git am takes it", () => {
    const r = spawnSync("git", ["mailinfo", "/dev/null", "/dev/null"], { input: withAuthor(withoutAuthor(PATCH), { name: "Cy Sender", email: "cy@example.org" }), encoding: "utf8" });
    expect(r.stdout).toMatch(/^Author: Cy Sender\nEmail: cy@example.org\n/);
  });
});

describe("personIdentity", () => {
  it("takes GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL first", () => {
    const saved = { ...process.env };
    Object.assign(process.env, { GIT_AUTHOR_NAME: "Di Env", GIT_AUTHOR_EMAIL: "di@example.org" });
    try {
      expect(personIdentity()).toEqual({ name: "Di Env", email: "di@example.org" });
    } finally {
      process.env = saved;
    }
  });
});
