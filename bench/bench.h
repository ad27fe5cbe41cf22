/* SPDX-License-Identifier: MIT */
/*
 * hsbench: what the workloads share - the allocator under test, clocks, a
 * random number generator, memory sampling and the result line.
 *
 * One process measures one allocator. "malloc" mode calls malloc/free,
 * whichever malloc the process got (glibc, or a peer via LD_PRELOAD); "pool"
 * mode calls hs_pool_alloc/hs_pool_free on a pool made once, before any
 * timing; "cache" mode uses the same pool through the thread's cache handle
 * and the header's inline hs_cache_alloc/hs_cache_free. Each workload's loop
 * is an always_inline function of the mode, called through HEAP_CALL: it is
 * compiled once per mode with the mode a constant, so no mode pays for a
 * branch or an indirect call another does not.
 */
#ifndef HSBENCH_H
#define HSBENCH_H

#include <hugeslab.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- the allocator under test (heap.c) --------------------------------- */

enum heap_mode {
	HEAP_MALLOC,		/* malloc/free */
	HEAP_POOL,		/* hs_pool_alloc/hs_pool_free */
	HEAP_CACHE,		/* hs_cache_alloc/hs_cache_free, inline */
};

struct heap {
	const char *label;	/* as reported: glibc, jemalloc, ..., hugeslab */
	const char *impl;	/* what was detected: glibc, ..., hugeslab/hugetlb */
	size_t size;		/* bytes per object, the same for every allocator */
	enum heap_mode mode;
	hs_pool_t *pool;	/* pool and cache modes */
	hs_cache_t *cache;	/* cache mode: the cache of the thread using it */
};

/*
 * Set up @h for objects of @size bytes. @mode "malloc", "pool" or "cache";
 * @label is checked against what the process really got (a peer's
 * LD_PRELOAD that did not take, a hugeslab backend other than @backend when
 * @backend is set). Exits with a message on any mismatch or failure.
 */
void heap_init(struct heap *h, const char *mode, const char *label,
	       const char *backend, size_t size);
/* Cache mode: take the calling thread's cache; a thread's own copy of the
 * heap must do this before its first allocation. */
void heap_thread(struct heap *h);
/* Out of memory in a workload: say which allocator and exit. */
void heap_oom(const struct heap *h) __attribute__((noreturn));

static inline __attribute__((always_inline)) void *
heap_alloc(const struct heap *h, enum heap_mode mode)
{
	void *p;

	if (mode == HEAP_CACHE)
		p = hs_cache_alloc(h->cache);
	else if (mode == HEAP_POOL)
		p = hs_pool_alloc(h->pool);
	else
		p = malloc(h->size);
	if (__builtin_expect(p == NULL, 0))
		heap_oom(h);
	return p;
}

static inline __attribute__((always_inline)) void
heap_free(const struct heap *h, enum heap_mode mode, void *p)
{
	if (mode == HEAP_CACHE)
		hs_cache_free(h->cache, p);
	else if (mode == HEAP_POOL)
		hs_pool_free(h->pool, p);
	else
		free(p);
}

/*
 * fn(args..., mode) with @h's mode as a constant: fn is an always_inline
 * loop, so this compiles one copy of it per mode. A timed loop copies the
 * heap into a local first: its malloc size, pool or cache handle then sits
 * in a register, as the caller's own variable would, instead of being
 * loaded again on every operation because the loop's stores might alias
 * the struct behind a pointer. Every mode gets the same.
 */
#define HEAP_CALL(h, fn, ...)						\
	((h)->mode == HEAP_CACHE ? fn(__VA_ARGS__, HEAP_CACHE) :	\
	 (h)->mode == HEAP_POOL ? fn(__VA_ARGS__, HEAP_POOL) :		\
	 fn(__VA_ARGS__, HEAP_MALLOC))

/* ---- what the compiler must not optimise away -------------------------- */

/* @p escapes: stores to it must happen, and it must have been allocated. */
static inline __attribute__((always_inline)) void bench_escape(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* ---- clock and random numbers (util.c) ---------------------------------- */

/*
 * The clock single-threaded rounds are timed with: by default the thread's
 * CPU time, so the time the process spends descheduled on a busy machine
 * is not charged to the allocator (page faults and system calls it makes
 * are); --clock wall switches to wall-clock time.
 */
double bench_now_ns(void);
void bench_use_wall_clock(void);
/* Wall-clock time, for work spread over threads. */
double bench_wall_ns(void);

/* xorshift64*: fast, and the same sequence for every allocator. */
static inline uint64_t bench_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n) without division. */
static inline uint64_t bench_below(uint64_t *state, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)bench_rand(state) * n) >> 64);
}

/*
 * Harness memory (slot and index arrays) straight from mmap, touched, so it
 * neither goes through the allocator under test nor shows up in the
 * footprint measured around a workload. Exits on failure.
 */
void *bench_array(size_t bytes);
void bench_array_free(void *p, size_t bytes);

/* ---- memory sampling (mem.c) -------------------------------------------- */

/* What the process holds now, in KiB. */
struct bench_mem {
	uint64_t rss_kib;	/* VmRSS: resident ordinary pages */
	uint64_t hwm_kib;	/* VmHWM: peak of VmRSS */
	uint64_t hugetlb_kib;	/* HugetlbPages: not part of VmRSS */
	uint64_t thp_kib;	/* AnonHugePages: THP inside VmRSS */
};

void bench_mem_sample(struct bench_mem *m);

/* Resident bytes, ordinary and hugetlb pages together. */
static inline uint64_t bench_mem_held(const struct bench_mem *m)
{
	return (m->rss_kib + m->hugetlb_kib) * 1024;
}

/* ---- results (main.c) --------------------------------------------------- */

struct bench_result {
	const char *workload;	/* e.g. "hot-pair", "live-64" */
	double ns_per_op;	/* in the fastest round */
	uint64_t ops;		/* operations per timed round */
	double bytes_per_obj;	/* memory held per live object; 0: n/a */
};

/* Print one result line, with the process's memory at this point. */
void bench_report(const struct heap *h, const struct bench_result *r);

/* ---- workloads ---------------------------------------------------------- */

/*
 * Each workload times @rounds rounds of ops / rounds operations, after an
 * untimed warm-up, and reports the fastest round: on a shared machine other
 * processes only ever add time, and a round they did not disturb is the
 * closest to what the allocator costs. The repetitions (separate processes)
 * then give the medians and spreads.
 */
#define BENCH_ROUNDS	16

struct bench_opts {
	uint64_t objs;		/* live objects (live, chase); 0: default */
	uint64_t ops;		/* operations timed in all; 0: default */
	unsigned int rounds;	/* timed rounds */
	uint64_t seed;
};

/* The fastest of @o->rounds calls of @round(@arg), in ns. */
double bench_best_round(const struct bench_opts *o,
			double (*round)(void *arg), void *arg);

/* hot.c: few live objects; reports hot-pair and hot-lifo16. */
void bench_hot(const struct heap *h, const struct bench_opts *o);
/* live.c: a big live set under random replacement; live-<size>. */
void bench_live(const struct heap *h, const struct bench_opts *o);
/* remote.c: allocated by one thread, freed by another; remote. */
void bench_remote(const struct heap *h, const struct bench_opts *o);
/* chase.c: a random chain through a big set; chase. */
void bench_chase(const struct heap *h, const struct bench_opts *o);

#endif /* HSBENCH_H */
