// SPDX-License-Identifier: MIT
/*
 * hsbench: remote frees - every object is allocated by one thread and freed
 * by another, as when a request is parsed on one thread and finished on a
 * worker.
 *
 * The main thread allocates objects, writes each, and passes them through a
 * single-producer single-consumer ring to a second thread, which reads and
 * frees them. ns/op is wall-clock time per object with both threads
 * running (CPU time would charge the waiting of either side). The
 * ring costs the same for every allocator: one slot write and read per
 * object, and each side reads the other's index only when it has run out.
 * A warm-up pass and the timed rounds all run through the same two threads;
 * a round ends when the consumer has freed its last object.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#include "bench.h"

#define REMOTE_OPS	10000000ULL	/* default objects timed, in all */
#define RING_SLOTS	1024		/* a power of two */

struct ring {
	uint64_t head __attribute__((aligned(64)));	/* producer's */
	uint64_t tail __attribute__((aligned(64)));	/* consumer's */
	uint64_t done __attribute__((aligned(64)));	/* passes the consumer finished */
	void *slot[RING_SLOTS] __attribute__((aligned(64)));
};

struct remote {
	struct ring ring;
	const struct heap *h;
	uint64_t n;		/* objects per pass */
	uint64_t passes;	/* the warm-up and the timed rounds */
	uint64_t started;	/* passes the producer began */
	uint64_t sum;
};

/* Wait politely: two cores may be shared with the rest of the machine. */
static inline void relax(unsigned int *spins)
{
	if (++*spins < 1024) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		return;
	}
	*spins = 0;
	sched_yield();
}

static inline __attribute__((always_inline)) void
produce(struct remote *rm, uint64_t n, enum heap_mode mode)
{
	struct ring *r = &rm->ring;
	uint64_t head = r->head, tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	const struct heap hv = *rm->h, *h = &hv;	/* see HEAP_CALL */
	unsigned int spins = 0;
	uint64_t i;

	for (i = 0; i < n; i++) {
		uint64_t *p = heap_alloc(h, mode);

		*p = i;
		while (head - tail == RING_SLOTS) {
			relax(&spins);
			tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		}
		r->slot[head % RING_SLOTS] = p;
		__atomic_store_n(&r->head, ++head, __ATOMIC_RELEASE);
	}
}

static inline __attribute__((always_inline)) void
consume(struct remote *rm, const struct heap *hp, uint64_t n,
	enum heap_mode mode)
{
	const struct heap hv = *hp, *h = &hv;	/* see HEAP_CALL */
	struct ring *r = &rm->ring;
	uint64_t tail = r->tail, head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	unsigned int spins = 0;
	uint64_t i, sum = 0;

	for (i = 0; i < n; i++) {
		uint64_t *p;

		while (head == tail) {
			relax(&spins);
			head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		}
		p = r->slot[tail % RING_SLOTS];
		__atomic_store_n(&r->tail, ++tail, __ATOMIC_RELEASE);
		sum += *p;
		heap_free(h, mode, p);
	}
	rm->sum += sum;
}

static void *consumer(void *arg)
{
	struct remote *rm = arg;
	struct heap own = *rm->h;	/* with this thread's cache */
	uint64_t k;

	heap_thread(&own);
	for (k = 0; k < rm->passes; k++) {
		HEAP_CALL(&own, consume, rm, &own, rm->n);
		__atomic_store_n(&rm->ring.done, k + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* One pass, timed until the consumer has freed its last object. */
static double pass(void *arg)
{
	struct remote *rm = arg;
	double t0 = bench_wall_ns();
	unsigned int spins = 0;

	HEAP_CALL(rm->h, produce, rm, rm->n);
	rm->started++;
	while (__atomic_load_n(&rm->ring.done, __ATOMIC_ACQUIRE) < rm->started)
		relax(&spins);
	return bench_wall_ns() - t0;
}

void bench_remote(const struct heap *h, const struct bench_opts *o)
{
	struct remote *rm = bench_array(sizeof(*rm));
	struct bench_result r = { 0 };
	pthread_t tid;
	int err;

	rm->h = h;
	rm->n = (o->ops ? o->ops : REMOTE_OPS) / o->rounds;
	rm->passes = 1 + o->rounds;
	err = pthread_create(&tid, NULL, consumer, rm);
	if (err) {
		fprintf(stderr, "hsbench: pthread_create failed (%d)\n", err);
		exit(3);
	}
	pass(rm);		/* warm-up */
	r.workload = "remote";
	r.ops = rm->n;
	r.ns_per_op = bench_best_round(o, pass, rm) / (double)rm->n;
	pthread_join(tid, NULL);
	bench_escape(&rm->sum);
	bench_report(h, &r);
	bench_array_free(rm, sizeof(*rm));
}
