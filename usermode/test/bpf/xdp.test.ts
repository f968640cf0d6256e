// XDP through bpf_link on a veth pair between two fresh netns, with real UDP datagrams: a drop program
// drops, link.update() swaps to a pass program and traffic flows again; pinning keeps the link.
import { existsSync, mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BPFFS_ROOT,
  attachXdp,
  attachedXdpProgId,
  createMap,
  ensureBpffs,
  inNetns,
  loadProgram,
  openPinnedLink,
  programId,
  type BpfMap,
  type BpfProgram,
} from "../../src/bpf/index.ts";
import { XDP_DROP, XDP_PASS, countAndReturn, returns, sumCounter } from "./tiny-programs.ts";
import { udpDelivered } from "./udp-probe.ts";
import { createVethPair, type VethPair } from "./veth-pair.ts";

let pair: VethPair;
let pass: BpfProgram;
let drop: BpfProgram;
let counters: BpfMap;

beforeAll(() => {
  pair = createVethPair();
  counters = createMap({ type: "percpu_array", name: "counters", keySize: 4, valueSize: 8, maxEntries: 1 });
  pass = loadProgram({ type: "xdp", name: "xdp_pass", insns: returns(XDP_PASS) });
  drop = loadProgram({ type: "xdp", name: "xdp_drop_count", ...countAndReturn(XDP_DROP), maps: { counters } });
});

afterAll(() => {
  pair?.destroy();
  for (const held of [pass, drop, counters]) held?.close();
});

function attachedProgId(): number {
  return inNetns(pair.b.netnsPath, () => attachedXdpProgId(pair.b.ifindex));
}

function dropped(): bigint {
  return sumCounter(counters.lookupPerCpu(new Uint8Array(4)));
}

describe("attachXdp", () => {
  it("the veth pair carries traffic before anything is attached", () => {
    expect(udpDelivered(pair.a, pair.b)).toBe(true);
  });

  it.each([{ mode: "skb" as const }, { mode: "native" as const }, { mode: undefined }])(
    "mode $mode: drop program drops, link.update to pass lets traffic through, close detaches",
    ({ mode }) => {
      const link = inNetns(pair.b.netnsPath, () => attachXdp(pair.b.ifindex, drop, mode));
      try {
        const before = dropped();
        expect(attachedProgId()).toBe(programId(drop));
        expect(udpDelivered(pair.a, pair.b)).toBe(false);
        expect(dropped()).toBeGreaterThan(before);
        link.update(pass);
        expect(attachedProgId()).toBe(programId(pass));
        expect(udpDelivered(pair.a, pair.b)).toBe(true);
        link.update(drop);
        expect(udpDelivered(pair.a, pair.b)).toBe(false);
      } finally {
        link.close();
      }
      expect(attachedProgId()).toBe(0);
      expect(udpDelivered(pair.a, pair.b)).toBe(true);
    },
  );

  it("a second link on the same interface is refused (EBUSY) and names the ifindex", () => {
    const link = inNetns(pair.b.netnsPath, () => attachXdp(pair.b.ifindex, pass));
    try {
      expect(() => inNetns(pair.b.netnsPath, () => attachXdp(pair.b.ifindex, drop))).toThrow(
        new RegExp(`bpf_link_create\\(BPF_XDP, program 'xdp_drop_count', ifindex ${pair.b.ifindex}\\): .*\\(EBUSY\\): ifindex ${pair.b.ifindex} already has an XDP program`),
      );
    } finally {
      link.close();
    }
  });

  it("a pinned link stays attached after close, and can be reopened and detached", () => {
    ensureBpffs();
    const dir = mkdtempSync(join(BPFFS_ROOT, "bpfilter-test-"));
    const path = join(dir, "xdp_link");
    try {
      const link = inNetns(pair.b.netnsPath, () => attachXdp(pair.b.ifindex, drop));
      link.pin(path);
      link.close();
      expect(attachedProgId()).toBe(programId(drop));
      expect(udpDelivered(pair.a, pair.b)).toBe(false);

      const reopened = openPinnedLink(path);
      try {
        reopened.update(pass);
        expect(udpDelivered(pair.a, pair.b)).toBe(true);
        reopened.detach();
        expect(attachedProgId()).toBe(0);
      } finally {
        reopened.close();
      }
    } finally {
      if (existsSync(path)) unlinkSync(path);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
