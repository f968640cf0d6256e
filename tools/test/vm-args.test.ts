import { describe, expect, it } from "vitest";
import { parseVmArgs, shellQuote } from "../src/vm/args.ts";
import { diagnoseConsole, missingBootOption } from "../src/vm/kernel-check.ts";

describe("tools/vm arguments", () => {
  it("parses every option and the command after --", () => {
    const o = parseVmArgs(["--kernel", "k", "--memory", "2G", "--cpus", "1", "--timeout", "9", "--append", "a=b", "--", "sh", "-c", "exit 7"], "def");
    expect(o).toEqual({ kernel: "k", memory: "2G", cpus: 1, timeoutSec: 9, append: "a=b", launcher: "auto", command: ["sh", "-c", "exit 7"] });
  });
  it.each([
    [["--bogus", "--", "x"], "unknown option --bogus"],
    [["--memory", "lots", "--", "x"], "--memory lots: expected a size like 512M or 2G"],
    [["--cpus", "0", "--", "x"], "--cpus 0: expected a whole number from 1 to 16"],
    [["--timeout"], "--timeout needs a value"],
    [["--launcher", "kvm", "--", "x"], "--launcher kvm: expected auto, qemu or vng"],
    [[], "no command: put it after --, e.g. tools/vm -- uname -r"],
  ])("rejects %j with a message naming the cause", (argv, msg) => {
    expect(() => parseVmArgs(argv, "def")).toThrow(msg);
  });
  it("quotes words so the guest shell sees them unchanged", () => {
    expect(shellQuote(["sh", "-c", "exit 7", "it's"])).toBe(`sh -c 'exit 7' 'it'\\''s'`);
  });
});

describe("kernel checks", () => {
  it("names the first missing boot option", () => {
    expect(missingBootOption("CONFIG_VIRTIO_PCI=y\n", "cfg")).toBe("kernel config cfg lacks CONFIG_NET_9P_VIRTIO=y (the 9p transport)");
  });
  it.each([
    ["VFS: Unable to mount root fs on unknown-block(0,0)", /could not mount the host root over 9p/],
    ["Kernel panic - not syncing: Requested init /x failed (error -2).", /guest init could not run|kernel panic/],
    ["Kernel panic - not syncing: sysrq triggered crash", /^kernel panic: sysrq triggered crash$/],
    ["all quiet", /without reporting an exit status/],
  ])("diagnoses %s", (consoleText, re) => {
    expect(diagnoseConsole(consoleText)).toMatch(re);
  });
});
