// SPDX-License-Identifier: MIT
/*
 * hsbench-heap: one malloc workload, against whatever malloc the process
 * has (glibc, or a peer or the hugeslab drop-in through LD_PRELOAD). Prints
 * "WORKLOAD ns_per_op ops" on stdout; bench/heap/run.sh measures the time
 * and memory of the whole process around it.
 *
 *   hsbench-heap pairs|live|prodcons|realloc|crowd [SCALE]
 *
 * pairs     malloc and free across sizes 16 B to 64 KiB (log-uniform), each
 *           block written and freed 8 allocations later
 * live      2 M blocks of 16 B to 1 KiB live, then each of 8 M operations
 *           frees a random one and allocates a new size in its place
 * prodcons  one thread allocates and writes 16 B to 4 KiB blocks, another
 *           reads and frees them (a single-producer ring): wall-clock time
 * realloc   4096 buffers grown in turn from 16 B to 256 KiB by half again
 *           each step, the new part written, then freed; eight times
 * crowd     1000 threads at once (a thread per connection), each with 64
 *           live blocks of 16 B to 2 KiB: 200 bursts of 100 replacements
 *           at random, a yield after each: wall-clock time per operation
 *           of all threads together
 *
 * Timed by the thread's CPU time (wall clock for prodcons and crowd), the
 * fastest of three rounds after a warm-up (crowd: one round). The size sequences are the same for every
 * allocator. SCALE (default 1) multiplies the operations.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Log-uniform in [lo, hi]: as many small blocks as big ones per doubling. */
static size_t logsize(uint64_t *s, unsigned int lo_log, unsigned int hi_log)
{
	unsigned int b = lo_log + (unsigned int)(rnd(s) % (hi_log - lo_log));
	size_t base = (size_t)1 << b;

	return base + rnd(s) % base;
}

static void *array(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("hsbench-heap: mmap");
		exit(3);
	}
	madvise(p, bytes, MADV_NOHUGEPAGE);
	memset(p, 0, bytes);
	return p;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		fprintf(stderr, "hsbench-heap: out of memory (%zu bytes)\n", n);
		exit(4);
	}
	return p;
}

static void escape(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* ---- pairs --------------------------------------------------------------- */

#define PAIR_SIZES	4096
#define WINDOW		8

static size_t *pair_sizes;

static double pairs_round(uint64_t ops)
{
	void *win[WINDOW] = { 0 };
	double t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t i;

	for (i = 0; i < ops; i++) {
		size_t n = pair_sizes[i % PAIR_SIZES];
		char *p = xmalloc(n);

		p[0] = (char)i;
		p[n - 1] = (char)i;
		escape(p);
		free(win[i % WINDOW]);
		win[i % WINDOW] = p;
	}
	for (i = 0; i < WINDOW; i++)
		free(win[i]);
	return (now_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / (double)ops;
}

static double pairs(unsigned int scale)
{
	uint64_t s = 42, ops = 4000000ULL * scale;
	double best = 0, t;
	int i;

	pair_sizes = array(PAIR_SIZES * sizeof(*pair_sizes));
	for (i = 0; i < PAIR_SIZES; i++)
		pair_sizes[i] = logsize(&s, 4, 16);
	pairs_round(ops / 4);
	for (i = 0; i < 3; i++) {
		t = pairs_round(ops);
		if (!i || t < best)
			best = t;
	}
	printf("pairs %.3f %llu\n", best, (unsigned long long)ops);
	return best;
}

/* ---- live ------------------------------------------------------------------ */

static double live(unsigned int scale)
{
	uint64_t n = 2000000, ops = 8000000ULL * scale, s = 7, i;
	char **slot = array(n * sizeof(*slot));
	double best = 0, t0, t;
	int r;

	for (i = 0; i < n; i++) {
		size_t sz = logsize(&s, 4, 10);

		slot[i] = xmalloc(sz);
		slot[i][0] = (char)sz;
	}
	for (r = 0; r < 4; r++) {
		uint64_t q = ops / 4;

		t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		for (i = 0; i < q; i++) {
			uint64_t k = rnd(&s) % n;
			size_t sz = logsize(&s, 4, 10);

			escape((void *)(uintptr_t)slot[k][0]);
			free(slot[k]);
			slot[k] = xmalloc(sz);
			slot[k][0] = (char)sz;
		}
		t = (now_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / (double)q;
		if (r && (r == 1 || t < best))	/* round 0 warms up */
			best = t;
	}
	printf("live %.3f %llu\n", best, (unsigned long long)ops / 4);
	for (i = 0; i < n; i++)
		free(slot[i]);
	return best;
}

/* ---- producer/consumer -------------------------------------------------- */

#define RING	4096

static char **ring;
static uint64_t head, tail, total;

static void *producer(void *arg)
{
	uint64_t s = 99, i;

	(void)arg;
	for (i = 0; i < total; i++) {
		size_t n = logsize(&s, 4, 12);
		char *p = xmalloc(n);

		memset(p, (int)i, n < 64 ? n : 64);
		while (i - __atomic_load_n(&tail, __ATOMIC_ACQUIRE) >= RING)
			;
		ring[i % RING] = p;
		__atomic_store_n(&head, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static double prodcons(unsigned int scale)
{
	double best = 0, t0, t;
	pthread_t th;
	uint64_t i;
	int r;

	ring = array(RING * sizeof(*ring));
	total = 2000000ULL * scale;
	for (r = 0; r < 4; r++) {
		head = tail = 0;
		t0 = now_ns(CLOCK_MONOTONIC);
		pthread_create(&th, NULL, producer, NULL);
		for (i = 0; i < total; i++) {
			char *p;

			while (__atomic_load_n(&head, __ATOMIC_ACQUIRE) <= i)
				;
			p = ring[i % RING];
			if (p[0] != (char)i)
				abort();
			free(p);
			__atomic_store_n(&tail, i + 1, __ATOMIC_RELEASE);
		}
		pthread_join(th, NULL);
		t = (now_ns(CLOCK_MONOTONIC) - t0) / (double)total;
		if (r && (r == 1 || t < best))
			best = t;
	}
	printf("prodcons %.3f %llu\n", best, (unsigned long long)total);
	return best;
}

/* ---- realloc growth ----------------------------------------------------- */

static double growth(unsigned int scale)
{
	enum { BUFS = 4096 };
	char **buf = array(BUFS * sizeof(*buf));
	size_t *len = array(BUFS * sizeof(*len));
	double best = 0, t0, t;
	uint64_t ops;
	int r, b, step;

	for (r = 0; r < 4; r++) {
		unsigned int rep;

		ops = 0;
		t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		for (rep = 0; rep < 2 * scale; rep++) {
			for (b = 0; b < BUFS; b++) {
				buf[b] = NULL;
				len[b] = 0;
			}
			/* In turn, so the buffers interleave in memory. */
			for (step = 0; step < 26; step++) {
				for (b = 0; b < BUFS; b++) {
					size_t n = len[b] ? len[b] + len[b] / 2 : 16;

					if (n > (256 << 10))
						continue;
					buf[b] = realloc(buf[b], n);
					if (!buf[b])
						exit(4);
					memset(buf[b] + len[b], b, n - len[b] < 64 ? n - len[b] : 64);
					buf[b][n - 1] = (char)b;
					len[b] = n;
					ops++;
				}
			}
			for (b = 0; b < BUFS; b++)
				free(buf[b]);
		}
		t = (now_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / (double)ops;
		if (r && (r == 1 || t < best))
			best = t;
	}
	printf("realloc %.3f %llu\n", best, (unsigned long long)ops);
	return best;
}

/* ---- a crowd of threads ------------------------------------------------ */

#define CROWD_THREADS	1000
#define CROWD_LIVE	64
#define CROWD_BURST	100

static pthread_barrier_t crowd_start, crowd_end;
static uint64_t crowd_bursts;

/*
 * A thread per connection: each serves a request (a burst of
 * replacements) and waits for the next (a yield), so all of them are
 * mid-run at once, their blocks and their caches alive together.
 */
static void *crowd_thread(void *arg)
{
	uint64_t s = 1000 + (uint64_t)(uintptr_t)arg, i, j;
	char *live[CROWD_LIVE];
	long bad = 0;

	for (i = 0; i < CROWD_LIVE; i++) {
		live[i] = xmalloc(16);
		live[i][0] = (char)i;
	}
	pthread_barrier_wait(&crowd_start);
	for (i = 0; i < crowd_bursts; i++) {
		for (j = 0; j < CROWD_BURST; j++) {
			unsigned int k = (unsigned int)(rnd(&s) % CROWD_LIVE);
			size_t n = logsize(&s, 4, 11);

			bad += live[k][0] != (char)k;
			free(live[k]);
			live[k] = xmalloc(n);
			memset(live[k], (char)k, n < 64 ? n : 64);
		}
		sched_yield();
	}
	pthread_barrier_wait(&crowd_end);
	for (i = 0; i < CROWD_LIVE; i++)
		free(live[i]);
	return (void *)bad;
}

static double crowd(unsigned int scale)
{
	pthread_t *th = array(CROWD_THREADS * sizeof(*th));
	uint64_t ops;
	pthread_attr_t attr;
	double t0, t;
	void *bad;
	int i;

	crowd_bursts = 200ULL * scale;
	ops = crowd_bursts * CROWD_BURST * CROWD_THREADS;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	pthread_barrier_init(&crowd_start, NULL, CROWD_THREADS + 1);
	pthread_barrier_init(&crowd_end, NULL, CROWD_THREADS + 1);
	for (i = 0; i < CROWD_THREADS; i++)
		if (pthread_create(&th[i], &attr, crowd_thread,
				   (void *)(uintptr_t)i)) {
			fprintf(stderr, "hsbench-heap: pthread_create failed\n");
			exit(3);
		}
	pthread_barrier_wait(&crowd_start);
	t0 = now_ns(CLOCK_MONOTONIC);
	pthread_barrier_wait(&crowd_end);
	t = (now_ns(CLOCK_MONOTONIC) - t0) / (double)ops;
	for (i = 0; i < CROWD_THREADS; i++) {
		pthread_join(th[i], &bad);
		if (bad)
			abort();
	}
	printf("crowd %.3f %llu\n", t, (unsigned long long)ops);
	return t;
}

int main(int argc, char **argv)
{
	unsigned int scale = argc > 2 ? (unsigned int)atoi(argv[2]) : 1;

	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "pairs"))
		pairs(scale);
	else if (!strcmp(argv[1], "live"))
		live(scale);
	else if (!strcmp(argv[1], "prodcons"))
		prodcons(scale);
	else if (!strcmp(argv[1], "realloc"))
		growth(scale);
	else if (!strcmp(argv[1], "crowd"))
		crowd(scale);
	else
		goto usage;
	return 0;
usage:
	fprintf(stderr, "usage: hsbench-heap pairs|live|prodcons|realloc|crowd [SCALE]\n");
	return 2;
}
