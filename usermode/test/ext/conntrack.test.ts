// The conntrack, state and mark matches: decoding as the kernel's structs lay them out, what is
// handed to netfilter and why, describe() text, and the key sets against a table written from
// xt_conntrack.c / xt_state.c by hand (not from ct_state.ts's own functions).
import { describe, expect, it } from "vitest";
import { describeMatch, findMatch, usesConntrack } from "../../src/ext/registry.ts";
import { conntrackHolds, XT_CONNTRACK, XT_CONNTRACK_OFFSETS, XT_CONNTRACK_STATUS_MASK } from "../../src/ext/conntrack.ts";
import { xtStateBit } from "../../src/ext/state.ts";
import { UnsupportedFeature } from "../../src/ext/types.ts";
import type { ConntrackMatch, Match } from "../../src/ir/matches.ts";
import type { Table } from "../../src/ir/types.ts";

const SIZES: Record<number, number> = { 1: 152, 2: 160, 3: 168 }; // XT_ALIGN(sizeof(struct xt_conntrack_mtinfo1/2/3))

function conntrackData(revision: number, flags: number, invert: number, mask: number): Uint8Array {
  const out = new Uint8Array(SIZES[revision]!);
  const view = new DataView(out.buffer);
  view.setUint16(XT_CONNTRACK_OFFSETS.MATCH_FLAGS, flags, true);
  view.setUint16(XT_CONNTRACK_OFFSETS.INVERT_FLAGS, invert, true);
  if (revision === 1) view.setUint8(XT_CONNTRACK_OFFSETS.STATE_MASK, mask);
  else view.setUint16(XT_CONNTRACK_OFFSETS.STATE_MASK, mask, true);
  return out;
}

const conntrack = findMatch("conntrack", 3)!;
const state = findMatch("state", 0)!;
const mark = findMatch("mark", 1)!;

/** The packets, as nf_ct_get sees them: [name, key] (ctinfo, +8 without an entry). */
const PACKETS = {
  established: 0,
  related: 1,
  new: 2,
  establishedReply: 3,
  relatedReply: 4,
  untracked: 8 + 7,
  invalid: 8,
} as const;

describe("conntrack decode", () => {
  it.each([1, 2, 3])("revision %i: --ctstate and --ctdir, sizes as XT_ALIGN(sizeof)", (revision) => {
    const m = findMatch("conntrack", revision)!.decode(conntrackData(revision, XT_CONNTRACK.STATE | XT_CONNTRACK.DIRECTION, XT_CONNTRACK.DIRECTION, 2 | 4), revision);
    expect(m).toEqual({ kind: "conntrack", state: { mask: 6, invert: false }, direction: "reply", alias: false });
    expect(describeMatch(m)).toBe("-m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY");
  });

  it("describes -m state (conntrack revision 3 with XT_CONNTRACK_STATE_ALIAS) as iptables does", () => {
    const m = conntrack.decode(conntrackData(3, XT_CONNTRACK.STATE | XT_CONNTRACK.STATE_ALIAS, XT_CONNTRACK.STATE, 1 | 256), 3);
    expect(describeMatch(m)).toBe("-m state ! --state INVALID,UNTRACKED");
  });

  it.each([
    ["a raw struct size", () => conntrack.decode(new Uint8Array(164), 3), /data is 164 bytes, expected 168/, false],
    ["revision 2's size at revision 3", () => conntrack.decode(new Uint8Array(160), 3), /expected 168/, false],
  ])("hands over %s", (_name, decode, message, unsupported) => {
    expect(decode).toThrow(message);
    try {
      decode();
    } catch (error) {
      // UnsupportedFeature: netfilter enforces valid data; any other error: netfilter judges it (and answers its errno).
      expect(error instanceof UnsupportedFeature).toBe(unsupported);
    }
  });

  it.each([
    [1, XT_CONNTRACK.STATE | XT_CONNTRACK.STATUS, XT_CONNTRACK.STATUS, 64 | 2, 4, { state: { mask: 66, invert: false }, status: { mask: 4, invert: true } }, "-m conntrack --ctstate ESTABLISHED,SNAT ! --ctstatus ASSURED"],
    [2, XT_CONNTRACK.STATE | XT_CONNTRACK.DIRECTION, XT_CONNTRACK.STATE, 128, 0, { state: { mask: 128, invert: true }, direction: "original" }, "-m conntrack ! --ctstate DNAT --ctdir ORIGINAL"],
    [3, XT_CONNTRACK.STATUS, 0, 0, 0x0a, { status: { mask: 10, invert: false } }, "-m conntrack --ctstatus SEEN_REPLY,CONFIRMED"],
    [3, XT_CONNTRACK.STATUS, 0, 0, 0, { status: { mask: 0, invert: false } }, "-m conntrack --ctstatus NONE"],
  ] as const)("revision %i: SNAT, DNAT and --ctstatus (its mask after state_mask)", (revision, flags, invert, mask, statusMask, decoded, text) => {
    const data = conntrackData(revision, flags, invert, mask);
    if (revision === 1) data[XT_CONNTRACK_STATUS_MASK[1]!] = statusMask;
    else new DataView(data.buffer).setUint16(XT_CONNTRACK_STATUS_MASK[revision]!, statusMask, true);
    const m = findMatch("conntrack", revision)!.decode(data, revision);
    expect(m).toEqual({ kind: "conntrack", alias: false, ...decoded });
    expect(describeMatch(m)).toBe(text);
  });

  it("decodes the tuple options: addresses and masks, --ctproto, exact ports (revisions 1, 2), port ranges in host order (3)", () => {
    const flags = XT_CONNTRACK.ORIGSRC | XT_CONNTRACK.REPLDST | XT_CONNTRACK.PROTO | XT_CONNTRACK.ORIGDST_PORT | XT_CONNTRACK.REPLSRC_PORT;
    const fill = (revision: number): Uint8Array => {
      const data = conntrackData(revision, flags, XT_CONNTRACK.REPLDST | XT_CONNTRACK.REPLSRC_PORT, 0);
      data.set([10, 77, 0, 0], 0); // origsrc_addr 10.77.0.0
      data.set([255, 255, 0, 0], 16); // origsrc_mask /16
      data.set([10, 77, 0, 2], 96); // repldst_addr
      data.set([255, 255, 255, 255], 112);
      const view = new DataView(data.buffer);
      view.setUint16(136, 6, true); // l4proto
      if (revision === 3) {
        view.setUint16(140, 80, true); view.setUint16(156, 90, true); // origdst 80:90, host order
        view.setUint16(142, 1000, true); view.setUint16(158, 1000, true);
      } else {
        view.setUint16(140, 80, false); view.setUint16(142, 1000, false); // network order
      }
      return data;
    };
    expect(describeMatch(findMatch("conntrack", 2)!.decode(fill(2), 2))).toBe(
      "-m conntrack --ctorigsrc 10.77.0.0/255.255.0.0 ! --ctrepldst 10.77.0.2/255.255.255.255 --ctproto 6 --ctorigdstport 80 ! --ctreplsrcport 1000",
    );
    const m = findMatch("conntrack", 3)!.decode(fill(3), 3) as ConntrackMatch;
    expect(m.tuple).toEqual([
      { kind: "address", option: "--ctorigsrc", field: "ct.orig.src", addr: 0x0000_4d0a, mask: 0x0000_ffff, invert: false },
      { kind: "address", option: "--ctrepldst", field: "ct.reply.dst", addr: 0x0200_4d0a, mask: 0xffff_ffff, invert: true },
      { kind: "proto", proto: 6, invert: false },
      { kind: "port", option: "--ctorigdstport", field: "ct.orig.dport", order: "host", min: 80, max: 90, invert: false },
      { kind: "port", option: "--ctreplsrcport", field: "ct.reply.sport", order: "host", min: 1000, max: 1000, invert: true },
    ]);
    expect(describeMatch(m)).toContain("--ctorigdstport 80:90 ! --ctreplsrcport 1000");
  });

  it("decodes --ctexpire (expires_min, expires_max), with its inversion", () => {
    const data = conntrackData(3, XT_CONNTRACK.EXPIRES, XT_CONNTRACK.EXPIRES, 0);
    new DataView(data.buffer).setUint32(128, 10, true);
    new DataView(data.buffer).setUint32(132, 300, true);
    const m = conntrack.decode(data, 3) as ConntrackMatch;
    expect(m.tuple).toEqual([{ kind: "expires", min: 10, max: 300, invert: true }]);
    expect(describeMatch(m)).toBe("-m conntrack ! --ctexpire 10:300");
  });

  it("ignores the SNAT/DNAT bits of a mask without XT_CONNTRACK_STATE, as conntrack_mt does", () => {
    expect(conntrack.decode(conntrackData(3, XT_CONNTRACK.DIRECTION, 0, 64), 3)).toEqual({ kind: "conntrack", direction: "original", alias: false });
  });
});

describe("conntrack and state semantics, by packet", () => {
  const ct = (m: Partial<ConntrackMatch>): ConntrackMatch => ({ kind: "conntrack", alias: false, ...m });
  // Each row: the match, and the packets for which the kernel's function returns true.
  it.each([
    ["--ctstate NEW", ct({ state: { mask: 8, invert: false } }), ["new"]],
    ["--ctstate ESTABLISHED", ct({ state: { mask: 2, invert: false } }), ["established", "establishedReply"]],
    ["--ctstate RELATED", ct({ state: { mask: 4, invert: false } }), ["related", "relatedReply"]],
    ["--ctstate INVALID", ct({ state: { mask: 1, invert: false } }), ["invalid"]],
    ["--ctstate UNTRACKED", ct({ state: { mask: 256, invert: false } }), ["untracked"]],
    ["! --ctstate NEW,ESTABLISHED", ct({ state: { mask: 10, invert: true } }), ["related", "relatedReply", "untracked", "invalid"]],
    ["--ctdir ORIGINAL", ct({ direction: "original" }), ["established", "related", "new"]],
    ["--ctdir REPLY", ct({ direction: "reply" }), ["establishedReply", "relatedReply"]],
    // Without an entry, a passed --ctstate decides alone: conntrack_mt returns before --ctdir.
    ["--ctstate INVALID --ctdir REPLY", ct({ state: { mask: 1, invert: false }, direction: "reply" }), ["invalid"]],
    ["no option", ct({}), ["established", "related", "new", "establishedReply", "relatedReply"]],
  ] as const)("%s", (_name, m, holds) => {
    const got = Object.entries(PACKETS).filter(([, key]) => conntrackHolds(m, key)).map(([name]) => name);
    expect(got).toEqual(holds);
  });

  // Keys with the entry's status bits: IPS_SRC_NAT (16), IPS_DST_NAT (32), and 64 when status & the
  // --ctstatus mask is non-zero. A packet without an entry has none of them.
  const NAT_PACKETS = {
    newDnat: 2 | 32,
    establishedDnat: 0 | 32,
    replySnat: 3 | 16,
    newBoth: 2 | 16 | 32,
    established: 0,
    untracked: 8 + 7,
    invalid: 8,
  } as const;
  it.each([
    ["--ctstate DNAT", ct({ state: { mask: 128, invert: false } }), ["newDnat", "establishedDnat", "newBoth"]],
    ["--ctstate SNAT", ct({ state: { mask: 64, invert: false } }), ["replySnat", "newBoth"]],
    ["! --ctstate DNAT", ct({ state: { mask: 128, invert: true } }), ["replySnat", "established", "untracked", "invalid"]],
    ["--ctstate NEW,SNAT", ct({ state: { mask: 8 | 64, invert: false } }), ["newDnat", "replySnat", "newBoth"]],
    ["--ctstate SNAT,DNAT --ctdir ORIGINAL", ct({ state: { mask: 192, invert: false }, direction: "original" }), ["newDnat", "establishedDnat", "newBoth"]],
    ["! --ctstate SNAT,INVALID", ct({ state: { mask: 64 | 1, invert: true } }), ["newDnat", "establishedDnat", "established", "untracked"]],
  ] as const)("%s", (_name, m, holds) => {
    const got = Object.entries(NAT_PACKETS).filter(([, key]) => conntrackHolds(m, key)).map(([name]) => name);
    expect(got).toEqual(holds);
  });
  it.each([
    // Without an entry conntrack_mt returns before --ctstatus: false unless --ctstate passed.
    ["--ctstatus ASSURED", ct({ status: { mask: 4, invert: false } }), [64, 64 | 3, 64 | 2]],
    ["! --ctstatus ASSURED", ct({ status: { mask: 4, invert: true } }), [0, 3, 2]],
    ["--ctstate INVALID ! --ctstatus ASSURED", ct({ state: { mask: 1, invert: false }, status: { mask: 4, invert: true } }), [8]],
    ["--ctstate NEW,INVALID --ctstatus CONFIRMED", ct({ state: { mask: 9, invert: false }, status: { mask: 8, invert: false } }), [64 | 2, 8]],
  ] as const)("%s", (_name, m, holds) => {
    const keys = [0, 3, 2, 64, 64 | 3, 64 | 2, 8, 8 + 7];
    expect(keys.filter((key) => conntrackHolds(m, key))).toEqual(holds);
  });

  it("state revision 0: XT_STATE_BIT, XT_STATE_INVALID and XT_STATE_UNTRACKED (64)", () => {
    const bits = Object.fromEntries(Object.entries(PACKETS).map(([name, key]) => [name, xtStateBit(key)]));
    expect(bits).toEqual({ established: 2, related: 4, new: 8, establishedReply: 2, relatedReply: 4, untracked: 64, invalid: 1 });
    const m = state.decode(Uint8Array.of(0x48, 0, 0, 0, 0, 0, 0, 0), 0);
    expect(describeMatch(m)).toBe("-m state --state NEW,UNTRACKED");
    expect(() => state.decode(new Uint8Array(4), 0)).toThrow(/data is 4 bytes, expected 8/);
  });
});

describe("mark decode", () => {
  const data = (value: number, mask: number, invert: number): Uint8Array => {
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    view.setUint32(0, value, true);
    view.setUint32(4, mask, true);
    view.setUint8(8, invert);
    return out;
  };
  it.each([
    [data(5, 0xffffffff, 0), { kind: "mark", mark: 5, mask: 0xffffffff, invert: false }, "-m mark --mark 0x5"],
    [data(0x10, 0xf0, 1), { kind: "mark", mark: 0x10, mask: 0xf0, invert: true }, "-m mark ! --mark 0x10/0xf0"],
    [data(0x80000001, 0xffffffff, 0), { kind: "mark", mark: 0x80000001, mask: 0xffffffff, invert: false }, "-m mark --mark 0x80000001"],
  ])("decodes %#", (bytes, decoded, text) => {
    const m = mark.decode(bytes, 1);
    expect(m).toEqual(decoded);
    expect(describeMatch(m)).toBe(text);
  });
  it("refuses struct xt_mark_mtinfo1's raw size (12), and revision 0 is not known", () => {
    expect(() => mark.decode(new Uint8Array(12), 1)).toThrow(/data is 12 bytes, expected 16/);
    expect(findMatch("mark", 0)).toBeUndefined();
  });
});

describe("usesConntrack", () => {
  const table = (matches: Match[]): Table =>
    ({ name: "filter", chains: [{ name: "INPUT", hook: "INPUT", rules: [{ counterIndex: 0, ip: {} as never, matches, verdict: { kind: "accept" } }] }] }) as unknown as Table;
  it("holds for conntrack and state, not for mark", () => {
    expect(usesConntrack(table([{ kind: "conntrack", alias: false }]))).toBe(true);
    expect(usesConntrack(table([{ kind: "state", mask: 2 }]))).toBe(true);
    expect(usesConntrack(table([{ kind: "mark", mark: 1, mask: 1, invert: false }]))).toBe(false);
  });
});
