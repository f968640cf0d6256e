// The BTF reader: on synthetic blobs (every lookup, split BTF, malformed input) and on the running
// kernel's BTF against gcc's offsetof/sizeof for structs that Debian's headers also define.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Btf, BTF_KIND, kernelBtf } from "../../src/bpf/btf.ts";
import { btfBlob } from "./btf-blob.ts";

/** Builds a BTF blob from type records (name, info, size/type, extra u32s) over a string list. */
function blob(strings: readonly string[], types: readonly (readonly number[])[], stringsBase = 0): { bytes: Uint8Array; off: (s: string) => number } {
  const table = Buffer.from(`\0${strings.join("\0")}\0`, "latin1");
  const off = (s: string): number => {
    if (s === "") return 0;
    const at = table.indexOf(Buffer.from(`\0${s}\0`, "latin1"));
    if (at < 0) throw new Error(`no string ${s}`);
    return stringsBase + at + 1;
  };
  return { bytes: btfBlob(new Uint8Array(Uint32Array.from(types.flat()).buffer), table), off };
}

const info = (kind: number, vlen = 0, kindFlag = false) => ((kindFlag ? 1 : 0) << 31) | (kind << 24) | vlen;

describe("Btf on a synthetic blob", () => {
  const names = ["int", "pkt", "len", "data", "u", "a", "b", "flags", "hook", "IN", "OUT", "big", "f", "td"];
  const s = blob(names, []).off;
  // 1 int (4 bytes), 2 struct pkt { int len; union { int a; int b; }; u8 flags:3 (bitfield); }, 3 anon union,
  // 4 enum hook { IN = 1, OUT = -1 }, 5 enum64 big { f = 2^40 }, 6 typedef td -> const -> pkt, 7 const, 8 func data
  const types = [
    [s("int"), info(BTF_KIND.INT), 4, 32],
    [s("pkt"), info(BTF_KIND.STRUCT, 3, true), 12, s("len"), 1, 0, 0, 3, 32, s("flags"), 1, (3 << 24) | 64],
    [0, info(BTF_KIND.UNION, 2), 4, s("a"), 1, 0, s("b"), 1, 0],
    [s("hook"), info(BTF_KIND.ENUM, 2, true), 4, s("IN"), 1, s("OUT"), -1 >>> 0],
    [s("big"), info(BTF_KIND.ENUM64, 1), 8, s("f"), 0, 256],
    [s("td"), info(BTF_KIND.TYPEDEF), 7],
    [0, info(BTF_KIND.CONST), 2],
    [s("data"), info(BTF_KIND.FUNC), 1],
  ];
  const btf = Btf.parse(blob(names, types).bytes, "test");

  it("finds types by kind and name, and decodes them", () => {
    expect(btf.lastId).toBe(8);
    expect(btf.find(BTF_KIND.STRUCT, "pkt")).toBe(2);
    expect(btf.find(BTF_KIND.FUNC, "data")).toBe(8);
    expect(btf.find(BTF_KIND.STRUCT, "data")).toBeUndefined();
    expect(btf.find(BTF_KIND.STRUCT, "nope")).toBeUndefined();
    expect(() => btf.require(BTF_KIND.FUNC, "nope")).toThrow("BTF test: no func 'nope'");
  });

  it("locates members, also inside anonymous unions and through typedefs, and refuses bitfields", () => {
    expect(btf.member("pkt", "len")).toEqual({ offset: 0, size: 4 });
    expect(btf.member("pkt", "b")).toEqual({ offset: 4, size: 4 });
    expect(btf.sizeOf(6)).toBe(12);
    expect(() => btf.member("pkt", "flags")).toThrow("BTF test: pkt.flags is a bitfield");
    expect(() => btf.member("pkt", "zzz")).toThrow("BTF test: struct 'pkt' has no member 'zzz'");
    expect(() => btf.member("nope", "len")).toThrow("BTF test: no struct 'nope'");
  });

  it("reads signed enums and enum64 values", () => {
    expect(btf.enumValue("hook", "IN")).toBe(1n);
    expect(btf.enumValue("hook", "OUT")).toBe(-1n);
    expect(btf.enumValue(undefined, "f")).toBe(1n << 40n);
    expect(() => btf.enumValue(undefined, "zzz")).toThrow("no enumerator 'zzz'");
  });

  it("reads split BTF on top of a base: ids and string offsets continue the base's", () => {
    const base = blob(names, []).bytes;
    const baseStrings = new DataView(base.buffer).getUint32(20, true);
    // the split blob's own FUNC names a string of its own section
    const types = [[blob(["mod_fn"], [], baseStrings).off("mod_fn"), info(BTF_KIND.FUNC), 1]];
    const module = Btf.parse(blob(["mod_fn"], types, baseStrings).bytes, "module", btf);
    expect(module.firstId).toBe(9);
    expect(module.find(BTF_KIND.FUNC, "mod_fn")).toBe(9);
    expect(module.type(9).name).toBe("mod_fn");
    expect(module.type(2).name).toBe("pkt");
    expect(module.find(BTF_KIND.FUNC, "data")).toBeUndefined(); // the base's: find() looks in this BTF only
    expect(module.require(BTF_KIND.FUNC, "data")).toBe(8);
  });

  it.each([
    ["a short blob", new Uint8Array(10), "BTF bad: 10 bytes, shorter than its header"],
    ["a bad magic", new Uint8Array(24), "BTF bad: bad magic 0x0"],
    ["an unknown kind", blob([], [[0, info(31), 0]]).bytes, "BTF bad: type 1: unknown kind 31"],
    ["a truncated struct", blob([], [[0, info(BTF_KIND.STRUCT, 5), 4]]).bytes, "BTF bad: type 1: truncated"],
  ])("refuses %s, naming the problem", (_what, bytes, message) => {
    expect(() => Btf.parse(bytes, "bad").type(1)).toThrow(message);
  });
});

describe("Btf on the running kernel against gcc and Debian's headers", () => {
  const dir = mkdtempSync(join(tmpdir(), "btf-layout-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const checks: readonly [struct: string, member: string, cStruct: string][] = [
    ["iphdr", "ttl", "struct iphdr"],
    ["iphdr", "saddr", "struct iphdr"],
    ["iphdr", "daddr", "struct iphdr"],
    ["tcphdr", "window", "struct tcphdr"],
    ["udphdr", "dest", "struct udphdr"],
    ["bpf_attr", "link_create.target_fd", "union bpf_attr"],
    ["bpf_attr", "test.ctx_size_in", "union bpf_attr"],
    ["__sk_buff", "len", "struct __sk_buff"],
    ["bpf_prog_info", "nr_map_ids", "struct bpf_prog_info"],
  ];

  it("every member's offset and size equal offsetof/sizeof", () => {
    const source = [
      "#include <stdio.h>",
      "#include <stddef.h>",
      "#include <linux/bpf.h>",
      "#include <linux/ip.h>",
      "#include <linux/tcp.h>",
      "#include <linux/udp.h>",
      "#define SIZE(t, m) sizeof(((t *)0)->m)",
      "int main(void) {",
      ...checks.map(([, member, cStruct]) => `\tprintf("%zu %zu\\n", offsetof(${cStruct}, ${member}), SIZE(${cStruct}, ${member}));`),
      "\treturn 0;",
      "}",
    ].join("\n");
    writeFileSync(join(dir, "btf.c"), source);
    execFileSync("gcc", ["-Wall", "-Werror", "-o", join(dir, "btf"), join(dir, "btf.c")]);
    const fromC = execFileSync(join(dir, "btf"), { encoding: "utf8" }).trimEnd().split("\n");
    const btf = kernelBtf();
    expect(checks.map(([struct, member]) => Object.values(btf.member(struct, member)).join(" "))).toEqual(fromC);
  });
});
