// SPDX-License-Identifier: MIT
/*
 * hsbench-scale: how the pools' slow paths scale with threads and slabs.
 * Each line: a measurement, its value and its unit.
 *
 *   idle-threads N   ns per alloc+free pair on a path that visits the
 *                    depot every magazine, with N other threads that each
 *                    hold a cache of the pool and sleep
 *   slabs N          us to add one more slab once the pool has N slabs
 *   trim-stall       the longest a thread waited in hs_pool_alloc() while
 *                    another trimmed a pool of many slabs, and the trim's
 *                    own time
 *
 *   hsbench-scale [--threads N] [--slabs N]
 *
 * Runs on whatever backend hugeslab chooses (HUGESLAB_BACKEND; the pages
 * backend maps the slabs without touching them, so thousands fit). Timings
 * are reported, never asserted; compare runs on one machine as ratios.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hugeslab.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- idle threads ---------------------------------------------------------- */

static hs_pool_t *pool;
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open, attached;

static void *idle_thread(void *arg)
{
	void *o = hs_pool_alloc(pool);

	(void)arg;
	hs_pool_free(pool, o);
	pthread_mutex_lock(&gate);
	attached++;
	pthread_cond_broadcast(&gate_cv);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate);
	pthread_mutex_unlock(&gate);
	return NULL;
}

/* ns per pair when every 2 magazines' worth goes through the depot. */
static double depot_loop(void)
{
	enum { BATCH = 1024, ROUNDS = 400 };
	static void *v[BATCH];
	double t0, best = 1e30;
	int r, k, i;

	for (k = 0; k < 5; k++) {
		t0 = now_ns();
		for (r = 0; r < ROUNDS; r++) {
			for (i = 0; i < BATCH; i++)
				v[i] = hs_pool_alloc(pool);
			for (i = 0; i < BATCH; i++)
				hs_pool_free(pool, v[i]);
		}
		t0 = (now_ns() - t0) / ((double)ROUNDS * BATCH);
		if (t0 < best)
			best = t0;
	}
	return best;
}

static int idle_threads(int n)
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	pthread_attr_t attr;
	int i;

	pool = hs_pool_create("scale-idle", 64, NULL);
	if (!pool || !t)
		return -1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	for (i = 0; i < n; i++)
		if (pthread_create(&t[i], &attr, idle_thread, NULL))
			return -1;
	pthread_mutex_lock(&gate);
	while (attached < n)
		pthread_cond_wait(&gate_cv, &gate);
	pthread_mutex_unlock(&gate);
	printf("idle-threads %d\t%.1f\tns per pair\n", n, depot_loop());
	pthread_mutex_lock(&gate);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	hs_pool_destroy(pool);
	gate_open = attached = 0;
	free(t);
	return 0;
}

/* ---- many slabs ------------------------------------------------------------ */

#define OBJ	(64 << 10)

static volatile int trimming;
static double stall_max;

static void *stall_watch(void *arg)
{
	hs_pool_t *p = arg;
	double t0, d;
	void *v[64];
	int i;

	while (!__atomic_load_n(&trimming, __ATOMIC_ACQUIRE))
		;
	while (__atomic_load_n(&trimming, __ATOMIC_ACQUIRE)) {
		/* More than a cache holds: the slow path runs. */
		for (i = 0; i < 64; i++) {
			t0 = now_ns();
			v[i] = hs_pool_alloc(p);
			d = now_ns() - t0;
			if (d > stall_max)
				stall_max = d;
		}
		for (i = 0; i < 64; i++)
			hs_pool_free(p, v[i]);
	}
	return NULL;
}

static int many_slabs(int nslabs)
{
	struct hs_pool_stats st;
	hs_pool_t *p = hs_pool_create("scale-slabs", OBJ, NULL);
	size_t cap = 1 << 20, n = 0, i;
	void **v = malloc(cap * sizeof(*v));
	int mark = 1000;
	double t0, last = now_ns();
	uint64_t slabs_at_mark = 0;
	pthread_t t;

	if (!p || !v)
		return -1;
	/* Grow slab by slab; report the cost of the last ones at each mark. */
	for (;;) {
		if (n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				return -1;
		}
		v[n] = hs_pool_alloc(p);
		if (!v[n]) {
			fprintf(stderr, "hsbench-scale: %s\n", hs_last_error());
			return -1;
		}
		n++;
		if (n % 256)
			continue;
		hs_pool_stats(p, &st);
		if (st.slabs >= (uint64_t)mark) {
			t0 = now_ns();
			printf("slabs %d\t%.1f\tus per slab added\n", mark,
			       (t0 - last) / 1e3 / (double)(st.slabs - slabs_at_mark));
			if (mark >= nslabs)
				break;
			mark *= 2;
			if (mark > nslabs)
				mark = nslabs;
			last = t0;
			slabs_at_mark = st.slabs;
		} else if (!slabs_at_mark && st.slabs >= (uint64_t)mark / 2) {
			last = now_ns();
			slabs_at_mark = st.slabs;
		}
	}
	/* Free everything into the depot, then trim it while another
	 * thread allocates. */
	for (i = 0; i < n; i++)
		hs_pool_free(p, v[i]);
	if (pthread_create(&t, NULL, stall_watch, p))
		return -1;
	__atomic_store_n(&trimming, 1, __ATOMIC_RELEASE);
	t0 = now_ns();
	hs_pool_trim(p);
	t0 = now_ns() - t0;
	__atomic_store_n(&trimming, 0, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	printf("trim %llu slabs\t%.1f\tms\n", (unsigned long long)st.slabs, t0 / 1e6);
	printf("trim-stall\t%.1f\tms, the longest alloc during it\n", stall_max / 1e6);
	hs_pool_destroy(p);
	free(v);
	return 0;
}

int main(int argc, char **argv)
{
	int threads = 4000, slabs = 8000, c;

	while ((c = getopt_long(argc, argv, "", (const struct option[]){
			{ "threads", required_argument, NULL, 't' },
			{ "slabs", required_argument, NULL, 's' },
			{ NULL, 0, NULL, 0 } }, NULL)) != -1) {
		if (c == 't')
			threads = atoi(optarg);
		else if (c == 's')
			slabs = atoi(optarg);
		else
			return 2;
	}
	printf("# libhugeslab %s, backend %s\n", hs_version(),
	       hs_backend_name(hs_backend()));
	if (idle_threads(0) || idle_threads(threads) || many_slabs(slabs)) {
		fprintf(stderr, "hsbench-scale: %s\n", hs_last_error());
		return 1;
	}
	return 0;
}
