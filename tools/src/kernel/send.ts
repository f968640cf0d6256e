/**
 * make send [V=N]: mails build/series/vN/ with git send-email, To: bpf@vger.kernel.org, Cc: what
 * scripts/get_maintainer.pl names for the patches, every patch threaded under the cover letter.
 * Without SEND=1 CONFIRM=yes it is a dry run that shows every message's headers; it always
 * writes build/series/vN.mbox for b4 users (b4 am / b4 send --resend take it as is).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { capture, toolMain, ToolError } from "../lib/proc.ts";
import { KERNEL_SRC } from "../lib/paths.ts";
import { PATCHES_DIR, rel } from "./export.ts";
import { isMain } from "./main-guard.ts";
import { prepareTree, senderIdentity, SERIES_OUT, SERIES_TREE } from "./series.ts";

/** The list a bpf-next series goes to. */
export const SERIES_TO = "bpf@vger.kernel.org";

/** Who a series goes to. */
export interface Recipients {
  readonly to: readonly string[];
  readonly cc: readonly string[];
}

/** One message as git send-email reports it. */
export interface MailedMessage {
  readonly subject: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly messageId: string;
  readonly inReplyTo?: string;
  readonly references?: string;
}

/** The files of a formatted series, cover letter first. */
export function seriesFiles(dir: string): string[] {
  if (!existsSync(dir)) throw new ToolError(`${rel(dir)} does not exist: format the series first with make series V=N`);
  const files = readdirSync(dir).filter((n) => n.endsWith(".patch")).sort();
  if (!files[0]?.includes("-0000-")) throw new ToolError(`${rel(dir)} has no cover letter (…-0000-cover-letter.patch): format it with make series V=N`);
  return files.map((f) => join(dir, f));
}

/** The people and lists scripts/get_maintainer.pl of `tree` names for the patches (cover letter excluded). */
export function maintainers(tree: string, patches: readonly string[]): string[] {
  const script = join(tree, "scripts", "get_maintainer.pl");
  if (!existsSync(script)) throw new ToolError(`${script} not found: the kernel tree ${rel(tree)} is incomplete`);
  const r = capture(["perl", script, "--norolestats", "--no-git", "--no-git-fallback", "--no-tree", ...patches], { cwd: tree });
  if (r.status !== 0) throw new ToolError(`scripts/get_maintainer.pl failed (exit ${r.status}): ${r.stderr.trim().split("\n").slice(-2).join(" | ")}`);
  return [...new Set(r.stdout.split("\n").map((l) => l.trim()).filter(Boolean))];
}

/** To: the list; Cc: every maintainer and list get_maintainer.pl names, the To address left out. */
export function recipients(tree: string, files: readonly string[]): Recipients {
  const mailAddress = (a: string) => (/<([^>]+)>/.exec(a)?.[1] ?? a).toLowerCase();
  const cc = maintainers(tree, files.slice(1)).filter((a) => mailAddress(a) !== SERIES_TO);
  return { to: [SERIES_TO], cc };
}

/** The git send-email command line for a series. */
export function sendEmailArgv(files: readonly string[], who: Recipients, dryRun: boolean): string[] {
  return [
    "git",
    "send-email",
    ...(dryRun ? ["--dry-run"] : []),
    "--confirm=never",
    // format-patch --thread=shallow already wrote In-Reply-To/References to the cover letter.
    "--no-thread",
    "--suppress-cc=self",
    ...who.to.map((a) => `--to=${a}`),
    ...who.cc.map((a) => `--cc=${a}`),
    ...files,
  ];
}

/** Runs git send-email; returns what it printed. */
export function sendEmail(cwd: string, files: readonly string[], who: Recipients, dryRun: boolean): string {
  const r = capture(sendEmailArgv(files, who, dryRun), { cwd, input: "" });
  if (r.status !== 0) throw new ToolError(`git send-email${dryRun ? " --dry-run" : ""} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`);
  return r.stdout + r.stderr;
}

/** Splits an address header into addresses (a comma inside quotes or <> does not split). */
function addresses(value: string | undefined): string[] {
  if (!value) return [];
  return (value.match(/(?:"[^"]*"|<[^>]*>|[^,])+/g) ?? []).map((a) => a.trim()).filter(Boolean);
}

/** Parses the "Dry-OK. Log says:" blocks of git send-email --dry-run into messages. */
export function parseDryRun(output: string): MailedMessage[] {
  const blocks = output.split(/^(?:Dry-)?OK\. Log says:$/m).slice(1);
  return blocks.map((block, i) => {
    const head = block.split(/\n\n/)[0]!.replace(/\n[ \t]+/g, " ");
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, "mi").exec(head)?.[1]?.trim();
    const subject = field("Subject");
    const messageId = field("Message-Id");
    if (!subject || !messageId) throw new Error(`git send-email message ${i + 1}: no Subject or Message-Id in:\n${head}`);
    return {
      subject,
      from: field("From") ?? "",
      to: addresses(field("To")),
      cc: addresses(field("Cc")),
      messageId,
      inReplyTo: field("In-Reply-To"),
      references: field("References"),
    };
  });
}

/** One line per message: number, subject, and whether it answers the cover letter. */
export function describeMessages(messages: readonly MailedMessage[]): string[] {
  const cover = messages[0]?.messageId;
  return messages.map((m, i) => {
    const thread = i === 0 ? "starts the thread" : m.inReplyTo === cover ? "replies to the cover letter" : `In-Reply-To ${m.inReplyTo ?? "none"} (NOT the cover letter)`;
    return `  ${String(i).padStart(2)}  ${m.subject}  [${thread}; ${m.to.length} To, ${m.cc.length} Cc]`;
  });
}

/** Writes the series as one mbox, To: and Cc: added to every message, for b4. */
export function writeMbox(files: readonly string[], who: Recipients, path: string): void {
  const fold = (name: string, list: readonly string[]) => (list.length ? `${name}: ${list.join(",\n ")}\n` : "");
  const headers = fold("To", who.to) + fold("Cc", who.cc);
  const mbox = files.map((f) => {
    const text = readFileSync(f, "utf8");
    const at = text.search(/^Subject: /m);
    if (at < 0) throw new ToolError(`${rel(f)}: no Subject: header`);
    const msg = text.slice(0, at) + headers + text.slice(at);
    return msg.endsWith("\n") ? msg : msg + "\n";
  });
  writeFileSync(path, mbox.join("\n"));
}

/** The formatted version to send: V=N, else the newest in build/series. */
export function chooseVersion(v: string | undefined): number {
  if (v) {
    if (!/^[1-9]\d*$/.test(v)) throw new ToolError(`V=${v} is not a version number (1, 2, …)`);
    return Number(v);
  }
  const versions = existsSync(SERIES_OUT) ? readdirSync(SERIES_OUT).flatMap((n) => (/^v(\d+)$/.exec(n) ? [Number(/^v(\d+)$/.exec(n)![1])] : [])) : [];
  if (!versions.length) throw new ToolError("no formatted series in build/series: run make series V=N first");
  return Math.max(...versions);
}

if (isMain(import.meta.url)) {
  await toolMain("send", () => {
    const version = chooseVersion(process.env.V);
    const dir = join(SERIES_OUT, `v${version}`);
    const files = seriesFiles(dir);
    prepareTree(SERIES_TREE, PATCHES_DIR, KERNEL_SRC, senderIdentity());
    const who = recipients(SERIES_TREE, files);
    const mbox = join(SERIES_OUT, `v${version}.mbox`);
    writeMbox(files, who, mbox);
    const real = process.env.SEND === "1";
    console.log(`send: v${version}, ${files.length} message(s) from ${rel(dir)}/ (mbox for b4: ${rel(mbox)})`);
    console.log(`  To: ${who.to.join(", ")}`);
    console.log(`  Cc: ${who.cc.join(",\n      ") || "(nobody)"}`);
    const dry = parseDryRun(sendEmail(dir, files, who, true));
    for (const l of describeMessages(dry)) console.log(l);
    if (!real) {
      console.log("send: that was a dry run; nothing was mailed. To mail it: make send V=" + version + " SEND=1 CONFIRM=yes");
      return 0;
    }
    if (process.env.CONFIRM !== "yes") {
      console.log(`send: SEND=1 without CONFIRM=yes: not sending. Check the recipients above, then add CONFIRM=yes`);
      return 1;
    }
    console.log(`send: mailing ${files.length} message(s) to ${who.to.length + who.cc.length} recipient(s) now`);
    process.stdout.write(sendEmail(dir, files, who, false));
    return 0;
  });
}
