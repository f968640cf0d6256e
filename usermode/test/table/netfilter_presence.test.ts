import { spawn, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lookUpInNetfilter, NetfilterPresence, requestTableName } from "../../src/table/netfilter_presence.ts";
import type { SockoptRequest } from "../../src/table/sockopt_handler.ts";

function request(cmd: number, set: boolean, name: string, cookie = 7n): SockoptRequest {
  const optval = new Uint8Array(84);
  optval.set(Buffer.from(name, "latin1"));
  return { cmd, set, optlen: optval.length, optval, netns: { cookie, path: "/proc/4242/fd/5" } };
}

describe("requestTableName", () => {
  it.each([
    [64, true, "filter", "filter"], // SET_REPLACE
    [65, true, "filter", "filter"], // SET_ADD_COUNTERS
    [64, false, "nat", "nat"], // GET_INFO
    [65, false, "filter", "filter"], // GET_ENTRIES
    [66, false, "udp", undefined], // GET_REVISION_MATCH names a match, not a table
    [67, false, "DROP", undefined],
  ])("cmd %i set=%s %s → %s", (cmd, set, name, want) => {
    expect(requestTableName(request(cmd, set, name))).toBe(want);
  });
  it("ignores a request too short to hold a name, or with an empty name", () => {
    expect(requestTableName({ ...request(64, false, "filter"), optval: new Uint8Array(8) })).toBeUndefined();
    expect(requestTableName(request(64, false, ""))).toBeUndefined();
  });
});

describe("NetfilterPresence", () => {
  it("looks the served table up once per netns, and retries after a failure", () => {
    const calls: string[] = [];
    const results = [-1, 0];
    const logs: string[] = [];
    const p = new NetfilterPresence("filter", (l) => logs.push(l), (path, table) => {
      calls.push(`${path}:${table}`);
      return results.shift() ?? 0;
    });
    p.touch(request(64, false, "filter")); // fails: logged, not remembered
    p.touch(request(64, false, "filter")); // succeeds
    p.touch(request(65, false, "filter")); // remembered
    p.touch(request(64, false, "nat")); // not the served table: netfilter answers it anyway
    p.touch(request(64, false, "filter", 8n)); // another netns
    expect(calls).toEqual(["/proc/4242/fd/5:filter", "/proc/4242/fd/5:filter", "/proc/4242/fd/5:filter"]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/netns 7: netfilter did not look up table 'filter'/);
  });
});

describe("lookUpInNetfilter on the host kernel", () => {
  const ns = `bpft-presence-${process.pid}`;
  let sleeper: ReturnType<typeof spawn> | undefined;
  beforeAll(() => {
    expect(spawnSync("ip", ["netns", "add", ns]).status).toBe(0);
    sleeper = spawn("ip", ["netns", "exec", ns, "sleep", "60"], { stdio: "ignore" });
  });
  afterAll(() => {
    sleeper?.kill("SIGKILL");
    spawnSync("ip", ["netns", "del", ns]);
  });

  it("makes netfilter list the table in that netns only", async () => {
    const names = () => spawnSync("ip", ["netns", "exec", ns, "cat", "/proc/net/ip_tables_names"], { encoding: "utf8" }).stdout;
    // ip netns exec forks then execs sleep: wait until the pid runs in the netns.
    await new Promise((r) => setTimeout(r, 300));
    expect(names()).not.toMatch(/^filter$/m);
    expect(lookUpInNetfilter(`/run/netns/${ns}`, "filter")).toBe(0);
    expect(names()).toMatch(/^filter$/m);
  });
});
