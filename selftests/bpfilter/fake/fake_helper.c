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
 *   garbage     answer HELLO, then answer each request with junk bytes
 *   badversion  answer HELLO with protocol version 99
 *   exit        answer HELLO, then exit on the first request
 *   reply       answer as told by the request (see reply_scripted() and
 *               sockopt_probe.c, which drives it)
 *   self        before declining a request, make an IPT_SO_GET_INFO call
 *               of its own, which netfilter must answer; decline with
 *               -EDEADLK if that call fails
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/bpfilter_ipc.h>
#include <linux/netfilter_ipv4/ip_tables.h>

#define BAD_VERSION 99

/* What sockopt_probe.c puts after the table name: who is asking. */
struct probe_caller {
	__u32 pid;
	__u32 pad;
	__u64 netns_cookie;
};

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

/* -EBADMSG unless the request names the caller the probe says it is. */
static int check_caller(const struct bpfilter_ipc_sockopt *req,
			const char *optval, __u32 at)
{
	struct probe_caller caller;

	if (req->inlen < at + sizeof(caller))
		return -EBADMSG;
	memcpy(&caller, optval + at, sizeof(caller));
	if (req->pid != caller.pid || req->netns_cookie != caller.netns_cookie)
		return -EBADMSG;
	return 0;
}

/*
 * The "reply" mode. The table name in optval says what to answer:
 * gets: "out" (optlen - 1 bytes of i * 7), "toolong" (optlen + 1 bytes),
 * "positive" (status 1), "enoent" (-ENOENT), "context" (0 if pid, netns
 * cookie and inlen are right, else -EBADMSG); sets (IPT_SO_SET_REPLACE):
 * "counters" (num_counters counters {i + 1, 1000 * (i + 1)}),
 * "badcounters" (one counter too many), "context" as for gets.
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
			status = req->inlen == want_inlen ?
				 check_caller(req, optval, sizeof(name)) :
				 -EBADMSG;
		else
			status = -ENOPROTOOPT;
		out = calloc(1, outlen + 1);
		for (i = 0; i < outlen; i++)
			out[i] = i * 7;
	} else if (req->inlen < sizeof(*repl) || req->inlen != req->optlen) {
		status = -EBADMSG;
	} else if (!strcmp(name, "counters") || !strcmp(name, "badcounters")) {
		struct xt_counters *c;

		outlen = (repl->num_counters + (name[0] == 'b')) * sizeof(*c);
		out = calloc(1, outlen + 1);
		c = (struct xt_counters *)out;
		for (i = 0; i < outlen / sizeof(*c); i++)
			c[i] = (struct xt_counters){ i + 1, 1000 * (i + 1) };
	} else if (!strcmp(name, "context")) {
		status = check_caller(req, optval, sizeof(*repl));
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

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "decline";
	const struct bpfilter_ipc_sockopt *sockopt;
	struct bpfilter_ipc_hdr req;
	char junk[64], *payload;

	for (;;) {
		read_exact(&req, sizeof(req));
		if (req.len > BPFILTER_IPC_MAX_PAYLOAD)
			return 1;
		payload = malloc(req.len + 1);
		if (!payload)
			return 1;
		read_exact(payload, req.len);
		sockopt = (const void *)payload;

		if (req.type == BPFILTER_IPC_HELLO) {
			reply_hello(req.seq, strcmp(mode, "badversion") ?
				    BPFILTER_IPC_VERSION : BAD_VERSION);
		} else if (!strcmp(mode, "hang")) {
			hang();
		} else if (!strcmp(mode, "exit")) {
			return 0;
		} else if (!strcmp(mode, "garbage")) {
			memset(junk, 0xab, sizeof(junk));
			write_exact(junk, sizeof(junk));
		} else if (!strcmp(mode, "self")) {
			reply_sockopt(req.seq, call_netfilter() ?: -ENOPROTOOPT,
				      NULL, 0);
		} else if (!strcmp(mode, "reply") &&
			   req.len >= sizeof(*sockopt) &&
			   req.len - sizeof(*sockopt) == sockopt->inlen) {
			reply_scripted(req.seq, sockopt,
				       payload + sizeof(*sockopt));
		} else {
			reply_sockopt(req.seq, -ENOPROTOOPT, NULL, 0);
		}
		free(payload);
	}
}
