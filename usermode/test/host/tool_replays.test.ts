/**
 * Real tools' command sequences (usermode/test/replays/*.replay: ufw, docker, fail2ban, firewalld,
 * kube-proxy, libvirt, OpenWrt fw3, CSF, tailscale, RHEL iptables-services, a hand-written server),
 * replayed command by command through the shim and the helper (with the real BpfEnforcer) in one
 * netns and natively in another. Every command's exit status, stdout and stderr must be the same;
 * then the same packets go through both, and iptables-save -c must be the same. The final table is
 * then restored whole into two fresh netns, the packets sent again, and iptables-save -c compared.
 * The table moves between bpfilter and netfilter as the commands need (service/handover.ts).
 *
 *   npx vitest run usermode/test/host/tool_replays.test.ts        (as root)
 *   BPFILTER_REPLAYS=docker,fail2ban npx vitest run usermode/test/host/tool_replays.test.ts
 * BPFILTER_REPLAY_SHOW=1 prints each replay's final iptables-save -c.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BpfEnforcer } from "../../src/enforce/bpf_enforcer.ts";
import { bpffsUnavailable, type CommandResult, HostBench, hostTierUnavailable, maskSave } from "./harness.ts";
import { readReplay, replayFiles, type ReplayStep, sendReplayTraffic } from "./replay.ts";
import { NF_TARGET_KFUNCS, netfilterContextLayout } from "../../src/bpf/nf_context.ts";
import { compileTable } from "../../src/codegen/index.ts";
import { encodeReplace } from "../../src/ipt/entry_builder.ts";
import { decodeReplaceHeader, translateTable } from "../../src/ipt/translate.ts";
import { KernelNetfilter } from "../../src/service/kernel_netfilter.ts";
import { inNetns, namedNetnsPath } from "../../src/bpf/netns.ts";
import { netnsCookie } from "../../src/enforce/netns_cookie.ts";
import { planTable } from "../../src/service/plan.ts";

const unavailable = hostTierUnavailable() ?? bpffsUnavailable();
if (unavailable) console.warn(`skipping the tool replays: ${unavailable}`);

const only = process.env.BPFILTER_REPLAYS?.split(",");
const files = replayFiles().filter((f) => only === undefined || only.includes(f.tool));

/** A command whose result differs between native netfilter and bpfilter. */
interface Mismatch {
  readonly line: number;
  readonly script: string;
  readonly native: CommandResult;
  readonly bpfilter: CommandResult;
}

/** A bench with the real enforcer, its own pin root, and peers to send packets through. */
function replayBench(tag: string): { bench: HostBench; peers: () => { native: string; bpfilter: string }; pinRoot: string } {
  const pinRoot = `/sys/fs/bpf/bpft-replay-${process.pid}-${tag}`;
  const bench = new HostBench(new BpfEnforcer({ pinRoot }));
  let peers: { native: string; bpfilter: string } | undefined;
  return { bench, pinRoot, peers: () => (peers ??= bench.connectPeers()) };
}

/** Sends the replay traffic through both sides and returns iptables-save -c of both. */
async function trafficThenSave(bench: HostBench, peers: { native: string; bpfilter: string }): Promise<{ native: string; bpfilter: string }> {
  await sendReplayTraffic(bench.nativeNs, peers.native);
  await sendReplayTraffic(bench.bpfNs, peers.bpfilter);
  const save = await bench.both(["iptables-save", "-c"]);
  expect(save.bpfilter.code).toBe(save.native.code);
  return { native: maskSave(save.native.stdout), bpfilter: maskSave(save.bpfilter.stdout) };
}

const count = (log: readonly string[], what: string): number => log.filter((line) => line.includes(what)).length;

/**
 * What the compiler makes of a replay's final table (native netfilter's, as GET_ENTRIES gives it) on
 * a kernel with the series' kfuncs for netfilter programs (the guest's), which this host lacks:
 * "compiled", or the reason it goes to netfilter. As measured; a change in either direction fails.
 */
const WITH_SERIES_KFUNCS: Readonly<Record<string, string | RegExp>> = {
  csf: "compiled",
  docker: "compiled",
  fail2ban: "compiled",
  firewalld: "compiled",
  "kube-proxy": "compiled",
  libvirt: "compiled",
  "openwrt-fw3": "compiled",
  "rhel-iptables-services": "compiled",
  server: "compiled",
  tailscale: "compiled",
  ufw: /^rule 7 in chain ufw-after-input: match 'addrtype' revision 1 is not supported$/,
};

/** The compiler's answer for netns `ns`'s filter table: "compiled", or why netfilter keeps it. */
function compilerAnswer(ns: string, kfuncs: readonly string[] | undefined): string {
  const netfilter = new KernelNetfilter();
  const path = namedNetnsPath(ns);
  const netns = { cookie: inNetns(path, netnsCookie), path };
  const info = netfilter.info(netns, "filter");
  const request = encodeReplace({ name: "filter", validHooks: info.validHooks, hookEntry: info.hookEntry, underflow: info.underflow, numEntries: info.numEntries, numCounters: info.numEntries }, [netfilter.entries(netns, "filter", info.size)]);
  const plan = planTable(translateTable(decodeReplaceHeader(request, request.length), request));
  if (plan.kind === "netfilter") return plan.reason;
  const compiled = compileTable(plan.table, { kernel: { ...netfilterContextLayout(), ...(kfuncs === undefined ? {} : { kfuncs }) } });
  return compiled.declined === true ? compiled.reason : "compiled";
}

describe.skipIf(unavailable !== undefined)("tool replays through bpfilter equal native netfilter", () => {
  describe.each(files)("$tool", ({ tool, path }) => {
    const steps: ReplayStep[] = readReplay(path);
    const replay = replayBench(`${tool}-r`);
    const restore = replayBench(`${tool}-w`);
    let nativeSave = "";

    beforeAll(async () => {
      await replay.bench.start();
      await restore.bench.start();
      replay.peers();
      restore.peers();
    }, 60_000);
    afterAll(async () => {
      for (const { bench, pinRoot } of [replay, restore]) {
        await bench.close();
        rmSync(pinRoot, { recursive: true, force: true });
      }
    });

    it(`replays its ${steps.length} commands with the same exit status, stdout and stderr`, async () => {
      const mismatches: Mismatch[] = [];
      for (const step of steps) {
        const { native, bpfilter } = await replay.bench.both(["sh", "-c", step.script]);
        if (native.code !== bpfilter.code || maskSave(native.stdout) !== maskSave(bpfilter.stdout) || native.stderr !== bpfilter.stderr) {
          mismatches.push({ line: step.line, script: step.script, native, bpfilter });
        }
      }
      const log = replay.bench.log;
      const overlaps = log.flatMap((line) => /both enforced for ([\d.]+) ms/.exec(line)?.[1] ?? []).map(Number);
      console.info(
        `replay ${tool}: ${steps.length} commands, ${mismatches.length} differ; handed to netfilter ${count(log, "netfilter enforces it from now on")} times, ` +
          `taken back ${count(log, "bpfilter enforces it from now on")} times` +
          (overlaps.length > 0 ? `; both enforced for at most ${Math.max(...overlaps).toFixed(1)} ms per switch` : ""),
      );
      expect(mismatches).toEqual([]);
    }, 600_000);

    it("has the same iptables-save -c after the same packets", async () => {
      const save = await trafficThenSave(replay.bench, replay.peers());
      expect(save.bpfilter).toBe(save.native);
      if (process.env.BPFILTER_REPLAY_SHOW === "1") console.info(`replay ${tool}: iptables-save -c after the packets:\n${save.native}`);
      nativeSave = save.native;
    }, 60_000);

    it("is compiled, on a kernel with the series' kfuncs, as measured", () => {
      const result = compilerAnswer(replay.bench.nativeNs, [...NF_TARGET_KFUNCS]);
      const here = compilerAnswer(replay.bench.nativeNs, netfilterContextLayout().kfuncs);
      console.info(`replay ${tool}: with the series' kfuncs: ${result}; on this kernel: ${here}`);
      expect(result).toMatch(WITH_SERIES_KFUNCS[tool] ?? "an expectation for this replay");
    });

    it("restores the result whole, with the same iptables-save -c after the same packets", async () => {
      expect(nativeSave, "the replay's save is needed").not.toBe("");
      const restored = await restore.bench.both(["iptables-restore", "-c"], nativeSave);
      expect(restored.bpfilter).toEqual(restored.native);
      const save = await trafficThenSave(restore.bench, restore.peers());
      expect(save.bpfilter).toBe(save.native);
    }, 120_000);
  });
});
