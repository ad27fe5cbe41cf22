// SPDX-License-Identifier: MIT
/*
 * hsbench: the clock, timed rounds and the harness's own memory.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "bench.h"

static clockid_t round_clock = CLOCK_THREAD_CPUTIME_ID;

static double clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

double bench_now_ns(void)
{
	return clock_ns(round_clock);
}

void bench_use_wall_clock(void)
{
	round_clock = CLOCK_MONOTONIC;
}

double bench_wall_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

double bench_best_round(const struct bench_opts *o,
			double (*round)(void *arg), void *arg)
{
	double best = 0;
	unsigned int i;

	for (i = 0; i < o->rounds; i++) {
		double t = round(arg);

		if (!i || t < best)
			best = t;
	}
	return best;
}

void *bench_array(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("hsbench: mmap of a harness array");
		exit(3);
	}
	/* Small pages whatever the THP setting, the same in every run. */
	madvise(p, bytes, MADV_NOHUGEPAGE);
	memset(p, 0, bytes);	/* resident now, not during a workload */
	return p;
}

void bench_array_free(void *p, size_t bytes)
{
	munmap(p, bytes);
}
