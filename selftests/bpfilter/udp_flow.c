// SPDX-License-Identifier: GPL-2.0
/*
 * udp_flow: send COUNT UDP datagrams from one network namespace to another
 * and print how many arrived. The receiving socket is opened in the target
 * namespace first, so there is no race with the sender.
 *
 * udp_flow --from-ns PATH --to-ns PATH --to ADDR --port N --count N --wait-ms N
 * prints "sent S received R" and exits 0, or exits 1 with a message on error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <getopt.h>
#include <poll.h>

#include "flow_util.h"

const char *flow_prog = "udp_flow";

int main(int argc, char **argv)
{
	const char *from_ns = NULL, *to_ns = NULL, *to = NULL;
	int port = 0, count = 0, wait_ms = 500, sent = 0, received = 0;
	static const struct option opts[] = {
		{ "from-ns", required_argument, NULL, 'f' },
		{ "to-ns", required_argument, NULL, 't' },
		{ "to", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "wait-ms", required_argument, NULL, 'w' },
		{}
	};
	struct sockaddr_in addr = { .sin_family = AF_INET };
	char buf[64];
	int rx, tx, o;

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
		case 'c':
			count = atoi(optarg);
			break;
		case 'w':
			wait_ms = atoi(optarg);
			break;
		default:
			fprintf(stderr, "udp_flow: unknown option %s\n", argv[optind - 1]);
			return 1;
		}
	}
	if (!from_ns || !to_ns || !to || port <= 0 || port > 65535 || count <= 0) {
		fprintf(stderr, "usage: udp_flow --from-ns PATH --to-ns PATH --to ADDR\n"
			"                --port N --count N [--wait-ms N]\n");
		return 1;
	}
	addr.sin_port = htons(port);
	if (inet_pton(AF_INET, to, &addr.sin_addr) != 1) {
		fprintf(stderr, "udp_flow: --to %s is not an IPv4 address\n", to);
		return 1;
	}

	enter_netns(to_ns);
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	if (rx < 0 || bind(rx, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("bind receiver");

	enter_netns(from_ns);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	if (tx < 0)
		die("socket sender");
	for (int i = 0; i < count; i++) {
		int n = snprintf(buf, sizeof(buf), "bpfilter udp_flow %d", i);

		if (sendto(tx, buf, n, 0, (struct sockaddr *)&addr, sizeof(addr)) == n)
			sent++;
	}

	for (;;) {
		struct pollfd pfd = { .fd = rx, .events = POLLIN };

		if (received == count || poll(&pfd, 1, wait_ms) <= 0)
			break;
		if (recv(rx, buf, sizeof(buf), 0) > 0)
			received++;
	}
	printf("sent %d received %d\n", sent, received);
	return 0;
}
