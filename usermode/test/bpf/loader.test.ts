// loadProgram on the real verifier: accepted programs, rejected ones with their log, map-fd patching errors.
import { afterAll, describe, expect, it } from "vitest";
import { BpfError, createMap, loadProgram, patchMapRefs, type ProgSpec } from "../../src/bpf/index.ts";
import { XDP_PASS, TC_ACT_OK, countAndReturn, movImm, program, returns, unsetR0 } from "./tiny-programs.ts";

const counters = createMap({ type: "percpu_array", name: "counters", keySize: 4, valueSize: 8, maxEntries: 1 });
afterAll(() => counters.close());

describe("loadProgram", () => {
  it.each([
    { type: "xdp" as const, verdict: XDP_PASS },
    { type: "sched_cls" as const, verdict: TC_ACT_OK },
  ])("loads a constant-verdict $type program", ({ type, verdict }) => {
    const prog = loadProgram({ type, name: `const_${type}`, insns: returns(verdict) });
    try {
      expect(prog.fd).toBeGreaterThan(2);
      expect(prog.name).toBe(`const_${type}`);
    } finally {
      prog.close();
    }
  });

  it("loads a program whose BPF_LD_IMM64 is patched with a map fd", () => {
    const { insns, mapRefs } = countAndReturn(XDP_PASS);
    const prog = loadProgram({ type: "xdp", name: "count", insns, mapRefs, maps: { counters } });
    prog.close();
  });

  it("puts the verifier's reason in a BpfError when the kernel rejects a program", () => {
    let caught: unknown;
    try {
      loadProgram({ type: "xdp", name: "no_r0", insns: unsetR0() });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BpfError);
    const error = caught as BpfError;
    expect(error.code).toBe("EACCES");
    expect(error.errno).toBe(13);
    expect(error.message).toContain("bpf_prog_load(xdp 'no_r0', 1 insns)");
    expect(error.message).toContain("R0 !read_ok");
    expect(error.verifierLog).toContain("R0 !read_ok");
  });

  it("rejects an unpatched map reference through the verifier, not silently", () => {
    const { insns } = countAndReturn(XDP_PASS);
    expect(() => loadProgram({ type: "xdp", name: "unpatched", insns })).toThrow(BpfError);
  });

  const base: ProgSpec = { type: "xdp", name: "bad", insns: returns(XDP_PASS) };
  it.each<{ what: string; spec: ProgSpec; message: string }>([
    { what: "a name with a dash", spec: { ...base, name: "bad-name" }, message: "program 'bad-name': name may only hold" },
    { what: "a 16-character name", spec: { ...base, name: "a".repeat(16) }, message: "name must be 1 to 15 characters" },
    { what: "insns not a multiple of 8", spec: { ...base, insns: new Uint8Array(12) }, message: "insns is 12 bytes" },
    { what: "no insns", spec: { ...base, insns: new Uint8Array(0) }, message: "insns is 0 bytes" },
    {
      what: "an unknown map in mapRefs",
      spec: { ...base, ...countAndReturn(XDP_PASS), maps: { other: counters } },
      message: "program 'bad': map reference at insn 0: map 'counters' is not in the program's maps (other)",
    },
    {
      what: "a mapRef that is not a BPF_LD_IMM64",
      spec: { ...base, insns: program(movImm(1, 0), movImm(0, 2), movImm(0, 2)), mapRefs: [{ insn: 0, map: "counters" }], maps: { counters } },
      message: "map reference at insn 0: expected BPF_LD_IMM64 (0x18) with src_reg BPF_PSEUDO_MAP_FD (1), found opcode 0xb7 src_reg 0",
    },
    {
      what: "a mapRef on the last insn",
      spec: { ...base, mapRefs: [{ insn: 1, map: "counters" }], maps: { counters } },
      message: "a BPF_LD_IMM64 needs insns 1 and 2, the program has 2",
    },
  ])("refuses $what before calling the kernel", ({ spec, message }) => {
    expect(() => loadProgram(spec)).toThrow(message);
  });
});

describe("patchMapRefs", () => {
  it("writes the map fd into the first slot's imm and zero into the second's, on a copy", () => {
    const { insns, mapRefs } = countAndReturn(XDP_PASS);
    const patched = patchMapRefs({ type: "xdp", name: "count", insns, mapRefs, maps: { counters } });
    const view = new DataView(patched.buffer);
    expect(view.getInt32(4, true)).toBe(counters.fd);
    expect(view.getInt32(12, true)).toBe(0);
    expect(new DataView(insns.buffer).getInt32(4, true)).toBe(0);
    expect(patched.subarray(16)).toEqual(insns.subarray(16));
  });
});
