// The target extensions' decoding and checkentry rules (ipt_REJECT.c reject_tg_check, xt_LOG.c
// log_tg_check, xt_mark.c's MARK revision 2), and the kfunc arguments each passes, written by hand.
import { describe, expect, it } from "vitest";
import { reject, IPT_REJECT_WITH } from "../../src/ext/reject.ts";
import { log, XT_LOG_INFO_SIZE } from "../../src/ext/log.ts";
import { markTarget } from "../../src/ext/mark_target.ts";
import { UnsupportedFeature } from "../../src/ext/types.ts";
import { extensionDataSize, findTarget } from "../../src/ext/registry.ts";
import { IPT_INV, type IpHeaderMatch } from "../../src/ir/types.ts";

function u32s(size: number, ...values: number[]): Uint8Array {
  const out = new Uint8Array(size);
  values.forEach((v, i) => new DataView(out.buffer).setUint32(4 * i, v, true));
  return out;
}

function ip(proto: number, invflags = 0): IpHeaderMatch {
  const mask = new Uint8Array(16);
  return { src: 0, srcMask: 0, dst: 0, dstMask: 0, inIface: "", inIfaceMask: mask, outIface: "", outIfaceMask: mask, proto, flags: 0, invflags };
}

function logData(level: number, logflags: number, prefix: string): Uint8Array {
  const out = new Uint8Array(XT_LOG_INFO_SIZE);
  out[0] = level;
  out[1] = logflags;
  out.set(Buffer.from(prefix, "latin1"), 2);
  return out;
}

describe("REJECT", () => {
  it("decodes every --reject-with but echo-reply, for any protocol", () => {
    for (const w of [0, 1, 2, 3, 5, 6, 8, 9, 200]) expect(reject.decode(u32s(8, w), 0, ip(17))).toEqual({ kind: "reject", with: w });
  });
  it("refuses echo-reply, as reject_tg_check", () => {
    expect(() => reject.decode(u32s(8, IPT_REJECT_WITH.ECHOREPLY), 0, ip(0))).toThrow(/echo-reply is no longer supported/);
  });
  it("takes tcp-reset only with -p tcp, not with ! -p tcp", () => {
    expect(reject.decode(u32s(8, IPT_REJECT_WITH.TCP_RESET), 0, ip(6))).toEqual({ kind: "reject", with: 7 });
    for (const rule of [ip(17), ip(0), ip(6, IPT_INV.PROTO)]) expect(() => reject.decode(u32s(8, 7), 0, rule)).toThrow(/tcp-reset needs -p tcp/);
  });
  it("refuses data that is not XT_ALIGN(4) bytes", () => {
    expect(() => reject.decode(u32s(4, 3), 0, ip(0))).toThrow(/expected 8/);
    expect(() => reject.decode(u32s(16, 3), 0, ip(0))).toThrow(/expected 8/);
  });
  it("passes --reject-with to bpf_nf_reject_ipv4 and says it in iptables-save words", () => {
    expect(reject.args({ kind: "reject", with: 3 })).toEqual([{ u32: 3 }]);
    expect(reject.describe({ kind: "reject", with: 7 })).toBe("-j REJECT --reject-with tcp-reset");
    expect(reject.describe({ kind: "reject", with: 8 })).toBe("-j REJECT --reject-with icmp-admin-prohibited");
  });
});

describe("LOG", () => {
  it("decodes level, flags and the prefix up to its NUL", () => {
    expect(log.decode(logData(6, 0x2f, "IN-DROP: "), 0, ip(0))).toEqual({ kind: "log", level: 6, logflags: 0x2f, prefix: "IN-DROP: " });
    expect(log.decode(logData(4, 0, ""), 0, ip(0))).toEqual({ kind: "log", level: 4, logflags: 0, prefix: "" });
  });
  it("refuses a level of 8 or more and a prefix without its NUL, as log_tg_check", () => {
    expect(() => log.decode(logData(8, 0, "x"), 0, ip(0))).toThrow(/level 8/);
    expect(() => log.decode(logData(4, 0, "a".repeat(30)), 0, ip(0))).toThrow(/not NUL-terminated/);
  });
  it("leaves flags outside NF_LOG_MASK to netfilter", () => {
    expect(() => log.decode(logData(4, 0x10, "x"), 0, ip(0))).toThrow(UnsupportedFeature);
  });
  it("passes the prefix as xt_log_info holds it, NUL-padded to 30 bytes", () => {
    const [level, flags, prefix] = log.args({ kind: "log", level: 5, logflags: 1, prefix: "ab" });
    expect(level).toEqual({ u32: 5 });
    expect(flags).toEqual({ u32: 1 });
    expect(prefix).toEqual({ bytes: Uint8Array.from([0x61, 0x62, ...new Array(28).fill(0)]) });
    expect(log.describe({ kind: "log", level: 4, logflags: 0x09, prefix: "p " })).toBe('-j LOG --log-prefix "p " --log-tcp-sequence --log-uid');
  });
});

describe("MARK", () => {
  it("decodes revision 2's mark and mask and passes both to bpf_nf_set_mark", () => {
    const t = markTarget.decode(u32s(8, 0x40000, 0xff0000), 2, ip(0));
    expect(t).toEqual({ kind: "mark", mark: 0x40000, mask: 0xff0000 });
    expect(markTarget.args(t)).toEqual([{ u32: 0x40000 }, { u32: 0xff0000 }]);
    expect(markTarget.describe(t)).toBe("-j MARK --set-xmark 0x40000/0xff0000");
  });
  it("knows only revision 2, the one xt_mark.c registers", () => {
    expect(findTarget("MARK", 2)).toBe(markTarget);
    expect(findTarget("MARK", 0)).toBeUndefined();
    expect(findTarget("MARK", 1)).toBeUndefined();
  });
});

describe("targetsize", () => {
  it("is what GET_ENTRIES gives back of each target's data", () => {
    expect(extensionDataSize("target", "REJECT", 0)).toBe(4);
    expect(extensionDataSize("target", "LOG", 0)).toBe(32);
    expect(extensionDataSize("target", "MARK", 2)).toBe(8);
    expect(extensionDataSize("target", "NFQUEUE", 3)).toBeUndefined();
  });
});
