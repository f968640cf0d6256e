// TC egress (clsact + direct-action cls_bpf) on a veth pair between two fresh netns, with real UDP
// datagrams: a drop program drops at the sender, replace() swaps to a pass program, detach() removes it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpfError,
  attachTc,
  attachTcEgress,
  inNetns,
  loadProgram,
  programId,
  setLibbpfLogger,
  tcFilter,
  type BpfProgram,
} from "../../src/bpf/index.ts";
import { TC_ACT_OK, TC_ACT_SHOT, returns } from "./tiny-programs.ts";
import { udpDelivered } from "./udp-probe.ts";
import { createVethPair, type VethPair } from "./veth-pair.ts";

let pair: VethPair;
let pass: BpfProgram;
let drop: BpfProgram;

beforeAll(() => {
  pair = createVethPair();
  pass = loadProgram({ type: "sched_cls", name: "tc_pass", insns: returns(TC_ACT_OK) });
  drop = loadProgram({ type: "sched_cls", name: "tc_drop", insns: returns(TC_ACT_SHOT) });
});

afterAll(() => {
  pair?.destroy();
  for (const prog of [pass, drop]) prog?.close();
});

describe("attachTcEgress", () => {
  it("drops, then replace() passes, then detach() leaves traffic flowing", () => {
    expect(udpDelivered(pair.a, pair.b)).toBe(true);
    inNetns(pair.a.netnsPath, () => {
      const filter = attachTcEgress(pair.a.ifindex, drop);
      try {
        expect(filter.handle).not.toBe(0);
        expect(filter.priority).not.toBe(0);
        expect(filter.progId()).toBe(programId(drop));
        expect(udpDelivered(pair.a, pair.b)).toBe(false);
        filter.replace(pass);
        expect(filter.progId()).toBe(programId(pass));
        expect(udpDelivered(pair.a, pair.b)).toBe(true);
      } finally {
        filter.detach();
      }
      expect(udpDelivered(pair.a, pair.b)).toBe(true);
    });
  });

  it("a filter named by handle and priority (as a restarted helper would) can be replaced and detached", () => {
    inNetns(pair.a.netnsPath, () => {
      const first = attachTc(pair.a.ifindex, "egress", pass, { handle: 7, priority: 3 });
      const again = tcFilter(pair.a.ifindex, "egress", 7, 3);
      try {
        expect(again.progId()).toBe(programId(pass));
        again.replace(drop);
        expect(first.progId()).toBe(programId(drop));
        expect(udpDelivered(pair.a, pair.b)).toBe(false);
      } finally {
        again.detach();
      }
      // The filter is gone; the kernel's answer (EINVAL or ENOENT, with an extack) differs between versions.
      expect(() => first.progId()).toThrow(/bpf_tc_query\(TC egress filter on ifindex \d+ \(handle 7, priority 3\)\): .*\(E[A-Z]+\)/);
      expect(udpDelivered(pair.a, pair.b)).toBe(true);
    });
  });

  it("what libbpf prints about a failure (the kernel's extack) reaches the logger and the error", () => {
    const printed: string[] = [];
    setLibbpfLogger((_level, message) => printed.push(message));
    try {
      const gone = tcFilter(pair.a.ifindex, "egress", 99, 99);
      let caught: unknown;
      try {
        inNetns(pair.a.netnsPath, () => gone.progId());
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(BpfError);
      expect(printed.length).toBeGreaterThan(0);
      for (const message of printed) expect((caught as BpfError).message).toContain(`libbpf: ${message}`);
    } finally {
      setLibbpfLogger(undefined);
    }
  });

  it("attaching at a taken handle and priority is refused (EEXIST) and names the interface", () => {
    inNetns(pair.a.netnsPath, () => {
      const first = attachTc(pair.a.ifindex, "egress", pass, { handle: 1, priority: 1 });
      try {
        expect(() => attachTc(pair.a.ifindex, "egress", drop, { handle: 1, priority: 1 })).toThrow(
          new RegExp(`bpf_tc_attach\\(program 'tc_drop', ifindex ${pair.a.ifindex} egress\\): .*\\(EEXIST\\)`),
        );
      } finally {
        first.detach();
      }
    });
  });
});
