// loadProgram on the real verifier: accepted programs, rejected ones with their log, map-fd patching errors.
import { afterAll, describe, expect, it } from "vitest";
import { BpfError, BTF_KIND, createMap, kernelBtf, loadProgram, netfilterContextLayout, patchKfuncRefs, patchMapRefs, type ProgSpec } from "../../src/bpf/index.ts";
import { NF_ACCEPT, NF_DROP, addImm, countAndReturn, exit, insn, ldxDW, movImm, movReg, program, returns, unsetR0 } from "./tiny-programs.ts";

const counters = createMap({ type: "percpu_array", name: "counters", keySize: 4, valueSize: 8, maxEntries: 1 });
afterAll(() => counters.close());

describe("loadProgram", () => {
  it.each([
    { type: "netfilter" as const, verdict: NF_ACCEPT },
    { type: "netfilter" as const, verdict: NF_DROP },
  ])("loads a $type program returning $verdict", ({ type, verdict }) => {
    const prog = loadProgram({ type, name: `const_${verdict}`, insns: returns(verdict) });
    try {
      expect(prog.fd).toBeGreaterThan(2);
      expect(prog.name).toBe(`const_${verdict}`);
    } finally {
      prog.close();
    }
  });

  it("loads a program whose BPF_LD_IMM64 is patched with a map fd", () => {
    const { insns, mapRefs } = countAndReturn(NF_ACCEPT);
    const prog = loadProgram({ type: "netfilter", name: "count", insns, mapRefs, maps: { counters } });
    prog.close();
  });

  it("puts the verifier's reason in a BpfError when the kernel rejects a program", () => {
    let caught: unknown;
    try {
      loadProgram({ type: "netfilter", name: "no_r0", insns: unsetR0() });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BpfError);
    const error = caught as BpfError;
    expect(error.code).toBe("EACCES");
    expect(error.errno).toBe(13);
    expect(error.message).toContain("bpf_prog_load(netfilter 'no_r0', 1 insns)");
    expect(error.message).toContain("R0 !read_ok");
    expect(error.verifierLog).toContain("R0 !read_ok");
  });

  it("rejects an unpatched map reference through the verifier, not silently", () => {
    const { insns } = countAndReturn(NF_ACCEPT);
    expect(() => loadProgram({ type: "netfilter", name: "unpatched", insns })).toThrow(BpfError);
  });

  const base: ProgSpec = { type: "netfilter", name: "bad", insns: returns(NF_ACCEPT) };
  it.each<{ what: string; spec: ProgSpec; message: string }>([
    { what: "a name with a dash", spec: { ...base, name: "bad-name" }, message: "program 'bad-name': name may only hold" },
    { what: "a 16-character name", spec: { ...base, name: "a".repeat(16) }, message: "name must be 1 to 15 characters" },
    { what: "insns not a multiple of 8", spec: { ...base, insns: new Uint8Array(12) }, message: "insns is 12 bytes" },
    { what: "no insns", spec: { ...base, insns: new Uint8Array(0) }, message: "insns is 0 bytes" },
    {
      what: "an unknown map in mapRefs",
      spec: { ...base, ...countAndReturn(NF_ACCEPT), maps: { other: counters } },
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
    const { insns, mapRefs } = countAndReturn(NF_ACCEPT);
    const patched = patchMapRefs({ type: "netfilter", name: "count", insns, mapRefs, maps: { counters } });
    const view = new DataView(patched.buffer);
    expect(view.getInt32(4, true)).toBe(counters.fd);
    expect(view.getInt32(12, true)).toBe(0);
    expect(new DataView(insns.buffer).getInt32(4, true)).toBe(0);
    expect(patched.subarray(16)).toEqual(insns.subarray(16));
  });
});

/** A netfilter program that makes a dynptr over ctx->skb (a kfunc call at insn 5) and accepts. */
function dynptrProgram(): Uint8Array {
  const layout = netfilterContextLayout();
  return program(
    movReg(6, 1),
    ldxDW(1, 6, layout.ctxSkb), // r1 = ctx->skb
    movImm(2, 0),
    movReg(3, 10),
    addImm(3, -16), // r3 = fp - 16: the dynptr
    insn(0x85, 0, 2, 0, 0), // call kfunc (imm patched)
    movImm(0, NF_ACCEPT),
    exit(),
  );
}

describe("kfunc references", () => {
  it("resolves a kfunc by name in the kernel's BTF: imm is its BTF id, off 0 (vmlinux), and the program loads", () => {
    const spec: ProgSpec = { type: "netfilter", name: "dynptr", insns: dynptrProgram(), kfuncRefs: [{ insn: 5, kfunc: "bpf_dynptr_from_skb" }] };
    const insns = new Uint8Array(spec.insns);
    expect(patchKfuncRefs(spec, insns)).toBeUndefined(); // no module BTF needed
    const view = new DataView(insns.buffer);
    expect(view.getInt32(5 * 8 + 4, true)).toBe(kernelBtf().require(BTF_KIND.FUNC, "bpf_dynptr_from_skb"));
    expect(view.getInt16(5 * 8 + 2, true)).toBe(0);
    loadProgram(spec).close();
  });

  it("names an unknown kfunc and what was searched", () => {
    const spec: ProgSpec = { type: "netfilter", name: "nokfunc", insns: dynptrProgram(), kfuncRefs: [{ insn: 5, kfunc: "bpf_no_such_kfunc" }] };
    expect(() => loadProgram(spec)).toThrow(/^kfunc 'bpf_no_such_kfunc': no such function in the kernel's BTF \(searched vmlinux/);
  });

  it("refuses a kfunc reference on an instruction that is not a kfunc call", () => {
    const spec: ProgSpec = { type: "netfilter", name: "badref", insns: dynptrProgram(), kfuncRefs: [{ insn: 4, kfunc: "bpf_dynptr_from_skb" }] };
    expect(() => loadProgram(spec)).toThrow("program 'badref': kfunc reference at insn 4: expected BPF_CALL (0x85) with src_reg BPF_PSEUDO_KFUNC_CALL (2), found opcode 0x7 src_reg 0");
  });
});
