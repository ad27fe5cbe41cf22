// SPDX-License-Identifier: MIT
/*
 * hsbench-uring: what io_uring buffers on huge pages save the kernel.
 *
 *   hsbench-uring register [--reps N] [--gib N]
 *       Register N GiB (default 1) of 64 KiB buffers as fixed buffers,
 *       through libhugeslab-uring, from three kinds of memory - a hugeslab
 *       region (2 MiB pages: run with HUGESLAB_BACKEND=hugetlb), malloc
 *       (4 KiB pages) and THP (malloc'd, 2 MiB aligned, MADV_HUGEPAGE) -
 *       in both table layouts (an iovec per 2 MiB, an iovec per buffer).
 *       Per case: the time io_uring_register_buffers() takes, and the
 *       kernel memory it keeps for the registration (SUnreclaim and
 *       VmallocUsed of /proc/meminfo, after minus before).
 *   hsbench-uring odirect FILE [--reps N] [--bs BYTES] [--depth N]
 *       Read FILE with O_DIRECT, depth I/Os in flight: into fixed hugeslab
 *       buffers (read_fixed), and into malloc'd buffers the kernel pins on
 *       every read (IORING_OP_READ). Throughput, and the CPU time the
 *       process spent per GiB (submission does the pinning).
 *
 * One line per measurement on stdout, tab-separated:
 *   register  MEMORY  LAYOUT  REP  usec  kernel_kib  iovecs  thp_pct
 *   odirect   MODE    BS      REP  mb_per_s  cpu_ms_per_gib
 * The repetitions interleave the cases, so a slow phase of a shared
 * machine spreads over all of them; bench/uring/run.sh takes medians.
 * Run as root: no RLIMIT_MEMLOCK accounting, as for a server with
 * CAP_IPC_LOCK (the charge itself is the same for every case).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <hugeslab/uring.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE	(64U << 10)
#define HUGE		(2UL << 20)

static void die(const char *what, const char *why)
{
	fprintf(stderr, "hsbench-uring: %s: %s\n", what, why);
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* A /proc/meminfo (or status) field in kB; -1 if absent. */
static long long kb(const char *file, const char *key)
{
	char line[256];
	long long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen(file, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtoll(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static long long kernel_kb(void)
{
	return kb("/proc/meminfo", "SUnreclaim") + kb("/proc/meminfo", "VmallocUsed");
}

/* ---- register ----------------------------------------------------------------- */

struct memory {
	const char *name;
	char *p;
	size_t bytes;
	int thp_pct;		/* of it on transparent huge pages */
};

static void touch(char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 4096)
		p[i] = 1;
}

static void mem_hugeslab(struct memory *m, hs_region_t **r)
{
	*r = hs_region_create(m->bytes, NULL);
	if (!*r)
		die("hugeslab region", hs_last_error());
	if (hs_region_page_size(*r) != HUGE)
		die("hugeslab region", "not on 2 MiB pages: run with HUGESLAB_BACKEND=hugetlb (or kmod)");
	m->p = hs_region_base(*r);
	m->thp_pct = 0;
}

static void mem_malloc(struct memory *m, bool thp)
{
	long long before = kb("/proc/self/smaps_rollup", "AnonHugePages");
	void *p;

	if (posix_memalign(&p, thp ? HUGE : 4096, m->bytes))
		die(m->name, "out of memory");
	if (madvise(p, m->bytes, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		die(m->name, strerror(errno));
	touch(p, m->bytes);
	m->p = p;
	if (before < 0) {
		m->thp_pct = -1;
		return;
	}
	m->thp_pct = (int)(100 * (kb("/proc/self/smaps_rollup", "AnonHugePages") - before) /
			   (long long)(m->bytes >> 10));
}

static void bench_register(int reps, size_t gib)
{
	static const char *const layouts[] = { "per-2MiB", "per-buffer" };
	struct memory mem[3] = {
		{ "hugeslab", NULL, gib << 30, 0 },
		{ "malloc-4k", NULL, gib << 30, 0 },
		{ "thp", NULL, gib << 30, 0 },
	};
	struct hs_uring_bufs_stats st;
	unsigned int count = (unsigned int)((gib << 30) / BUF_SIZE);
	struct io_uring ring;
	hs_region_t *region;
	int rep, m, l;

	if (io_uring_queue_init(8, &ring, 0))
		die("io_uring_queue_init", strerror(errno));
	mem_hugeslab(&mem[0], &region);
	mem_malloc(&mem[1], false);
	mem_malloc(&mem[2], true);
	for (rep = 1; rep <= reps; rep++) {
		for (m = 0; m < 3; m++) {
			for (l = 0; l < 2; l++) {
				struct hs_uring_bufs_opts o = {
					.flags = HS_UBUF_FIXED | HS_UBUF_MEM |
						 (l ? HS_UBUF_IOV_EACH : 0),
					.mem = mem[m].p, .mem_bytes = mem[m].bytes,
				};
				hs_uring_bufs_t *s;
				long long k0, k1;
				double t0, t1;

				k0 = kernel_kb();
				t0 = now_us();
				s = hs_uring_bufs_create(&ring, "bench", count, BUF_SIZE, &o);
				t1 = now_us();
				k1 = kernel_kb();
				if (!s)
					die(mem[m].name, hs_uring_last_error());
				hs_uring_bufs_stats(s, &st);
				printf("register\t%s\t%s\t%d\t%.0f\t%lld\t%llu\t%d\n",
				       mem[m].name, layouts[l], rep, t1 - t0, k1 - k0,
				       (unsigned long long)st.fixed_iovecs, mem[m].thp_pct);
				fflush(stdout);
				if (hs_uring_bufs_destroy(s))
					die("unregister", hs_uring_last_error());
			}
		}
	}
	io_uring_queue_exit(&ring);
	hs_region_destroy(region);
	free(mem[1].p);
	free(mem[2].p);
}

/* ---- odirect ------------------------------------------------------------------- */

/* Read all of @fd once: MB/s; *cpu gets CPU ms per GiB. */
static double read_file(struct io_uring *ring, int fd, uint64_t size,
			hs_uring_bufs_t *fixed, char **plain, unsigned int depth,
			size_t bs, double *cpu)
{
	unsigned int free_bufs[64], nfree = 0, k;
	uint64_t next = 0, done = 0;
	double t0 = now_us(), c0 = cpu_ms(), t;

	for (k = 0; k < depth; k++)
		free_bufs[nfree++] = k;
	while (done < size) {
		struct io_uring_cqe *cqe;

		while (nfree && next < size) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

			k = free_bufs[--nfree];
			if (fixed)
				io_uring_prep_read_fixed(sqe, fd, hs_uring_bufs_buf(fixed, k),
							 (unsigned int)bs, next,
							 hs_uring_bufs_index(fixed, k));
			else
				io_uring_prep_read(sqe, fd, plain[k], (unsigned int)bs, next);
			io_uring_sqe_set_data64(sqe, k);
			next += bs;
		}
		if (io_uring_submit_and_wait(ring, 1) < 0)
			die("io_uring_submit_and_wait", strerror(errno));
		while (!io_uring_peek_cqe(ring, &cqe)) {
			if (cqe->res <= 0)
				die("read", cqe->res ? strerror(-cqe->res) : "end of file");
			done += (uint64_t)cqe->res;
			free_bufs[nfree++] = (unsigned int)io_uring_cqe_get_data64(cqe);
			io_uring_cqe_seen(ring, cqe);
		}
	}
	t = now_us() - t0;
	*cpu = (cpu_ms() - c0) / ((double)size / (1 << 30));
	return (double)size / t;	/* bytes per us = MB/s */
}

static void bench_odirect(const char *path, int reps, size_t bs,
			  unsigned int depth)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED };
	hs_uring_bufs_t *fixed;
	struct io_uring ring;
	char **plain;
	struct stat sb;
	uint64_t size;
	unsigned int i;
	int fd, rep;
	double mbs, cpu;

	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb))
		die(path, strerror(errno));
	size = (uint64_t)sb.st_size / bs * bs;
	if (!size)
		die(path, "smaller than one block");
	if (io_uring_queue_init(2 * depth, &ring, 0))
		die("io_uring_queue_init", strerror(errno));
	fixed = hs_uring_bufs_create(&ring, "bench-odirect", depth, bs, &o);
	if (!fixed)
		die("fixed buffers", hs_uring_last_error());
	plain = calloc(depth, sizeof(*plain));
	for (i = 0; plain && i < depth; i++) {
		if (posix_memalign((void **)&plain[i], 4096, bs))
			die("malloc", "out of memory");
		memset(plain[i], 0, bs);
	}
	if (!plain)
		die("malloc", "out of memory");
	for (rep = 1; rep <= reps; rep++) {
		/* Alternate which goes first. */
		for (i = 0; i < 2; i++) {
			bool use_fixed = (i + (unsigned int)rep) % 2;

			mbs = read_file(&ring, fd, size, use_fixed ? fixed : NULL,
					plain, depth, bs, &cpu);
			printf("odirect\t%s\t%zu\t%d\t%.1f\t%.1f\n",
			       use_fixed ? "hugeslab-fixed" : "malloc", bs, rep, mbs, cpu);
			fflush(stdout);
		}
	}
	hs_uring_bufs_destroy(fixed);
	io_uring_queue_exit(&ring);
	for (i = 0; i < depth; i++)
		free(plain[i]);
	free(plain);
	close(fd);
}

int main(int argc, char **argv)
{
	size_t bs = 128 << 10, gib = 1;
	unsigned int depth = 8;
	const char *file = NULL;
	int reps = 5, i;

	if (argc < 2)
		goto usage;
	for (i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";

		if (!strcmp(argv[i], "--reps"))
			reps = atoi(v), i++;
		else if (!strcmp(argv[i], "--bs"))
			bs = strtoul(v, NULL, 0), i++;
		else if (!strcmp(argv[i], "--depth"))
			depth = (unsigned int)atoi(v), i++;
		else if (!strcmp(argv[i], "--gib"))
			gib = strtoul(v, NULL, 0), i++;
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			goto usage;
	}
	if (reps < 1 || !bs || bs % 4096 || depth < 1 || depth > 64 || !gib)
		goto usage;
	if (!strcmp(argv[1], "register"))
		bench_register(reps, gib);
	else if (!strcmp(argv[1], "odirect") && file)
		bench_odirect(file, reps, bs, depth);
	else
		goto usage;
	return 0;
usage:
	fprintf(stderr, "usage: hsbench-uring register [--reps N] [--gib N]\n"
		"       hsbench-uring odirect FILE [--reps N] [--bs BYTES] [--depth N]\n");
	return 2;
}
