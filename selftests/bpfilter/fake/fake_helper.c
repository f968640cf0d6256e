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
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpfilter_ipc.h>

#define BAD_VERSION 99

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

static void skip_payload(__u32 len)
{
	char buf[4096];

	if (len > BPFILTER_IPC_MAX_PAYLOAD)
		exit(1);
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		read_exact(buf, n);
		len -= n;
	}
}

static void reply_hello(const struct bpfilter_ipc_hdr *req, __u16 version)
{
	struct {
		struct bpfilter_ipc_hdr hdr;
		struct bpfilter_ipc_hello hello;
	} reply = {
		.hdr = {
			.magic = BPFILTER_IPC_MAGIC,
			.version = version,
			.type = BPFILTER_IPC_HELLO_REPLY,
			.seq = req->seq,
			.len = sizeof(reply.hello),
		},
		.hello = { .version = version },
	};

	write_exact(&reply, sizeof(reply));
}

static void reply_decline(const struct bpfilter_ipc_hdr *req)
{
	struct {
		struct bpfilter_ipc_hdr hdr;
		struct bpfilter_ipc_sockopt_reply reply;
	} reply = {
		.hdr = {
			.magic = BPFILTER_IPC_MAGIC,
			.version = BPFILTER_IPC_VERSION,
			.type = BPFILTER_IPC_SOCKOPT_REPLY,
			.seq = req->seq,
			.len = sizeof(reply.reply),
		},
		.reply = { .status = -ENOPROTOOPT },
	};

	write_exact(&reply, sizeof(reply));
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
	struct bpfilter_ipc_hdr req;
	char junk[64];

	for (;;) {
		read_exact(&req, sizeof(req));
		skip_payload(req.len);
		if (req.type == BPFILTER_IPC_HELLO) {
			reply_hello(&req, strcmp(mode, "badversion") ?
				    BPFILTER_IPC_VERSION : BAD_VERSION);
			continue;
		}
		if (!strcmp(mode, "hang"))
			hang();
		if (!strcmp(mode, "exit"))
			return 0;
		if (!strcmp(mode, "garbage")) {
			memset(junk, 0xab, sizeof(junk));
			write_exact(junk, sizeof(junk));
			continue;
		}
		reply_decline(&req);
	}
}
