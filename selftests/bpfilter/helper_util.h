/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the C tests of the bpfilter helper protocol share: the module
 * parameters, stand-in helpers (fake_helper in one of its modes), the
 * iptables socket options as a caller makes them, and child processes.
 */
#ifndef _BPFILTER_HELPER_UTIL_H
#define _BPFILTER_HELPER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define BPFILTER_PARAMS "/sys/module/bpfilter/parameters"

/* The parameters a test changes, saved to be put back. */
struct saved_params {
	char helper[4096];
	char timeout_ms[32];
	char hello_timeout_ms[32];
	char allow_userns[8];
};

/* What a test of the helper protocol keeps: the parameters, a scratch folder. */
struct helper_test {
	struct saved_params saved;
	char dir[64];
};

/* Why the tests cannot run here, or NULL. */
const char *bpfilter_unavailable(void);
int params_save(struct saved_params *saved);
void params_restore(const struct saved_params *saved);
/*
 * Saves the parameters, makes the scratch folder and sets generous
 * timeouts for a TCG guest; returns 0 or an errno.
 */
int helper_test_setup(struct helper_test *t);
/* Puts the parameters back and removes the scratch folder. */
void helper_test_teardown(struct helper_test *t);

/* Writes a parameter; returns 0 or the errno of the write. */
int param_write(const char *name, const char *value);
/* Reads a parameter without its newline; returns 0 or an errno. */
int param_read(const char *name, char *buf, size_t len);
/* The running helper's pid (bpfilter.helper_pid), 0 if none. */
pid_t helper_pid(void);

/* A program installed next to the running test, or NULL; the next call reuses the buffer. */
const char *sibling_program(const char *name);

/*
 * Points bpfilter.helper at fake_helper in MODE (with its arguments), through
 * a wrapper script below DIR: the parameter names an executable, without
 * arguments. Returns 0 or an errno.
 */
int use_fake(const char *dir, const char *mode);
/* The path of the wrapper use_fake() wrote for MODE last, for leases. */
const char *fake_path(void);

/* One IPT_SO_GET_INFO of TABLE on a new UDP socket: 0 or the errno. */
int get_info(const char *table);
/* getsockopt(fd, IPPROTO_IP, cmd, buf, &len): 0 or the errno. */
int sockopt_get(int fd, int cmd, void *buf, int *len);
/* setsockopt(fd, IPPROTO_IP, cmd, buf, len): 0 or the errno. */
int sockopt_set(int fd, int cmd, const void *buf, int len);

/* Milliseconds of CLOCK_MONOTONIC. */
long long now_ms(void);
void sleep_ms(long ms);

/* Forks a child that runs fn(arg) and exits with its return value. */
pid_t run_child(int (*fn)(void *arg), void *arg);
/* Waits for a child: its exit status, 128 + signal, or -1. */
int wait_child(pid_t pid);

/* The forks since boot (/proc/stat "processes"), or -1. */
long forks_since_boot(void);

#endif /* _BPFILTER_HELPER_UTIL_H */
