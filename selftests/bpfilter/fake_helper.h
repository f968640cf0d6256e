/* SPDX-License-Identifier: GPL-2.0 */
/* What fake_helper.c and the tests that drive it share. */
#ifndef _BPFILTER_FAKE_HELPER_H
#define _BPFILTER_FAKE_HELPER_H

#include <linux/types.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* The "netns" mode's answer to a get. */
struct fake_netns_answer {
	__u64 frame_cookie;	/* the netns cookie the request names */
	__u64 fd_cookie;	/* that of the netns the kernel handed out */
	__u32 error;		/* errno of BPFILTER_IPC_SO_GET_NETNS, or 0 */
	__u32 pad;
};

#endif /* _BPFILTER_FAKE_HELPER_H */
