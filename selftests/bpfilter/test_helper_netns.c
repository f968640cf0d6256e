// SPDX-License-Identifier: GPL-2.0
/*
 * Who reaches the bpfilter helper, and for which network namespace: the
 * request names the netns of the caller's socket, whatever thread or
 * process makes the call; the helper hears of a netns it served going
 * away; callers without CAP_NET_ADMIN, and user namespaces the
 * administrator did not allow, do not reach it; and a caller killed
 * mid-request, even an unprivileged one, does not take it down.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/bpfilter_ipc.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include "../kselftest_harness.h"
#include "fake_helper.h"
#include "helper_util.h"

FIXTURE(netns) {
	struct helper_test t;
};

FIXTURE_SETUP(netns)
{
	const char *why = bpfilter_unavailable();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, helper_test_setup(&self->t));
}

FIXTURE_TEARDOWN(netns)
{
	helper_test_teardown(&self->t);
}

static __u64 socket_cookie(int fd)
{
	socklen_t len = sizeof(__u64);
	__u64 cookie = 0;

	getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len);
	return cookie;
}

/* What the "netns" mode says about a get on FD, with the socket's cookie. */
struct netns_seen {
	int err;
	__u64 socket_cookie;
	struct fake_netns_answer answer;
};

static void netns_get(int fd, struct netns_seen *seen)
{
	union {
		struct ipt_getinfo info;
		struct fake_netns_answer answer;
	} buf = {};
	int len = sizeof(buf);

	snprintf(buf.info.name, sizeof(buf.info.name), "filter");
	seen->socket_cookie = socket_cookie(fd);
	seen->err = sockopt_get(fd, IPT_SO_GET_INFO, &buf, &len);
	seen->answer = buf.answer;
}

static struct netns_seen *shared_seen(void)
{
	return mmap(NULL, sizeof(struct netns_seen), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}

#define ASSERT_SAW_SOCKET_NETNS(seen_ptr) do { \
	const struct netns_seen *saw = (seen_ptr); \
	ASSERT_EQ(0, saw->err); \
	ASSERT_EQ(0U, saw->answer.error); \
	EXPECT_NE(0ULL, saw->socket_cookie); \
	EXPECT_EQ(saw->socket_cookie, saw->answer.frame_cookie); \
	EXPECT_EQ(saw->socket_cookie, saw->answer.fd_cookie); \
} while (0)

/* A socket made in one netns, used by a thread that moved to another. */
static int setns_thread_child(void *arg)
{
	struct netns_seen *seen = arg;
	int fd;

	if (unshare(CLONE_NEWNET))
		return 100;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (unshare(CLONE_NEWNET))
		return 101;
	netns_get(fd, seen);
	return 0;
}

TEST_F(netns, socket_of_a_thread_that_moved)
{
	struct netns_seen *seen = shared_seen();

	ASSERT_EQ(0, use_fake(self->t.dir, "netns"));
	ASSERT_EQ(0, wait_child(run_child(setns_thread_child, seen)));
	ASSERT_SAW_SOCKET_NETNS(seen);
}

/* A socket made in one netns and passed to a process in another. */
struct passed {
	int sv[2];
	struct netns_seen *seen;
};

static int send_fd(int via, int fd)
{
	char control[CMSG_SPACE(sizeof(int))] = {};
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(via, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int via)
{
	char control[CMSG_SPACE(sizeof(int))] = {};
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(via, &msg, 0) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

static int sender_child(void *arg)
{
	struct passed *p = arg;
	int fd;

	if (unshare(CLONE_NEWNET))
		return 100;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	return send_fd(p->sv[0], fd) ? 101 : 0;
}

static int receiver_child(void *arg)
{
	struct passed *p = arg;
	int fd;

	if (unshare(CLONE_NEWNET))
		return 100;
	fd = recv_fd(p->sv[1]);
	if (fd < 0)
		return 101;
	netns_get(fd, p->seen);
	return 0;
}

TEST_F(netns, socket_passed_over_scm_rights)
{
	struct passed p = { .seen = shared_seen() };
	pid_t receiver;

	ASSERT_EQ(0, use_fake(self->t.dir, "netns"));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, p.sv));
	receiver = run_child(receiver_child, &p);
	ASSERT_EQ(0, wait_child(run_child(sender_child, &p)));
	ASSERT_EQ(0, wait_child(receiver));
	ASSERT_SAW_SOCKET_NETNS(p.seen);
}

/* A process whose main thread has exited calls from another thread. */
struct orphan {
	int fd;
	struct netns_seen *seen;
};

static void *orphan_thread(void *arg)
{
	struct orphan *o = arg;

	/* the group leader is a zombie by the time this runs */
	sleep_ms(300);
	netns_get(o->fd, o->seen);
	exit(0);
}

static int orphan_child(void *arg)
{
	static struct orphan o;
	pthread_t thread;

	o.seen = arg;
	if (unshare(CLONE_NEWNET))
		return 100;
	o.fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (pthread_create(&thread, NULL, orphan_thread, &o))
		return 101;
	pthread_exit(NULL);
}

TEST_F(netns, process_whose_leader_exited)
{
	struct netns_seen *seen = shared_seen();

	ASSERT_EQ(0, use_fake(self->t.dir, "netns"));
	ASSERT_EQ(0, wait_child(run_child(orphan_child, seen)));
	ASSERT_SAW_SOCKET_NETNS(seen);
}

#ifdef BPFILTER_IPC_SO_GET_NETNS
/* Only the helper, and only while it serves a request, opens its netns. */
TEST_F(netns, netns_fd_is_the_helpers_alone)
{
	struct bpfilter_ipc_netns_fd req = { .seq = 1 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), len = sizeof(req);

	ASSERT_EQ(0, use_fake(self->t.dir, "decline"));
	ASSERT_EQ(0, get_info("filter"));
	EXPECT_EQ(EPERM, sockopt_get(fd, BPFILTER_IPC_SO_GET_NETNS, &req, &len));
	close(fd);
}
#endif

static int asked_in_new_netns(void *arg)
{
	__u64 *cookie = arg;
	int fd;

	if (unshare(CLONE_NEWNET))
		return 100;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	*cookie = socket_cookie(fd);
	close(fd);
	return get_info("filter");
}

/* The helper hears of the end of a netns it was asked about. */
TEST_F(netns, gone_netns_is_reported)
{
	char mode[128], log[96], line[64], want[64];
	__u64 *cookie = mmap(NULL, sizeof(*cookie), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	bool found = false;
	int tries;

	snprintf(log, sizeof(log), "%s/helper.log", self->t.dir);
	snprintf(mode, sizeof(mode), "log %s", log);
	ASSERT_EQ(0, use_fake(self->t.dir, mode));
	ASSERT_EQ(0, wait_child(run_child(asked_in_new_netns, cookie)));
	snprintf(want, sizeof(want), "gone %llu\n", (unsigned long long)*cookie);
	/* netns are dismantled by a workqueue, some time after the last user */
	for (tries = 0; tries < 100 && !found; tries++) {
		FILE *f = fopen(log, "r");

		while (f && fgets(line, sizeof(line), f))
			found |= !strcmp(line, want);
		if (f)
			fclose(f);
		if (!found)
			sleep_ms(100);
	}
	EXPECT_TRUE(found) {
		TH_LOG("no '%.*s' in %s", (int)strlen(want) - 1, want, log);
	}
}

/* Writes "deny\n" or "0 0 1\n" style maps for a user namespace we entered. */
static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, text, strlen(text)) < 0)
		err = errno;
	close(fd);
	return err;
}

/* Becomes root of a new user namespace (mapped to uid/gid 0), and of a new netns. */
static int enter_userns(bool netns)
{
	if (unshare(CLONE_NEWUSER | (netns ? CLONE_NEWNET : 0)))
		return errno;
	return write_file("/proc/self/setgroups", "deny") ?:
	       write_file("/proc/self/uid_map", "0 0 1") ?:
	       write_file("/proc/self/gid_map", "0 0 1");
}

static int userns_get(void *arg)
{
	bool netns = arg;
	int err = enter_userns(netns);

	return err ? 200 + err : get_info("filter");
}

static int nobody_get(void *arg)
{
	(void)arg;
	if (setgid(65534) || setuid(65534))
		return 100;
	return get_info("filter");
}

/* Only CAP_NET_ADMIN over the socket's netns reaches the helper. */
TEST_F(netns, netns_admin_only)
{
	ASSERT_EQ(0, use_fake(self->t.dir, "status -5"));
	EXPECT_EQ(EPERM, wait_child(run_child(nobody_get, NULL)));
	/* root of a user namespace that does not own the host netns */
	EXPECT_EQ(EPERM, wait_child(run_child(userns_get, (void *)false)));
	EXPECT_EQ(EIO, get_info("filter"));
}

/* A netns that a user namespace owns goes to netfilter unless allowed. */
TEST_F(netns, user_namespaces_need_allow_userns)
{
	ASSERT_EQ(0, use_fake(self->t.dir, "status -5"));
	EXPECT_EQ(0, wait_child(run_child(userns_get, (void *)true)));
	ASSERT_EQ(0, param_write("allow_userns", "1"));
	EXPECT_EQ(EIO, wait_child(run_child(userns_get, (void *)true)));
}

/*
 * Bug 2: an unprivileged user, root of its own user and network namespace,
 * SIGKILLed while the helper works on its request, does not get the shared
 * helper killed, and the next caller gets its own answer.
 */
TEST_F(netns, killed_caller_keeps_the_helper)
{
	pid_t helper, child;
	int i;

	/* a kernel without the parameter lets user namespaces through anyway */
	if (self->t.saved.allow_userns[0])
		ASSERT_EQ(0, param_write("allow_userns", "1"));
	ASSERT_EQ(0, use_fake(self->t.dir, "slow 1000"));
	ASSERT_EQ(0, get_info("filter"));
	helper = helper_pid();
	for (i = 0; i < 5; i++) {
		child = run_child(userns_get, (void *)true);
		sleep_ms(300);
		kill(child, SIGKILL);
		EXPECT_EQ(128 + SIGKILL, wait_child(child));
		EXPECT_EQ(helper, helper_pid());
		/* declined: netfilter's answer, not the dropped reply's */
		EXPECT_EQ(0, get_info("filter"));
	}
	EXPECT_EQ(0, kill(helper, 0));
}

static int big_set_child(void *arg)
{
	size_t len = 1 << 20;
	struct ipt_replace *repl = calloc(1, len);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	(void)arg;
	snprintf(repl->name, sizeof(repl->name), "filter");
	return sockopt_set(fd, IPT_SO_SET_REPLACE, repl, len);
}

/*
 * A caller killed while the kernel writes its frame: the rest of the frame
 * still goes out, ahead of the next caller's, and the helper lives on.
 */
TEST_F(netns, caller_killed_mid_write)
{
	pid_t helper, child;

	ASSERT_EQ(0, use_fake(self->t.dir, "slowread 500"));
	ASSERT_EQ(0, get_info("filter"));
	helper = helper_pid();
	child = run_child(big_set_child, NULL);
	sleep_ms(200);
	kill(child, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, wait_child(child));
	EXPECT_EQ(0, get_info("filter"));
	EXPECT_EQ(helper, helper_pid());
}

TEST_HARNESS_MAIN
