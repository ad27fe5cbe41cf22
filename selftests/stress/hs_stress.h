/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the stress tests, on top of the module tests' own
 * (../kmod/hs_kmod.h): a seeded PRNG, the fault injection knobs, module
 * parameters, child processes and their wait statuses, and taking every
 * free huge page away from everyone but the reservations.
 *
 * Like hs_kmod.h: everything returns a value for the test to assert on.
 */
#ifndef _HS_STRESS_H
#define _HS_STRESS_H

#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "../kmod/hs_kmod.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define HS_FAIL_NTH	HS_DEBUGFS "/fail_nth"
#define HS_FAIL_SITES	HS_DEBUGFS "/fail_sites"

/* ---- PRNG: splitmix64, small and good enough to pick operations ------ */

static inline uint64_t hs_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. The bias is irrelevant at our n. */
static inline uint64_t hs_below(uint64_t *state, uint64_t n)
{
	return hs_rand(state) % n;
}

/* True with probability num/den. */
static inline bool hs_chance(uint64_t *state, unsigned int num,
			     unsigned int den)
{
	return hs_below(state, den) < num;
}

/*
 * The run's seed: $name if set (decimal or 0x hex), else from the clock
 * and pid. *from_env says which, for the log line that lets a failure be
 * replayed.
 */
static inline uint64_t hs_seed_from_env(const char *name, bool *from_env)
{
	const char *s = getenv(name);
	struct timespec ts;

	if (s && *s) {
		*from_env = true;
		return strtoull(s, NULL, 0);
	}
	*from_env = false;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
	       ((uint64_t)getpid() << 32);
}

/* ---- debugfs and module parameters ----------------------------------- */

/* A file holding one number (debugfs knob, sysfs, cgroup), or -1. */
static inline long long hs_read_ll(const char *path)
{
	char buf[64];

	if (hs_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	if (!strncmp(buf, "max", 3))
		return LLONG_MAX;
	return strtoll(buf, NULL, 10);
}

static inline int hs_write_ll(const char *path, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	return hs_write_file(path, buf);
}

static inline int hs_set_param(const char *name, long long v)
{
	char path[128];

	snprintf(path, sizeof(path), HS_PARAMS "/%s", name);
	return hs_write_ll(path, v);
}

/* Arm (n > 0) or disarm (0) fault injection: the n-th site fails once. */
static inline int hs_fail_arm(long long n)
{
	return hs_write_ll(HS_FAIL_NTH, n);
}

/* Sites still to pass before the armed one (0: disarmed or consumed). */
static inline long long hs_fail_nth(void)
{
	return hs_read_ll(HS_FAIL_NTH);
}

/* Sites reached since load. */
static inline long long hs_fail_sites(void)
{
	return hs_read_ll(HS_FAIL_SITES);
}

/*
 * Wait (bounded) until no region is left and fill @base: a previous test's
 * regions may still be on their way out (deferred fput, the reaper), and a
 * baseline taken meanwhile would not be one. 0, or -1 if never idle.
 */
static inline int hs_wait_idle(struct hs_snap *base)
{
	long long end = hs_now_ms() + HS_FREE_TIMEOUT_MS;

	for (;;) {
		if (hs_snap(base))
			return -1;
		if (!base->used_bytes && !base->regions)
			return 0;
		if (hs_now_ms() > end)
			return -1;
		usleep(10000);
	}
}

/* ---- processes ------------------------------------------------------- */

/* "exit N", "signal N (name)": for a log line. */
static inline const char *hs_status_str(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "status 0x%x", status);
	return buf;
}

/* Wait for @pid: its status, or -1 if it cannot be waited for. */
static inline int hs_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* Exit status of a child that ran fn(arg), 128 + signal if killed, -1. */
static inline int hs_in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	status = hs_wait(pid);
	if (status < 0)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Read one byte from a pipe: the byte, or -1 on EOF or error. */
static inline int hs_pipe_get(int fd)
{
	unsigned char b;
	ssize_t n;

	do {
		n = read(fd, &b, 1);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? b : -1;
}

/*
 * Read @len bytes from a pipe within @timeout_ms: 0, or -1 on EOF, error
 * or timeout - a child that died or hangs must not hang the test.
 */
static inline int hs_pipe_read(int fd, void *buf, size_t len, int timeout_ms)
{
	long long end = hs_now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		long long left = end - hs_now_ms();

		if (left <= 0)
			return -1;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n <= 0)
			continue;
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

static inline int hs_pipe_put(int fd, unsigned char b)
{
	return write(fd, &b, 1) == 1 ? 0 : -1;
}

/* How many regions debugfs lists with command @comm, or -1. */
static inline int hs_dbg_count_comm(const char *comm)
{
	static struct hs_dbg_region all[1024];
	int i, n, count = 0;

	n = hs_dbg_regions(all, 1024);
	if (n < 0 || n > 1024)
		return -1;
	for (i = 0; i < n; i++)
		count += !strcmp(all[i].comm, comm);
	return count;
}

/* ---- passing files (SCM_RIGHTS) --------------------------------------- */

/* Send @fd over the UNIX socket @sock: 0, or -1 and errno. */
static inline int hs_send_fd(int sock, int fd, int flags)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, flags) == 1 ? 0 : -1;
}

/*
 * A file sent by hs_send_fd(), or -1 and errno: recvmsg()'s, or EBADMSG
 * for a message that came without its file.
 */
static inline int hs_recv_fd(int sock, int flags)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, flags) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS || (msg.msg_flags & MSG_CTRUNC)) {
		errno = EBADMSG;
		return -1;
	}
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* ---- the hugetlb pool ------------------------------------------------ */

/*
 * Free huge pages nobody has reserved: what an anonymous MAP_HUGETLB
 * mapping (or anyone but the module's reserve) can still take.
 */
static inline long long hs_unreserved_free(void)
{
	long long f = hs_meminfo("HugePages_Free");
	long long r = hs_meminfo("HugePages_Rsvd");

	if (f < 0 || r < 0)
		return -1;
	return f - r;
}

/*
 * Take @pages huge pages for this process with an anonymous MAP_HUGETLB
 * mapping, populated (MADV_POPULATE_WRITE, or touching each page where the
 * kernel lacks it). The mapping, or MAP_FAILED with errno set.
 */
static inline void *hs_hog(long long pages)
{
	size_t bytes = (size_t)pages * HS_2M;
	char *p;
	size_t off;

	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		return p;
	if (madvise(p, bytes, MADV_POPULATE_WRITE)) {
		if (errno != EINVAL) {
			int err = errno;

			munmap(p, bytes);
			errno = err;
			return MAP_FAILED;
		}
		/* Reserved at mmap, so touching cannot fail. */
		for (off = 0; off < bytes; off += HS_2M)
			p[off] = 1;
	}
	return p;
}

#endif /* _HS_STRESS_H */
