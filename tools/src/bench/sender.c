// SPDX-License-Identifier: GPL-2.0
/*
 * make bench's packet sender: sends one prebuilt Ethernet frame, as fast as
 * the path takes it, on an AF_PACKET socket bound to one interface, with
 * sendmmsg in batches, for a fixed time. It never loses count: a frame the
 * device refuses (ENOBUFS, EAGAIN: a full veth ring or backlog) is not
 * counted, the sender backs off (10 us doubling to 1 ms) and sends it again.
 * It prints one JSON line: frames sent, elapsed time, refusals, time spent
 * backing off. The bench compares "sent" with the receiver's counters.
 *
 *   bench-sender --ifname IF --frame HEX --seconds S [--batch N] [--max N]
 *
 * Run it in the sender's netns, pinned to one CPU (taskset): on veth the
 * receiver's processing (XDP, netfilter, the stack) runs in the softirq that
 * the send raises on that same CPU, so the rate is what the receiver's filter
 * lets through.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME 1514
#define MAX_BATCH 1024

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void usage(const char *why)
{
	fprintf(stderr, "bench-sender: %s\n"
		"usage: bench-sender --ifname IF --frame HEX --seconds S [--batch N] [--max N]\n", why);
	exit(64);
}

static size_t parse_hex(const char *hex, unsigned char *out)
{
	size_t len = strlen(hex), i;

	if (len % 2 || len / 2 < ETH_ZLEN || len / 2 > MAX_FRAME)
		usage("--frame must be 60 to 1514 bytes of hex digits");
	for (i = 0; i < len / 2; i++) {
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			usage("--frame holds a character that is not a hex digit");
		out[i] = byte;
	}
	return len / 2;
}

static void backoff(uint64_t *wait_ns)
{
	struct timespec ts = { 0, (long)*wait_ns };

	nanosleep(&ts, NULL);
	*wait_ns = *wait_ns * 2 > 1000000 ? 1000000 : *wait_ns * 2;
}

int main(int argc, char **argv)
{
	static unsigned char frame[MAX_FRAME];
	static struct mmsghdr msgs[MAX_BATCH];
	const char *ifname = NULL, *hex = NULL;
	uint64_t sent = 0, refused = 0, backoff_total = 0, max = UINT64_MAX;
	uint64_t start, deadline, end, wait_ns = 10000;
	double seconds = 0;
	struct sockaddr_ll to;
	struct iovec iov;
	size_t len;
	int batch = 64, fd, i;

	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage("every option needs a value");
		if (!strcmp(argv[i], "--ifname"))
			ifname = v;
		else if (!strcmp(argv[i], "--frame"))
			hex = v;
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(v);
		else if (!strcmp(argv[i], "--batch"))
			batch = atoi(v);
		else if (!strcmp(argv[i], "--max"))
			max = strtoull(v, NULL, 10);
		else
			usage("unknown option");
		i++;
	}
	if (!ifname || !hex)
		usage("--ifname and --frame are required");
	if (seconds <= 0 || seconds > 600)
		usage("--seconds must be above 0 and at most 600");
	if (batch < 1 || batch > MAX_BATCH)
		usage("--batch must be 1 to 1024");
	len = parse_hex(hex, frame);

	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("bench-sender: socket(AF_PACKET)");
		return 1;
	}
	memset(&to, 0, sizeof(to));
	to.sll_family = AF_PACKET;
	to.sll_ifindex = if_nametoindex(ifname);
	to.sll_halen = ETH_ALEN;
	memcpy(to.sll_addr, frame, ETH_ALEN);
	if (!to.sll_ifindex) {
		fprintf(stderr, "bench-sender: no interface %s in this netns\n", ifname);
		return 1;
	}
	iov.iov_base = frame;
	iov.iov_len = len;
	for (i = 0; i < batch; i++) {
		msgs[i].msg_hdr.msg_name = &to;
		msgs[i].msg_hdr.msg_namelen = sizeof(to);
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	start = now_ns();
	deadline = start + (uint64_t)(seconds * 1e9);
	end = start;
	while (sent < max && (end = now_ns()) < deadline) {
		unsigned int want = max - sent < (uint64_t)batch ? (unsigned int)(max - sent) : (unsigned int)batch;
		int n = sendmmsg(fd, msgs, want, 0);

		if (n > 0) {
			sent += n;
			wait_ns = 10000;
			continue;
		}
		if (n < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)) {
			uint64_t t = now_ns();

			refused++;
			backoff(&wait_ns);
			backoff_total += now_ns() - t;
			continue;
		}
		perror("bench-sender: sendmmsg");
		return 1;
	}
	end = now_ns();
	printf("{\"sent\":%llu,\"elapsed_ns\":%llu,\"refused\":%llu,\"backoff_ns\":%llu,\"frame_bytes\":%zu}\n",
	       (unsigned long long)sent, (unsigned long long)(end - start),
	       (unsigned long long)refused, (unsigned long long)backoff_total, len);
	return 0;
}
