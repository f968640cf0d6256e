/**
 * Compiled layout test: a C program built with gcc from the repo's uapi/linux/bpfilter_ipc.h and
 * <linux/netfilter_ipv4/ip_tables.h> prints sizeof/offsetof of every struct and field the codecs
 * encode; each TypeScript constant must equal the C value.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ipc from "../../src/ipc/protocol.ts";
import * as abi from "../../src/ipt/abi.ts";

const repo = resolve(import.meta.dirname, "../../..");

/** [C expression, TypeScript value] pairs. */
const layout: [string, number][] = [
  ["BPFILTER_IPC_MAGIC", ipc.BPFILTER_IPC_MAGIC],
  ["BPFILTER_IPC_VERSION", ipc.BPFILTER_IPC_VERSION],
  ["BPFILTER_IPC_MAX_PAYLOAD", ipc.BPFILTER_IPC_MAX_PAYLOAD],
  ["BPFILTER_IPC_F_SET", ipc.BPFILTER_IPC_F_SET],
  ["BPFILTER_IPC_F_COMPAT", ipc.BPFILTER_IPC_F_COMPAT],
  ["BPFILTER_IPC_MAX_ERRNO", ipc.BPFILTER_IPC_MAX_ERRNO],
  ["BPFILTER_IPC_HELLO", ipc.IpcType.HELLO],
  ["BPFILTER_IPC_HELLO_REPLY", ipc.IpcType.HELLO_REPLY],
  ["BPFILTER_IPC_SOCKOPT", ipc.IpcType.SOCKOPT],
  ["BPFILTER_IPC_SOCKOPT_REPLY", ipc.IpcType.SOCKOPT_REPLY],
  ["sizeof(struct bpfilter_ipc_hdr)", ipc.HDR.SIZE],
  ["offsetof(struct bpfilter_ipc_hdr, magic)", ipc.HDR.magic],
  ["offsetof(struct bpfilter_ipc_hdr, version)", ipc.HDR.version],
  ["offsetof(struct bpfilter_ipc_hdr, type)", ipc.HDR.type],
  ["offsetof(struct bpfilter_ipc_hdr, seq)", ipc.HDR.seq],
  ["offsetof(struct bpfilter_ipc_hdr, len)", ipc.HDR.len],
  ["sizeof(struct bpfilter_ipc_hello)", ipc.HELLO.SIZE],
  ["offsetof(struct bpfilter_ipc_hello, version)", ipc.HELLO.version],
  ["offsetof(struct bpfilter_ipc_hello, flags)", ipc.HELLO.flags],
  ["sizeof(struct bpfilter_ipc_sockopt)", ipc.SOCKOPT.SIZE],
  ["offsetof(struct bpfilter_ipc_sockopt, cmd)", ipc.SOCKOPT.cmd],
  ["offsetof(struct bpfilter_ipc_sockopt, flags)", ipc.SOCKOPT.flags],
  ["offsetof(struct bpfilter_ipc_sockopt, optlen)", ipc.SOCKOPT.optlen],
  ["offsetof(struct bpfilter_ipc_sockopt, inlen)", ipc.SOCKOPT.inlen],
  ["offsetof(struct bpfilter_ipc_sockopt, netns_cookie)", ipc.SOCKOPT.netns_cookie],
  ["offsetof(struct bpfilter_ipc_sockopt, peer_pid)", ipc.SOCKOPT.peer_pid],
  ["offsetof(struct bpfilter_ipc_sockopt, peer_netns_fd)", ipc.SOCKOPT.peer_netns_fd],
  ["sizeof(struct bpfilter_ipc_sockopt_reply)", ipc.SOCKOPT_REPLY.SIZE],
  ["offsetof(struct bpfilter_ipc_sockopt_reply, status)", ipc.SOCKOPT_REPLY.status],
  ["offsetof(struct bpfilter_ipc_sockopt_reply, outlen)", ipc.SOCKOPT_REPLY.outlen],
  ["BPFILTER_IPC_NETNS_GONE", ipc.IpcType.NETNS_GONE],
  ["sizeof(struct bpfilter_ipc_netns_gone)", ipc.NETNS_GONE.SIZE],
  ["offsetof(struct bpfilter_ipc_netns_gone, netns_cookie)", ipc.NETNS_GONE.netns_cookie],
  ["BPFILTER_IPC_SO_GET_NETNS", ipc.BPFILTER_IPC_SO_GET_NETNS],
  ["sizeof(struct bpfilter_ipc_netns_fd)", ipc.NETNS_FD.SIZE],
  ["offsetof(struct bpfilter_ipc_netns_fd, seq)", ipc.NETNS_FD.seq],
  ["offsetof(struct bpfilter_ipc_netns_fd, fd)", ipc.NETNS_FD.fd],

  ["IPT_SO_SET_REPLACE", abi.IPT_SO_SET.REPLACE],
  ["IPT_SO_SET_ADD_COUNTERS", abi.IPT_SO_SET.ADD_COUNTERS],
  ["IPT_SO_GET_INFO", abi.IPT_SO_GET.INFO],
  ["IPT_SO_GET_ENTRIES", abi.IPT_SO_GET.ENTRIES],
  ["IPT_SO_GET_REVISION_MATCH", abi.IPT_SO_GET.REVISION_MATCH],
  ["IPT_SO_GET_REVISION_TARGET", abi.IPT_SO_GET.REVISION_TARGET],
  ["XT_TABLE_MAXNAMELEN", abi.XT_TABLE_MAXNAMELEN],
  ["XT_EXTENSION_MAXNAMELEN", abi.XT_EXTENSION_MAXNAMELEN],
  ["XT_FUNCTION_MAXNAMELEN", abi.XT_FUNCTION_MAXNAMELEN],
  ["NF_INET_NUMHOOKS", abi.NF_INET_NUMHOOKS],
  ["IPT_F_MASK", abi.IPT_F_MASK],
  ["IPT_INV_MASK", abi.IPT_INV_MASK],
  ["XT_RETURN", abi.STD_VERDICT.RETURN],
  ["-NF_ACCEPT - 1", abi.STD_VERDICT.ACCEPT],
  ["-NF_DROP - 1", abi.STD_VERDICT.DROP],
  ["-NF_QUEUE - 1", abi.STD_VERDICT.QUEUE],
  ["XT_ALIGN(1)", abi.xtAlign(1)],
  ["XT_ALIGN(36)", abi.xtAlign(36)],

  ["sizeof(struct ipt_ip)", abi.IPT_IP.SIZE],
  ["offsetof(struct ipt_ip, src)", abi.IPT_IP.src],
  ["offsetof(struct ipt_ip, dst)", abi.IPT_IP.dst],
  ["offsetof(struct ipt_ip, smsk)", abi.IPT_IP.smsk],
  ["offsetof(struct ipt_ip, dmsk)", abi.IPT_IP.dmsk],
  ["offsetof(struct ipt_ip, iniface)", abi.IPT_IP.iniface],
  ["offsetof(struct ipt_ip, outiface)", abi.IPT_IP.outiface],
  ["offsetof(struct ipt_ip, iniface_mask)", abi.IPT_IP.iniface_mask],
  ["offsetof(struct ipt_ip, outiface_mask)", abi.IPT_IP.outiface_mask],
  ["offsetof(struct ipt_ip, proto)", abi.IPT_IP.proto],
  ["offsetof(struct ipt_ip, flags)", abi.IPT_IP.flags],
  ["offsetof(struct ipt_ip, invflags)", abi.IPT_IP.invflags],
  ["IFNAMSIZ", abi.IPT_IP.IFNAMSIZ],
  ["sizeof(struct ipt_entry)", abi.IPT_ENTRY.SIZE],
  ["__alignof__(struct ipt_entry)", abi.IPT_ENTRY.ALIGN],
  ["offsetof(struct ipt_entry, ip)", abi.IPT_ENTRY.ip],
  ["offsetof(struct ipt_entry, nfcache)", abi.IPT_ENTRY.nfcache],
  ["offsetof(struct ipt_entry, target_offset)", abi.IPT_ENTRY.target_offset],
  ["offsetof(struct ipt_entry, next_offset)", abi.IPT_ENTRY.next_offset],
  ["offsetof(struct ipt_entry, comefrom)", abi.IPT_ENTRY.comefrom],
  ["offsetof(struct ipt_entry, counters)", abi.IPT_ENTRY.counters],
  ["offsetof(struct ipt_entry, elems)", abi.IPT_ENTRY.elems],
  ["sizeof(struct xt_counters)", abi.XT_COUNTERS.SIZE],
  ["offsetof(struct xt_counters, pcnt)", abi.XT_COUNTERS.pcnt],
  ["offsetof(struct xt_counters, bcnt)", abi.XT_COUNTERS.bcnt],
  ["sizeof(struct xt_entry_match)", abi.XT_ENTRY_MATCH.SIZE],
  ["__alignof__(struct xt_entry_match)", abi.XT_ENTRY_MATCH.ALIGN],
  ["offsetof(struct xt_entry_match, u.match_size)", abi.XT_ENTRY_MATCH.size],
  ["offsetof(struct xt_entry_match, u.user.name)", abi.XT_ENTRY_MATCH.name],
  ["offsetof(struct xt_entry_match, u.user.revision)", abi.XT_ENTRY_MATCH.revision],
  ["offsetof(struct xt_entry_match, data)", abi.XT_ENTRY_MATCH.data],
  ["sizeof(struct xt_entry_target)", abi.XT_ENTRY_TARGET.SIZE],
  ["offsetof(struct xt_entry_target, u.target_size)", abi.XT_ENTRY_TARGET.size],
  ["offsetof(struct xt_entry_target, u.user.name)", abi.XT_ENTRY_TARGET.name],
  ["offsetof(struct xt_entry_target, u.user.revision)", abi.XT_ENTRY_TARGET.revision],
  ["offsetof(struct xt_entry_target, data)", abi.XT_ENTRY_TARGET.data],
  ["sizeof(struct xt_standard_target)", abi.XT_STANDARD_TARGET_LAYOUT.SIZE],
  ["offsetof(struct xt_standard_target, verdict)", abi.XT_STANDARD_TARGET_LAYOUT.verdict],
  ["sizeof(struct xt_error_target)", abi.XT_ERROR_TARGET_LAYOUT.SIZE],
  ["offsetof(struct xt_error_target, errorname)", abi.XT_ERROR_TARGET_LAYOUT.errorname],
  ["sizeof(struct ipt_getinfo)", abi.IPT_GETINFO.SIZE],
  ["offsetof(struct ipt_getinfo, name)", abi.IPT_GETINFO.name],
  ["offsetof(struct ipt_getinfo, valid_hooks)", abi.IPT_GETINFO.valid_hooks],
  ["offsetof(struct ipt_getinfo, hook_entry)", abi.IPT_GETINFO.hook_entry],
  ["offsetof(struct ipt_getinfo, underflow)", abi.IPT_GETINFO.underflow],
  ["offsetof(struct ipt_getinfo, num_entries)", abi.IPT_GETINFO.num_entries],
  ["offsetof(struct ipt_getinfo, size)", abi.IPT_GETINFO.size],
  ["sizeof(struct ipt_replace)", abi.IPT_REPLACE.SIZE],
  ["offsetof(struct ipt_replace, name)", abi.IPT_REPLACE.name],
  ["offsetof(struct ipt_replace, valid_hooks)", abi.IPT_REPLACE.valid_hooks],
  ["offsetof(struct ipt_replace, num_entries)", abi.IPT_REPLACE.num_entries],
  ["offsetof(struct ipt_replace, size)", abi.IPT_REPLACE.size],
  ["offsetof(struct ipt_replace, hook_entry)", abi.IPT_REPLACE.hook_entry],
  ["offsetof(struct ipt_replace, underflow)", abi.IPT_REPLACE.underflow],
  ["offsetof(struct ipt_replace, num_counters)", abi.IPT_REPLACE.num_counters],
  ["offsetof(struct ipt_replace, counters)", abi.IPT_REPLACE.counters],
  ["offsetof(struct ipt_replace, entries)", abi.IPT_REPLACE.entries],
  ["sizeof(struct ipt_get_entries)", abi.IPT_GET_ENTRIES.SIZE],
  ["offsetof(struct ipt_get_entries, name)", abi.IPT_GET_ENTRIES.name],
  ["offsetof(struct ipt_get_entries, size)", abi.IPT_GET_ENTRIES.size],
  ["offsetof(struct ipt_get_entries, entrytable)", abi.IPT_GET_ENTRIES.entrytable],
  ["sizeof(struct xt_counters_info)", abi.XT_COUNTERS_INFO.SIZE],
  ["offsetof(struct xt_counters_info, name)", abi.XT_COUNTERS_INFO.name],
  ["offsetof(struct xt_counters_info, num_counters)", abi.XT_COUNTERS_INFO.num_counters],
  ["offsetof(struct xt_counters_info, counters)", abi.XT_COUNTERS_INFO.counters],
  ["sizeof(struct xt_get_revision)", abi.XT_GET_REVISION.SIZE],
  ["offsetof(struct xt_get_revision, name)", abi.XT_GET_REVISION.name],
  ["offsetof(struct xt_get_revision, revision)", abi.XT_GET_REVISION.revision],
  ["EPERM", abi.Errno.EPERM],
  ["ENOENT", abi.Errno.ENOENT],
  ["EIO", abi.Errno.EIO],
  ["EAGAIN", abi.Errno.EAGAIN],
  ["ENOMEM", abi.Errno.ENOMEM],
  ["EFAULT", abi.Errno.EFAULT],
  ["EINVAL", abi.Errno.EINVAL],
  ["ELOOP", abi.Errno.ELOOP],
  ["EPROTO", abi.Errno.EPROTO],
  ["ENOPROTOOPT", abi.Errno.ENOPROTOOPT],
  ["EPROTONOSUPPORT", abi.Errno.EPROTONOSUPPORT],
  ["EOPNOTSUPP", abi.Errno.EOPNOTSUPP],
];

let dir: string;
let printed: Map<string, number>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "bpfilter-layout-"));
  const lines = layout.map(([expr], i) => `\tprintf("%d %lld\\n", ${i}, (long long)(${expr}));`).join("\n");
  const source = `#include <stdio.h>
#include <stddef.h>
#include <errno.h>
#include <net/if.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include "linux/bpfilter_ipc.h"
int main(void)
{
${lines}
	return 0;
}
`;
  writeFileSync(join(dir, "layout.c"), source);
  execFileSync("gcc", ["-Wall", "-Werror", "-I", join(repo, "uapi"), "-o", join(dir, "layout"), join(dir, "layout.c")]);
  const output = execFileSync(join(dir, "layout"), { encoding: "utf8" });
  printed = new Map();
  for (const line of output.trim().split("\n")) {
    const [index, value] = line.split(" ");
    printed.set(layout[Number(index)]![0], Number(value));
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("TypeScript layout constants equal the C headers", () => {
  it.each(layout)("%s", (expr, value) => {
    expect(printed.get(expr)).toBe(value);
  });
});
