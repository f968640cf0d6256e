/**
 * BPF_PROG_TEST_RUN of the programs the helper really loaded, opened from its pin directory as a
 * black box: every pinned program and link under the receiver netns's directory is looked at with
 * bpftool; the programs that see INPUT traffic (XDP, and netfilter-hook programs at PRE_ROUTING or
 * LOCAL_IN) are run with `bpftool prog run` in the receiver netns, on the early, late and never
 * frames. A netfilter program gets a `struct nf_hook_state` context with its hook and NFPROTO_IPV4.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastLines, runBounded } from "./run.ts";

/** A program found under the pin directory. */
export interface PinnedProgram {
  readonly id: number;
  readonly type: string;
  readonly name: string;
  /** NF_INET_* hook of its netfilter link, when a pinned link says it. */
  readonly hook?: number;
  /** Whether a pinned link attaches it (a program only reached by tail call is not). */
  readonly linked?: boolean;
}

/** One program's figure for one frame. */
export interface TestRunSample {
  readonly program: string;
  readonly ns: number;
  readonly retval: number;
  readonly repeat: number;
}

const NF_INET_PRE_ROUTING = 0;
const NF_INET_LOCAL_IN = 1;
const NFPROTO_IPV4 = 2;
/** sizeof(struct nf_hook_state) on 64-bit: hook, pf, then five pointers. */
const NF_HOOK_STATE_SIZE = 48;

/** Every file below `dir` (bpffs pins are files). */
function pinsBelow(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...pinsBelow(path));
    else out.push(path);
  }
  return out;
}

function bpftoolJson(args: readonly string[]): Record<string, unknown> | undefined {
  try {
    return JSON.parse(execFileSync("bpftool", ["-j", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Normalizes bpftool's program type (7.1 does not know "netfilter" and prints the number 32). */
export function programType(type: unknown): string {
  if (type === 32 || type === "32") return "netfilter";
  return String(type);
}

/** The programs pinned (directly or through a pinned link) below `dir`. */
export function pinnedPrograms(dir: string): PinnedProgram[] {
  const byId = new Map<number, PinnedProgram>();
  for (const path of pinsBelow(dir)) {
    const prog = bpftoolJson(["prog", "show", "pinned", path]);
    if (prog && typeof prog.id === "number") {
      const id = prog.id;
      byId.set(id, { ...byId.get(id), id, type: programType(prog.type), name: String(prog.name ?? `id ${id}`) });
      continue;
    }
    const link = bpftoolJson(["link", "show", "pinned", path]);
    if (link && typeof link.prog_id === "number") {
      const id = link.prog_id;
      const info = bpftoolJson(["prog", "show", "id", String(id)]);
      const hook = typeof link.hooknum === "number" ? link.hooknum : undefined;
      byId.set(id, { id, type: programType(info?.type), name: String(info?.name ?? `id ${id}`), linked: true, ...(hook === undefined ? {} : { hook }) });
    }
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/**
 * The programs an incoming packet to a local address goes through. When links are pinned, only the
 * programs they attach count (a dispatcher reaches the chains by tail call, and running it runs them);
 * a netfilter program whose hook no link names is taken to be at LOCAL_IN.
 */
export function inputPrograms(programs: readonly PinnedProgram[]): PinnedProgram[] {
  const linked = programs.filter((p) => p.linked);
  return (linked.length ? linked : programs).filter(
    (p) => p.type === "xdp" || (p.type === "netfilter" && (p.hook === undefined || p.hook === NF_INET_PRE_ROUTING || p.hook === NF_INET_LOCAL_IN)),
  );
}

/** The nf_hook_state context bytes for a test run at `hook`. */
export function nfHookState(hook: number): Uint8Array {
  const ctx = new Uint8Array(NF_HOOK_STATE_SIZE);
  ctx[0] = hook;
  ctx[1] = NFPROTO_IPV4;
  return ctx;
}

/** Parses `bpftool prog run` output: "Return value: 1, duration (average): 27ns". */
export function parseProgRun(text: string): { retval: number; ns: number } {
  const m = /Return value:\s*(-?\d+),\s*duration(?: \(average\))?:\s*(\d+)ns/.exec(text);
  if (!m) throw new Error(`bpftool prog run printed no return value and duration: '${lastLines(text)}'`);
  return { retval: Number(m[1]), ns: Number(m[2]) };
}

/** Runs one program on one frame; the repeat count is chosen so one run takes about 0.2 s. */
export async function testRun(netns: string, program: PinnedProgram, frame: Uint8Array, limitSeconds: number): Promise<TestRunSample> {
  const dir = mkdtempSync(join(tmpdir(), "bench-testrun-"));
  try {
    const data = join(dir, "frame");
    writeFileSync(data, frame);
    const args = ["prog", "run", "id", String(program.id), "data_in", data];
    if (program.type === "netfilter") {
      const ctx = join(dir, "ctx");
      writeFileSync(ctx, nfHookState(program.hook ?? NF_INET_LOCAL_IN));
      args.push("ctx_in", ctx);
    }
    const once = async (repeat: number) => {
      const outcome = await runBounded(["ip", "netns", "exec", netns, "bpftool", ...args, "repeat", String(repeat)], { limitSeconds });
      if (outcome.timedOutAfter !== undefined) throw new Error(`bpftool prog run: timed out after ${outcome.timedOutAfter} s`);
      if (outcome.code !== 0) throw new Error(`bpftool prog run id ${program.id}: ${lastLines(outcome.stderr || outcome.stdout)}`);
      return parseProgRun(outcome.stdout + outcome.stderr);
    };
    const probe = await once(20);
    const repeat = Math.max(20, Math.min(1_000_000, Math.round(0.2e9 / Math.max(probe.ns, 1))));
    const run = await once(repeat);
    return { program: program.name, ns: run.ns, retval: run.retval, repeat };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
