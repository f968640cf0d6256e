// SPDX-License-Identifier: GPL-2.0
/* See helper_util.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include "helper_util.h"

static char last_fake[PATH_MAX];

const char *bpfilter_unavailable(void)
{
	if (getuid())
		return "must run as root";
	if (access(BPFILTER_PARAMS "/helper", W_OK))
		return "no " BPFILTER_PARAMS "/helper: no bpfilter in this kernel";
	if (!sibling_program("fake_helper"))
		return "fake_helper is not installed next to the test";
	return NULL;
}

int param_read(const char *name, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), BPFILTER_PARAMS "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int param_write(const char *name, const char *value)
{
	size_t len = strlen(value);
	char path[256];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), BPFILTER_PARAMS "/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	/* an empty value is a newline: sysfs takes no empty write */
	n = len ? write(fd, value, len) : write(fd, "\n", 1);
	if (n < 0)
		err = errno;
	close(fd);
	return err;
}

int params_save(struct saved_params *saved)
{
	int err = param_read("helper", saved->helper, sizeof(saved->helper)) ?:
		  param_read("timeout_ms", saved->timeout_ms,
			     sizeof(saved->timeout_ms)) ?:
		  param_read("hello_timeout_ms", saved->hello_timeout_ms,
			     sizeof(saved->hello_timeout_ms));

	/* a kernel without allow_userns: it is neither saved nor set */
	if (param_read("allow_userns", saved->allow_userns,
		       sizeof(saved->allow_userns)))
		saved->allow_userns[0] = '\0';
	return err;
}

void params_restore(const struct saved_params *saved)
{
	param_write("timeout_ms", saved->timeout_ms);
	param_write("hello_timeout_ms", saved->hello_timeout_ms);
	if (saved->allow_userns[0])
		param_write("allow_userns", saved->allow_userns);
	param_write("helper", saved->helper);
}

/* The pid in the kernel's last "started helper ... as pid N" line, 0 if none. */
static pid_t helper_pid_from_dmesg(void)
{
	FILE *p = popen("dmesg | grep -o 'started helper .* as pid [0-9]*$' | tail -n 1", "r");
	char line[PATH_MAX + 64] = "";
	char *pid;

	if (!p)
		return -1;
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	pclose(p);
	pid = strrchr(line, ' ');
	return pid ? atoi(pid + 1) : 0;
}

int helper_test_setup(struct helper_test *t)
{
	int err = params_save(&t->saved);

	if (err)
		return err;
	snprintf(t->dir, sizeof(t->dir), "/tmp/bpfilter-test.XXXXXX");
	if (!mkdtemp(t->dir)) {
		t->dir[0] = '\0';
		return errno;
	}
	err = param_write("timeout_ms", "5000") ?:
	      param_write("hello_timeout_ms", "20000");
	if (!err && t->saved.allow_userns[0])
		err = param_write("allow_userns", "0");
	return err;
}

void helper_test_teardown(struct helper_test *t)
{
	char cmd[128];

	if (!t->dir[0])
		return;
	params_restore(&t->saved);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", t->dir);
}

pid_t helper_pid(void)
{
	char buf[32];
	pid_t pid;

	/* bpfilter before helper_pid existed: the log, and whether it lives */
	if (param_read("helper_pid", buf, sizeof(buf))) {
		pid = helper_pid_from_dmesg();
		return pid > 0 && !kill(pid, 0) ? pid : 0;
	}
	return atoi(buf);
}

const char *sibling_program(const char *name)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return NULL;
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dirname(self), name);
	return access(path, X_OK) ? NULL : path;
}

int use_fake(const char *dir, const char *mode)
{
	static int count;
	const char *fake = sibling_program("fake_helper");
	FILE *f;

	if (!fake) {
		errno = ENOENT;
		return errno;
	}
	snprintf(last_fake, sizeof(last_fake), "%s/fake-%d", dir, ++count);
	f = fopen(last_fake, "w");
	if (!f)
		return errno;
	fprintf(f, "#!/bin/sh\nexec %s %s\n", fake, mode);
	if (fclose(f) || chmod(last_fake, 0755))
		return errno;
	return param_write("helper", last_fake);
}

const char *fake_path(void)
{
	return last_fake;
}

int sockopt_get(int fd, int cmd, void *buf, int *len)
{
	socklen_t l = *len;
	int err;

	err = getsockopt(fd, IPPROTO_IP, cmd, buf, &l);
	*len = l;
	return err ? errno : 0;
}

int sockopt_set(int fd, int cmd, const void *buf, int len)
{
	return setsockopt(fd, IPPROTO_IP, cmd, buf, len) ? errno : 0;
}

int get_info(const char *table)
{
	struct ipt_getinfo info = {};
	int len = sizeof(info);
	int fd, err;

	snprintf(info.name, sizeof(info.name), "%s", table);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return errno;
	err = sockopt_get(fd, IPT_SO_GET_INFO, &info, &len);
	close(fd);
	return err;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

pid_t run_child(int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

long forks_since_boot(void)
{
	char line[256];
	long forks = -1;
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "processes %ld", &forks) == 1)
			break;
	fclose(f);
	return forks;
}
