/**
 * make vm-replays [R=tool,...]: boots the patched kernel with this checkout's helper and replays
 * the real tools' command sequences (usermode/test/replays) in the guest, through an unmodified
 * iptables-legacy, with bpfilter and with plain netfilter (tools/src/guest/tool_replays.ts). Fails
 * on any command whose exit status or output differs, or a final iptables-save that differs.
 * Under TCG it takes about a second per command; too slow for make test.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { helperAppend } from "./lib/helper_append.ts";
import { REPO } from "./lib/paths.ts";
import { toolMain } from "./lib/proc.ts";

/** What the guest prints per tool. */
interface ToolOutcome {
  readonly tool: string;
  readonly commands: number;
  readonly differ: number;
  readonly first: readonly { line: number; script: string }[];
  readonly saveEqual: boolean;
  readonly enforcedBy: string;
  readonly bpfilterSeconds: number;
  readonly netfilterSeconds: number;
}

const VM_TIMEOUT_SEC = 5400;

await toolMain("vm-replays", async () => {
  const tools = (process.env.R ?? "").split(/[ ,]+/).filter(Boolean);
  const argv = [...helperAppend(), "--timeout", String(VM_TIMEOUT_SEC), "--", join(REPO, "node_modules/.bin/tsx"), join(REPO, "tools/src/guest/tool_replays.ts"), ...tools];
  const output = await new Promise<string>((done) => {
    const child = spawn(join(REPO, "tools/vm"), argv, { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => (out += d));
    child.on("close", () => done(out));
  });
  const outcomes = output.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as ToolOutcome);
  let failed = outcomes.length === 0 || (tools.length > 0 && outcomes.length !== tools.length);
  for (const o of outcomes) {
    const ok = o.differ === 0 && o.saveEqual;
    failed ||= !ok;
    console.log(
      `vm-replays: ${o.tool}: ${o.commands} commands, ${o.differ} differ, iptables-save ${o.saveEqual ? "equal" : "DIFFERS"}, ` +
        `enforced by ${o.enforcedBy}; ${o.bpfilterSeconds.toFixed(0)} s with bpfilter, ${o.netfilterSeconds.toFixed(0)} s with netfilter`,
    );
    for (const d of o.first) console.log(`  line ${d.line}: ${d.script}`);
  }
  if (outcomes.length === 0) console.log(`vm-replays: the guest printed no result:\n${output.split("\n").slice(-20).join("\n")}`);
  return failed ? 1 : 0;
});
