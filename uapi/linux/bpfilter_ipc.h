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
 *
 * A request names the network namespace of the caller's socket by its
 * cookie. While the kernel waits for the reply it holds a reference to
 * that namespace, and the helper gets a file descriptor of exactly that
 * namespace with the BPFILTER_IPC_SO_GET_NETNS getsockopt. When a
 * namespace that the helper was asked about is torn down, the kernel
 * sends BPFILTER_IPC_NETNS_GONE, which has no reply.
 */
#ifndef _UAPI_LINUX_BPFILTER_IPC_H
#define _UAPI_LINUX_BPFILTER_IPC_H

#include <linux/types.h>

#define BPFILTER_IPC_MAGIC	0x42504649	/* "BPFI" */
#define BPFILTER_IPC_VERSION	2

/* Largest payload either side accepts; a longer frame is a protocol error. */
#define BPFILTER_IPC_MAX_PAYLOAD	(64U << 20)

/*
 * A reply's status is 0 or a negative errno below this: the errno values
 * that userspace knows. The kernel refuses a helper that answers another
 * status, such as one of the kernel's internal restart codes.
 */
#define BPFILTER_IPC_MAX_ERRNO	511

enum bpfilter_ipc_type {
	BPFILTER_IPC_HELLO		= 1,
	BPFILTER_IPC_HELLO_REPLY	= 2,
	BPFILTER_IPC_SOCKOPT		= 3,
	BPFILTER_IPC_SOCKOPT_REPLY	= 4,
	BPFILTER_IPC_NETNS_GONE		= 5,
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
#define BPFILTER_IPC_F_COMPAT	(1U << 1)	/* a 32-bit caller on a 64-bit kernel */

/* Payload of SOCKOPT: this struct, then inlen bytes copied from optval. */
struct bpfilter_ipc_sockopt {
	__u32	cmd;		/* IPT_SO_SET_* or IPT_SO_GET_* */
	__u32	flags;		/* BPFILTER_IPC_F_* */
	__u32	optlen;		/* the caller's optlen */
	__u32	inlen;		/* optval bytes that follow, <= optlen */
	__u64	netns_cookie;	/* cookie of the socket's network namespace */
	__u32	peer_pid;	/* 0 from the kernel; see peer_netns_fd */
	__s32	peer_netns_fd;	/* -1 from the kernel: use BPFILTER_IPC_SO_GET_NETNS */
};

/* Payload of SOCKOPT_REPLY: this struct, then outlen bytes for a get. */
struct bpfilter_ipc_sockopt_reply {
	__s32	status;		/* 0 or a negative errno; -ENOPROTOOPT declines */
	__u32	outlen;		/* bytes that follow (get data, or old counters) */
};

/* Payload of NETNS_GONE: a namespace the helper was asked about is gone. */
struct bpfilter_ipc_netns_gone {
	__u64	netns_cookie;
};

/*
 * getsockopt(fd, IPPROTO_IP, BPFILTER_IPC_SO_GET_NETNS, &req, &len) on
 * any IPv4 socket, by the helper only and only while it serves the
 * SOCKOPT request req.seq: req.fd becomes a new O_CLOEXEC descriptor of
 * that request's network namespace, for setns(2). ESRCH if the kernel
 * no longer waits for that request (its caller was killed, or the
 * request timed out), EPERM for any other process.
 *
 * A helper serving a peer that is not the kernel (peer_netns_fd >= 0,
 * a preload library in another process, say) opens
 * /proc/<peer_pid>/fd/<peer_netns_fd> instead: the peer holds that
 * descriptor open until it has the reply.
 */
#define BPFILTER_IPC_SO_GET_NETNS	72

struct bpfilter_ipc_netns_fd {
	__u32	seq;		/* in: the SOCKOPT request being served */
	__s32	fd;		/* out: a descriptor of its network namespace */
};

#endif /* _UAPI_LINUX_BPFILTER_IPC_H */
