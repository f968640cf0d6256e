/** Which interfaces get the programs, which decline a netns, and when a netns must be looked at again. */
import { describe, expect, it } from "vitest";
import { linkSignature, programInterfaces, type NetLink } from "../../src/enforce/link_types.ts";

const link = (name: string, type: number, up: boolean, ifindex = 1): NetLink => ({ name, ifindex, type, up });
const lo = link("lo", 772, true, 1);
const eth = link("eth0", 1, true, 2);

describe("programInterfaces", () => {
  it.each([
    ["loopback and Ethernet get the programs", [lo, eth], ["lo", "eth0"]],
    ["a down Ethernet link still gets them (it may come up)", [lo, link("eth1", 1, false, 3)], ["lo", "eth1"]],
    ["sit0 (IPv6 in IPv4) is left alone, up or down", [lo, link("sit0", 776, true, 4)], ["lo"]],
    ["ip6tnl0 is left alone", [lo, link("ip6tnl0", 769, false, 5)], ["lo"]],
    ["a down tun device is left alone", [lo, link("tun0", 65534, false, 6)], ["lo"]],
    ["a down ipip fallback device is left alone", [lo, link("tunl0", 768, false, 7)], ["lo"]],
  ])("%s", (_name, links, attached) => {
    const result = programInterfaces(links);
    expect("attach" in result && result.attach.map((l) => l.name)).toEqual(attached);
  });

  it.each([
    ["an up tun device", link("tun0", 65534, true, 6), 65534],
    ["an up ipip device", link("tunl0", 768, true, 7), 768],
    ["an up gre device", link("gre0", 778, true, 8), 778],
  ])("declines the netns for %s, naming it and its link type", (_name, l3, type) => {
    expect(programInterfaces([lo, eth, l3])).toEqual({
      declined: `interface ${l3.name} is up and has link type ${type}, not Ethernet: the programs read an Ethernet header first and would misread its packets`,
    });
  });
});

describe("linkSignature", () => {
  it("is the same whatever the order of the interfaces", () => {
    expect(linkSignature([lo, eth])).toBe(linkSignature([eth, lo]));
  });

  it.each([
    ["an interface added: changed", [lo, eth], [lo, eth, link("eth1", 1, true, 3)], false],
    ["an interface renamed: changed", [lo, eth], [lo, { ...eth, name: "lan0" }], false],
    ["an ifindex reused by another interface: changed", [lo, eth], [lo, { ...eth, ifindex: 9 }], false],
    ["an Ethernet link going down: unchanged", [lo, eth], [lo, { ...eth, up: false }], true],
    ["sit0 coming up: unchanged", [lo, link("sit0", 776, false, 4)], [lo, link("sit0", 776, true, 4)], true],
    ["a tun device coming up: changed", [lo, link("tun0", 65534, false, 6)], [lo, link("tun0", 65534, true, 6)], false],
  ])("%s", (_name, before, after, same) => {
    expect(linkSignature(before) === linkSignature(after)).toBe(same);
  });
});
