// The koffi struct layouts and constants of src/bpf/abi.ts against the real headers: a C program, generated
// from the koffi types themselves, prints sizeof/offsetof of every member and the value of every constant.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import koffi from "koffi";
import { afterAll, describe, expect, it } from "vitest";
import * as abi from "../../src/bpf/abi.ts";
import { BPF_ATTR_SIZE, BPF_CMD } from "../../src/bpf/syscall.ts";
import { kernelBtf } from "../../src/bpf/btf.ts";

const structs = {
  bpf_map_create_opts: abi.bpf_map_create_opts,
  bpf_prog_load_opts: abi.bpf_prog_load_opts,
  bpf_test_run_opts: abi.bpf_test_run_opts,
  bpf_link_update_opts: abi.bpf_link_update_opts,
  if_nameindex: abi.if_nameindex,
  bpf_map_info: abi.bpf_map_info,
  bpf_map_batch_opts: abi.bpf_map_batch_opts,
};

const constants: [string, number][] = [
  ["BPF_MAP_TYPE_HASH", abi.BPF_MAP_TYPE.hash],
  ["BPF_MAP_TYPE_ARRAY", abi.BPF_MAP_TYPE.array],
  ["BPF_MAP_TYPE_PROG_ARRAY", abi.BPF_MAP_TYPE.prog_array],
  ["BPF_MAP_TYPE_PERCPU_ARRAY", abi.BPF_MAP_TYPE.percpu_array],
  ["BPF_PSEUDO_MAP_FD", abi.BPF_PSEUDO_MAP_FD],
  ["BPF_PSEUDO_KFUNC_CALL", abi.BPF_PSEUDO_KFUNC_CALL],
  ["BPF_JMP | BPF_CALL", abi.BPF_CALL_OPCODE],
  ["sizeof(union bpf_attr)", BPF_ATTR_SIZE],
  ["BPF_LINK_CREATE", BPF_CMD.LINK_CREATE],
  ["offsetof(union bpf_attr, link_create.prog_fd)", abi.BPF_LINK_CREATE_ATTR.PROG_FD],
  ["offsetof(union bpf_attr, link_create.target_fd)", abi.BPF_LINK_CREATE_ATTR.TARGET_FD],
  ["offsetof(union bpf_attr, link_create.attach_type)", abi.BPF_LINK_CREATE_ATTR.ATTACH_TYPE],
  ["offsetof(union bpf_attr, link_create.flags)", abi.BPF_LINK_CREATE_ATTR.FLAGS],
  ["BPF_LD | BPF_DW | BPF_IMM", abi.BPF_LD_IMM64_OPCODE],
  ["sizeof(struct bpf_insn)", abi.BPF_INSN_SIZE],
  ["BPF_OBJ_NAME_LEN", abi.BPF_OBJ_NAME_LEN],
  ["BPF_FS_MAGIC", abi.BPF_FS_MAGIC],
];

interface Member {
  offset: number;
  type: unknown;
}

/** Expected (from koffi) and actual (from C) lines, in the same order. */
function layoutLines(): { expected: string[]; cExpressions: string[] } {
  const expected: string[] = [];
  const cExpressions: string[] = [];
  for (const [name, type] of Object.entries(structs)) {
    expected.push(`sizeof(struct ${name}) = ${koffi.sizeof(type)}`);
    cExpressions.push(`"sizeof(struct ${name}) = %zu\\n", sizeof(struct ${name})`);
    const members = koffi.introspect(type).members as unknown as Record<string, Member>;
    for (const [field, member] of Object.entries(members)) {
      const where = `struct ${name}.${field}`;
      expected.push(`${where}: offset ${member.offset} size ${koffi.sizeof(member.type as koffi.IKoffiCType)}`);
      cExpressions.push(
        `"${where}: offset %zu size %zu\\n", offsetof(struct ${name}, ${field}), sizeof(((struct ${name} *)0)->${field})`,
      );
    }
  }
  for (const [cName, value] of constants) {
    expected.push(`${cName} = ${value}`);
    cExpressions.push(`"${cName} = %llu\\n", (unsigned long long)(${cName})`);
  }
  return { expected, cExpressions };
}

const workdir = mkdtempSync(join(tmpdir(), "bpf-layout-"));
afterAll(() => rmSync(workdir, { recursive: true, force: true }));

describe("abi.ts against the C headers", () => {
  it("every struct size, member offset and size, and constant matches", () => {
    const { expected, cExpressions } = layoutLines();
    const source = [
      "#include <stddef.h>",
      "#include <stdio.h>",
      "#include <net/if.h>",
      "#include <linux/bpf.h>",
      "#include <linux/magic.h>",
      "#include <bpf/bpf.h>",
      "#include <bpf/libbpf.h>",
      "int main(void) {",
      ...cExpressions.map((args) => `\tprintf(${args});`),
      "\treturn 0;",
      "}",
    ].join("\n");
    writeFileSync(join(workdir, "layout.c"), source);
    execFileSync("gcc", ["-Wall", "-Werror", "-o", join(workdir, "layout"), join(workdir, "layout.c")]);
    const actual = execFileSync(join(workdir, "layout"), { encoding: "utf8" }).trimEnd().split("\n");
    expect(actual).toEqual(expected);
  });
});

/**
 * What Debian's 6.1 headers predate (netfilter programs and links, Linux 6.4) is checked against the
 * running kernel's BTF instead; test/bpf/btf.test.ts checks the BTF reader itself against gcc.
 */
describe("abi.ts against the running kernel's BTF", () => {
  const btf = kernelBtf();
  it.each([
    ["BPF_PROG_TYPE_NETFILTER", "bpf_prog_type", abi.BPF_PROG_TYPE.netfilter],
    ["BPF_NETFILTER", "bpf_attach_type", abi.BPF_NETFILTER],
    ["BPF_LINK_TYPE_NETFILTER", "bpf_link_type", abi.BPF_LINK_TYPE_NETFILTER],
  ] as const)("%s (enum %s) == %i", (name, enumName, value) => {
    expect(btf.enumValue(enumName, name)).toBe(BigInt(value));
  });

  it.each([
    ["link_create.netfilter.pf", abi.BPF_LINK_CREATE_ATTR.NF_PF],
    ["link_create.netfilter.hooknum", abi.BPF_LINK_CREATE_ATTR.NF_HOOKNUM],
    ["link_create.netfilter.priority", abi.BPF_LINK_CREATE_ATTR.NF_PRIORITY],
    ["link_create.netfilter.flags", abi.BPF_LINK_CREATE_ATTR.NF_FLAGS],
  ] as const)("offsetof(union bpf_attr, %s) == %i", (member, offset) => {
    expect(btf.member("bpf_attr", member)).toEqual({ offset, size: 4 });
  });

  it.each([
    ["netfilter.pf", abi.LINK_INFO_NETFILTER.PF],
    ["netfilter.hooknum", abi.LINK_INFO_NETFILTER.HOOKNUM],
    ["netfilter.priority", abi.LINK_INFO_NETFILTER.PRIORITY],
    ["netfilter.flags", abi.LINK_INFO_NETFILTER.FLAGS],
  ] as const)("offsetof(struct bpf_link_info, %s) == 16 + %i", (member, offset) => {
    expect(btf.member("bpf_link_info", member)).toEqual({ offset: 16 + offset, size: 4 });
  });
});
