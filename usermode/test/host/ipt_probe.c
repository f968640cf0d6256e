// SPDX-License-Identifier: GPL-2.0
/*
 * replace_probe REQUEST INITIAL: sends the ipt_replace in file REQUEST with
 * IPT_SO_SET_REPLACE and prints the errno (0 on success). On success it prints
 * the returned old counters, GET_INFO and GET_ENTRIES in hex, then puts the
 * initial table in file INITIAL back (num_counters patched to the new count).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netfilter_ipv4/ip_tables.h>

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	rewind(f);
	buf = malloc(*len);
	if (fread(buf, 1, *len, f) != *len)
		exit(2);
	fclose(f);
	return buf;
}

static void hex(const char *what, const void *p, size_t n)
{
	printf("%s ", what);
	for (size_t i = 0; i < n; i++)
		printf("%02x", ((const unsigned char *)p)[i]);
	printf("\n");
}

static int replace(int fd, struct ipt_replace *repl, size_t len, int print)
{
	size_t clen = (size_t)repl->num_counters * sizeof(struct xt_counters);
	struct xt_counters *old = calloc(1, clen < (1 << 20) ? clen + 1 : 1);

	repl->counters = old;
	if (setsockopt(fd, IPPROTO_IP, IPT_SO_SET_REPLACE, repl, len))
		return errno;
	if (print)
		hex("old-counters", old, clen);
	free(old);
	return 0;
}

int main(int argc, char **argv)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	struct ipt_replace *repl, *initial;
	struct ipt_get_entries *ge;
	struct ipt_getinfo gi;
	size_t len, ilen, n;
	socklen_t sl;
	int err;

	if (argc != 3)
		return 2;
	repl = slurp(argv[1], &len);
	initial = slurp(argv[2], &ilen);
	err = replace(fd, repl, len, 1);
	printf("errno %d\n", err);
	if (err)
		return 0;
	memset(&gi, 0, sizeof(gi));
	strcpy(gi.name, "filter");
	sl = sizeof(gi);
	if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, &gi, &sl))
		return 3;
	hex("info", &gi, sizeof(gi));
	n = sizeof(*ge) + gi.size;
	ge = malloc(n);
	memset(ge, 0xaa, n);
	strcpy(ge->name, "filter");
	ge->size = gi.size;
	sl = n;
	if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_ENTRIES, ge, &sl))
		return 4;
	hex("entries", ge, n);
	initial->num_counters = gi.num_entries;
	err = replace(fd, initial, ilen, 0);
	printf("restore %d\n", err);
	return 0;
}
