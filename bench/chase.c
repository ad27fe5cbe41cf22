// SPDX-License-Identifier: MIT
/*
 * hsbench: a pointer chase through a set far larger than the TLB covers -
 * a hash table or a tree walked at random.
 *
 * Allocate n objects, link them into one cycle in a random order (the same
 * order, by allocation index, for every allocator), then time following the
 * links for a few million hops. Every hop is a dependent load from a random
 * object, so the time is cache and TLB misses: with 4 KiB pages each hop
 * likely needs a page walk; with 2 MiB pages far more of the set is covered
 * by the TLB. ns/op is per hop. Object spacing is the allocator's own
 * (headers, size classes).
 */
#include "bench.h"

#define CHASE_OBJS	32000000ULL	/* default objects in the chain */
#define CHASE_HOPS	4000000ULL	/* default hops timed, in all */

struct chase {
	void *at;		/* where the walk is */
	uint64_t hops;		/* per round */
};

static inline __attribute__((always_inline)) void
fill_loop(const struct heap *h, void **objs, uint64_t n, enum heap_mode mode)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		objs[i] = heap_alloc(h, mode);
	bench_escape(objs);
}

/* Each round goes on from where the last one stopped. */
static double walk(void *arg)
{
	struct chase *w = arg;
	double t0 = bench_now_ns(), t;
	void *p = w->at;
	uint64_t i;

	for (i = 0; i < w->hops; i++)
		p = *(void **)p;
	t = bench_now_ns() - t0;
	bench_escape(p);
	w->at = p;
	return t;
}

void bench_chase(const struct heap *h, const struct bench_opts *o)
{
	uint64_t n = o->objs ? o->objs : CHASE_OBJS;
	uint64_t rng = o->seed, i;
	void **objs = bench_array(n * sizeof(*objs));
	struct chase w = { .hops = (o->ops ? o->ops : CHASE_HOPS) / o->rounds };
	struct bench_mem before, after;
	struct bench_result r = { 0 };

	bench_mem_sample(&before);
	HEAP_CALL(h, fill_loop, h, objs, n);
	/* Fisher-Yates, then link neighbours: one cycle through all. */
	for (i = n - 1; i > 0; i--) {
		uint64_t j = bench_below(&rng, i + 1);
		void *tmp = objs[i];

		objs[i] = objs[j];
		objs[j] = tmp;
	}
	for (i = 0; i < n; i++)
		*(void **)objs[i] = objs[(i + 1) % n];
	bench_mem_sample(&after);

	w.at = objs[0];
	walk(&w);		/* warm-up */
	r.workload = "chase";
	r.ops = w.hops;
	r.ns_per_op = bench_best_round(o, walk, &w) / (double)w.hops;
	r.bytes_per_obj = (double)(bench_mem_held(&after) -
				   bench_mem_held(&before)) / (double)n;
	bench_report(h, &r);
}
