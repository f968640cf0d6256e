// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel side of bpfilter, driven through real getsockopt() and
 * setsockopt() calls and answered by fake_helper in one of its modes: what
 * the kernel makes of each kind of reply, of helpers that break the
 * protocol, hang, or cannot be executed, of callers that pass odd lengths
 * or memory that faults, and who may set the parameters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/bpfilter_ipc.h>
#include <linux/capability.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/userfaultfd.h>
#include "../kselftest_harness.h"
#include "helper_util.h"

/* The bound a TCG guest needs on top of a timeout; a wedged call never returns. */
#define SLACK_MS 8000

FIXTURE(helper) {
	struct helper_test t;
};

FIXTURE_SETUP(helper)
{
	const char *why = bpfilter_unavailable();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, helper_test_setup(&self->t));
}

FIXTURE_TEARDOWN(helper)
{
	helper_test_teardown(&self->t);
}

/* A get of a table named NAME, whose reply the "reply" mode scripts. */
static int scripted_get(const char *name, int optlen, unsigned char *buf)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err;

	memset(buf, 0xee, 4096);
	memset(buf, 0, XT_TABLE_MAXNAMELEN);
	snprintf((char *)buf, XT_TABLE_MAXNAMELEN, "%s", name);
	err = sockopt_get(fd, IPT_SO_GET_INFO, buf, &optlen);
	close(fd);
	return err ? -err : optlen;
}

TEST_F(helper, get_replies)
{
	unsigned char buf[4096];
	int i, n;

	ASSERT_EQ(0, use_fake(self->t.dir, "reply"));
	n = scripted_get("out", 100, buf);
	ASSERT_EQ(99, n);
	for (i = 0; i < n; i++)
		ASSERT_EQ((unsigned char)(i * 7), buf[i]);
	ASSERT_EQ(0xee, buf[n]);
	EXPECT_EQ(-EPROTO, scripted_get("toolong", 100, buf));
	EXPECT_EQ(-EPROTO, scripted_get("positive", 100, buf));
	EXPECT_EQ(-ENOENT, scripted_get("enoent", 100, buf));
	/* a get copies at most sizeof(struct ipt_getinfo) of optval */
	EXPECT_EQ(0, scripted_get("context", 48, buf));
	EXPECT_EQ(0, scripted_get("context", 4000, buf));
}

/* A replace named NAME with num_counters N, counters copied to COUNTERS. */
static int scripted_replace(const char *name, unsigned int n,
			    struct xt_counters *counters)
{
	struct ipt_replace repl = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err;

	snprintf(repl.name, sizeof(repl.name), "%s", name);
	repl.num_counters = n;
	repl.counters = counters;
	err = sockopt_set(fd, IPT_SO_SET_REPLACE, &repl, sizeof(repl));
	close(fd);
	return err;
}

TEST_F(helper, replace_replies)
{
	struct xt_counters counters[8];
	unsigned int i;

	ASSERT_EQ(0, use_fake(self->t.dir, "reply"));
	memset(counters, 0xee, sizeof(counters));
	ASSERT_EQ(0, scripted_replace("counters", 3, counters));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(i + 1, counters[i].pcnt);
		EXPECT_EQ(1000 * (i + 1), counters[i].bcnt);
	}
	EXPECT_EQ(0xeeeeeeeeeeeeeeeeULL, counters[3].pcnt);
	EXPECT_EQ(0, scripted_replace("counters", 0, counters));
	EXPECT_EQ(EPROTO, scripted_replace("badcounters", 3, counters));
	EXPECT_EQ(0, scripted_replace("context", 0, counters));
}

/*
 * Bug 6: a replace that the helper committed succeeds even when the old
 * counters cannot be copied back, as in netfilter: the new table is in
 * place, and the caller must not retry it.
 */
TEST_F(helper, replace_committed_when_counters_fault)
{
	struct xt_counters *ro;

	ASSERT_EQ(0, use_fake(self->t.dir, "reply"));
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(0, scripted_replace("counters", 3, ro));
	munmap(ro, 4096);
}

/* Bug 3: only the errno values of userspace reach a caller. */
TEST_F(helper, status_outside_userspace_errno)
{
	ASSERT_EQ(0, use_fake(self->t.dir, "status -512"));
	EXPECT_EQ(EPROTO, get_info("filter"));
	ASSERT_EQ(0, use_fake(self->t.dir, "status -516"));
	EXPECT_EQ(EPROTO, get_info("filter"));
	ASSERT_EQ(0, use_fake(self->t.dir, "status -4095"));
	EXPECT_EQ(EPROTO, get_info("filter"));
	ASSERT_EQ(0, use_fake(self->t.dir, "status -5"));
	EXPECT_EQ(EIO, get_info("filter"));
}

TEST_F(helper, broken_helpers_are_killed)
{
	static const struct {
		const char *mode;
		int err;
	} cases[] = {
		{ "garbage", EPROTO },
		{ "badversion", EPROTO },
		{ "exit", EIO },
	};
	unsigned int i;
	pid_t pid;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(0, use_fake(self->t.dir, cases[i].mode));
		EXPECT_EQ(cases[i].err, get_info("filter")) {
			TH_LOG("helper mode %s", cases[i].mode);
		}
		EXPECT_EQ(0, helper_pid());
	}
	ASSERT_EQ(0, use_fake(self->t.dir, "decline"));
	EXPECT_EQ(0, get_info("filter"));
	pid = helper_pid();
	EXPECT_GT(pid, 0);
	EXPECT_EQ(0, kill(pid, 0));
}

TEST_F(helper, own_calls_go_to_netfilter)
{
	ASSERT_EQ(0, param_write("timeout_ms", "3000"));
	ASSERT_EQ(0, use_fake(self->t.dir, "self"));
	/* -EDEADLK from the helper, or ETIMEDOUT, if its call came back */
	EXPECT_EQ(0, get_info("filter"));
}

struct timed_get {
	int err;
	long long took;
};

static int timed_get_child(void *arg)
{
	struct timed_get *t = arg;
	long long start = now_ms();

	t->err = get_info("filter");
	t->took = now_ms() - start;
	return 0;
}

/* A get in a child, its errno and duration passed back through shared memory. */
static void timed_gets(struct timed_get *out, int n)
{
	struct timed_get *shared;
	pid_t pids[8];
	int i;

	shared = mmap(NULL, sizeof(*shared) * n, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	for (i = 0; i < n; i++)
		pids[i] = run_child(timed_get_child, &shared[i]);
	for (i = 0; i < n; i++) {
		wait_child(pids[i]);
		out[i] = shared[i];
	}
	munmap(shared, sizeof(*shared) * n);
}

/*
 * A hung helper costs a caller one timeout; callers queued behind it wait
 * for those before them, and hello_timeout_ms, not timeout_ms, bounds a
 * new helper's HELLO.
 */
TEST_F(helper, waits_are_bounded)
{
	struct timed_get t[3];
	int i;

	ASSERT_EQ(0, param_write("timeout_ms", "700"));
	ASSERT_EQ(0, param_write("hello_timeout_ms", "3000"));

	ASSERT_EQ(0, use_fake(self->t.dir, "hanghello"));
	timed_gets(t, 1);
	EXPECT_EQ(ETIMEDOUT, t[0].err);
	EXPECT_GE(t[0].took, 2900);
	EXPECT_LE(t[0].took, 3000 + SLACK_MS);
	TH_LOG("a HELLO that never comes: ETIMEDOUT after %lld ms", t[0].took);

	ASSERT_EQ(0, use_fake(self->t.dir, "hang"));
	timed_gets(t, 3);
	for (i = 0; i < 3; i++) {
		/* each waits for one start and one exchange per caller before it */
		EXPECT_EQ(ETIMEDOUT, t[i].err);
		EXPECT_LE(t[i].took, 3 * (700 + 1000) + SLACK_MS);
		TH_LOG("caller %d of a helper that never answers: errno %d after %lld ms",
		       i, t[i].err, t[i].took);
	}
	ASSERT_EQ(0, use_fake(self->t.dir, "decline"));
	EXPECT_EQ(0, get_info("filter"));
}

/* Bug 4: a helper that cannot run is remembered, not retried per call. */
TEST_F(helper, missing_helper_costs_no_forks)
{
	char path[128];
	long before, after;
	int i;

	snprintf(path, sizeof(path), "%s/no-such-helper", self->t.dir);
	ASSERT_EQ(0, param_write("helper", path));
	before = forks_since_boot();
	for (i = 0; i < 200; i++)
		ASSERT_EQ(0, get_info("filter"));
	after = forks_since_boot();
	TH_LOG("200 gets with a missing helper: %ld forks", after - before);
	EXPECT_LT(after - before, 20);
	EXPECT_EQ(0, helper_pid());

	ASSERT_EQ(0, param_write("helper", ""));
	EXPECT_EQ(0, get_info("filter"));
	EXPECT_EQ(0, helper_pid());
	EXPECT_EQ(EINVAL, param_write("helper", "relative/helper"));
}

/* A set above the frame limit and netfilter's own answer to the same call. */
static int huge_set(int *err)
{
	size_t len = BPFILTER_IPC_MAX_PAYLOAD + 1;
	void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (buf == MAP_FAILED || fd < 0)
		return -1;
	*err = sockopt_set(fd, IPT_SO_SET_REPLACE, buf, len);
	close(fd);
	munmap(buf, len);
	return 0;
}

/* Bug 4: sets above 64 MiB are refused only when a helper could take them. */
TEST_F(helper, huge_set_without_helper)
{
	int err;

	ASSERT_EQ(0, param_write("helper", ""));
	ASSERT_EQ(0, huge_set(&err));
	EXPECT_NE(EMSGSIZE, err);
	ASSERT_EQ(0, use_fake(self->t.dir, "decline"));
	ASSERT_EQ(0, huge_set(&err));
	EXPECT_EQ(EMSGSIZE, err);
}

struct optlen_case {
	const char *what;
	bool set;
	int optlen;
};

static int optlen_call(const struct optlen_case *c)
{
	static unsigned char buf[1024];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), len = c->optlen, err;

	memset(buf, 0, sizeof(buf));
	snprintf((char *)buf, XT_TABLE_MAXNAMELEN, "filter");
	err = c->set ? sockopt_set(fd, IPT_SO_SET_REPLACE, buf, c->optlen) :
		       sockopt_get(fd, IPT_SO_GET_INFO, buf, &len);
	close(fd);
	return err;
}

/* Odd lengths get netfilter's answer, and never cost the helper. */
TEST_F(helper, odd_optlen)
{
	static const struct optlen_case cases[] = {
		{ "get, optlen 0", false, 0 },
		{ "get, optlen -1", false, -1 },
		{ "get, optlen INT_MIN", false, INT_MIN },
		{ "get, optlen 1", false, 1 },
		{ "set, optlen 0", true, 0 },
		{ "set, optlen 1", true, 1 },
	};
	int want[ARRAY_SIZE(cases)];
	unsigned int i;
	pid_t pid;

	ASSERT_EQ(0, param_write("helper", ""));
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		want[i] = optlen_call(&cases[i]);
	ASSERT_EQ(0, use_fake(self->t.dir, "decline"));
	ASSERT_EQ(0, get_info("filter"));
	pid = helper_pid();
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		EXPECT_EQ(want[i], optlen_call(&cases[i])) {
			TH_LOG("%s: netfilter alone says errno %d", cases[i].what, want[i]);
		}
	}
	EXPECT_EQ(pid, helper_pid());
}

/* An optval that faults is the caller's EFAULT, not the helper's death. */
TEST_F(helper, faulting_optval)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0), len = sizeof(struct ipt_getinfo);
	void *bad = (void *)16;
	pid_t pid;

	ASSERT_EQ(0, use_fake(self->t.dir, "decline"));
	ASSERT_EQ(0, get_info("filter"));
	pid = helper_pid();
	EXPECT_EQ(EFAULT, sockopt_get(fd, IPT_SO_GET_INFO, bad, &len));
	EXPECT_EQ(EFAULT, sockopt_set(fd, IPT_SO_SET_REPLACE, bad, 200));
	EXPECT_EQ(pid, helper_pid());
	close(fd);
}

/*
 * A set from a child whose optval runs into a page of its own userfaultfd,
 * which nobody resolves: the copy stops there until the child is killed.
 * (A registration does not survive fork(), so the child makes its own.)
 */
static int uffd_set_child(void *arg)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {};
	int *started = arg, fd, uffd;
	struct ipt_replace *repl;
	char *area;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	area = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (uffd < 0 || area == MAP_FAILED || ioctl(uffd, UFFDIO_API, &api))
		return 100;
	memset(area, 0, 4096);
	reg.range.start = (unsigned long)area + 4096;
	reg.range.len = 4096;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return 101;
	repl = (void *)(area + 4096 - 16);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	__atomic_store_n(started, 1, __ATOMIC_SEQ_CST);
	return sockopt_set(fd, IPT_SO_SET_REPLACE, repl, 4096);
}

static int get_in_new_netns(void *arg)
{
	long long *took = arg;
	long long start = now_ms();
	int err;

	if (unshare(CLONE_NEWNET))
		return 100;
	err = get_info("filter");
	*took = now_ms() - start;
	return err;
}

/*
 * Bug 1: a set whose optval faults on a userfaultfd page that nobody
 * resolves holds no lock that callers in other netns need.
 */
TEST_F(helper, stalled_copy_blocks_nobody)
{
	long long *shared;
	pid_t setter, getter;
	int uffd;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (uffd < 0)
		SKIP(return, "no userfaultfd (CONFIG_USERFAULTFD): errno %d", errno);
	close(uffd);
	ASSERT_EQ(0, use_fake(self->t.dir, "decline"));
	ASSERT_EQ(0, get_info("filter"));

	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, shared);
	setter = run_child(uffd_set_child, &shared[0]);
	while (!__atomic_load_n((int *)&shared[0], __ATOMIC_SEQ_CST))
		sleep_ms(10);
	sleep_ms(300);
	/* the setter is stuck in its copy */
	ASSERT_EQ(0, waitpid(setter, NULL, WNOHANG));
	getter = run_child(get_in_new_netns, &shared[1]);
	EXPECT_EQ(0, wait_child(getter));
	TH_LOG("a get while another caller's copy is stalled: %lld ms", shared[1]);
	EXPECT_LT(shared[1], 3000);

	kill(setter, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, wait_child(setter));
	munmap(shared, 4096);
}

/*
 * Bug 7: the path names a program the kernel runs with capabilities; a
 * uid 0 process without CAP_SYS_ADMIN may not choose it.
 */
static int write_without_caps(void *arg)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};
	const char *value = arg;
	int cap;

	for (cap = 0; cap <= 63; cap++)
		prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	if (syscall(SYS_capset, &hdr, data))
		return 100;
	return param_write("helper", value);
}

TEST_F(helper, parameters_need_cap_sys_admin)
{
	char before[4096], after[4096];

	ASSERT_EQ(0, param_read("helper", before, sizeof(before)));
	EXPECT_EQ(EPERM, wait_child(run_child(write_without_caps, "/bin/false")));
	ASSERT_EQ(0, param_read("helper", after, sizeof(after)));
	EXPECT_STREQ(before, after);
}

static int slow_get_child(void *arg)
{
	(void)arg;
	return get_info("filter");
}

/*
 * Setting the path while a request is served replaces the helper at the
 * next request, whatever the timing: a new helper, started from the new
 * path, answers it.
 */
TEST_F(helper, path_change_during_request)
{
	pid_t child, old;

	ASSERT_EQ(0, use_fake(self->t.dir, "slow 1500"));
	ASSERT_EQ(0, get_info("filter"));
	old = helper_pid();
	child = run_child(slow_get_child, NULL);
	sleep_ms(400);
	ASSERT_EQ(0, use_fake(self->t.dir, "status -5"));
	EXPECT_EQ(0, wait_child(child));
	EXPECT_EQ(EIO, get_info("filter"));
	EXPECT_NE(old, helper_pid());
}

/*
 * Bug 6: a caller never gets SIGPIPE from a helper that closes its stdin
 * while the kernel writes: it gets EIO once the helper has exited.
 */
TEST_F(helper, helper_closing_stdin_raises_no_sigpipe)
{
	size_t len = 1 << 20;
	void *buf = calloc(1, len);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ipt_replace *repl = buf;
	int i;

	ASSERT_NE(NULL, buf);
	snprintf(repl->name, sizeof(repl->name), "filter");
	signal(SIGPIPE, SIG_DFL);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, use_fake(self->t.dir, "closein"));
		EXPECT_EQ(EIO, sockopt_set(fd, IPT_SO_SET_REPLACE, buf, len));
	}
	close(fd);
	free(buf);
}

/* Reads fs.lease-break-time into SAVED and sets it to VALUE; 0 or an errno. */
static int lease_break_time(char *saved, size_t len, const char *value)
{
	int fd = open("/proc/sys/fs/lease-break-time", O_RDWR | O_CLOEXEC);
	ssize_t n;
	int err = 0;

	if (fd < 0)
		return errno;
	n = saved ? read(fd, saved, len - 1) : 0;
	if (n >= 0 && saved)
		saved[n] = '\0';
	if (n < 0 || pwrite(fd, value, strlen(value), 0) < 0)
		err = errno;
	close(fd);
	return err;
}

/*
 * A caller blocked in the exec of the helper can be killed: the exec of a
 * file whose write lease is not given up blocks in break_lease() for
 * fs.lease-break-time.
 */
TEST_F(helper, exec_wait_is_killable)
{
	char saved[32];
	long long start, took;
	pid_t child;
	int fd;

	ASSERT_EQ(0, use_fake(self->t.dir, "decline"));
	signal(SIGIO, SIG_IGN);
	fd = open(fake_path(), O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	if (fcntl(fd, F_SETLEASE, F_WRLCK)) {
		close(fd);
		SKIP(return, "cannot take a write lease on the helper: errno %d", errno);
	}
	ASSERT_EQ(0, lease_break_time(saved, sizeof(saved), "20"));

	child = run_child(slow_get_child, NULL);
	sleep_ms(500);
	/* the caller is stuck in the exec: no helper runs, the call goes on */
	ASSERT_EQ(0, waitpid(child, NULL, WNOHANG));
	ASSERT_EQ(0, helper_pid());
	start = now_ms();
	kill(child, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, wait_child(child));
	took = now_ms() - start;
	TH_LOG("a caller killed in the helper's exec was gone after %lld ms", took);
	EXPECT_LT(took, 5000);

	close(fd);
	EXPECT_EQ(0, lease_break_time(NULL, 0, saved));
	EXPECT_EQ(0, get_info("filter"));
}

/*
 * Bug 8: a 32-bit caller reaches the helper, which may refuse it (or
 * decline it to netfilter) but not answer it, as it speaks only the native
 * layout.
 */
static int compat_get(const char *probe, int *err)
{
	char out[32] = "";
	FILE *p;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "%s filter", probe);
	p = popen(cmd, "r");
	if (!p || !fgets(out, sizeof(out), p))
		return -1;
	if (pclose(p))
		return -1;
	*err = atoi(out);
	return 0;
}

TEST_F(helper, compat_callers)
{
	const char *found = sibling_program("compat_probe");
	char probe[PATH_MAX];
	int err;

	if (!found)
		SKIP(return, "compat_probe not built: it needs i686-linux-gnu-gcc");
	/* sibling_program() reuses its buffer, and use_fake() calls it */
	snprintf(probe, sizeof(probe), "%s", found);
	ASSERT_EQ(0, use_fake(self->t.dir, "decline"));
	if (compat_get(probe, &err))
		SKIP(return, "compat_probe does not run: no IA32_EMULATION in this kernel?");
	EXPECT_EQ(0, err);
	ASSERT_EQ(0, use_fake(self->t.dir, "compat"));
	ASSERT_EQ(0, compat_get(probe, &err));
	EXPECT_EQ(EOPNOTSUPP, err);
	ASSERT_EQ(0, use_fake(self->t.dir, "compatok"));
	ASSERT_EQ(0, compat_get(probe, &err));
	EXPECT_EQ(EPROTO, err);
}

/* Loads bpfilter again after the rmmod test: $BPFILTER_KO, or modprobe. */
static int load_bpfilter(void)
{
	const char *ko = getenv("BPFILTER_KO");
	char cmd[PATH_MAX + 32];

	if (ko)
		snprintf(cmd, sizeof(cmd), "insmod %s", ko);
	else
		snprintf(cmd, sizeof(cmd), "modprobe bpfilter");
	return system(cmd);
}

/*
 * rmmod with a helper running kills the helper, takes nobody's request
 * down, and leaves iptables to netfilter until the module is back.
 */
TEST_F(helper, rmmod_with_helper_running)
{
	pid_t pid;
	int i;

	if (access("/sys/module/bpfilter/refcnt", R_OK))
		SKIP(return, "bpfilter is built in: rmmod needs CONFIG_BPFILTER_UMH=m");
	ASSERT_EQ(0, use_fake(self->t.dir, "decline"));
	ASSERT_EQ(0, get_info("filter"));
	pid = helper_pid();
	ASSERT_GT(pid, 0);
	ASSERT_EQ(0, system("rmmod bpfilter"));
	for (i = 0; i < 50 && !kill(pid, 0); i++)
		sleep_ms(100);
	EXPECT_NE(0, kill(pid, 0)) {
		TH_LOG("helper pid %d outlived rmmod", pid);
	}
	EXPECT_EQ(0, get_info("filter"));
	ASSERT_EQ(0, load_bpfilter()) {
		TH_LOG("cannot load bpfilter again: set BPFILTER_KO to its .ko");
	}
	/* the module is back with its defaults: the teardown sets them again */
	EXPECT_EQ(0, get_info("filter"));
}

TEST_HARNESS_MAIN
