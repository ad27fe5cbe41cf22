/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the libhugeslab-uring selftests. They run on the host
 * (HUGESLAB_BACKEND=hugetlb) and in the VMs with the module (kmod); what
 * they measure is per process where another program on the host could
 * change a global count (the hugetlb pool), and global in the VM too.
 */
#ifndef _HS_URING_TEST_H
#define _HS_URING_TEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hugeslab/uring.h"
#include "../lib/hs_lib.h"

#define HS_DEBUGFS_STATS	"/sys/kernel/debug/hugeslab/stats"
#define HS_WAIT_MS		10000

/* ---- data patterns --------------------------------------------------------- */

/* Byte @pos of the stream named @seed: different for every seed and
 * position, so neither a stale nor a shifted copy can pass. */
static inline uint8_t hs_pat(uint64_t seed, uint64_t pos)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ULL + (pos >> 3);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (uint8_t)(z >> ((pos & 7) * 8));
}

static inline void hs_pat_fill(void *p, size_t len, uint64_t seed, uint64_t pos)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = hs_pat(seed, pos + i);
}

/* The first byte that differs from the pattern, or -1. */
static inline long long hs_pat_check(const void *p, size_t len, uint64_t seed,
				     uint64_t pos)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != hs_pat(seed, pos + i))
			return (long long)i;
	return -1;
}

/* ---- time, files ----------------------------------------------------------- */

static inline long long hs_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The number after "@key" in @path (e.g. "VmPin:" in status), or -1. */
static inline long long hs_file_field(const char *path, const char *key)
{
	char line[256];
	long long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && (line[n] == ' ' || line[n] == '\t' ||
					       line[n] == ':')) {
			v = strtoll(line + n + (line[n] == ':'), NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* ---- what a process holds ---------------------------------------------------- */

/*
 * Memory that a leak would leave behind. The process's own counts always;
 * the module's and the hugetlb pool's where nothing else runs (the VM,
 * on the kmod backend).
 */
struct hs_usnap {
	long long vm_pin_kb;	/* pinned: what io_uring holds registered */
	long long vm_lck_kb;	/* mlocked */
	long long hugetlb_kb;	/* hugetlb pages mapped */
	bool global;
	long long hp_free;	/* HugePages_Free */
	long long regions;	/* the module's regions and bytes */
	long long used_bytes;
};

static inline void hs_usnap_pid(struct hs_usnap *s, pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	memset(s, 0, sizeof(*s));
	s->vm_pin_kb = hs_file_field(path, "VmPin");
	s->vm_lck_kb = hs_file_field(path, "VmLck");
	s->hugetlb_kb = hs_file_field(path, "HugetlbPages");
	s->global = hs_backend() == HS_BACKEND_KMOD;
	if (s->global) {
		s->hp_free = hs_file_field("/proc/meminfo", "HugePages_Free");
		s->regions = hs_file_field(HS_DEBUGFS_STATS, "regions");
		s->used_bytes = hs_file_field(HS_DEBUGFS_STATS, "used_bytes");
	}
}

static inline void hs_usnap(struct hs_usnap *s)
{
	hs_usnap_pid(s, getpid());
}

static inline bool hs_usnap_same(const struct hs_usnap *a,
				 const struct hs_usnap *b)
{
	return a->vm_pin_kb == b->vm_pin_kb && a->vm_lck_kb == b->vm_lck_kb &&
	       a->hugetlb_kb == b->hugetlb_kb && a->hp_free == b->hp_free &&
	       a->regions == b->regions && a->used_bytes == b->used_bytes;
}

/*
 * Wait (bounded) until what @pid holds is @base again: the kernel unpins
 * some things asynchronously. 0, or -1 with *now as last seen.
 */
static inline int hs_usnap_wait(const struct hs_usnap *base,
				struct hs_usnap *now, pid_t pid)
{
	long long end = hs_ms() + HS_WAIT_MS;

	for (;;) {
		hs_usnap_pid(now, pid);
		if (hs_usnap_same(base, now))
			return 0;
		if (hs_ms() > end)
			return -1;
		usleep(10000);
	}
}

#define HS_USNAP_FMT "pin %lld kB, mlock %lld kB, hugetlb %lld kB, " \
	"free huge pages %lld, module regions %lld, used %lld"
#define HS_USNAP_ARGS(s) (s)->vm_pin_kb, (s)->vm_lck_kb, (s)->hugetlb_kb, \
	(s)->hp_free, (s)->regions, (s)->used_bytes

/* ---- io_uring ----------------------------------------------------------------- */

/* Submit what is queued and take one completion (a copy) within @ms:
 * 0, or -errno (-ETIME on timeout). */
static inline int hs_next_cqe(struct io_uring *ring, struct io_uring_cqe *out,
			      int ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000LL,
	};
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_submit(ring);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (ret < 0)
		return ret;
	*out = *cqe;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

/* A connected TCP pair over loopback: 0, or -1. */
static inline int hs_tcp_pair(int *a, int *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*a = *b = -1;
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -1;
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sa, &len))
		goto fail;
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*a < 0 || connect(*a, (struct sockaddr *)&sa, len))
		goto fail;
	*b = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (*b < 0)
		goto fail;
	setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(l);
	return 0;
fail:
	if (*a >= 0)
		close(*a);
	close(l);
	*a = -1;
	return -1;
}

/* Write all of @len bytes: 0, or -1. */
static inline int hs_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	ssize_t n;

	while (len) {
		n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly @len bytes: 0, or -1 (error or EOF first). */
static inline int hs_read_all(int fd, void *p, size_t len)
{
	char *c = p;
	ssize_t n;

	while (len) {
		n = read(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
