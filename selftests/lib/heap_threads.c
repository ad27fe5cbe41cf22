// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the heap across threads - blocks made on one thread and
 * freed on another (producer/consumer), many threads mixing every kind of
 * block, threads that exit holding cached blocks, and fork() while other
 * threads allocate: no block is handed out twice, every byte survives,
 * and the counts add up once the threads are gone. A crowd of threads
 * that wait after a burst does not keep the bursts, and a thread with a
 * cancel pending is never cancelled inside the library.
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hs_lib.h"

#define RING	1024

static void *ring[RING];
static unsigned int head, tail;	/* head: written by the producer */
static volatile int stop;

static size_t size_of(unsigned int i)
{
	static const size_t sizes[] = { 8, 24, 100, 500, 700, 3000, 40000,
					300000, 3 << 20 };

	return sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
}

static void *producer(void *arg)
{
	unsigned int i, n = (unsigned int)(uintptr_t)arg;

	for (i = 0; i < n; i++) {
		unsigned char *b = hs_malloc(size_of(i));

		if (!b)
			return (void *)1;
		/* The ends are what the consumer checks. */
		b[0] = b[size_of(i) - 1] = (unsigned char)i;
		while (__atomic_load_n(&head, __ATOMIC_ACQUIRE) -
		       __atomic_load_n(&tail, __ATOMIC_ACQUIRE) == RING)
			;
		ring[head % RING] = b;
		__atomic_store_n(&head, head + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	unsigned int i, n = (unsigned int)(uintptr_t)arg;

	for (i = 0; i < n; i++) {
		unsigned char *b;

		while (__atomic_load_n(&tail, __ATOMIC_ACQUIRE) ==
		       __atomic_load_n(&head, __ATOMIC_ACQUIRE))
			;
		b = ring[tail % RING];
		__atomic_store_n(&tail, tail + 1, __ATOMIC_RELEASE);
		if (b[0] != (i & 0xff) || b[size_of(i) - 1] != (i & 0xff))
			return (void *)1;
		hs_free(b);
	}
	return NULL;
}

/* (A fixture only for its longer timeout: slow under TCG and TSan.) */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

TEST_F_TIMEOUT(slow, producer_consumer, 600)
{
	unsigned int n = 100000;
	struct hs_heap_stats st;
	pthread_t p, c;
	void *rp, *rc;

	ASSERT_EQ(0, pthread_create(&p, NULL, producer, (void *)(uintptr_t)n));
	ASSERT_EQ(0, pthread_create(&c, NULL, consumer, (void *)(uintptr_t)n));
	ASSERT_EQ(0, pthread_join(p, &rp));
	ASSERT_EQ(0, pthread_join(c, &rc));
	ASSERT_EQ(NULL, rp);
	ASSERT_EQ(NULL, rc);
	/* Both threads are gone: their caches went back. */
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_EQ(0, st.blocks);
	ASSERT_EQ(0, st.in_use_bytes);
}

/* Each thread keeps a set of blocks and replaces them at random. */
static void *mixer(void *arg)
{
	enum { SET = 500 };
	unsigned int seed = (unsigned int)(uintptr_t)arg, i, k;
	unsigned char *set[SET] = { 0 };
	size_t sz[SET] = { 0 };

	for (i = 0; i < 20000; i++) {
		k = rand_r(&seed) % SET;
		if (set[k]) {
			if (set[k][0] != (unsigned char)k ||
			    set[k][sz[k] - 1] != (unsigned char)k)
				return (void *)1;
			if (i % 3 || sz[k] > (1 << 20)) {
				hs_free(set[k]);
			} else {
				set[k] = hs_realloc(set[k], sz[k] * 2);
				if (!set[k])
					return (void *)2;
				sz[k] *= 2;
				set[k][sz[k] - 1] = (unsigned char)k;
				continue;
			}
		}
		sz[k] = size_of(rand_r(&seed)) / (1 + rand_r(&seed) % 8) + 1;
		set[k] = (i % 7) ? hs_malloc(sz[k]) : hs_aligned_alloc(256, sz[k]);
		if (!set[k])
			return (void *)3;
		/* The ends are what is checked (and realloc keeps). */
		set[k][0] = set[k][sz[k] - 1] = (unsigned char)k;
	}
	for (k = 0; k < SET; k++)
		hs_free(set[k]);
	return NULL;
}

TEST_F_TIMEOUT(slow, many_threads_mixing_every_kind_of_block, 600)
{
	struct hs_heap_stats st;
	pthread_t t[8];
	void *rc;
	int i;

	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, mixer, (void *)(uintptr_t)(i + 1)));
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &rc));
		ASSERT_EQ(NULL, rc);
	}
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_EQ(0, st.blocks);
}

static void *churn(void *arg)
{
	void *v[300];
	int i;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < 300; i++)
			v[i] = hs_malloc(size_of((unsigned int)i) / 16 + 1);
		for (i = 0; i < 300; i++)
			hs_free(v[i]);
	}
	return NULL;
}

/* The library's own heap memory stays out of a child (as its pools' does);
 * the child's hs_malloc works and never deadlocks. */
TEST(fork_while_other_threads_allocate)
{
	pthread_t t[2];
	int i, st;
	pid_t pid;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn, NULL));
	for (i = 0; i < 50; i++) {
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			void *v[1000];
			int k;

			for (k = 0; k < 1000; k++) {
				v[k] = hs_malloc((size_t)k * 3 + 1);
				if (!v[k])
					_exit(1);
				memset(v[k], 1, (size_t)k * 3 + 1);
			}
			for (k = 0; k < 1000; k++)
				hs_free(v[k]);
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFEXITED(st));
		ASSERT_EQ(0, WEXITSTATUS(st));
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
}

#define IDLE_BLOCKS	28	/* two magazines of 12 KiB blocks */
#define TAKEN_BLOCKS	21	/* what a slab of them holds */

static pthread_barrier_t parked, idle_done, may_exit;

static void *park(void *arg)
{
	(void)arg;
	hs_free(hs_malloc(16));		/* a thread with caches */
	pthread_barrier_wait(&parked);
	pthread_barrier_wait(&may_exit);
	return NULL;
}

/* Fills its cache of 12 KiB blocks, then only ever uses 16 B ones. */
static void *idle_big(void *arg)
{
	void *v[IDLE_BLOCKS];
	long i, bad = 0;

	(void)arg;
	for (i = 0; i < IDLE_BLOCKS; i++)
		bad += !(v[i] = hs_malloc(12000));
	for (i = 0; i < IDLE_BLOCKS; i++)
		hs_free(v[i]);
	for (i = 0; i < 200000; i++) {
		void *p = hs_malloc(16);

		bad += !p;
		hs_free(p);
	}
	pthread_barrier_wait(&idle_done);
	pthread_barrier_wait(&may_exit);
	return (void *)bad;
}

/*
 * With more threads than CPUs, blocks a thread's cache has not needed for
 * a while go where other threads can have them, while it lives: the heap
 * does not grow for blocks it already holds. (Up to a thread per CPU the
 * caches keep them, as per-CPU caches would.)
 */
TEST_F_TIMEOUT(slow, blocks_an_idle_cache_holds_go_to_other_threads, 300)
{
	struct hs_heap_stats before, after;
	void *v[TAKEN_BLOCKS], *rc;
	pthread_t *t, idle;
	int i, nparked;

	/* As many parked threads with caches as the library counts CPUs
	 * (the online ones, or fewer by affinity): with this thread and
	 * the idle one, more threads than CPUs. */
	nparked = (int)sysconf(_SC_NPROCESSORS_ONLN);
	ASSERT_GT(nparked, 0);
	t = calloc((size_t)nparked, sizeof(*t));
	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, pthread_barrier_init(&parked, NULL,
					  (unsigned int)nparked + 1));
	ASSERT_EQ(0, pthread_barrier_init(&idle_done, NULL, 2));
	ASSERT_EQ(0, pthread_barrier_init(&may_exit, NULL,
					  (unsigned int)nparked + 2));
	hs_free(hs_malloc(16));
	for (i = 0; i < nparked; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, park, NULL));
	pthread_barrier_wait(&parked);
	ASSERT_EQ(0, pthread_create(&idle, NULL, idle_big, NULL));
	pthread_barrier_wait(&idle_done);

	ASSERT_EQ(0, hs_heap_stats(&before));
	for (i = 0; i < TAKEN_BLOCKS; i++) {
		v[i] = hs_malloc(12000);
		ASSERT_NE(NULL, v[i]);
		memset(v[i], i, 12000);
	}
	ASSERT_EQ(0, hs_heap_stats(&after));
	EXPECT_LE(after.bytes, before.bytes) {
		TH_LOG("the heap grew by %llu bytes for blocks another thread's cache held idle",
		       (unsigned long long)(after.bytes - before.bytes));
	}
	for (i = 0; i < TAKEN_BLOCKS; i++)
		hs_free(v[i]);

	pthread_barrier_wait(&may_exit);
	for (i = 0; i < nparked; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	free(t);
	ASSERT_EQ(0, pthread_join(idle, &rc));
	ASSERT_EQ(NULL, rc);
}

/*
 * A crowd of threads (a thread per connection): each in turn had a burst
 * of blocks, freed them and waits. Each cache keeps only its share (an
 * object or so of a class), and what a thread frees beyond it goes where
 * the next one takes it: the heap holds less than the bursts added up.
 * (Each kept its own burst, and the heap held 1.8 times the bursts.)
 */
#define BURST		100

/* 16 B to 4 KiB: a few blocks of each of some 40 classes. */
static size_t burst_size(long i)
{
	return 16 + (size_t)(i * 37) % 4000;
}

static pthread_barrier_t burst_exit;
static sem_t burst_done;

static void *burst(void *arg)
{
	void *v[BURST];
	long i, bad = 0;

	(void)arg;
	for (i = 0; i < BURST; i++) {
		v[i] = hs_malloc(burst_size(i));
		bad += !v[i];
		if (v[i])
			memset(v[i], 1, burst_size(i));
	}
	for (i = 0; i < BURST; i++)
		hs_free(v[i]);
	sem_post(&burst_done);
	pthread_barrier_wait(&burst_exit);
	return (void *)bad;
}

TEST_F_TIMEOUT(slow, a_crowd_of_waiting_threads_keeps_no_bursts, 300)
{
	uint64_t bursts = 0;
	struct hs_heap_stats st;
	pthread_attr_t attr;
	pthread_t *t;
	cpu_set_t set;
	int i, n;
	void *bad;

	/*
	 * On one CPU (the library counts the CPUs the process may use once,
	 * later than this), 256 threads are a crowd on any machine.
	 */
	CPU_ZERO(&set);
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(set), &set));
	for (i = 0; !CPU_ISSET(i, &set); i++)
		;
	CPU_ZERO(&set);
	CPU_SET(i, &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	n = 256;
	t = calloc((size_t)n, sizeof(*t));
	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, pthread_attr_init(&attr));
	ASSERT_EQ(0, pthread_attr_setstacksize(&attr, 128 << 10));
	ASSERT_EQ(0, sem_init(&burst_done, 0, 0));
	ASSERT_EQ(0, pthread_barrier_init(&burst_exit, NULL, (unsigned int)n + 1));
	/* One burst at a time: the heap needs one burst's memory. */
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, pthread_create(&t[i], &attr, burst, NULL));
		ASSERT_EQ(0, sem_wait(&burst_done));
	}
	for (i = 0; i < BURST; i++)
		bursts += (uint64_t)n * burst_size(i);
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_LT(st.bytes, bursts)
		TH_LOG("%d waiting threads: the heap holds %llu KiB for bursts of %llu KiB in all",
		       n, (unsigned long long)st.bytes >> 10,
		       (unsigned long long)bursts >> 10);
	pthread_barrier_wait(&burst_exit);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &bad));
		ASSERT_EQ(NULL, bad);
	}
	free(t);
}

/*
 * Threads that each take a block of every class once (short-lived workers,
 * a thread per request) make the heap carve about what they use: a cache
 * fills a little at its first refills and more as its thread keeps coming
 * back. (Each first refill carved half a magazine, about 8 KiB of every
 * class: 64 threads with 60 blocks of 16 B to 1 KiB each, 32 KiB in use,
 * made the heap hold 30 MiB.)
 */
#define ONE_EACH	60

static pthread_barrier_t took, may_go;

static void *one_of_each(void *arg)
{
	void *v[ONE_EACH];
	long i, bad = 0;

	(void)arg;
	for (i = 0; i < ONE_EACH; i++)
		bad += !(v[i] = hs_malloc(16 * (size_t)(i + 1)));
	pthread_barrier_wait(&took);
	pthread_barrier_wait(&may_go);
	for (i = 0; i < ONE_EACH; i++)
		hs_free(v[i]);
	return (void *)bad;
}

TEST(short_lived_threads_carve_what_they_use)
{
	enum { N = 32 };
	uint64_t used = 0;
	struct hs_heap_stats st;
	pthread_t t[N];
	void *bad;
	int i;

	ASSERT_EQ(0, pthread_barrier_init(&took, NULL, N + 1));
	ASSERT_EQ(0, pthread_barrier_init(&may_go, NULL, N + 1));
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, one_of_each, NULL));
	pthread_barrier_wait(&took);
	for (i = 0; i < ONE_EACH; i++)
		used += (uint64_t)N * 16 * (uint64_t)(i + 1);
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_LT(st.bytes, 8 * used)
		TH_LOG("%d threads with %llu KiB in use: the heap holds %llu KiB",
		       N, (unsigned long long)used >> 10,
		       (unsigned long long)st.bytes >> 10);
	pthread_barrier_wait(&may_go);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &bad));
		ASSERT_EQ(NULL, bad);
	}
}

/*
 * The library has no cancellation point, as glibc's malloc has none: a
 * thread with a cancel pending runs through its first calls (which set
 * the library up: they open the device and /sys files) and returns, and
 * no lock stays held. (open() and close() are cancellation points: the
 * thread was cancelled inside with the pool's and the device's locks
 * held, and the next thread to make a pool hung.)
 */
static volatile int cancel_sent;

static void *cancel_pending(void *arg)
{
	hs_pool_t *pool;
	void *p, *q;
	long bad = 0;

	(void)arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	while (!__atomic_load_n(&cancel_sent, __ATOMIC_ACQUIRE))
		;
	/* Deferred: acted on at the next cancellation point only. */
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	p = hs_malloc(100);
	q = hs_malloc(5 << 20);
	pool = hs_pool_create("cancel-pending", 64, NULL);
	bad += !p + !q + !pool;
	if (pool) {
		hs_pool_free(pool, hs_pool_alloc(pool));
		hs_pool_destroy(pool);
	}
	hs_free(p);
	hs_free(q);
	bad += hs_backend() == HS_BACKEND_NONE;
	hs_heap_trim();
	return (void *)(bad + 1);
}

TEST(no_cancellation_point_inside)
{
	hs_pool_t *pool;
	pthread_t t;
	void *ret;

	ASSERT_EQ(0, pthread_create(&t, NULL, cancel_pending, NULL));
	ASSERT_EQ(0, pthread_cancel(t));
	__atomic_store_n(&cancel_sent, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(t, &ret));
	ASSERT_NE(PTHREAD_CANCELED, ret)
		TH_LOG("the thread was cancelled inside the library");
	ASSERT_EQ((void *)1, ret);
	/* Nothing stayed locked. */
	pool = hs_pool_create("after-cancel", 64, NULL);
	ASSERT_NE(NULL, pool);
	hs_pool_free(pool, hs_pool_alloc(pool));
	hs_pool_destroy(pool);
	hs_free(hs_malloc(200));
}

TEST_HARNESS_MAIN
