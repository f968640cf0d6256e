// Netfilter links (BPF_LINK_TYPE_NETFILTER, Linux 6.4): a BPF_PROG_TYPE_NETFILTER program at one
// netfilter hook of the calling thread's netns, for every packet of that hook, at a priority among the
// hook's other functions. libbpf 1.1 does not know them, so the link is made with bpf(2) directly.
// A netfilter link cannot be updated in place (the kernel answers EOPNOTSUPP): swap programs behind it
// with a prog array instead.
import { BPF_LINK_CREATE_ATTR, BPF_LINK_TYPE_NETFILTER, BPF_NETFILTER, LINK_INFO_NETFILTER } from "./abi.ts";
import { linkFromFd, linkInfo, type BpfLink } from "./links.ts";
import type { BpfProgram } from "./loader.ts";
import { BPF_ATTR_SIZE, BPF_CMD, bpf } from "./syscall.ts";

/** NFPROTO_IPV4: the protocol family of IPv4 netfilter hooks. */
export const NFPROTO_IPV4 = 2;

/** Where a netfilter link sits: protocol family, hook, priority, and BPF_F_NETFILTER_* flags. */
export interface NetfilterHook {
  /** NFPROTO_IPV4 (2) or NFPROTO_IPV6 (10). */
  readonly pf: number;
  /** NF_INET_* hook number (LOCAL_IN 1, FORWARD 2, LOCAL_OUT 3, ...). */
  readonly hooknum: number;
  /** Priority among the hook's functions (the filter table's is NF_IP_PRI_FILTER, 0). */
  readonly priority: number;
  /** BPF_F_NETFILTER_IP_DEFRAG (1) or 0. */
  readonly flags?: number;
}

const ERANGE = 34;
const EINVAL = 22;

function describeHook(hook: NetfilterHook): string {
  return `pf ${hook.pf}, hook ${hook.hooknum}, priority ${hook.priority}${hook.flags ? `, flags ${hook.flags}` : ""}`;
}

/** Attaches `prog` (type netfilter) at `hook` in the calling thread's netns; the link holds that netns. */
export function attachNetfilter(prog: BpfProgram, hook: NetfilterHook): BpfLink {
  const attr = new Uint8Array(BPF_ATTR_SIZE);
  const view = new DataView(attr.buffer);
  const at = BPF_LINK_CREATE_ATTR;
  view.setUint32(at.PROG_FD, prog.fd, true);
  view.setUint32(at.ATTACH_TYPE, BPF_NETFILTER, true);
  view.setUint32(at.NF_PF, hook.pf, true);
  view.setUint32(at.NF_HOOKNUM, hook.hooknum, true);
  view.setInt32(at.NF_PRIORITY, hook.priority, true);
  view.setUint32(at.NF_FLAGS, hook.flags ?? 0, true);
  const subject = `BPF_NETFILTER, program '${prog.name}', ${describeHook(hook)}`;
  const fd = bpf(BPF_CMD.LINK_CREATE, attr, `bpf_link_create(${subject})`, (errno) => {
    if (errno === ERANGE) return "the kernel refuses NF_IP_PRI_FIRST and NF_IP_PRI_LAST (and, with defrag, a priority before it)";
    if (errno === EINVAL) return "the program must be of type netfilter, loaded with expected attach type BPF_NETFILTER";
    return undefined;
  });
  return linkFromFd(fd, `netfilter link (${describeHook(hook)})`);
}

/** What the kernel says about a netfilter link: its id, its program's id and where it sits. */
export interface NetfilterLinkInfo extends NetfilterHook {
  readonly id: number;
  readonly progId: number;
}

/** Reads a netfilter link's info; throws when `fd` is another kind of link. */
export function netfilterLinkInfo(link: BpfLink, label = `link fd ${link.fd}`): NetfilterLinkInfo {
  const info = linkInfo(link.fd, label);
  if (info.type !== BPF_LINK_TYPE_NETFILTER) throw new Error(`${label}: link type ${info.type} is not netfilter (${BPF_LINK_TYPE_NETFILTER})`);
  const d = info.details;
  return {
    id: info.id,
    progId: info.progId,
    pf: d.getUint32(LINK_INFO_NETFILTER.PF, true),
    hooknum: d.getUint32(LINK_INFO_NETFILTER.HOOKNUM, true),
    priority: d.getInt32(LINK_INFO_NETFILTER.PRIORITY, true),
    flags: d.getUint32(LINK_INFO_NETFILTER.FLAGS, true),
  };
}
