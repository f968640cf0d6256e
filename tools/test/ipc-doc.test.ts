import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { mustCapture } from "../src/lib/proc.ts";

/** The protocol header and its documentation (carried into the series as Documentation/networking/bpfilter.rst). */
const REPO = join(import.meta.dirname, "../..");
const HEADER = readFileSync(join(REPO, "uapi/linux/bpfilter_ipc.h"), "utf8");
const DOC = readFileSync(join(REPO, "kernel/doc/bpfilter.rst"), "utf8");

interface Field {
  readonly name: string;
  readonly type: string;
}

/** The header's constants (#define with a value, enum members) and structs, read from its text. */
function headerNames(): { constants: string[]; structs: Map<string, Field[]> } {
  const constants = [
    ...[...HEADER.matchAll(/^#define\s+(BPFILTER_\w+)\s+\S/gm)].map((m) => m[1]!),
    ...[...HEADER.matchAll(/^\s*(BPFILTER_IPC_\w+)\s*=/gm)].map((m) => m[1]!),
  ];
  const structs = new Map<string, Field[]>();
  for (const m of HEADER.matchAll(/^struct (\w+) \{([^}]*)\};/gm)) {
    structs.set(m[1]!, [...m[2]!.matchAll(/^\s*(__[us]\d+)\s+(\w+);/gm)].map((f) => ({ type: f[1]!, name: f[2]! })));
  }
  return { constants, structs };
}

/** What the C compiler says: every constant's value, every struct's size, every field's offset and size. */
function compiled(constants: readonly string[], structs: ReadonlyMap<string, readonly Field[]>): Map<string, bigint> {
  const dir = mkdtempSync(join(tmpdir(), "bpfilter-ipc-doc-"));
  try {
    const lines = [
      "#include <stddef.h>",
      "#include <stdio.h>",
      "#include <linux/bpfilter_ipc.h>",
      "int main(void) {",
      ...constants.map((c) => `printf("${c} %llu\\n", (unsigned long long)(${c}));`),
      ...[...structs].flatMap(([s, fields]) => [
        `printf("sizeof ${s} %zu\\n", sizeof(struct ${s}));`,
        ...fields.flatMap((f) => [
          `printf("offsetof ${s}.${f.name} %zu\\n", offsetof(struct ${s}, ${f.name}));`,
          `printf("sizeof ${s}.${f.name} %zu\\n", sizeof(((struct ${s} *)0)->${f.name}));`,
        ]),
      ]),
      "return 0; }",
    ];
    writeFileSync(join(dir, "probe.c"), lines.join("\n"));
    mustCapture(["cc", "-Wall", "-Werror", "-I", join(REPO, "uapi"), "-o", join(dir, "probe"), join(dir, "probe.c")]);
    const out = mustCapture([join(dir, "probe")]);
    return new Map(out.trim().split("\n").map((l) => { const i = l.lastIndexOf(" "); return [l.slice(0, i), BigInt(l.slice(i + 1))]; }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The documented constants: rows "NAME  value  meaning" of the constants table. */
function documentedConstants(): Map<string, bigint> {
  return new Map([...DOC.matchAll(/^(BPFILTER_\w+)\s+(0x[0-9a-fA-F]+|\d+)\s/gm)].map((m) => [m[1]!, BigInt(m[2]!)]));
}

/** The documented structs: a "struct NAME (N bytes)" heading, then rows "offset field type meaning". */
function documentedStructs(): Map<string, { size: number; fields: { offset: number; name: string; type: string }[] }> {
  const out = new Map<string, { size: number; fields: { offset: number; name: string; type: string }[] }>();
  const sections = DOC.split(/^(?=struct \w+ \(\d+ bytes\)$)/m).slice(1);
  for (const sec of sections) {
    const head = /^struct (\w+) \((\d+) bytes\)$/m.exec(sec)!;
    // The section runs from below its own underline to the next heading.
    const body = sec.split("\n").slice(2).join("\n").split(/^\S.*\n[=-]{3,}$/m)[0]!;
    const fields = [...body.matchAll(/^(\d+)\s+(\w+)\s+(__[us]\d+)\s/gm)].map((m) => ({ offset: Number(m[1]), name: m[2]!, type: m[3]! }));
    out.set(head[1]!, { size: Number(head[2]), fields });
  }
  return out;
}

const { constants, structs } = headerNames();
let truth = new Map<string, bigint>();
beforeAll(() => {
  truth = compiled(constants, structs);
});

describe("kernel/doc/bpfilter.rst documents uapi/linux/bpfilter_ipc.h", () => {
  it("finds what to check in the header", () => {
    expect(constants).toContain("BPFILTER_IPC_MAGIC");
    expect(constants).toContain("BPFILTER_IPC_SOCKOPT_REPLY");
    expect([...structs.keys()]).toContain("bpfilter_ipc_hdr");
  });

  it.each(headerNames().constants)("documents %s with the value the compiler sees", (c) => {
    expect(documentedConstants().get(c), `${c} missing from the constants table`).toBe(truth.get(c));
  });

  it.each([...headerNames().structs.keys()])("documents struct %s: its size, and each field's offset and type", (s) => {
    const doc = documentedStructs().get(s);
    expect(doc, `no "struct ${s} (N bytes)" section`).toBeDefined();
    expect(BigInt(doc!.size)).toBe(truth.get(`sizeof ${s}`));
    const header = structs.get(s)!;
    expect(doc!.fields.map((f) => f.name)).toEqual(header.map((f) => f.name));
    for (const f of doc!.fields) {
      expect(BigInt(f.offset), `${s}.${f.name} offset`).toBe(truth.get(`offsetof ${s}.${f.name}`));
      expect(f.type, `${s}.${f.name} type`).toBe(header.find((h) => h.name === f.name)!.type);
      expect(BigInt(Number(/\d+/.exec(f.type)![0]) / 8), `${s}.${f.name} size`).toBe(truth.get(`sizeof ${s}.${f.name}`));
    }
  });

  it("documents nothing the header lacks", () => {
    expect([...documentedConstants().keys()].filter((c) => !constants.includes(c))).toEqual([]);
    expect([...documentedStructs().keys()].filter((s) => !structs.has(s))).toEqual([]);
  });

  it.each(["helper", "timeout_ms", "hello_timeout_ms", "allow_userns", "helper_pid"])("documents the module parameter bpfilter.%s", (p) => {
    expect(DOC).toMatch(new RegExp(`^\`\`${p}\`\`$`, "m"));
  });
});
