// The koffi struct layouts and constants of src/bpf/abi.ts against the real headers: a C program, generated
// from the koffi types themselves, prints sizeof/offsetof of every member and the value of every constant.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import koffi from "koffi";
import { afterAll, describe, expect, it } from "vitest";
import * as abi from "../../src/bpf/abi.ts";

const structs = {
  bpf_map_create_opts: abi.bpf_map_create_opts,
  bpf_prog_load_opts: abi.bpf_prog_load_opts,
  bpf_test_run_opts: abi.bpf_test_run_opts,
  bpf_link_create_opts: abi.bpf_link_create_opts,
  bpf_link_update_opts: abi.bpf_link_update_opts,
  bpf_tc_hook: abi.bpf_tc_hook,
  bpf_tc_opts: abi.bpf_tc_opts,
  if_nameindex: abi.if_nameindex,
  bpf_map_info: abi.bpf_map_info,
  bpf_map_batch_opts: abi.bpf_map_batch_opts,
};

const constants: [string, number][] = [
  ["BPF_PROG_TYPE_SCHED_CLS", abi.BPF_PROG_TYPE.sched_cls],
  ["BPF_PROG_TYPE_XDP", abi.BPF_PROG_TYPE.xdp],
  ["BPF_MAP_TYPE_HASH", abi.BPF_MAP_TYPE.hash],
  ["BPF_MAP_TYPE_ARRAY", abi.BPF_MAP_TYPE.array],
  ["BPF_MAP_TYPE_PERCPU_ARRAY", abi.BPF_MAP_TYPE.percpu_array],
  ["BPF_XDP", abi.BPF_XDP],
  ["BPF_PSEUDO_MAP_FD", abi.BPF_PSEUDO_MAP_FD],
  ["BPF_LD | BPF_DW | BPF_IMM", abi.BPF_LD_IMM64_OPCODE],
  ["sizeof(struct bpf_insn)", abi.BPF_INSN_SIZE],
  ["BPF_OBJ_NAME_LEN", abi.BPF_OBJ_NAME_LEN],
  ["XDP_FLAGS_SKB_MODE", abi.XDP_FLAGS.skb],
  ["XDP_FLAGS_DRV_MODE", abi.XDP_FLAGS.native],
  ["BPF_TC_EGRESS", abi.BPF_TC_EGRESS],
  ["BPF_TC_INGRESS", abi.BPF_TC_INGRESS],
  ["BPF_TC_F_REPLACE", abi.BPF_TC_F_REPLACE],
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
      "#include <linux/if_link.h>",
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
