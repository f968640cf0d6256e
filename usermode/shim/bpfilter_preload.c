// SPDX-License-Identifier: GPL-2.0
/*
 * bpfilter host-mode shim, loaded with LD_PRELOAD into an unmodified
 * iptables-legacy. It sends the IPT_SO_* socket options (level IPPROTO_IP,
 * optnames 64..67) to the bpfilter helper listening on the unix socket named
 * by $BPFILTER_SOCKET, in the frames of uapi/linux/bpfilter_ipc.h, and does
 * with the reply what the kernel side does: copy get bytes back, copy the old
 * counters of a SET_REPLACE to ipt_replace.counters, and hand a declined
 * request (-ENOPROTOOPT) to netfilter through the real call.
 *
 * There is no kernel here to hand the helper the socket's network namespace,
 * so the shim does it: it opens the socket's netns (SIOCGSKNS) and names
 * that descriptor and its own pid in the request (peer_netns_fd, peer_pid);
 * the helper opens /proc/<pid>/fd/<fd> while the shim waits for the reply.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <linux/sockios.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include "../../uapi/linux/bpfilter_ipc.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define IPT_OPT_MIN 64
#define IPT_OPT_MAX 67
/* As the kernel side: a get request carries at most this many optval bytes. */
#define GET_REQUEST_MAX sizeof(struct ipt_getinfo)

typedef int (*setsockopt_fn)(int, int, int, const void *, socklen_t);
typedef int (*getsockopt_fn)(int, int, int, void *, socklen_t *);

static uint32_t next_seq = 1;

static void shim_log(const char *what, int err)
{
	fprintf(stderr, "bpfilter-preload: %s: %s\n", what, strerror(err));
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = EPIPE;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int send_frame(int fd, __u16 type, __u32 seq, const void *a, __u32 alen,
		      const void *b, __u32 blen)
{
	struct bpfilter_ipc_hdr hdr = {
		.magic = BPFILTER_IPC_MAGIC,
		.version = BPFILTER_IPC_VERSION,
		.type = type,
		.seq = seq,
		.len = alen + blen,
	};

	if (write_all(fd, &hdr, sizeof(hdr)) || write_all(fd, a, alen))
		return -1;
	return blen ? write_all(fd, b, blen) : 0;
}

/* Reads one frame header of the expected type and seq; returns its len. */
static int read_header(int fd, __u16 type, __u32 seq, __u32 *len)
{
	struct bpfilter_ipc_hdr hdr;

	if (read_all(fd, &hdr, sizeof(hdr)))
		return -1;
	if (hdr.magic != BPFILTER_IPC_MAGIC || hdr.type != type ||
	    hdr.seq != seq || hdr.len > BPFILTER_IPC_MAX_PAYLOAD) {
		fprintf(stderr, "bpfilter-preload: unexpected frame type %u seq %u len %u\n",
			hdr.type, hdr.seq, hdr.len);
		errno = EPROTO;
		return -1;
	}
	*len = hdr.len;
	return 0;
}

static int helper_connect(void)
{
	struct bpfilter_ipc_hello hello = { .version = BPFILTER_IPC_VERSION };
	const char *path = getenv("BPFILTER_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	__u32 seq = next_seq++, len;
	int fd;

	if (!path || strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "bpfilter-preload: BPFILTER_SOCKET is unset or too long\n");
		errno = EIO;
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		shim_log(path, errno);
		goto out_close;
	}
	if (send_frame(fd, BPFILTER_IPC_HELLO, seq, &hello, sizeof(hello), NULL, 0) ||
	    read_header(fd, BPFILTER_IPC_HELLO_REPLY, seq, &len))
		goto out_close;
	if (len != sizeof(hello) || read_all(fd, &hello, sizeof(hello)))
		goto out_close;
	if (hello.version != BPFILTER_IPC_VERSION) {
		fprintf(stderr, "bpfilter-preload: helper speaks version %u, not %u\n",
			hello.version, BPFILTER_IPC_VERSION);
		errno = EPROTO;
		goto out_close;
	}
	return fd;

out_close:
	close(fd);
	errno = EIO;
	return -1;
}

/*
 * Copies what can be read of [src, src + len) to dst, a page at a time, and
 * returns how many bytes that is: netfilter's copies stop at the first page
 * that cannot be read, and the helper answers an optval shorter than optlen
 * with EFAULT, or with the errno netfilter would find before that copy.
 */
static size_t copy_readable(void *dst, const void *src, size_t len)
{
	size_t page = sysconf(_SC_PAGESIZE), done = 0;
	int saved = errno;

	while (done < len) {
		uintptr_t at = (uintptr_t)src + done;
		size_t chunk = page - at % page;
		struct iovec local, remote;

		if (chunk > len - done)
			chunk = len - done;
		local = (struct iovec){ .iov_base = (char *)dst + done, .iov_len = chunk };
		remote = (struct iovec){ .iov_base = (void *)at, .iov_len = chunk };
		if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)chunk)
			break;
		done += chunk;
	}
	errno = saved;
	return done;
}

/*
 * The optval bytes netfilter reads of a set: the header and the size it
 * gives (ipt_replace.size, xt_counters_info.num_counters), not past optlen.
 */
static size_t set_request_len(int cmd, const void *optval, socklen_t optlen)
{
	struct ipt_replace repl;
	struct xt_counters_info info;
	__u64 want = optlen;

	if (cmd == IPT_SO_SET_REPLACE &&
	    copy_readable(&repl, optval, sizeof(repl)) == sizeof(repl))
		want = sizeof(repl) + (__u64)repl.size;
	else if (cmd == IPT_SO_SET_ADD_COUNTERS &&
		 copy_readable(&info, optval, sizeof(info)) == sizeof(info))
		want = sizeof(info) + (__u64)info.num_counters * sizeof(struct xt_counters);
	return want < optlen ? want : optlen;
}

/*
 * Sends one sockopt to the helper, with the optval bytes the kernel side
 * would copy (all of a set, at most GET_REQUEST_MAX of a get), as far as
 * they can be read and netfilter would read them. Returns the
 * helper's status (0 or -errno), or -EIO when the helper cannot be reached
 * or breaks the protocol. On success *out holds *outlen malloc'd bytes.
 */
static int helper_call(int sockfd, int cmd, __u32 flags, const void *optval,
		       socklen_t optlen, void **out, __u32 *outlen)
{
	struct bpfilter_ipc_sockopt req = {
		.cmd = cmd,
		.flags = flags,
		.optlen = optlen,
		.inlen = (flags & BPFILTER_IPC_F_SET) ? set_request_len(cmd, optval, optlen) :
			 optlen < GET_REQUEST_MAX ? optlen : GET_REQUEST_MAX,
		.peer_pid = getpid(),
		.peer_netns_fd = -1,
	};
	void *in = malloc(req.inlen ? req.inlen : 1);
	struct bpfilter_ipc_sockopt_reply rep;
	socklen_t cookie_len = sizeof(req.netns_cookie);
	__u32 seq, len;
	int fd, ret = -EIO;

	*out = NULL;
	*outlen = 0;
	if (!in)
		return -ENOMEM;
	req.inlen = copy_readable(in, optval, req.inlen);
	if (getsockopt(sockfd, SOL_SOCKET, SO_NETNS_COOKIE, &req.netns_cookie, &cookie_len)) {
		shim_log("SO_NETNS_COOKIE", errno);
		goto out_free;
	}
	req.peer_netns_fd = ioctl(sockfd, SIOCGSKNS);
	if (req.peer_netns_fd < 0) {
		shim_log("SIOCGSKNS", errno);
		goto out_free;
	}
	fd = helper_connect();
	if (fd < 0)
		goto out_close_netns;
	seq = next_seq++;
	if (send_frame(fd, BPFILTER_IPC_SOCKOPT, seq, &req, sizeof(req), in, req.inlen) ||
	    read_header(fd, BPFILTER_IPC_SOCKOPT_REPLY, seq, &len) ||
	    len < sizeof(rep) || read_all(fd, &rep, sizeof(rep)) ||
	    rep.outlen != len - sizeof(rep)) {
		shim_log("helper request", errno ? errno : EPROTO);
		goto out_close;
	}
	if (rep.outlen) {
		*out = malloc(rep.outlen);
		if (!*out || read_all(fd, *out, rep.outlen)) {
			free(*out);
			*out = NULL;
			goto out_close;
		}
	}
	if (rep.status > 0 || rep.status < -BPFILTER_IPC_MAX_ERRNO ||
	    (rep.status < 0 && rep.outlen)) {
		fprintf(stderr, "bpfilter-preload: reply status %d with %u bytes breaks the protocol\n",
			rep.status, rep.outlen);
		free(*out);
		*out = NULL;
		goto out_close;
	}
	*outlen = rep.outlen;
	ret = rep.status;
out_close:
	close(fd);
out_close_netns:
	close(req.peer_netns_fd);
out_free:
	free(in);
	return ret;
}

/*
 * netfilter lists a table in /proc/net/ip_tables_names (which iptables-save
 * reads) once a request has looked it up in that netns. A request served by
 * the helper never reaches netfilter, so look the table up as native would.
 */
static void touch_netfilter_table(int fd, const void *optval, socklen_t optlen)
{
	getsockopt_fn real = (getsockopt_fn)dlsym(RTLD_NEXT, "getsockopt");
	struct ipt_getinfo info = {};
	socklen_t len = sizeof(info);
	int saved = errno;

	if (!optval || optlen < sizeof(info.name) ||
	    copy_readable(info.name, optval, sizeof(info.name) - 1) != sizeof(info.name) - 1)
		return;
	real(fd, IPPROTO_IP, IPT_SO_GET_INFO, &info, &len);
	errno = saved;
}

/*
 * Copies to the caller's memory as copy_to_user does: an unwritable page
 * fails with -EFAULT (process_vm_writev on the shim's own process) instead
 * of faulting in the shim.
 */
static int copy_to_caller(void *to, const void *from, size_t len)
{
	struct iovec local = { .iov_base = (void *)from, .iov_len = len };
	struct iovec remote = { .iov_base = to, .iov_len = len };
	int saved = errno;
	ssize_t n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);

	errno = saved;
	return n == (ssize_t)len ? 0 : -EFAULT;
}

static int is_ipt_opt(int level, int optname)
{
	return level == IPPROTO_IP && optname >= IPT_OPT_MIN && optname <= IPT_OPT_MAX;
}

int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
{
	setsockopt_fn real = (setsockopt_fn)dlsym(RTLD_NEXT, "setsockopt");
	void *out;
	__u32 outlen;
	int ret;

	/* setsockopt(2) refuses a negative optlen (EINVAL) before any hook. */
	if (!is_ipt_opt(level, optname) || (int)optlen < 0)
		return real(fd, level, optname, optval, optlen);
	touch_netfilter_table(fd, optval, optlen);
	ret = helper_call(fd, optname, BPFILTER_IPC_F_SET, optval, optlen, &out, &outlen);
	if (ret == -ENOPROTOOPT)
		return real(fd, level, optname, optval, optlen);
	if (ret == 0 && outlen) {
		const struct ipt_replace *repl = optval;

		/* Only a replace returns bytes: exactly the old counters. */
		if (optname != IPT_SO_SET_REPLACE || optlen < sizeof(*repl) ||
		    outlen != (__u64)repl->num_counters * sizeof(struct xt_counters)) {
			fprintf(stderr, "bpfilter-preload: set %d got %u unexpected bytes\n",
				optname, outlen);
			ret = -EIO;
		} else {
			/* netfilter ignores a failed copy: the new table is in place */
			copy_to_caller(repl->counters, out, outlen);
		}
	}
	free(out);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
	getsockopt_fn real = (getsockopt_fn)dlsym(RTLD_NEXT, "getsockopt");
	void *out;
	__u32 outlen;
	int ret;

	/* A missing or negative optlen: the kernel answers (EFAULT, EINVAL). */
	if (!is_ipt_opt(level, optname) || !optlen || (int)*optlen < 0)
		return real(fd, level, optname, optval, optlen);
	if (optname == IPT_SO_GET_INFO || optname == IPT_SO_GET_ENTRIES)
		touch_netfilter_table(fd, optval, *optlen);
	ret = helper_call(fd, optname, 0, optval, *optlen, &out, &outlen);
	if (ret == -ENOPROTOOPT)
		return real(fd, level, optname, optval, optlen);
	if (ret == 0 && outlen > *optlen) {
		fprintf(stderr, "bpfilter-preload: get %d got %u bytes for optlen %u\n",
			optname, outlen, *optlen);
		ret = -EIO;
	} else if (ret == 0) {
		/* As the kernel side: copy the output, optlen becomes its length. */
		ret = copy_to_caller(optval, out, outlen);
		if (!ret)
			*optlen = outlen;
	}
	free(out);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}
