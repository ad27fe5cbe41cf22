// SPDX-License-Identifier: MIT
/*
 * hsbench: a large live set under random replacement - a cache or a
 * connection table in steady state.
 *
 * Fill an array of slots with objects (writing each), then repeatedly pick
 * a random slot, read its object (a program looks at what it frees), free
 * it, allocate a new one, write it and store it in the slot. ns/op is per
 * replacement. The slots array and the random sequence are the same for
 * every allocator; the array is harness memory, outside the footprint.
 *
 * Memory: what the process holds (ordinary plus hugetlb pages) after the
 * run, minus what it held before the first allocation, per live object -
 * the object itself plus headers, rounding, metadata and free memory the
 * allocator keeps.
 */
#include <stdio.h>

#include "bench.h"

#define LIVE_OBJS	4000000ULL	/* default live objects */
#define LIVE_OPS	4000000ULL	/* default replacements timed, in all */

struct live {
	const struct heap *h;
	uint64_t **slots;
	uint64_t n;		/* live objects */
	uint64_t ops;		/* replacements per round */
	uint64_t rng;
	uint64_t sum;		/* of what was read, so reading is not dropped */
};

static inline __attribute__((always_inline)) void
fill_loop(const struct heap *h, uint64_t **slots, uint64_t n,
	  enum heap_mode mode)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		slots[i] = heap_alloc(h, mode);
		*slots[i] = i;
	}
	bench_escape(slots);
}

static inline __attribute__((always_inline)) double
replace_loop(struct live *w, enum heap_mode mode)
{
	const struct heap hv = *w->h, *h = &hv;	/* see HEAP_CALL */
	uint64_t **slots = w->slots;
	uint64_t k, sum = 0, rng = w->rng;
	double t, t0 = bench_now_ns();

	for (k = 0; k < w->ops; k++) {
		uint64_t i = bench_below(&rng, w->n);
		uint64_t *p = slots[i];

		sum += *p;
		heap_free(h, mode, p);
		p = heap_alloc(h, mode);
		*p = k;
		slots[i] = p;
	}
	t = bench_now_ns() - t0;
	bench_escape(slots);
	w->rng = rng;
	w->sum += sum;
	return t;
}

static double replace(void *arg)
{
	struct live *w = arg;

	return HEAP_CALL(w->h, replace_loop, w);
}

void bench_live(const struct heap *h, const struct bench_opts *o)
{
	static char name[32];
	struct live w = {
		.h = h,
		.n = o->objs ? o->objs : LIVE_OBJS,
		.ops = (o->ops ? o->ops : LIVE_OPS) / o->rounds,
		.rng = o->seed,
	};
	struct bench_mem before, after;
	struct bench_result r = { 0 };

	w.slots = bench_array(w.n * sizeof(*w.slots));
	bench_mem_sample(&before);
	HEAP_CALL(h, fill_loop, h, w.slots, w.n);
	replace(&w);		/* warm-up */
	r.ns_per_op = bench_best_round(o, replace, &w) / (double)w.ops;
	bench_mem_sample(&after);
	bench_escape(&w.sum);

	snprintf(name, sizeof(name), "live-%zu", h->size);
	r.workload = name;
	r.ops = w.ops;
	r.bytes_per_obj = (double)(bench_mem_held(&after) -
				   bench_mem_held(&before)) / (double)w.n;
	bench_report(h, &r);
	/* Objects are left to the process's exit, as a server would at exit. */
}
