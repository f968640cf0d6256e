/**
 * Run inside the guest by make vm-replays (tools/vm, the patched kernel, this checkout's helper):
 * each tool's command sequence (usermode/test/replays/*.replay) through an unmodified
 * iptables-legacy, once with the kernel forwarding to the helper (bpfilter) in one fresh netns and
 * once with no helper configured (plain netfilter) in another. Prints one JSON line per tool: the
 * commands whose exit status, stdout or stderr differ, whether iptables-save is the same at the end,
 * who enforces the final table, and the seconds each side took.
 *   tsx tools/src/guest/tool_replays.ts [TOOL...]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readReplay, replayFiles } from "../../../usermode/test/host/replay.ts";
import { maskSave } from "../../../usermode/test/host/harness.ts";

const HELPER_PARAM = "/sys/module/bpfilter/parameters/helper";
const bin = mkdtempSync(join(tmpdir(), "replays-"));
for (const tool of ["iptables", "iptables-save", "iptables-restore"]) symlinkSync("/usr/sbin/xtables-legacy-multi", join(bin, tool));
const env = { ...process.env, PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, XTABLES_LOCKFILE: join(bin, "xtables.lock") };

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function inNetns(ns: string, script: string): Result {
  const r = spawnSync("ip", ["netns", "exec", ns, "sh", "-c", script], { encoding: "utf8", env, timeout: 600_000 });
  return { code: r.status, stdout: maskSave(r.stdout ?? ""), stderr: r.stderr ?? "" };
}

/** Runs every step in a fresh netns; returns each step's result, the final iptables-save and the seconds taken. */
function replay(ns: string, scripts: readonly string[]): { results: Result[]; save: string; seconds: number } {
  spawnSync("ip", ["netns", "add", ns]);
  const start = performance.now();
  const results = scripts.map((s) => inNetns(ns, s));
  const seconds = (performance.now() - start) / 1000;
  return { results, save: inNetns(ns, "iptables-save").stdout, seconds };
}

const helper = readFileSync(HELPER_PARAM, "utf8").trim();
if (helper === "") throw new Error(`${HELPER_PARAM} is empty: boot with bpfilter.helper=PATH`);
const only = process.argv.slice(2);
for (const { tool, path } of replayFiles().filter((f) => only.length === 0 || only.includes(f.tool))) {
  const steps = readReplay(path);
  const scripts = steps.map((s) => s.script);
  const bpf = replay(`gr-bpf-${tool}`, scripts);
  writeFileSync(HELPER_PARAM, "\n"); // from here on, iptables reaches netfilter itself
  let nf;
  let own;
  try {
    nf = replay(`gr-nf-${tool}`, scripts);
    own = inNetns(`gr-bpf-${tool}`, "iptables -S").stdout; // netfilter's own table where bpfilter served
  } finally {
    writeFileSync(HELPER_PARAM, `${helper}\n`);
  }
  const differ = steps.flatMap((s, i) => {
    const a = bpf.results[i]!;
    const b = nf.results[i]!;
    return a.code === b.code && a.stdout === b.stdout && a.stderr === b.stderr ? [] : [{ line: s.line, script: s.script.split("\n")[0], bpfilter: a, netfilter: b }];
  });
  const policiesOnly = own.split("\n").every((l) => l === "" || l.startsWith("-P "));
  console.log(JSON.stringify({ tool, commands: steps.length, differ: differ.length, first: differ.slice(0, 3), saveEqual: bpf.save === nf.save, enforcedBy: policiesOnly ? "bpfilter" : "netfilter", bpfilterSeconds: bpf.seconds, netfilterSeconds: nf.seconds }));
  spawnSync("ip", ["netns", "del", `gr-bpf-${tool}`]);
  spawnSync("ip", ["netns", "del", `gr-nf-${tool}`]);
}
