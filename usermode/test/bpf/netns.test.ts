// inNetns and the interface list, against what iproute2 and /proc say.
import { execFileSync, spawn } from "node:child_process";
import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ifindexOf, ifindexes, inNetns, interfaces } from "../../src/bpf/index.ts";
import { createVethPair, type VethPair } from "./veth-pair.ts";

let pair: VethPair;
beforeAll(() => {
  pair = createVethPair();
});
afterAll(() => pair?.destroy());

/** The inode of the netns the calling thread is in. */
function currentNetns(): number {
  return statSync("/proc/thread-self/ns/net").ino;
}

/** Interfaces of a named netns as `ip -o link` lists them. */
function ipLinks(netns: string): { ifindex: number; name: string }[] {
  const out = execFileSync("ip", ["-n", netns, "-o", "link", "show"], { encoding: "utf8" });
  return out
    .trim()
    .split("\n")
    .map((line) => {
      const match = /^(\d+): ([^:@]+)[:@]/.exec(line);
      if (match === null) throw new Error(`unexpected ip -o link line: ${line}`);
      return { ifindex: Number(match[1]), name: match[2]! };
    });
}

describe("inNetns", () => {
  it("runs fn in the target netns and returns to the original one", () => {
    const home = currentNetns();
    const target = statSync(pair.b.netnsPath).ino;
    expect(target).not.toBe(home);
    expect(inNetns(pair.b.netnsPath, currentNetns)).toBe(target);
    expect(currentNetns()).toBe(home);
  });

  it("enters the netns of a process through /proc/<pid>/ns/net, as the kernel's requests name it", () => {
    const child = spawn("ip", ["netns", "exec", pair.a.netns, "sleep", "30"], { stdio: "ignore" });
    try {
      // ip netns exec setns()es then execs sleep: wait until the child's netns is the target one.
      const target = statSync(pair.a.netnsPath).ino;
      const path = `/proc/${child.pid}/ns/net`;
      const deadline = Date.now() + 5000;
      while (statSync(path).ino !== target && Date.now() < deadline) execFileSync("sleep", ["0.01"]);
      expect(inNetns(path, () => interfaces().map((netif) => netif.name))).toContain(pair.a.ifname);
    } finally {
      child.kill();
    }
  });

  it("returns to the original netns when fn throws, and rethrows", () => {
    const home = currentNetns();
    expect(() =>
      inNetns(pair.a.netnsPath, () => {
        throw new Error("boom in netns");
      }),
    ).toThrow("boom in netns");
    expect(currentNetns()).toBe(home);
  });

  it("refuses an async fn, whose continuation would run in the wrong netns", () => {
    const home = currentNetns();
    expect(() => inNetns(pair.a.netnsPath, async () => 1)).toThrow("fn returned a Promise");
    expect(currentNetns()).toBe(home);
  });

  it("nests: an inner inNetns returns to the outer target", () => {
    const outer = statSync(pair.a.netnsPath).ino;
    const seen = inNetns(pair.a.netnsPath, () => {
      inNetns(pair.b.netnsPath, currentNetns);
      return currentNetns();
    });
    expect(seen).toBe(outer);
  });

  it("names the path when it is not a netns", () => {
    expect(() => inNetns("/run/netns/bpft-does-not-exist", currentNetns)).toThrow("/run/netns/bpft-does-not-exist");
    expect(() => inNetns("/proc/self/ns/uts", currentNetns)).toThrow("setns('/proc/self/ns/uts', CLONE_NEWNET)");
  });
});

describe("interfaces", () => {
  it.each(["a", "b"] as const)("lists exactly what `ip link` lists in netns %s", (side) => {
    const end = pair[side];
    const listed = inNetns(end.netnsPath, interfaces);
    expect(listed.sort((x, y) => x.ifindex - y.ifindex)).toEqual(ipLinks(end.netns));
    expect(inNetns(end.netnsPath, ifindexes).sort((x, y) => x - y)).toEqual(listed.map((netif) => netif.ifindex));
    expect(listed.map((netif) => netif.name)).toContain(end.ifname);
  });

  it("ifindexOf finds the veth and names a missing interface", () => {
    expect(inNetns(pair.a.netnsPath, () => ifindexOf(pair.a.ifname))).toBe(pair.a.ifindex);
    expect(() => inNetns(pair.a.netnsPath, () => ifindexOf("nosuchif0"))).toThrow("if_nametoindex('nosuchif0')");
  });
});
