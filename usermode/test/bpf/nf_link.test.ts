// Netfilter links on the host kernel: a program at LOCAL_IN of a netns drops a real UDP flow over veth,
// the link's info reads back, the kernel's refusals are explained, and detach lets the flow through.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachNetfilter, BpfError, inNetns, loadProgram, netfilterLinkInfo, NFPROTO_IPV4, programId, type BpfProgram } from "../../src/bpf/index.ts";
import { NF_ACCEPT, NF_DROP, returns } from "./tiny-programs.ts";
import { createVethPair, type VethPair } from "./veth-pair.ts";
import { udpDelivered } from "./udp-probe.ts";

const unavailable = process.getuid?.() !== 0 ? "needs root (BPF, netns)" : undefined;
if (unavailable) console.warn(`skipping netfilter link tests: ${unavailable}`);

const LOCAL_IN = 1;

describe.skipIf(unavailable !== undefined)("netfilter links", () => {
  let pair: VethPair;
  let drop: BpfProgram;
  let accept: BpfProgram;
  beforeAll(() => {
    pair = createVethPair();
    drop = loadProgram({ type: "netfilter", name: "nf_drop", insns: returns(NF_DROP) });
    accept = loadProgram({ type: "netfilter", name: "nf_accept", insns: returns(NF_ACCEPT) });
  });
  afterAll(() => {
    drop?.close();
    accept?.close();
    pair?.destroy();
  });

  it("a dropping program at LOCAL_IN of b stops a flow a → b; detach restores it", () => {
    expect(udpDelivered(pair.a, pair.b)).toBe(true);
    const link = inNetns(pair.b.netnsPath, () => attachNetfilter(drop, { pf: NFPROTO_IPV4, hooknum: LOCAL_IN, priority: -1 }));
    try {
      expect(udpDelivered(pair.a, pair.b)).toBe(false);
      expect(udpDelivered(pair.b, pair.a)).toBe(true); // a's LOCAL_IN has no program
      const info = netfilterLinkInfo(link);
      expect(info).toMatchObject({ progId: programId(drop), pf: NFPROTO_IPV4, hooknum: LOCAL_IN, priority: -1, flags: 0 });
      expect(execFileSync("bpftool", ["link", "show", "id", String(info.id)], { encoding: "utf8" })).toMatch(new RegExp(`^${info.id}: .*prog ${info.progId}`));
      link.detach();
      expect(udpDelivered(pair.a, pair.b)).toBe(true);
    } finally {
      link.close();
    }
  });

  it("closing an unpinned link's last fd detaches it", () => {
    const link = inNetns(pair.b.netnsPath, () => attachNetfilter(drop, { pf: NFPROTO_IPV4, hooknum: LOCAL_IN, priority: -1 }));
    expect(udpDelivered(pair.a, pair.b)).toBe(false);
    link.close();
    expect(udpDelivered(pair.a, pair.b)).toBe(true);
  });

  it("refuses a second BPF hook at a priority the hook already has, and says so (EBUSY)", () => {
    const first = inNetns(pair.b.netnsPath, () => attachNetfilter(accept, { pf: NFPROTO_IPV4, hooknum: LOCAL_IN, priority: 7 }));
    try {
      const second = () => inNetns(pair.b.netnsPath, () => attachNetfilter(accept, { pf: NFPROTO_IPV4, hooknum: LOCAL_IN, priority: 7 }));
      expect(second).toThrow(BpfError);
      expect(second).toThrow("bpf_link_create(BPF_NETFILTER, program 'nf_accept', pf 2, hook 1, priority 7): Device or resource busy (EBUSY)");
    } finally {
      first.close();
    }
  });

  it.each([
    ["NF_IP_PRI_FIRST", { pf: NFPROTO_IPV4, hooknum: LOCAL_IN, priority: -0x8000_0000 }, /ERANGE.*refuses NF_IP_PRI_FIRST and NF_IP_PRI_LAST/],
    ["an unknown family", { pf: 99, hooknum: LOCAL_IN, priority: 0 }, /pf 99, hook 1, priority 0\): .*EAFNOSUPPORT/],
    ["an unknown hook", { pf: NFPROTO_IPV4, hooknum: 9, priority: 0 }, /EPROTO/],
  ])("refuses %s, naming the hook", (_what, hook, message) => {
    expect(() => inNetns(pair.b.netnsPath, () => attachNetfilter(accept, hook))).toThrow(message);
  });
});
