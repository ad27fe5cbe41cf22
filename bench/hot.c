// SPDX-License-Identifier: MIT
/*
 * hsbench: the hot path - few live objects, so everything stays in the
 * allocator's thread cache and in the CPU's caches.
 *
 *   hot-pair     allocate one object, write it, free it; repeat
 *   hot-lifo16   allocate 16 objects, writing each, then free them newest
 *                first; repeat
 *
 * ns/op is per alloc+free pair. Each loop runs untimed first (warm-up: the
 * thread cache exists and is stocked), then in timed rounds of the same
 * number of pairs for every allocator.
 */
#include "bench.h"

#define HOT_PAIRS	100000000ULL	/* default pairs timed, in all */
#define LIFO_DEPTH	16

struct hot {
	const struct heap *h;
	uint64_t n;		/* pairs per round */
};

static inline __attribute__((always_inline)) double
pair_loop(const struct heap *hp, uint64_t n, enum heap_mode mode)
{
	const struct heap hv = *hp, *h = &hv;	/* see HEAP_CALL */
	double t0 = bench_now_ns();
	uint64_t i;

	for (i = 0; i < n; i++) {
		uint64_t *p = heap_alloc(h, mode);

		*p = i;
		bench_escape(p);
		heap_free(h, mode, p);
	}
	return bench_now_ns() - t0;
}

static double pair(void *arg)
{
	const struct hot *w = arg;

	return HEAP_CALL(w->h, pair_loop, w->h, w->n);
}

static inline __attribute__((always_inline)) double
lifo_loop(const struct heap *hp, uint64_t n, enum heap_mode mode)
{
	const struct heap hv = *hp, *h = &hv;
	uint64_t *stack[LIFO_DEPTH];
	double t0 = bench_now_ns();
	uint64_t r;
	int j;

	for (r = 0; r < n / LIFO_DEPTH; r++) {
		for (j = 0; j < LIFO_DEPTH; j++) {
			stack[j] = heap_alloc(h, mode);
			*stack[j] = r + (uint64_t)j;
		}
		bench_escape(stack);
		for (j = LIFO_DEPTH; j-- > 0;)
			heap_free(h, mode, stack[j]);
	}
	return bench_now_ns() - t0;
}

static double lifo(void *arg)
{
	const struct hot *w = arg;

	return HEAP_CALL(w->h, lifo_loop, w->h, w->n);
}

void bench_hot(const struct heap *h, const struct bench_opts *o)
{
	uint64_t n = (o->ops ? o->ops : HOT_PAIRS) / o->rounds;
	struct hot w = { .h = h, .n = n };
	struct bench_result r = { .ops = n };

	pair(&w);
	r.workload = "hot-pair";
	r.ns_per_op = bench_best_round(o, pair, &w) / (double)n;
	bench_report(h, &r);

	w.n = r.ops = n / LIFO_DEPTH * LIFO_DEPTH;
	lifo(&w);
	r.workload = "hot-lifo16";
	r.ns_per_op = bench_best_round(o, lifo, &w) / (double)r.ops;
	bench_report(h, &r);
}
