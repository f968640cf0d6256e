/**
 * The seed tables of the fuzzer: real rulesets (the tool replays of test/replays, rule vectors of
 * shared/conformance) run by the native iptables-legacy in a scratch netns, each read back with
 * GET_INFO and GET_ENTRIES as one valid ipt_replace blob. Cached in build/fuzz/seeds.json by the
 * hash of the sources and the kernel release, since building them forks iptables many times.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { namedNetnsPath } from "../../src/bpf/index.ts";
import { IPT_GET_ENTRIES, IPT_GETINFO, IPT_REPLACE, IPT_SO_GET, writeCString, XT_TABLE_MAXNAMELEN } from "../../src/ipt/abi.ts";
import { decodeGetInfo } from "../../src/ipt/get_ctl.ts";
import { readVectors } from "../host/corpus.ts";
import { readReplay, replayFiles } from "../host/replay.ts";
import { NativeSocket } from "./native.ts";

/** One valid table: an ipt_replace blob whose num_counters the sender fills in. */
export interface Seed {
  readonly name: string;
  readonly replace: Uint8Array;
}

const REPO = join(import.meta.dirname, "..", "..", "..");
/** shared/ sits beside the checkout; BPFILTER_CONFORMANCE_DIR overrides, as for the conformance test. */
export const CONFORMANCE_DIR = process.env.BPFILTER_CONFORMANCE_DIR ?? join(REPO, "..", "shared", "conformance", "iptables-extensions");

/** The conformance files whose vectors become seeds: the compiled matches and some that go to netfilter. */
export const CONFORMANCE_FILES = [
  "iptables.t", "libxt_standard.t", "libxt_tcp.t", "libxt_udp.t", "libxt_multiport.t", "libipt_icmp.t", "libxt_iprange.t",
  "libxt_length.t", "libipt_ttl.t", "libxt_dscp.t", "libxt_comment.t", "libxt_conntrack.t", "libxt_mark.t", "libxt_limit.t",
  "libipt_REJECT.t", "libipt_LOG.t", "libxt_state.t", "libxt_mac.t",
];

/** A named shell script for the scratch netns. */
interface SeedSource {
  readonly name: string;
  readonly script: string;
}

/** The scripts: one per replay file, one per conformance file (each vector appended, failures ignored). */
export function seedSources(replays?: readonly string[], conformance: readonly string[] = CONFORMANCE_FILES): SeedSource[] {
  const sources: SeedSource[] = [];
  for (const { tool, path } of replayFiles()) {
    if (replays !== undefined && !replays.includes(tool)) continue;
    sources.push({ name: `replay:${tool}`, script: readReplay(path).map((s) => s.script).join("\n") });
  }
  for (const file of conformance) {
    const path = join(CONFORMANCE_DIR, file);
    if (!existsSync(path)) continue;
    const lines = readVectors(path, file).vectors.map((v) => `iptables -A ${v.chain} ${v.rule} 2>/dev/null`);
    if (lines.length > 0) sources.push({ name: `conformance:${file}`, script: lines.join("\n") });
  }
  return sources;
}

/** The filter table of a netns as an ipt_replace blob (num_counters 0, counters NULL). */
export function snapshot(sock: NativeSocket): Uint8Array {
  const q = new Uint8Array(IPT_GETINFO.SIZE);
  writeCString(q, 0, XT_TABLE_MAXNAMELEN, "filter");
  const got = sock.get(IPT_SO_GET.INFO, q, q.length);
  if (got.errno !== 0) throw new Error(`GET_INFO: errno ${got.errno}`);
  const info = decodeGetInfo(got.buffer);
  const e = new Uint8Array(IPT_GET_ENTRIES.SIZE);
  writeCString(e, 0, XT_TABLE_MAXNAMELEN, "filter");
  new DataView(e.buffer).setUint32(IPT_GET_ENTRIES.size, info.size, true);
  const entries = sock.get(IPT_SO_GET.ENTRIES, e, IPT_GET_ENTRIES.SIZE + info.size);
  if (entries.errno !== 0) throw new Error(`GET_ENTRIES: errno ${entries.errno}`);
  const out = new Uint8Array(IPT_REPLACE.SIZE + info.size);
  const view = new DataView(out.buffer);
  writeCString(out, 0, XT_TABLE_MAXNAMELEN, "filter");
  view.setUint32(IPT_REPLACE.valid_hooks, info.validHooks, true);
  view.setUint32(IPT_REPLACE.num_entries, info.numEntries, true);
  view.setUint32(IPT_REPLACE.size, info.size, true);
  for (let h = 0; h < 5; h++) {
    view.setUint32(IPT_REPLACE.hook_entry + 4 * h, info.hookEntry[h]!, true);
    view.setUint32(IPT_REPLACE.underflow + 4 * h, info.underflow[h]!, true);
  }
  out.set(entries.buffer.subarray(IPT_GET_ENTRIES.entrytable, IPT_GET_ENTRIES.entrytable + info.size), IPT_REPLACE.entries);
  return out;
}

/** Runs every source in a scratch netns and snapshots it; tables equal to one already kept are dropped. */
function buildSeeds(sources: readonly SeedSource[]): Seed[] {
  const ns = `bpft-fuzzseed-${process.pid}`;
  const bin = mkdtempSync(join(tmpdir(), "bpft-fuzz-bin-"));
  for (const tool of ["iptables", "iptables-save", "iptables-restore"]) symlinkSync(`/usr/sbin/${tool.replace("iptables", "iptables-legacy")}`, join(bin, tool));
  execFileSync("ip", ["netns", "add", ns]);
  const sock = new NativeSocket(namedNetnsPath(ns));
  const seeds: Seed[] = [];
  const seen = new Set<string>();
  try {
    for (const s of [{ name: "initial", script: "true" }, ...sources]) {
      const reset = "iptables -F; iptables -X; iptables -P INPUT ACCEPT; iptables -P FORWARD ACCEPT; iptables -P OUTPUT ACCEPT";
      execFileSync("ip", ["netns", "exec", ns, "sh", "-c", `${reset}\n${s.script}\ntrue`], {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
        stdio: ["ignore", "ignore", "ignore"],
      });
      const replace = snapshot(sock);
      const key = Buffer.from(replace).toString("base64");
      if (seen.has(key)) continue;
      seen.add(key);
      seeds.push({ name: s.name, replace });
    }
  } finally {
    sock.close();
    execFileSync("ip", ["netns", "del", ns]);
    rmSync(bin, { recursive: true, force: true });
  }
  return seeds;
}

/** The seeds of `sources`, from the cache when the sources and the kernel are the same. */
export function loadSeeds(sources: readonly SeedSource[], cache = join(REPO, "build", "fuzz", "seeds.json")): Seed[] {
  const hash = createHash("sha256").update(release()).update(JSON.stringify(sources)).digest("hex");
  const cached: Record<string, { name: string; hex: string }[]> = existsSync(cache) ? JSON.parse(readFileSync(cache, "utf8")) : {};
  const hit = cached[hash];
  if (hit !== undefined) return hit.map((s) => ({ name: s.name, replace: Uint8Array.from(Buffer.from(s.hex, "hex")) }));
  const seeds = buildSeeds(sources);
  mkdirSync(dirname(cache), { recursive: true });
  cached[hash] = seeds.map((s) => ({ name: s.name, hex: Buffer.from(s.replace).toString("hex") }));
  writeFileSync(cache, JSON.stringify(cached));
  return seeds;
}
