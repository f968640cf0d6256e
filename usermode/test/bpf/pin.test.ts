// Pins in a bpffs that the test mounts itself (ensureBpffs on a fresh directory), unmounted afterwards.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMap,
  ensureBpffs,
  getPinned,
  isBpffs,
  loadProgram,
  openPinnedMap,
  openPinnedProgram,
  pinObject,
  programId,
  testRun,
  type MapSpec,
} from "../../src/bpf/index.ts";
import { NF_ACCEPT, ipPacket, returns } from "./tiny-programs.ts";

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "bpffs-"));
});
afterAll(() => {
  if (isBpffs(root)) execFileSync("umount", [root]);
  rmSync(root, { recursive: true, force: true });
});

describe("ensureBpffs", () => {
  it("mounts bpffs where there is none, and is a no-op the second time", () => {
    expect(isBpffs(root)).toBe(false);
    ensureBpffs(root);
    expect(isBpffs(root)).toBe(true);
    ensureBpffs(root);
    const mounts = execFileSync("findmnt", ["-n", "-o", "FSTYPE", "--target", root], { encoding: "utf8" });
    expect(mounts.trim().split("\n")).toEqual(["bpf"]);
  });
});

describe("pins", () => {
  it.each<MapSpec>([
    { type: "array", name: "rules", keySize: 4, valueSize: 8, maxEntries: 3 },
    { type: "percpu_array", name: "counters", keySize: 4, valueSize: 16, maxEntries: 5 },
    { type: "hash", name: "set.v4", keySize: 8, valueSize: 1, maxEntries: 9 },
  ])("a pinned $type map reopens with its spec and contents", (spec) => {
    ensureBpffs(root);
    const path = join(root, `map_${spec.name.replace(".", "_")}`);
    const map = createMap(spec);
    const key = new Uint8Array(spec.keySize).fill(0).map((_, i) => (i === 0 ? 1 : 0));
    const value = new Uint8Array(spec.valueSize).fill(0x5a);
    if (spec.type === "percpu_array") map.updatePerCpu(key, map.lookupPerCpu(key).map(() => value));
    else map.update(key, value);
    pinObject(map.fd, path);
    map.close();

    const reopened = openPinnedMap(path);
    try {
      expect(reopened.spec).toEqual(spec);
      if (spec.type === "percpu_array") expect(reopened.lookupPerCpu(key).every((v) => v.every((b) => b === 0x5a))).toBe(true);
      else expect(reopened.lookup(key)).toEqual(value);
    } finally {
      reopened.close();
    }
  });

  it("a pinned program reopens as the same kernel program", () => {
    ensureBpffs(root);
    const path = join(root, "prog_pass");
    const prog = loadProgram({ type: "netfilter", name: "nf_accept", insns: returns(NF_ACCEPT) });
    try {
      pinObject(prog.fd, path);
      const reopened = openPinnedProgram(path, "nf_accept");
      expect(programId(reopened)).toBe(programId(prog));
      expect(testRun(reopened, ipPacket()).retval).toBe(NF_ACCEPT);
      reopened.close();
    } finally {
      prog.close();
    }
  });

  it("pinning over an existing pin names the path (EEXIST)", () => {
    ensureBpffs(root);
    const path = join(root, "taken");
    const map = createMap({ type: "array", name: "a", keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      pinObject(map.fd, path);
      expect(() => pinObject(map.fd, path)).toThrow(new RegExp(`bpf_obj_pin\\(fd ${map.fd}, '${path}'\\): .*\\(EEXIST\\)`));
    } finally {
      map.close();
    }
  });

  it("a '.' in a pin's name is refused with the reason", () => {
    ensureBpffs(root);
    const map = createMap({ type: "array", name: "a", keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      expect(() => pinObject(map.fd, join(root, "a.b"))).toThrow("(EPERM): bpffs refuses '.' in the name of a pin");
    } finally {
      map.close();
    }
  });

  it("opening a missing pin names the path (ENOENT)", () => {
    ensureBpffs(root);
    const path = join(root, "missing");
    expect(() => getPinned(path)).toThrow(`bpf_obj_get('${path}'): No such file or directory (ENOENT)`);
  });
});
