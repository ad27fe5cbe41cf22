/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Running the example programs from a test: where they are, starting one
 * with its output in a pipe, reading that output with a time limit, and
 * waiting for it with a time limit (a program that hangs fails the test,
 * it does not hang it).
 */
#ifndef _HS_RUN_H
#define _HS_RUN_H

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "hs_uring_test.h"

/* $HS_EXAMPLES, else build/examples as seen from build/selftests/uring/. */
static inline const char *hs_examples_dir(void)
{
	static char dir[4096];
	const char *e = getenv("HS_EXAMPLES");
	ssize_t n;
	char *slash;
	int up;

	if (e && *e)
		return e;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 32);
	if (n <= 0)
		return "../../examples";
	dir[n] = '\0';
	for (up = 0; up < 3; up++) {
		slash = strrchr(dir, '/');
		if (!slash)
			return "../../examples";
		*slash = '\0';
	}
	strcat(dir, "/examples");
	return dir;
}

struct hs_proc {
	pid_t pid;
	int out;		/* its stdout and stderr */
	char buf[16384];	/* what it printed so far */
	size_t len;
};

/* Start examples/@prog with @args (NULL-terminated): 0, or -1. */
static inline int hs_proc_start(struct hs_proc *p, const char *prog,
				const char *const *args)
{
	const char *argv[32];
	char path[4200];
	int fds[2], n = 0;

	snprintf(path, sizeof(path), "%s/%s", hs_examples_dir(), prog);
	argv[n++] = path;
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	memset(p, 0, sizeof(*p));
	if (access(path, X_OK) || pipe(fds))
		return -1;
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	p->out = fds[0];
	return 0;
}

/* Read its output until @needle shows up, it closes, or @ms pass:
 * whether @needle is there. */
static inline bool hs_proc_wait_for(struct hs_proc *p, const char *needle,
				    int ms)
{
	long long end = hs_ms() + ms;

	while (!strstr(p->buf, needle)) {
		struct pollfd pfd = { .fd = p->out, .events = POLLIN };
		long long left = end - hs_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		n = read(p->out, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
		if (n <= 0)
			return strstr(p->buf, needle) != NULL;
		p->len += (size_t)n;
		p->buf[p->len] = '\0';
	}
	return true;
}

/*
 * Read the rest of its output and wait for it to exit, at most @ms; a
 * program still running then is killed. Its exit status, or -1 (killed
 * by a signal, or timed out).
 */
static inline int hs_proc_end(struct hs_proc *p, int ms)
{
	int status;

	hs_proc_wait_for(p, "\x01never printed\x01", ms);
	close(p->out);
	if (waitpid(p->pid, &status, WNOHANG) != p->pid) {
		long long end = hs_ms() + 2000;

		while (waitpid(p->pid, &status, WNOHANG) != p->pid) {
			if (hs_ms() > end) {
				kill(p->pid, SIGKILL);
				waitpid(p->pid, &status, 0);
				return -1;
			}
			usleep(10000);
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run examples/@prog to the end: its exit status (-1: signal, timeout). */
static inline int hs_proc_run(struct hs_proc *p, const char *prog,
			      const char *const *args, int ms)
{
	if (hs_proc_start(p, prog, args))
		return -1;
	return hs_proc_end(p, ms);
}

#endif
