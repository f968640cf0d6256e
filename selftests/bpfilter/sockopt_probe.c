// SPDX-License-Identifier: GPL-2.0
/*
 * Drive the fake helper's "reply" mode through real getsockopt() and
 * setsockopt() calls and check what the kernel makes of each reply: the
 * bytes and optlen a get returns, the counters a replace writes back,
 * the errno of a reply that breaks the protocol, and the caller's pid
 * and netns cookie as the helper sees them. Prints one line per case and
 * exits 0 if all pass, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netfilter_ipv4/ip_tables.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define SENTINEL 0xee

/* Same layout as in fake/fake_helper.c: who is asking. */
struct probe_caller {
	__u32 pid;
	__u32 pad;
	__u64 netns_cookie;
};

struct get_case {
	const char *name;	/* tells the fake helper what to answer */
	socklen_t optlen;
	int want_errno;
	socklen_t want_optlen;
};

struct set_case {
	const char *name;
	unsigned int num_counters;
	int want_errno;
};

static const struct get_case get_cases[] = {
	{ "out",	100, 0,		99 },
	{ "toolong",	100, EPROTO,	0 },
	{ "positive",	100, EPROTO,	0 },
	{ "enoent",	100, ENOENT,	0 },
	{ "context",	48,  0,		0 },
	{ "context",	4000, 0,	0 },
};

static const struct set_case set_cases[] = {
	{ "counters",		3, 0 },
	{ "counters",		0, 0 },
	{ "badcounters",	3, EPROTO },
	{ "context",		0, 0 },
};

static struct probe_caller caller;
static int failures;

static void report(int ok, const char *what, const char *name,
		   unsigned int arg, const char *why)
{
	printf("%s %s '%s' (%u)%s%s\n", ok ? "ok" : "not ok", what, name, arg,
	       ok ? "" : ": ", ok ? "" : why);
	failures += !ok;
}

static void run_get(int fd, const struct get_case *c)
{
	unsigned char buf[4096];
	socklen_t len = c->optlen, i;
	char why[160] = "";
	int err = 0;

	memset(buf, SENTINEL, sizeof(buf));
	memset(buf, 0, XT_TABLE_MAXNAMELEN);
	strcpy((char *)buf, c->name);
	memcpy(buf + XT_TABLE_MAXNAMELEN, &caller, sizeof(caller));
	if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, buf, &len))
		err = errno;

	if (err != c->want_errno)
		snprintf(why, sizeof(why), "errno %d, want %d", err, c->want_errno);
	else if (!err && len != c->want_optlen)
		snprintf(why, sizeof(why), "optlen %u, want %u", len, c->want_optlen);
	for (i = 0; !*why && !err && i < len; i++)
		if (buf[i] != (unsigned char)(i * 7))
			snprintf(why, sizeof(why), "byte %u is %#x, want %#x",
				 i, buf[i], (unsigned char)(i * 7));
	if (!*why && !err && len && buf[len] != SENTINEL)
		snprintf(why, sizeof(why), "byte %u after the output was written", len);
	report(!*why, "get with optlen", c->name, c->optlen, why);
}

static void run_set(int fd, const struct set_case *c)
{
	struct {
		struct ipt_replace repl;
		struct probe_caller caller;
	} req;
	struct xt_counters counters[8];
	unsigned int i, n = c->num_counters;
	char why[160] = "";
	int err = 0;

	memset(counters, SENTINEL, sizeof(counters));
	memset(&req, 0, sizeof(req));
	strcpy(req.repl.name, c->name);
	req.repl.num_counters = n;
	req.repl.counters = counters;
	req.caller = caller;
	if (setsockopt(fd, IPPROTO_IP, IPT_SO_SET_REPLACE, &req, sizeof(req)))
		err = errno;

	if (err != c->want_errno)
		snprintf(why, sizeof(why), "errno %d, want %d", err, c->want_errno);
	for (i = 0; !*why && i < 8; i++) {
		int written = !err && i < n;
		struct xt_counters want = { i + 1, 1000 * (i + 1) };
		unsigned char untouched[sizeof(want)];

		memset(untouched, SENTINEL, sizeof(untouched));
		if (written ? memcmp(&counters[i], &want, sizeof(want)) :
			      memcmp(&counters[i], untouched, sizeof(want)))
			snprintf(why, sizeof(why), "counter %u %s", i,
				 written ? "not copied back" : "overwritten");
	}
	report(!*why, "replace with num_counters", c->name, n, why);
}

int main(void)
{
	socklen_t len = sizeof(caller.netns_cookie);
	unsigned int i;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE,
				 &caller.netns_cookie, &len)) {
		perror("sockopt_probe: socket or SO_NETNS_COOKIE");
		return 1;
	}
	caller.pid = getpid();

	for (i = 0; i < ARRAY_SIZE(get_cases); i++)
		run_get(fd, &get_cases[i]);
	for (i = 0; i < ARRAY_SIZE(set_cases); i++)
		run_set(fd, &set_cases[i]);
	close(fd);
	return failures ? 1 : 0;
}
