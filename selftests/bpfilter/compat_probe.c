// SPDX-License-Identifier: GPL-2.0
/*
 * Built as a 32-bit program: one IPT_SO_GET_INFO of the table named by
 * argv[1], as a 32-bit iptables on a 64-bit kernel makes it (a compat
 * syscall). Prints the errno, 0 on success.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter_ipv4/ip_tables.h>

int main(int argc, char **argv)
{
	struct ipt_getinfo info;
	socklen_t len = sizeof(info);
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(info.name)) {
		fprintf(stderr, "usage: compat_probe TABLE\n");
		return 2;
	}
	memset(&info, 0, sizeof(info));
	snprintf(info.name, sizeof(info.name), "%s", argv[1]);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("compat_probe: socket");
		return 1;
	}
	printf("%d\n", getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, &info, &len) ? errno : 0);
	close(fd);
	return 0;
}
