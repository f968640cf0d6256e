// SPDX-License-Identifier: GPL-2.0
/*
 * reject_probe: open a UDP or TCP flow from one network namespace to
 * another and print what answered it, as the sender's socket sees it:
 * "accepted" (the datagram arrived, or the connection was made),
 * "icmp type T code C from ADDR" (an ICMP error, from the socket's error
 * queue), "tcp reset" (connect() refused with no ICMP error) or
 * "no reply". The receiver is opened in the target namespace first.
 *
 * reject_probe --from-ns PATH --to-ns PATH --to ADDR --port N --proto udp|tcp
 *              [--wait-ms N]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <getopt.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "flow_util.h"

const char *flow_prog = "reject_probe";

/* Prints the ICMP error queued on fd and returns 1, or returns 0 if none is. */
static int print_icmp_error(int fd)
{
	char control[512], data[64];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg;

	if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return 0;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		struct sock_extended_err *ee;
		struct sockaddr_in *from;
		char addr[INET_ADDRSTRLEN] = "?";

		if (cmsg->cmsg_level != SOL_IP || cmsg->cmsg_type != IP_RECVERR)
			continue;
		ee = (struct sock_extended_err *)CMSG_DATA(cmsg);
		if (ee->ee_origin != SO_EE_ORIGIN_ICMP)
			continue;
		from = (struct sockaddr_in *)SO_EE_OFFENDER(ee);
		inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
		printf("icmp type %u code %u from %s\n", ee->ee_type, ee->ee_code, addr);
		return 1;
	}
	return 0;
}

static int probe_udp(const struct sockaddr_in *addr, const char *from_ns, int wait_ms)
{
	int on = 1, rx, tx;
	char buf[32];

	rx = socket(AF_INET, SOCK_DGRAM, 0);
	if (rx < 0 || bind(rx, (const struct sockaddr *)addr, sizeof(*addr)) < 0)
		die("bind receiver");
	enter_netns(from_ns);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	if (tx < 0 || setsockopt(tx, SOL_IP, IP_RECVERR, &on, sizeof(on)) < 0)
		die("sender socket");
	if (connect(tx, (const struct sockaddr *)addr, sizeof(*addr)) < 0)
		die("connect sender");
	if (send(tx, "reject_probe", 12, 0) != 12)
		die("send");
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = rx, .events = POLLIN },
			{ .fd = tx, .events = POLLERR },
		};

		if (poll(pfd, 2, wait_ms) <= 0)
			break;
		if ((pfd[0].revents & POLLIN) && recv(rx, buf, sizeof(buf), 0) > 0) {
			printf("accepted\n");
			return 0;
		}
		if ((pfd[1].revents & POLLERR) && print_icmp_error(tx))
			return 0;
	}
	printf("no reply\n");
	return 0;
}

static int probe_tcp(const struct sockaddr_in *addr, const char *from_ns, int wait_ms)
{
	int on = 1, err = 0, lst, tx;
	socklen_t len = sizeof(err);
	struct pollfd pfd;

	lst = socket(AF_INET, SOCK_STREAM, 0);
	if (lst < 0 || setsockopt(lst, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(lst, (const struct sockaddr *)addr, sizeof(*addr)) < 0 || listen(lst, 4) < 0)
		die("listen");
	enter_netns(from_ns);
	tx = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (tx < 0 || setsockopt(tx, SOL_IP, IP_RECVERR, &on, sizeof(on)) < 0)
		die("sender socket");
	if (connect(tx, (const struct sockaddr *)addr, sizeof(*addr)) == 0) {
		printf("accepted\n");
		return 0;
	}
	if (errno != EINPROGRESS)
		die("connect");
	pfd = (struct pollfd){ .fd = tx, .events = POLLOUT };
	if (poll(&pfd, 1, wait_ms) <= 0) {
		printf("no reply\n");
		return 0;
	}
	if (print_icmp_error(tx))
		return 0;
	if (getsockopt(tx, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		die("SO_ERROR");
	if (err == 0)
		printf("accepted\n");
	else if (err == ECONNREFUSED)
		printf("tcp reset\n");
	else
		printf("error %s\n", strerror(err));
	return 0;
}

int main(int argc, char **argv)
{
	const char *from_ns = NULL, *to_ns = NULL, *to = NULL, *proto = NULL;
	int port = 0, wait_ms = 1000, o;
	static const struct option opts[] = {
		{ "from-ns", required_argument, NULL, 'f' },
		{ "to-ns", required_argument, NULL, 't' },
		{ "to", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "proto", required_argument, NULL, 'P' },
		{ "wait-ms", required_argument, NULL, 'w' },
		{}
	};
	struct sockaddr_in addr = { .sin_family = AF_INET };

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'f':
			from_ns = optarg;
			break;
		case 't':
			to_ns = optarg;
			break;
		case 'a':
			to = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'P':
			proto = optarg;
			break;
		case 'w':
			wait_ms = atoi(optarg);
			break;
		default:
			fprintf(stderr, "reject_probe: unknown option %s\n", argv[optind - 1]);
			return 1;
		}
	}
	if (!from_ns || !to_ns || !to || !proto || port <= 0 || port > 65535 ||
	    (strcmp(proto, "udp") && strcmp(proto, "tcp"))) {
		fprintf(stderr, "usage: reject_probe --from-ns PATH --to-ns PATH --to ADDR\n"
			"                    --port N --proto udp|tcp [--wait-ms N]\n");
		return 1;
	}
	addr.sin_port = htons(port);
	if (inet_pton(AF_INET, to, &addr.sin_addr) != 1) {
		fprintf(stderr, "reject_probe: --to %s is not an IPv4 address\n", to);
		return 1;
	}
	enter_netns(to_ns);
	if (!strcmp(proto, "udp"))
		return probe_udp(&addr, from_ns, wait_ms);
	return probe_tcp(&addr, from_ns, wait_ms);
}
