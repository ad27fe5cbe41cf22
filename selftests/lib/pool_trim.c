// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: pools give memory back with hysteresis - after a workload
 * shrinks, the pool's slabs and the process's memory drop without being
 * asked; a workload that oscillates faster than the trim interval keeps its
 * memory and never releases a slab; hs_pool_trim() gives back at once.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kselftest_harness.h"
#include "hs_lib.h"

#define PEAK_OBJS	(2u << 20)	/* 128 MiB of 64-byte objects */

static void *objs[PEAK_OBJS];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define ON_VALGRIND()	RUNNING_ON_VALGRIND
#else
#define ON_VALGRIND()	0
#endif

/*
 * Memory the process holds for its pools, in bytes: its huge pages on the
 * kmod and hugetlb backends, else its resident set (which a sanitizer's
 * shadow memory swamps, and memcheck's, a quarter of what it tracks,
 * grows and shrinks with what is in use: -1 then, nothing to measure).
 */
static long long proc_mem(void)
{
	bool huge = hs_backend() == HS_BACKEND_KMOD ||
		    hs_backend() == HS_BACKEND_HUGETLB;
	FILE *f;
	char line[128];
	long long kb, total = 0;

	if (!huge && (HS_UNDER_SANITIZER || ON_VALGRIND()))
		return -1;
	f = fopen("/proc/self/status", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if ((!huge && sscanf(line, "VmRSS: %lld kB", &kb) == 1) ||
		    sscanf(line, "HugetlbPages: %lld kB", &kb) == 1)
			total += kb;
	fclose(f);
	return total * 1024;
}

/* Allocation traffic that goes through the depot (a magazine or more). */
static void churn(hs_pool_t *p, int n)
{
	int i;

	for (i = 0; i < n; i++)
		objs[i] = hs_pool_alloc(p);
	for (i = 0; i < n; i++)
		hs_pool_free(p, objs[i]);
}

TEST(shrinking_workload_gives_memory_back)
{
	struct hs_pool_stats st;
	long long peak_mem, mem, want;
	uint64_t peak_bytes;
	hs_pool_t *p;
	double end;
	unsigned int i;

	setenv("HUGESLAB_TRIM_MS", "100", 1);
	p = hs_pool_create("shrink", 64, NULL);
	ASSERT_NE(NULL, p);
	for (i = 0; i < PEAK_OBJS; i++) {
		objs[i] = hs_pool_alloc(p);
		ASSERT_NE(NULL, objs[i]) TH_LOG("%s", hs_last_error());
		*(volatile char *)objs[i] = 1;
	}
	ASSERT_EQ(0, hs_pool_stats(p, &st));
	peak_bytes = st.bytes;
	peak_mem = proc_mem();
	ASSERT_GE(peak_bytes, (uint64_t)PEAK_OBJS * 64);
	want = peak_mem - (long long)peak_bytes / 2;
	for (i = 0; i < PEAK_OBJS; i++)
		hs_pool_free(p, objs[i]);

	/*
	 * Keep using the pool lightly; it must shed the rest by itself, and
	 * the process give the pages back to the kernel: the arena keeps a
	 * freed slab's pages an interval more, so both are waited for.
	 */
	end = now_s() + 20;
	do {
		churn(p, 1000);
		ASSERT_EQ(0, hs_pool_stats(p, &st));
		mem = proc_mem();
	} while ((st.bytes > peak_bytes / 4 ||
		  (peak_mem >= 0 && mem >= want)) && now_s() < end);
	ASSERT_LE(st.bytes, peak_bytes / 4)
		TH_LOG("pool still holds %llu of %llu bytes",
		       (unsigned long long)st.bytes,
		       (unsigned long long)peak_bytes);
	ASSERT_GT(st.slabs_released, 0);
	if (peak_mem >= 0)
		ASSERT_LT(mem, want)
			TH_LOG("memory %lld, peak %lld", mem, peak_mem);
	hs_pool_destroy(p);
}

/*
 * One run of the oscillating workload with a trim interval of @ms: at
 * least 10 swings and 3 intervals. Returns the longest time between two
 * peaks (from the pool's creation for the first), in seconds.
 */
static double oscillate(hs_pool_t *p, double ms, int *cycles)
{
	double start = now_s(), last = start, gap = 0, t;

	*cycles = 0;
	do {
		churn(p, 100000);	/* 0 -> ~6 MiB -> 0 */
		t = now_s();
		gap = t - last > gap ? t - last : gap;
		last = t;
		(*cycles)++;
	} while (*cycles < 10 || t < start + 3 * ms / 1000);
	return gap;
}

TEST(oscillating_workload_does_not_thrash)
{
	struct hs_pool_stats st;
	char env[32];
	hs_pool_t *p;
	double ms, gap = 0;
	int cycles = 0;

	/*
	 * The claim holds for a working set that peaks several times an
	 * interval. A loaded machine (a sanitizer, a VM next door) can stall
	 * this process longer than that: then the run proves nothing and
	 * goes again with a longer interval - up to 4 s, so at most
	 * 3 + 6 + 12 s of runs: the harness ends a test at 30.
	 */
	for (ms = 1000;; ms *= 2) {
		snprintf(env, sizeof(env), "%.0f", ms);
		setenv("HUGESLAB_TRIM_MS", env, 1);
		p = hs_pool_create("oscillate", 64, NULL);
		ASSERT_NE(NULL, p);
		gap = oscillate(p, ms, &cycles);
		ASSERT_EQ(0, hs_pool_stats(p, &st));
		hs_pool_destroy(p);
		if (gap < ms / 1000 / 3 || ms >= 4000)
			break;
		TH_LOG("peaks %.2f s apart with a %.0f ms interval: again",
		       gap, ms);
	}
	ASSERT_LT(gap, ms / 1000 / 3)
		TH_LOG("this machine stalls too long to tell: peaks %.2f s apart",
		       gap);
	ASSERT_EQ(0, st.slabs_released)
		TH_LOG("%d cycles released %llu slabs", cycles,
		       (unsigned long long)st.slabs_released);
	ASSERT_GE(st.bytes, 100000ull * 64);
}

TEST(trim_gives_back_at_once)
{
	struct hs_pool_stats st;
	hs_pool_t *p;
	size_t got;
	int i;

	setenv("HUGESLAB_TRIM_MS", "100000", 1);	/* no automatic trim */
	p = hs_pool_create("trim", 256, NULL);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 200000; i++)
		objs[i] = hs_pool_alloc(p);
	for (i = 0; i < 200000; i++)
		hs_pool_free(p, objs[i]);
	ASSERT_EQ(0, hs_pool_stats(p, &st));
	ASSERT_GE(st.bytes, 200000ull * 256);
	got = hs_pool_trim(p);
	ASSERT_GT(got, 0);
	ASSERT_EQ(0, hs_pool_stats(p, &st));
	/* Only what this thread's cache still holds keeps a slab. */
	ASSERT_LE(st.bytes, HS_2M);
	ASSERT_EQ(0, hs_pool_trim(p));
	/* Still a working pool. */
	churn(p, 10000);
	hs_pool_destroy(p);
}

static int ctors, dtors;

static int count_ctor(void *obj, void *arg)
{
	(void)obj;
	(void)arg;
	ctors++;
	return 0;
}

static void count_dtor(void *obj, void *arg)
{
	(void)obj;
	(void)arg;
	dtors++;
}

TEST(trim_runs_destructors_of_released_objects)
{
	struct hs_pool_opts o = { .ctor = count_ctor, .dtor = count_dtor };
	hs_pool_t *p;
	int i;

	p = hs_pool_create("trimdtor", 512, &o);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 20000; i++)
		objs[i] = hs_pool_alloc(p);
	for (i = 0; i < 20000; i++)
		hs_pool_free(p, objs[i]);
	hs_pool_trim(p);
	/* Memory left the pool: its objects were destructed. */
	ASSERT_GT(dtors, 0);
	ASSERT_LE(dtors, ctors);
	hs_pool_destroy(p);
	ASSERT_EQ(ctors, dtors);
}

/*
 * A burst that empties whole regions (a batch freed, its pool destroyed)
 * leaves their pages for the trim interval like any other free memory: a
 * pool made again right after finds them instead of faulting in and
 * zeroing 48 MiB anew; after the interval they go back. (The module's
 * regions keep their pages until the region goes, so there they go at
 * once.)
 */
#define BURST_OBJS	(12u << 10)	/* 48 MiB of 4 KiB objects */

static void burst(struct __test_metadata *_metadata, hs_pool_t *p)
{
	unsigned int i;

	for (i = 0; i < BURST_OBJS; i++) {
		objs[i] = hs_pool_alloc(p);
		ASSERT_NE(NULL, objs[i]) TH_LOG("%s", hs_last_error());
		memset(objs[i], 1, 4096);
	}
}

static void burst_end(hs_pool_t *p)
{
	unsigned int i;

	for (i = 0; i < BURST_OBJS; i++)
		hs_pool_free(p, objs[i]);
	hs_pool_destroy(p);
}

TEST(an_emptied_region_keeps_its_pages_an_interval)
{
	const long long mib = 1 << 20;
	long long before, peak, freed, again, later;
	hs_pool_t *p, *small;
	double end;

	ASSERT_EQ(0, setenv("HUGESLAB_TRIM_MS", "2000", 1));
	before = proc_mem();
	ASSERT_NE(NULL, p = hs_pool_create("burst", 4096, NULL));
	burst(_metadata, p);
	peak = proc_mem();
	burst_end(p);
	freed = proc_mem();
	ASSERT_NE(NULL, p = hs_pool_create("burst-again", 4096, NULL));
	burst(_metadata, p);
	again = proc_mem();
	burst_end(p);
	if (before < 0)
		return;		/* a sanitizer's shadow: nothing to measure */
	ASSERT_GE(peak - before, 40 * mib);
	if (hs_backend() != HS_BACKEND_KMOD) {
		ASSERT_GE(freed, peak - 8 * mib)
			TH_LOG("gave back at once: %lld -> %lld MiB", peak / mib, freed / mib);
		ASSERT_LE(again, peak + 8 * mib)
			TH_LOG("took new pages: %lld -> %lld MiB", peak / mib, again / mib);
	}
	/* After the interval, with a little traffic, they go back. */
	ASSERT_NE(NULL, small = hs_pool_create("after-burst", 64, NULL));
	end = now_s() + 20;
	do {
		churn(small, 1000);
		later = proc_mem();
	} while (later >= before + 16 * mib && now_s() < end);
	ASSERT_LT(later, before + 16 * mib)
		TH_LOG("still held: %lld MiB, %lld before the burst", later / mib, before / mib);
	hs_pool_destroy(small);
}

TEST_HARNESS_MAIN
