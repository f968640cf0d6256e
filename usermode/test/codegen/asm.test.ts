import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  add, and, arsh, assemble, atomicAdd, atomicCmpxchg, atomicXchg, call, disassemble, div, dropUnreachable, exit, insn, ja, jeq, jge, jgt, jle, jlt, jne,
  jset, jsge, jsgt, jsle, jslt, ldImm64, ldMapFd, ldx, lsh, mod, mov, mul, neg, neg32, or, parseProgram, pendingBranchDepth, rsh,
  st, stx, sub, toBe, toLe, withLabel, xor, type Insn,
} from "../../src/codegen/asm/index.ts";

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

// DSL call → exact struct bpf_insn bytes (opcode, regs, off LE, imm LE) → disassembly text.
const CASES: readonly [Insn, string, string][] = [
  [mov.imm(0, 2), "b700000002000000", "r0 = 2"],
  [mov.reg(1, 2), "bf21000000000000", "r1 = r2"],
  [mov.imm32(3, -1), "b4030000ffffffff", "w3 = -1"],
  [mov.reg32(4, 5), "bc54000000000000", "w4 = w5"],
  [add.imm(1, 14), "070100000e000000", "r1 += 14"],
  [add.reg32(1, 2), "0c21000000000000", "w1 += w2"],
  [sub.reg(1, 2), "1f21000000000000", "r1 -= r2"],
  [sub.imm32(1, 7), "1401000007000000", "w1 -= 7"],
  [mul.imm(2, 3), "2702000003000000", "r2 *= 3"],
  [div.reg(2, 3), "3f32000000000000", "r2 /= r3"],
  [mod.reg32(2, 3), "9c32000000000000", "w2 %= w3"],
  [or.reg(1, 9), "4f91000000000000", "r1 |= r9"],
  [and.imm(1, 0xf), "570100000f000000", "r1 &= 15"],
  [and.imm32(1, 0xffff_ffff), "54010000ffffffff", "w1 &= -1"],
  [xor.imm(1, 1), "a701000001000000", "r1 ^= 1"],
  [lsh.imm(1, 2), "6701000002000000", "r1 <<= 2"],
  [rsh.imm(1, 8), "7701000008000000", "r1 >>= 8"],
  [rsh.reg32(1, 2), "7c21000000000000", "w1 >>= w2"],
  [arsh.imm(1, 3), "c701000003000000", "r1 s>>= 3"],
  [neg(1), "8701000000000000", "r1 = -r1"],
  [neg32(1), "8401000000000000", "w1 = -w1"],
  [toBe(1, 16), "dc01000010000000", "r1 = be16 r1"],
  [toBe(2, 32), "dc02000020000000", "r2 = be32 r2"],
  [toLe(2, 64), "d402000040000000", "r2 = le64 r2"],
  [ldx("u8", 0, 1, 12), "71100c0000000000", "r0 = *(u8 *)(r1 +12)"],
  [ldx("u16", 2, 7, 2), "6972020000000000", "r2 = *(u16 *)(r7 +2)"],
  [ldx("u32", 2, 6, 4), "6162040000000000", "r2 = *(u32 *)(r6 +4)"],
  [ldx("u64", 1, 10, -8), "79a1f8ff00000000", "r1 = *(u64 *)(r10 -8)"],
  [stx("u64", 10, -8, 1), "7b1af8ff00000000", "*(u64 *)(r10 -8) = r1"],
  [stx("u8", 10, -1, 2), "732affff00000000", "*(u8 *)(r10 -1) = r2"],
  [st("u32", 10, -4, 7), "620afcff07000000", "*(u32 *)(r10 -4) = 7"],
  [st("u16", 10, -2, 0), "6a0afeff00000000", "*(u16 *)(r10 -2) = 0"],
  [atomicAdd("u64", 1, 8, 2), "db21080000000000", "lock *(u64 *)(r1 +8) += r2"],
  [atomicAdd("u32", 1, 0, 2), "c321000000000000", "lock *(u32 *)(r1 +0) += r2"],
  [atomicXchg("u64", 1, 0, 4), "db410000e1000000", "r4 = xchg(*(u64 *)(r1 +0), r4)"],
  [atomicCmpxchg("u32", 1, 8, 3), "c3310800f1000000", "r0 = cmpxchg(*(u32 *)(r1 +8), r0, r3)"],
  [ja(3), "0500030000000000", "goto +3"],
  [ja(-1), "0500ffff00000000", "goto -1"],
  [jeq.imm(1, 6, 2), "1501020006000000", "if r1 == 6 goto +2"],
  [jne.imm32(1, 5, 1), "5601010005000000", "if w1 != 5 goto +1"],
  [jgt.reg(1, 2, 3), "2d21030000000000", "if r1 > r2 goto +3"],
  [jge.imm(3, 20, 4), "3503040014000000", "if r3 >= 20 goto +4"],
  [jlt.reg32(1, 2, 5), "ae21050000000000", "if w1 < w2 goto +5"],
  [jle.imm(1, 65535, 6), "b5010600ffff0000", "if r1 <= 65535 goto +6"],
  [jset.imm(1, 4, 1), "4501010004000000", "if r1 & 4 goto +1"],
  [jsgt.imm(1, -1, 1), "65010100ffffffff", "if r1 s> -1 goto +1"],
  [jsge.reg(1, 2, 1), "7d21010000000000", "if r1 s>= r2 goto +1"],
  [jslt.imm32(1, 0, 1), "c601010000000000", "if w1 s< 0 goto +1"],
  [jsle.reg(1, 2, 1), "dd21010000000000", "if r1 s<= r2 goto +1"],
  [call(69), "8500000045000000", "call 69"],
  [exit(), "9500000000000000", "exit"],
  [ldImm64(1, 0x1122334455667788n), "18010000887766550000000044332211", "r1 = 1234605616436508552 ll"],
  [ldImm64(2, -2), "18020000feffffff00000000ffffffff", "r2 = -2 ll"],
];

describe("assembler: DSL → bytes → text", () => {
  it.each(CASES.map(([ins, bytes, text]) => ({ ins, bytes, text })))("$text", ({ ins, bytes, text }) => {
    const out = assemble([ins]);
    expect(hex(out.insns)).toBe(bytes);
    expect(disassemble(out.insns)).toEqual([text]);
    expect(hex(assemble(parseProgram([text])).insns)).toBe(bytes);
  });

  it("covers every opcode class", () => {
    const classes = new Set(CASES.map(([ins]) => ins.op & 7));
    expect([...classes].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe("assembler: labels and map references", () => {
  it("resolves forward and backward labels to slot offsets, counting LD_IMM64 as two slots", () => {
    const prog = [
      withLabel(mov.imm(0, 0), "top"),
      jeq.imm(1, 0, "out"),
      ldImm64(2, 1n << 40n),
      jne.reg(1, 2, "top"),
      withLabel(exit(), "out"),
    ];
    const out = assemble(prog);
    expect(disassemble(out.insns)).toEqual([
      "r0 = 0",
      "if r1 == 0 goto +3",
      "r2 = 1099511627776 ll",
      "if r1 != r2 goto -5",
      "exit",
    ]);
  });

  it("allows several labels on one instruction", () => {
    const out = assemble([ja("b"), withLabel(withLabel(exit(), "a"), "b")]);
    expect(disassemble(out.insns)).toEqual(["goto +0", "exit"]);
  });

  it("records map references as slot indices and names them in the disassembly", () => {
    const out = assemble([mov.imm(1, 0), ldImm64(3, 5), ldMapFd(1, "counters"), exit()]);
    expect(out.mapRefs).toEqual([{ insn: 3, map: "counters" }]);
    expect(hex(out.insns.subarray(24, 40))).toBe("18110000000000000000000000000000");
    expect(disassemble(out.insns, out.mapRefs)[2]).toBe("r1 = map[counters] ll");
    expect(disassemble(out.insns)[2]).toBe("r1 = map_fd 0 ll");
  });

  it.each([
    ["an undefined label", [ja("nowhere"), exit()], /undefined label 'nowhere'/],
    ["a duplicate label", [withLabel(exit(), "x"), withLabel(exit(), "x")], /label 'x' defined twice/],
    ["a label on a non-jump", [{ ...mov.imm(0, 1), target: "x" }, withLabel(exit(), "x")], /on a non-jump/],
    ["a bad register", [insn(0xb7, { dst: 11 as 10 })], /register r11/],
    ["an s32 overflow", [insn(0xb7, { imm: 1n << 31n })], /out of s32 range/],
  ] as const)("throws on %s", (_name, prog, message) => {
    expect(() => assemble(prog as readonly Insn[])).toThrow(message);
  });

  it("throws when a jump offset leaves s16 range instead of truncating it", () => {
    const body = Array.from({ length: 0x8000 }, () => mov.imm(0, 0));
    expect(() => assemble([ja("end"), ...body, withLabel(exit(), "end")])).toThrow(/beyond the s16 offset range/);
    expect(() => assemble([ja("end"), ...body.slice(1), withLabel(exit(), "end")])).not.toThrow();
  });

  it("rejects a truncated program", () => {
    expect(() => disassemble(new Uint8Array(12))).toThrow(/not a multiple of 8/);
    expect(() => disassemble(Uint8Array.from([0x18, 1, 0, 0, 0, 0, 0, 0]))).toThrow(/lacks its second slot/);
  });
});

const reg = fc.integer({ min: 0, max: 10 }) as fc.Arbitrary<0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10>;
const s32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const s16 = fc.integer({ min: -0x8000, max: 0x7fff });
const size = fc.constantFrom("u8", "u16", "u32", "u64") as fc.Arbitrary<"u8" | "u16" | "u32" | "u64">;
const aluOps = [mov, add, sub, mul, div, mod, or, and, xor, lsh, rsh, arsh];
const jmpOps = [jeq, jne, jgt, jge, jlt, jle, jset, jsgt, jsge, jslt, jsle];
const anyInsn: fc.Arbitrary<Insn> = fc.oneof(
  fc.tuple(fc.constantFrom(...aluOps), fc.constantFrom("imm", "imm32"), reg, s32).map(([o, f, d, k]) => o[f](d, k)),
  fc.tuple(fc.constantFrom(...aluOps), fc.constantFrom("reg", "reg32"), reg, reg).map(([o, f, d, s]) => o[f](d, s)),
  fc.tuple(fc.constantFrom(...jmpOps), fc.constantFrom("imm", "imm32"), reg, s32, s16).map(([o, f, d, k, t]) => o[f](d, k, t)),
  fc.tuple(fc.constantFrom(...jmpOps), fc.constantFrom("reg", "reg32"), reg, reg, s16).map(([o, f, d, s, t]) => o[f](d, s, t)),
  fc.tuple(size, reg, reg, s16).map(([z, d, s, o]) => ldx(z, d, s, o)),
  fc.tuple(size, reg, s16, reg).map(([z, d, o, s]) => stx(z, d, o, s)),
  fc.tuple(size, reg, s16, s32).map(([z, d, o, k]) => st(z, d, o, k)),
  fc.tuple(fc.constantFrom("u32", "u64") as fc.Arbitrary<"u32" | "u64">, reg, s16, reg).map(([z, d, o, s]) => atomicAdd(z, d, o, s)),
  fc.tuple(fc.constantFrom("u32", "u64") as fc.Arbitrary<"u32" | "u64">, reg, s16, reg).map(([z, d, o, s]) => atomicXchg(z, d, o, s)),
  fc.tuple(fc.constantFrom("u32", "u64") as fc.Arbitrary<"u32" | "u64">, reg, s16, reg).map(([z, d, o, s]) => atomicCmpxchg(z, d, o, s)),
  fc.tuple(reg, fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })).map(([d, v]) => ldImm64(d, v)),
  fc.tuple(reg, fc.constantFrom(16, 32, 64) as fc.Arbitrary<16 | 32 | 64>, fc.boolean()).map(([d, b, be]) => (be ? toBe(d, b) : toLe(d, b))),
  fc.tuple(reg, fc.boolean()).map(([d, w]) => (w ? neg32(d) : neg(d))),
  s16.map((o) => ja(o)),
  s32.map((k) => call(k)),
  fc.constant(exit()),
);

describe("assembler: random programs", () => {
  it("round-trip bytes → text → bytes exactly", () => {
    fc.assert(
      fc.property(fc.array(anyInsn, { minLength: 1, maxLength: 40 }), (prog) => {
        const bytes = assemble(prog).insns;
        const text = disassemble(bytes);
        expect(text).toHaveLength(prog.length);
        expect(hex(assemble(parseProgram(text)).insns)).toBe(hex(bytes));
      }),
      { numRuns: 300 },
    );
  });
});

describe("control flow: dropUnreachable and pendingBranchDepth", () => {
  const L = (ins: Insn, label: string): Insn => withLabel(ins, label);

  it("drops what no path reaches, with the labels it carries", () => {
    const prog = [
      jeq.imm(1, 0, "a"),
      mov.imm(0, 1),
      exit(),
      mov.imm(0, 9), // after an exit, no label: unreachable
      L(mov.imm(0, 2), "a"),
      ja("c"),
      L(mov.imm(0, 3), "b"), // only an unreachable jump would go here
      L(exit(), "c"),
    ];
    const kept = dropUnreachable(prog);
    expect(disassemble(assemble(kept).insns)).toEqual(["if r1 == 0 goto +2", "r0 = 1", "exit", "r0 = 2", "goto +0", "exit"]);
  });

  it("refuses raw branch offsets (they would break when code moves)", () => {
    expect(() => dropUnreachable([jeq.imm(1, 0, 1), exit(), exit()])).toThrow(/raw offset/);
  });

  it.each([
    // n rules "if fail goto next; exit": each pending state is taken at once
    ["one branch per rule, short fall-through", 100, 1, 1],
    // n rules with k fail branches each: k - 1 stay pending per rule, plus the one being taken
    ["two branches per rule", 100, 2, 101],
    ["three branches per rule", 50, 3, 101],
  ] as const)("counts pending branch states: %s", (_name, rules, branches, depth) => {
    const prog: Insn[] = [];
    for (let r = 0; r < rules; r++) {
      for (let b = 0; b < branches; b++) prog.push(b === 0 ? L(jne.imm(1, r, `next${r}`), `rule${r}`) : jne.imm(2, b, `next${r}`));
      prog.push(mov.imm(0, 1), exit());
      prog.push(L(mov.imm(3, 0), `next${r}`));
    }
    prog.push(mov.imm(0, 2), exit());
    expect(pendingBranchDepth(prog)).toBe(depth);
  });
});
