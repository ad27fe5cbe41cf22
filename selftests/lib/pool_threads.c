// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: pools under several threads - no object is handed out twice,
 * frees from another thread are correct, counters balance, a thread's
 * cache goes back to the pool when the thread exits, a thread that only
 * frees passes its objects on, and threads that all need a new slab at
 * once do not each map one.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "hs_lib.h"

#define THREADS	4
#define ROUNDS	300
#define BATCH	257

struct obj {
	int tag;		/* 0 free, 1 handed out: flipped atomically */
	int owner;
	unsigned int seq;
	char pad[52];
};

/* One lock-protected ring per thread: objects its left neighbour frees. */
struct ring {
	pthread_mutex_t lock;
	struct obj *slots[BATCH * 4];
	unsigned int head, tail;
};

static hs_pool_t *pool;
static struct ring rings[THREADS];
static int errors;

static int obj_ctor(void *o, void *arg)
{
	(void)arg;
	memset(o, 0, sizeof(struct obj));
	return 0;
}

static struct obj *take(int self)
{
	struct obj *o = hs_pool_alloc(pool);
	int zero = 0;

	if (!o || !__atomic_compare_exchange_n(&o->tag, &zero, 1, false,
					       __ATOMIC_ACQ_REL,
					       __ATOMIC_ACQUIRE)) {
		__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	o->owner = self;
	return o;
}

static void give_back(struct obj *o)
{
	int one = 1;

	/* Still ours (nobody else was handed it meanwhile)? */
	if (!__atomic_compare_exchange_n(&o->tag, &one, 0, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	hs_pool_free(pool, o);
}

static void ring_drain(struct ring *r)
{
	pthread_mutex_lock(&r->lock);
	while (r->tail != r->head)
		give_back(r->slots[r->tail++ % (BATCH * 4)]);
	pthread_mutex_unlock(&r->lock);
}

static void *worker(void *arg)
{
	int self = (int)(intptr_t)arg, i, k;
	struct ring *right = &rings[(self + 1) % THREADS];
	struct obj *held[BATCH];
	unsigned int seq = 0;

	for (i = 0; i < ROUNDS; i++) {
		for (k = 0; k < BATCH; k++) {
			held[k] = take(self);
			if (!held[k])
				return NULL;
			held[k]->seq = seq++;
		}
		for (k = 0; k < BATCH; k++) {
			if (held[k]->owner != self)
				__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
			if (k % 2) {
				give_back(held[k]);
				continue;
			}
			/* Every other object is freed by the next thread. */
			pthread_mutex_lock(&right->lock);
			if (right->head - right->tail < BATCH * 4) {
				right->slots[right->head++ % (BATCH * 4)] = held[k];
				held[k] = NULL;
			}
			pthread_mutex_unlock(&right->lock);
			if (held[k])
				give_back(held[k]);
		}
		ring_drain(&rings[self]);
	}
	return NULL;
}

TEST(no_double_handout_with_remote_frees)
{
	struct hs_pool_opts o = { .ctor = obj_ctor };
	struct hs_pool_stats st;
	pthread_t t[THREADS];
	int i;

	pool = hs_pool_create("threads", sizeof(struct obj), &o);
	ASSERT_NE(NULL, pool) TH_LOG("%s", hs_last_error());
	for (i = 0; i < THREADS; i++)
		pthread_mutex_init(&rings[i].lock, NULL);
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, worker,
					    (void *)(intptr_t)i));
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	for (i = 0; i < THREADS; i++)
		ring_drain(&rings[i]);
	ASSERT_EQ(0, errors);

	ASSERT_EQ(0, hs_pool_stats(pool, &st));
	ASSERT_EQ((uint64_t)THREADS * ROUNDS * BATCH, st.allocs);
	ASSERT_EQ(st.allocs, st.frees);
	ASSERT_EQ(0, st.in_use);
	/* Most allocations never touched a lock. */
	ASSERT_GT(st.cache_hits * 10, st.allocs * 8);
	hs_pool_destroy(pool);
}

static void *grab_all(void *arg)
{
	uint64_t n = *(uint64_t *)arg, i;
	void **v = calloc(n, sizeof(void *));

	for (i = 0; i < n; i++)
		v[i] = hs_pool_alloc(pool);
	for (i = 0; i < n; i++)
		hs_pool_free(pool, v[i]);
	free(v);
	return NULL;
}

TEST(thread_exit_returns_its_cache)
{
	struct hs_pool_stats st;
	uint64_t n = 20000, total;
	pthread_t t;
	int round;

	pool = hs_pool_create("exit", 64, NULL);
	ASSERT_NE(NULL, pool);
	/*
	 * Each short-lived thread takes as many objects as exist: if exiting
	 * threads kept their caches, every new one would have to carve more.
	 */
	ASSERT_EQ(0, pthread_create(&t, NULL, grab_all, &n));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, hs_pool_stats(pool, &st));
	total = st.total;
	for (round = 0; round < 20; round++) {
		ASSERT_EQ(0, pthread_create(&t, NULL, grab_all, &n));
		ASSERT_EQ(0, pthread_join(t, NULL));
	}
	ASSERT_EQ(0, hs_pool_stats(pool, &st));
	ASSERT_EQ(total, st.total);
	ASSERT_EQ(0, st.in_use);
	hs_pool_destroy(pool);
}

TEST(many_pools_many_threads)
{
	hs_pool_t *pools[40];
	pthread_t t[THREADS];
	uint64_t n = 500;
	int i, k;

	/* Create and destroy pools so ids get reused under live caches. */
	for (k = 0; k < 3; k++) {
		for (i = 0; i < 40; i++) {
			pools[i] = hs_pool_create("many", 16 + i * 8, NULL);
			ASSERT_NE(NULL, pools[i]);
		}
		for (i = 0; i < 40; i++) {
			int j;

			pool = pools[i];
			for (j = 0; j < THREADS; j++)
				ASSERT_EQ(0, pthread_create(&t[j], NULL,
							    grab_all, &n));
			for (j = 0; j < THREADS; j++)
				ASSERT_EQ(0, pthread_join(t[j], NULL));
			grab_all(&n);
		}
		for (i = 0; i < 40; i++)
			hs_pool_destroy(pools[i]);
	}
}

/* A consumer: frees what another thread allocated, then waits to exit. */
struct consumer {
	void **v;
	uint64_t n;
	pthread_barrier_t freed, done;
};

static void *consume(void *arg)
{
	struct consumer *c = arg;
	uint64_t i;

	for (i = 0; i < c->n; i++)
		hs_pool_free(pool, c->v[i]);
	pthread_barrier_wait(&c->freed);
	pthread_barrier_wait(&c->done);	/* alive: its cache stays its own */
	return NULL;
}

static void *take_all(void *arg)
{
	struct consumer *c = arg;
	uint64_t i;

	for (i = 0; i < c->n; i++)
		c->v[i] = hs_pool_alloc(pool);
	return NULL;
}

TEST(a_thread_that_only_frees_keeps_no_reserve)
{
	struct consumer c = { 0 };
	struct hs_pool_stats st;
	uint64_t batch, before, i;
	pthread_t b, d;

	pool = hs_pool_create("consumer", 64, NULL);
	ASSERT_NE(NULL, pool);
	/* A cache's first refill from the slabs carves a batch, half a
	 * magazine. */
	c.v = calloc(1, sizeof(void *));
	ASSERT_NE(NULL, c.v[0] = hs_pool_alloc(pool));
	ASSERT_EQ(0, hs_pool_stats(pool, &st));
	batch = st.total;
	ASSERT_GE(batch, 4);
	hs_pool_free(pool, c.v[0]);
	free(c.v);

	/* This thread allocates ten and a half batches, another frees
	 * them and stays. */
	c.n = 10 * batch + batch / 2;
	c.v = calloc(c.n, sizeof(void *));
	ASSERT_NE(NULL, c.v);
	for (i = 0; i < c.n; i++)
		ASSERT_NE(NULL, c.v[i] = hs_pool_alloc(pool));
	ASSERT_EQ(0, pthread_barrier_init(&c.freed, NULL, 2));
	ASSERT_EQ(0, pthread_barrier_init(&c.done, NULL, 2));
	ASSERT_EQ(0, pthread_create(&b, NULL, consume, &c));
	pthread_barrier_wait(&c.freed);

	/*
	 * A third thread takes as many: all but the half batch left in
	 * the consumer's cache come from the depot in full magazines, so
	 * it carves one batch. Were the consumer to keep a full reserve
	 * magazine too, which nobody there allocates from, it would carve
	 * three.
	 */
	ASSERT_EQ(0, hs_pool_stats(pool, &st));
	before = st.total;
	ASSERT_EQ(0, pthread_create(&d, NULL, take_all, &c));
	ASSERT_EQ(0, pthread_join(d, NULL));
	ASSERT_EQ(0, hs_pool_stats(pool, &st));
	TH_LOG("a batch is %llu objects; the taker carved %llu",
	       (unsigned long long)batch,
	       (unsigned long long)(st.total - before));
	ASSERT_LE(st.total - before, batch);

	pthread_barrier_wait(&c.done);
	ASSERT_EQ(0, pthread_join(b, NULL));
	for (i = 0; i < c.n; i++)
		hs_pool_free(pool, c.v[i]);
	free(c.v);
	pthread_barrier_destroy(&c.freed);
	pthread_barrier_destroy(&c.done);
	hs_pool_destroy(pool);
}

#define HERD	64

struct herd {
	pthread_barrier_t go, hold;
};

static void *herd_member(void *arg)
{
	struct herd *h = arg;
	void *o;

	pthread_barrier_wait(&h->go);
	o = hs_pool_alloc(pool);
	pthread_barrier_wait(&h->hold);	/* the caches stay full meanwhile */
	pthread_barrier_wait(&h->hold);
	hs_pool_free(pool, o);
	return o ? NULL : (void *)1;
}

TEST(threads_that_all_need_a_slab_grow_the_pool_once)
{
	uint64_t need, room, b;
	struct hs_pool_stats st;
	pthread_t t[HERD];
	struct herd h;
	void *ret;
	int i;

	/*
	 * HERD threads take their first object from a new pool at once:
	 * each finds the slabs empty and needs a new one. Mapping it drops
	 * the pool lock; were every thread that came meanwhile to map a slab
	 * of its own too, the pool would hold many slabs (each twice the size
	 * of the last) for one batch of objects per thread.
	 */
	pool = hs_pool_create("herd", 304, NULL);
	ASSERT_NE(NULL, pool);
	ASSERT_EQ(0, pthread_barrier_init(&h.go, NULL, HERD));
	ASSERT_EQ(0, pthread_barrier_init(&h.hold, NULL, HERD + 1));
	for (i = 0; i < HERD; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, herd_member, &h));
	pthread_barrier_wait(&h.hold);
	ASSERT_EQ(0, hs_pool_stats(pool, &st));
	TH_LOG("%llu objects carved into %llu slabs of %llu bytes in all",
	       (unsigned long long)st.total, (unsigned long long)st.slabs,
	       (unsigned long long)st.bytes);
	EXPECT_EQ(HERD, st.in_use);
	/*
	 * Each slab is twice the last, from one chunk, and is carved whole
	 * (but for an eighth at most) before the next is made: no more
	 * slabs than it takes to hold what was carved, and one.
	 */
	for (need = 0, room = 0, b = 4096; room < st.total * st.stride;
	     b *= 2, need++)
		room += b - b / 8;
	EXPECT_LE(st.slabs, need + 1);
	pthread_barrier_wait(&h.hold);
	for (i = 0; i < HERD; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &ret));
		EXPECT_EQ(NULL, ret);
	}
	pthread_barrier_destroy(&h.go);
	pthread_barrier_destroy(&h.hold);
	hs_pool_destroy(pool);
}

TEST_HARNESS_MAIN
