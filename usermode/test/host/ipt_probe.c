// SPDX-License-Identifier: GPL-2.0
/*
 * Raw iptables sockopts for the host tests, run natively or under the shim.
 *
 * ipt_probe dump: prints GET_INFO and GET_ENTRIES of the filter table in hex.
 * The GET_ENTRIES buffer starts zeroed: netfilter leaves the bytes of a
 * match/target name after its NUL as the caller had them, and the kernel
 * side (like the shim) sends the helper only the first sizeof(struct
 * ipt_getinfo) bytes of a get, so the helper writes zeros there.
 *
 * ipt_probe replace REQUEST INITIAL: sends the ipt_replace in file REQUEST
 * with IPT_SO_SET_REPLACE and prints the errno (0 on success). On success it
 * prints the returned old counters and the dump, then puts the initial table
 * in file INITIAL back (num_counters patched to the new count).
 *
 * ipt_probe badlen: each IPT_SO_* call with optlen -1, and prints the errnos.
 *
 * ipt_probe badcounters INITIAL: replaces the table with INITIAL (num_counters
 * set to the current count) and ipt_replace.counters pointing at an unmapped
 * page, and prints the errno (netfilter: 0, the counters are lost).
 *
 * ipt_probe badoptval INITIAL: sends INITIAL and the gets from buffers that
 * end where an unmapped page begins, and prints each errno: netfilter reads
 * only what a request's header says, and fails with EFAULT only there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
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

/* Prints GET_INFO and GET_ENTRIES; returns the number of entries, or -1. */
static int dump(int fd)
{
	struct ipt_get_entries *ge;
	struct ipt_getinfo gi;
	socklen_t sl;
	size_t n;

	memset(&gi, 0, sizeof(gi));
	strcpy(gi.name, "filter");
	sl = sizeof(gi);
	if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, &gi, &sl)) {
		printf("GET_INFO errno %d\n", errno);
		return -1;
	}
	hex("info", &gi, sizeof(gi));
	n = sizeof(*ge) + gi.size;
	ge = malloc(n);
	memset(ge, 0, n);
	strcpy(ge->name, "filter");
	ge->size = gi.size;
	sl = n;
	if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_ENTRIES, ge, &sl)) {
		printf("GET_ENTRIES errno %d\n", errno);
		free(ge);
		return -1;
	}
	hex("entries", ge, n);
	free(ge);
	return gi.num_entries;
}

static int badlen(int fd)
{
	static const int sets[] = { IPT_SO_SET_REPLACE, IPT_SO_SET_ADD_COUNTERS };
	static const int gets[] = { IPT_SO_GET_INFO, IPT_SO_GET_ENTRIES,
				    IPT_SO_GET_REVISION_MATCH, IPT_SO_GET_REVISION_TARGET };
	char buf[sizeof(struct ipt_replace) + 64] = "filter";
	socklen_t sl;
	size_t i;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		printf("set %d errno %d\n", sets[i],
		       setsockopt(fd, IPPROTO_IP, sets[i], buf, (socklen_t)-1) ? errno : 0);
	for (i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
		sl = (socklen_t)-1;
		printf("get %d errno %d\n", gets[i],
		       getsockopt(fd, IPPROTO_IP, gets[i], buf, &sl) ? errno : 0);
	}
	return 0;
}

static int badcounters(int fd, struct ipt_replace *repl, size_t len)
{
	struct ipt_getinfo gi = { .name = "filter" };
	socklen_t sl = sizeof(gi);

	if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, &gi, &sl))
		return 1;
	repl->num_counters = gi.num_entries;
	repl->counters = (struct xt_counters *)8;
	printf("errno %d\n", setsockopt(fd, IPPROTO_IP, IPT_SO_SET_REPLACE, repl, len) ? errno : 0);
	return 0;
}

/* Puts len bytes of src so that they end `tail` bytes before an unmapped page. */
static void *before_hole(char *pages, size_t page, const void *src, size_t len, size_t tail)
{
	char *at = pages + page - (len - tail);

	memcpy(at, src, len - tail);
	return at;
}

static void try_set(int fd, const char *what, int cmd, const void *p, socklen_t len)
{
	printf("%s errno %d\n", what, setsockopt(fd, IPPROTO_IP, cmd, p, len) ? errno : 0);
}

static int badoptval(int fd, struct ipt_replace *repl, size_t len)
{
	size_t page = sysconf(_SC_PAGESIZE);
	char *pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct xt_counters_info ci = { .name = "filter" };
	struct ipt_getinfo gi = { .name = "filter" };
	struct ipt_get_entries ge = { .name = "filter" };
	socklen_t sl = sizeof(gi);
	void *p;

	if (pages == MAP_FAILED || munmap(pages + page, page) ||
	    getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, &gi, &sl))
		return 1;
	repl->num_counters = gi.num_entries;
	repl->counters = NULL;
	p = before_hole(pages, page, repl, len, 0);
	try_set(fd, "replace, optlen past the readable table", IPT_SO_SET_REPLACE, p, len + 64);
	p = before_hole(pages, page, repl, len, 8);
	try_set(fd, "replace, the table's last bytes unreadable", IPT_SO_SET_REPLACE, p, len);
	repl->num_counters = 0;
	p = before_hole(pages, page, repl, len, 8);
	try_set(fd, "replace, num_counters 0, the table unreadable", IPT_SO_SET_REPLACE, p, len);
	try_set(fd, "replace, nothing readable", IPT_SO_SET_REPLACE, pages + page, len);
	ci.num_counters = gi.num_entries;
	p = before_hole(pages, page, &ci, sizeof(ci), 0);
	try_set(fd, "add counters, the counters unreadable", IPT_SO_SET_ADD_COUNTERS, p,
		sizeof(ci) + gi.num_entries * sizeof(struct xt_counters));
	sl = sizeof(gi);
	printf("get info, unreadable errno %d\n",
	       getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, pages + page, &sl) ? errno : 0);
	ge.size = gi.size;
	p = before_hole(pages, page, &ge, sizeof(ge), 0);
	sl = sizeof(ge) + gi.size;
	printf("get entries, unwritable errno %d\n",
	       getsockopt(fd, IPPROTO_IP, IPT_SO_GET_ENTRIES, p, &sl) ? errno : 0);
	return 0;
}

int main(int argc, char **argv)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	struct ipt_replace *repl, *initial;
	size_t len, ilen;
	int err, entries;

	if (argc == 2 && strcmp(argv[1], "dump") == 0)
		return dump(fd) < 0;
	if (argc == 2 && strcmp(argv[1], "badlen") == 0)
		return badlen(fd);
	if (argc == 3 && strcmp(argv[1], "badoptval") == 0) {
		initial = slurp(argv[2], &ilen);
		return badoptval(fd, initial, ilen);
	}
	if (argc == 3 && strcmp(argv[1], "badcounters") == 0) {
		initial = slurp(argv[2], &ilen);
		return badcounters(fd, initial, ilen);
	}
	if (argc != 4 || strcmp(argv[1], "replace") != 0) {
		fprintf(stderr, "usage: ipt_probe dump | replace REQUEST INITIAL | badlen | badcounters INITIAL | badoptval INITIAL\n");
		return 2;
	}
	repl = slurp(argv[2], &len);
	initial = slurp(argv[3], &ilen);
	err = replace(fd, repl, len, 1);
	printf("errno %d\n", err);
	if (err)
		return 0;
	entries = dump(fd);
	if (entries < 0)
		return 1;
	initial->num_counters = entries;
	err = replace(fd, initial, ilen, 0);
	printf("restore %d\n", err);
	return 0;
}
