/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the flow programs (udp_flow, reject_probe) share: leaving with the
 * cause of a failed call, and entering a network namespace by its path.
 */
#ifndef _BPFILTER_FLOW_UTIL_H
#define _BPFILTER_FLOW_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The program's name, for its messages. */
extern const char *flow_prog;

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", flow_prog, what, strerror(errno));
	exit(1);
}

static inline void enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		die(path);
	close(fd);
}

#endif /* _BPFILTER_FLOW_UTIL_H */
