// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for the bpfilter helper, to test how the kernel treats
 * helpers that behave well and badly. The mode is the first argument:
 *
 *   decline     answer HELLO, then decline every request (-ENOPROTOOPT),
 *               so that netfilter serves iptables
 *   hang        answer HELLO, then never answer; a forked child keeps the
 *               pipes open for 20 s, so killing the helper does not close
 *               them and the kernel cannot count on end of file
 *   hanghello   never answer HELLO
 *   garbage     answer HELLO, then answer each request with junk bytes
 *   badversion  answer HELLO with protocol version 99
 *   exit        answer HELLO, then exit on the first request
 *   status STATUS  answer every request with that status
 *   slow MS     answer HELLO, then decline each request MS ms after it came
 *   slowread MS answer HELLO, then wait MS ms before reading each frame, and
 *               decline each request
 *   closein     answer HELLO; on a request, read its header, close stdin,
 *               and exit 200 ms later
 *   reply       answer as told by the request (see reply_scripted(), and
 *               test_helper.c, which drives it)
 *   self        before declining a request, make an IPT_SO_GET_INFO call
 *               of its own, which netfilter must answer; decline with
 *               -EDEADLK if that call fails
 *   netns       answer a get with struct fake_netns_answer: the request's
 *               netns cookie and that of the netns the kernel hands out
 *               (BPFILTER_IPC_SO_GET_NETNS)
 *   compat      refuse a 32-bit caller's request (-EOPNOTSUPP), decline
 *               the others
 *   compatok    answer a 32-bit caller's request with status 0
 *   log FILE    decline every request; append "asked COOKIE" for each
 *               request and "gone COOKIE" for each NETNS_GONE to FILE
 *
 * Every mode but "log" writes nothing anywhere but its stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/bpfilter_ipc.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include "fake_helper.h"

#define BAD_VERSION 99

/* BPFILTER_IPC_NETNS_GONE, also when built against a version 1 header */
#define FAKE_NETNS_GONE 5

static void read_exact(void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(0, p, len);

		if (n <= 0)
			exit(n == 0 ? 0 : 1);
		p += n;
		len -= n;
	}
}

static void write_exact(const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(1, p, len);

		if (n <= 0)
			exit(1);
		p += n;
		len -= n;
	}
}

static void send_frame(__u16 version, __u16 type, __u32 seq,
		       const void *head, __u32 head_len,
		       const void *tail, __u32 tail_len)
{
	struct bpfilter_ipc_hdr hdr = {
		.magic = BPFILTER_IPC_MAGIC,
		.version = version,
		.type = type,
		.seq = seq,
		.len = head_len + tail_len,
	};

	write_exact(&hdr, sizeof(hdr));
	write_exact(head, head_len);
	write_exact(tail, tail_len);
}

static void reply_hello(__u32 seq, __u16 version)
{
	struct bpfilter_ipc_hello hello = { .version = version };

	send_frame(version, BPFILTER_IPC_HELLO_REPLY, seq,
		   &hello, sizeof(hello), NULL, 0);
}

static void reply_sockopt(__u32 seq, __s32 status, const void *out,
			  __u32 outlen)
{
	struct bpfilter_ipc_sockopt_reply reply = {
		.status = status,
		.outlen = outlen,
	};

	send_frame(BPFILTER_IPC_VERSION, BPFILTER_IPC_SOCKOPT_REPLY, seq,
		   &reply, sizeof(reply), out, outlen);
}

#ifdef BPFILTER_IPC_SO_GET_NETNS
/* The cookie of the netns that fd names, or 0. */
static __u64 netns_fd_cookie(int fd)
{
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	socklen_t len = sizeof(__u64);
	__u64 cookie = 0;
	int sock;

	if (home < 0 || setns(fd, CLONE_NEWNET))
		goto out;
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (sock >= 0) {
		if (getsockopt(sock, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
			cookie = 0;
		close(sock);
	}
	if (setns(home, CLONE_NEWNET))
		exit(1);
out:
	if (home >= 0)
		close(home);
	return cookie;
}

/* The "netns" mode: what the kernel tells about the request's netns. */
static void reply_netns(__u32 seq, const struct bpfilter_ipc_sockopt *req)
{
	struct bpfilter_ipc_netns_fd nsfd = { .seq = seq };
	struct fake_netns_answer answer = {
		.frame_cookie = req->netns_cookie,
	};
	socklen_t len = sizeof(nsfd);
	int sock = socket(AF_INET, SOCK_DGRAM, 0);

	if (sock < 0 || getsockopt(sock, IPPROTO_IP, BPFILTER_IPC_SO_GET_NETNS,
				   &nsfd, &len)) {
		answer.error = errno;
	} else {
		answer.fd_cookie = netns_fd_cookie(nsfd.fd);
		close(nsfd.fd);
	}
	if (sock >= 0)
		close(sock);
	if (req->flags & BPFILTER_IPC_F_SET || req->optlen < sizeof(answer))
		reply_sockopt(seq, -ENOPROTOOPT, NULL, 0);
	else
		reply_sockopt(seq, 0, &answer, sizeof(answer));
}
#else
/* A kernel of protocol version 1 has no way to hand out the netns. */
static void reply_netns(__u32 seq, const struct bpfilter_ipc_sockopt *req)
{
	(void)req;
	reply_sockopt(seq, -EOPNOTSUPP, NULL, 0);
}
#endif

#ifndef BPFILTER_IPC_F_COMPAT
#define BPFILTER_IPC_F_COMPAT 0
#endif

/*
 * The "reply" mode. The table name in optval says what to answer:
 * gets: "out" (optlen - 1 bytes of i * 7), "toolong" (optlen + 1 bytes),
 * "positive" (status 1), "enoent" (-ENOENT), "context" (0 if inlen is
 * right, else -EBADMSG); sets (IPT_SO_SET_REPLACE): "counters"
 * (num_counters counters {i + 1, 1000 * (i + 1)}), "badcounters" (one
 * counter too many), "context" as for gets.
 */
static void reply_scripted(__u32 seq, const struct bpfilter_ipc_sockopt *req,
			   const char *optval)
{
	const struct ipt_replace *repl = (const void *)optval;
	unsigned char *out = NULL;
	__u32 outlen = 0, i, want_inlen;
	char name[XT_TABLE_MAXNAMELEN] = "";
	__s32 status = 0;

	if (req->inlen >= sizeof(name))
		memcpy(name, optval, sizeof(name) - 1);
	if (!(req->flags & BPFILTER_IPC_F_SET)) {
		want_inlen = req->optlen < sizeof(struct ipt_getinfo) ?
			     req->optlen : sizeof(struct ipt_getinfo);
		if (!strcmp(name, "out") || !strcmp(name, "toolong"))
			outlen = req->optlen + (name[0] == 'o' ? -1 : 1);
		else if (!strcmp(name, "positive"))
			status = 1;
		else if (!strcmp(name, "enoent"))
			status = -ENOENT;
		else if (!strcmp(name, "context"))
			status = req->inlen == want_inlen ? 0 : -EBADMSG;
		else
			status = -ENOPROTOOPT;
		out = calloc(1, outlen + 1);
		for (i = 0; out && i < outlen; i++)
			out[i] = i * 7;
	} else if (req->inlen < sizeof(*repl) || req->inlen != req->optlen) {
		status = -EBADMSG;
	} else if (!strcmp(name, "counters") || !strcmp(name, "badcounters")) {
		struct xt_counters *c;

		outlen = (repl->num_counters + (name[0] == 'b')) * sizeof(*c);
		out = calloc(1, outlen + 1);
		c = (struct xt_counters *)out;
		for (i = 0; out && i < outlen / sizeof(*c); i++)
			c[i] = (struct xt_counters){ i + 1, 1000 * (i + 1) };
	} else if (!strcmp(name, "context")) {
		status = 0;
	} else {
		status = -ENOPROTOOPT;
	}
	if (!out && outlen)
		exit(1);
	reply_sockopt(seq, status, out, outlen);
	free(out);
}

/* 0 if an iptables call of the helper's own succeeds, else -EDEADLK. */
static int call_netfilter(void)
{
	struct ipt_getinfo info = { .name = "filter" };
	socklen_t len = sizeof(info);
	int fd, err;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -EDEADLK;
	err = getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, &info, &len);
	close(fd);
	return err ? -EDEADLK : 0;
}

static void hang(void)
{
	pid_t child = fork();

	if (child == 0) {
		/* outlive the helper, holding stdin and stdout, for a while */
		alarm(20);
		for (;;)
			pause();
	}
	for (;;)
		pause();
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void log_line(const char *file, const char *what, __u64 cookie)
{
	FILE *f = fopen(file, "a");

	if (!f)
		exit(1);
	fprintf(f, "%s %llu\n", what, (unsigned long long)cookie);
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "decline";
	const char *arg = argc > 2 ? argv[2] : "";
	const struct bpfilter_ipc_sockopt *sockopt;
	__u64 gone_cookie;
	struct bpfilter_ipc_hdr req;
	char junk[64], *payload;
	int compat;

	for (;;) {
		if (!strcmp(mode, "slowread"))
			sleep_ms(atol(arg));
		read_exact(&req, sizeof(req));
		if (!strcmp(mode, "closein") && req.type != BPFILTER_IPC_HELLO) {
			close(0);
			sleep_ms(200);
			return 0;
		}
		if (req.len > BPFILTER_IPC_MAX_PAYLOAD)
			return 1;
		payload = malloc(req.len + 1);
		if (!payload)
			return 1;
		read_exact(payload, req.len);
		sockopt = (const void *)payload;

		if (req.type == BPFILTER_IPC_HELLO) {
			if (!strcmp(mode, "hanghello"))
				hang();
			reply_hello(req.seq, strcmp(mode, "badversion") ?
				    BPFILTER_IPC_VERSION : BAD_VERSION);
		} else if (req.type == FAKE_NETNS_GONE) {
			/* struct bpfilter_ipc_netns_gone */
			if (!strcmp(mode, "log") && req.len == sizeof(gone_cookie)) {
				memcpy(&gone_cookie, payload, sizeof(gone_cookie));
				log_line(arg, "gone", gone_cookie);
			}
		} else if (req.len < sizeof(*sockopt) ||
			   req.len - sizeof(*sockopt) != sockopt->inlen) {
			return 1;
		} else if (!strcmp(mode, "hang")) {
			hang();
		} else if (!strcmp(mode, "exit")) {
			return 0;
		} else if (!strcmp(mode, "garbage")) {
			memset(junk, 0xab, sizeof(junk));
			write_exact(junk, sizeof(junk));
		} else if (!strcmp(mode, "status")) {
			reply_sockopt(req.seq, atoi(arg), NULL, 0);
		} else if (!strcmp(mode, "slow")) {
			sleep_ms(atol(arg));
			reply_sockopt(req.seq, -ENOPROTOOPT, NULL, 0);
		} else if (!strcmp(mode, "self")) {
			reply_sockopt(req.seq, call_netfilter() ?: -ENOPROTOOPT,
				      NULL, 0);
		} else if (!strcmp(mode, "reply")) {
			reply_scripted(req.seq, sockopt,
				       payload + sizeof(*sockopt));
		} else if (!strcmp(mode, "netns")) {
			reply_netns(req.seq, sockopt);
		} else if (!strcmp(mode, "compat") || !strcmp(mode, "compatok")) {
			compat = sockopt->flags & BPFILTER_IPC_F_COMPAT;
			reply_sockopt(req.seq, !compat ? -ENOPROTOOPT :
				      mode[6] ? 0 : -EOPNOTSUPP, NULL, 0);
		} else if (!strcmp(mode, "log")) {
			log_line(arg, "asked", sockopt->netns_cookie);
			reply_sockopt(req.seq, -ENOPROTOOPT, NULL, 0);
		} else {
			reply_sockopt(req.seq, -ENOPROTOOPT, NULL, 0);
		}
		free(payload);
	}
}
