// Attaching to an interface that does not exist: the error must name the ifindex and say it is missing.
import { afterAll, describe, expect, it } from "vitest";
import { BpfError, attachTc, attachXdp, ifindexes, loadProgram, type BpfProgram } from "../../src/bpf/index.ts";
import { TC_ACT_OK, XDP_PASS, returns } from "./tiny-programs.ts";

const xdp = loadProgram({ type: "xdp", name: "xdp_pass", insns: returns(XDP_PASS) });
const tc = loadProgram({ type: "sched_cls", name: "tc_pass", insns: returns(TC_ACT_OK) });
afterAll(() => [xdp, tc].forEach((prog) => prog.close()));

describe("attach to a missing ifindex", () => {
  const missing = Math.max(...ifindexes()) + 1000;
  it.each<{ what: string; attach: () => unknown; call: string }>([
    { what: "XDP link", attach: () => attachXdp(missing, xdp), call: `bpf_link_create(BPF_XDP, program 'xdp_pass', ifindex ${missing})` },
    { what: "XDP link, skb mode", attach: () => attachXdp(missing, xdp, "skb"), call: `ifindex ${missing}, skb mode` },
    { what: "TC egress", attach: () => attachTc(missing, "egress", tc), call: `bpf_tc_hook_create(clsact qdisc, ifindex ${missing})` },
    { what: "TC ingress", attach: () => attachTc(missing, "ingress", tc), call: `bpf_tc_hook_create(clsact qdisc, ifindex ${missing})` },
  ])("$what: BpfError naming the ifindex", ({ attach, call }) => {
    let caught: unknown;
    try {
      attach();
    } catch (error) {
      caught = error;
    }
    // The errno differs (EINVAL from an XDP link, ENODEV from netlink); the note says what is wrong.
    expect(caught).toBeInstanceOf(BpfError);
    expect((caught as BpfError).message).toContain(call);
    expect((caught as BpfError).message).toContain(`no interface has ifindex ${missing} in this netns`);
  });
});
