// Finding kfuncs by name: in vmlinux, in a module's split BTF (a synthetic one on top of the running
// kernel's), and the BTF object fd that a load passes in fd_array for a module's kfunc.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BTF_KIND, findKfunc, kernelBtf, moduleBtfFd } from "../../src/bpf/index.ts";
import { btfBlob } from "./btf-blob.ts";

/** A module's split BTF with one FUNC `name` (type: vmlinux's type 1), on top of the running kernel's BTF. */
function moduleBtf(name: string): Uint8Array {
  const vmlinux = readFileSync("/sys/kernel/btf/vmlinux");
  const baseStrings = vmlinux.readUInt32LE(20);
  const strings = Buffer.from(`\0${name}\0`, "latin1");
  return btfBlob(new Uint8Array(Uint32Array.of(baseStrings + 1, BTF_KIND.FUNC << 24, 1).buffer), strings);
}

describe("findKfunc", () => {
  const dir = mkdtempSync(join(tmpdir(), "kfunc-btf-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds a vmlinux kfunc: its BTF id, no module", () => {
    expect(findKfunc("bpf_dynptr_slice")).toEqual({ name: "bpf_dynptr_slice", btfId: kernelBtf().require(BTF_KIND.FUNC, "bpf_dynptr_slice") });
  });

  it("finds a module's kfunc in its split BTF: the id continues after vmlinux's", () => {
    writeFileSync(join(dir, "vmlinux"), ""); // skipped: vmlinux is the base
    writeFileSync(join(dir, "nf_test_mod"), moduleBtf("bpf_nf_test_kfunc"));
    expect(findKfunc("bpf_nf_test_kfunc", dir)).toEqual({ name: "bpf_nf_test_kfunc", btfId: kernelBtf().lastId + 1, module: "nf_test_mod" });
  });

  it("names what it searched when no BTF has the kfunc", () => {
    expect(() => findKfunc("bpf_no_such_kfunc", dir)).toThrow("kfunc 'bpf_no_such_kfunc': no such function in the kernel's BTF (searched vmlinux, nf_test_mod)");
  });
});

describe.skipIf(process.getuid?.() !== 0)("moduleBtfFd", () => {
  it("finds a loaded BTF object by the name the kernel gives it (vmlinux's is 'vmlinux')", () => {
    const fd = moduleBtfFd("vmlinux");
    expect(fd).toBeGreaterThan(2);
    expect(moduleBtfFd("vmlinux")).toBe(fd); // kept open and reused
  });

  it("says so when no loaded BTF object has the name", () => {
    expect(() => moduleBtfFd("no_such_module")).toThrow("kfunc: no loaded BTF object is named 'no_such_module'");
  });
});
