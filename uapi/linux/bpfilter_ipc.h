/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * bpfilter kernel <-> user-mode helper protocol.
 *
 * Every message is a struct bpfilter_ipc_hdr followed by exactly
 * hdr.len payload bytes. All fields are in host byte order: both ends
 * run on the same machine. The kernel opens a session with
 * BPFILTER_IPC_HELLO; the helper answers BPFILTER_IPC_HELLO_REPLY with
 * its own version. On a version mismatch the kernel refuses the helper.
 *
 * A sockopt request carries a copy of the caller's optval bytes: the
 * helper never reads the caller's memory. The reply carries a status
 * (0 or a negative errno) and, for a get, the bytes to copy back to the
 * caller, never more than the caller's optlen. A successful
 * IPT_SO_SET_REPLACE reply carries the replaced table's counters
 * (num_counters struct xt_counters), which the kernel copies to the
 * caller's ipt_replace.counters, as netfilter does.
 *
 * -ENOPROTOOPT from the helper means it declines the request: the kernel
 * then hands the same request to netfilter.
 */
#ifndef _UAPI_LINUX_BPFILTER_IPC_H
#define _UAPI_LINUX_BPFILTER_IPC_H

#include <linux/types.h>

#define BPFILTER_IPC_MAGIC	0x42504649	/* "BPFI" */
#define BPFILTER_IPC_VERSION	1

/* Largest payload either side accepts; a longer frame is a protocol error. */
#define BPFILTER_IPC_MAX_PAYLOAD	(64U << 20)

enum bpfilter_ipc_type {
	BPFILTER_IPC_HELLO		= 1,
	BPFILTER_IPC_HELLO_REPLY	= 2,
	BPFILTER_IPC_SOCKOPT		= 3,
	BPFILTER_IPC_SOCKOPT_REPLY	= 4,
};

struct bpfilter_ipc_hdr {
	__u32	magic;		/* BPFILTER_IPC_MAGIC */
	__u16	version;	/* BPFILTER_IPC_VERSION */
	__u16	type;		/* enum bpfilter_ipc_type */
	__u32	seq;		/* a reply echoes its request's seq */
	__u32	len;		/* payload bytes following this header */
};

/* Payload of HELLO and HELLO_REPLY. */
struct bpfilter_ipc_hello {
	__u32	version;	/* sender's BPFILTER_IPC_VERSION */
	__u32	flags;		/* must be zero */
};

#define BPFILTER_IPC_F_SET	(1U << 0)	/* setsockopt, else getsockopt */

/* Payload of SOCKOPT: this struct, then inlen bytes copied from optval. */
struct bpfilter_ipc_sockopt {
	__u32	cmd;		/* IPT_SO_SET_* or IPT_SO_GET_* */
	__u32	flags;		/* BPFILTER_IPC_F_* */
	__u32	optlen;		/* the caller's optlen */
	__u32	inlen;		/* optval bytes that follow, <= optlen */
	__u64	netns_cookie;	/* caller's network namespace cookie */
	__u32	pid;		/* caller's tgid, in the helper's pid namespace */
	__u32	pad;		/* must be zero */
};

/* Payload of SOCKOPT_REPLY: this struct, then outlen bytes for a get. */
struct bpfilter_ipc_sockopt_reply {
	__s32	status;		/* 0 or a negative errno */
	__u32	outlen;		/* bytes that follow (get data, or old counters) */
};

#endif /* _UAPI_LINUX_BPFILTER_IPC_H */
