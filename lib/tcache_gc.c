// SPDX-License-Identifier: MIT
/*
 * libhugeslab: giving back what a thread's heap caches hold and do not
 * need. A cache refills a batch at a time and keeps what its thread frees,
 * so each holds about the most blocks of its class the thread ever had
 * live at once, plus a batch. Per thread that is a few MiB at most; but
 * 64 threads on 2 CPUs churning blocks of 16 B to 64 KiB held 234 MiB for
 * a 32 MiB live set.
 *
 * The measure of need is a low-water mark, as in jemalloc's tcache GC:
 * what a cache never dipped into for a while can go. Keeping the mark on
 * every pop would cost the fast path a compare, so the slow path keeps it
 * instead: a look moves the older half of a cache's objects into its
 * reserve magazine, where the fast path does not see them. If the thread
 * needs them, its cache runs dry and the refill swaps them back in; if the
 * next look finds the cache has not run dry, the reserve goes to the
 * depot, where any thread can have it and the depot's working-set trim
 * sends what nobody takes back to the slabs.
 *
 * Looks are paced by allocations, at no cost to the fast path: a heap
 * cache's count in the state word starts HS_TC_TICK short of its stop
 * bit, so the fast path itself falls into the slow path once every
 * HS_TC_TICK allocations. A tick looks at the thread's next few heap
 * caches in turn: O(1), a pool lock per look at most, never a walk over
 * threads. Up to a thread per CPU there are no looks at all: the caches
 * are then what per-CPU caches would be, and looks would cost a single
 * thread churning blocks a quarter of its speed (the trips to the depot).
 * Beyond that the looks come faster with the threads: the 64 threads held
 * 185 MiB, in the same time.
 */
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "tcache.h"

/* Looks per tick at most: one every HS_TC_TICK / MAX_LOOKS allocations.
 * With 16 the 64 threads held less, but took 15% longer (depot locks). */
#define MAX_LOOKS	8
/* CPUs an affinity mask may name: 8192. */
#define MASK_WORDS	128
/*
 * Less than this in a reserve is not worth a trip to the depot: in small
 * classes (a larson run, 8 threads replacing blocks of 16 to 512 bytes)
 * the trips cost a quarter of the speed, to save 5 MiB. Without them the
 * 64 threads hold 17 MiB more.
 */
#define LOOK_MIN_BYTES	((size_t)16 << 10)

/*
 * The older half of the cache's objects into the (empty) reserve, if
 * that is worth a trip to the depot later. A cache without a reserve
 * gets one here.
 */
static void stash_older_half(hs_pool_t *p, struct hs_tc *tc)
{
	uint32_t held = held_of(tc), k = held / 2;
	struct hs_magazine *r;

	if (k * p->stride < LOOK_MIN_BYTES)
		return;
	r = _hs_tc_reserve(p, tc);
	if (!r)
		return;
	HS_ASSERT(!mag_rounds(r) && k <= r->cap);
	memcpy(r->objs, tc->objs, k * sizeof(void *));
	memmove(tc->objs, tc->objs + k, (held - k) * sizeof(void *));
	mag_set_rounds(r, k);
	cache_set_held(tc, held - k);
	check_state(tc);
}

static void look(hs_pool_t *p, struct hs_tc *tc)
{
	uint32_t rounds = tc->prev ? mag_rounds(tc->prev) : 0;

	/* (A cache with nothing held is about to run dry: a tick comes
	 * before the refill.) */
	if (rounds && tc->dry == tc->gc_dry && held_of(tc) &&
	    rounds * p->stride >= LOOK_MIN_BYTES &&
	    !_hs_tc_reserve_to_depot(p, tc))
		return;
	if (!tc->prev || !mag_rounds(tc->prev))
		stash_older_half(p, tc);
	tc->gc_dry = tc->dry;
}

/*
 * CPUs the process may run on, counted once: the main thread's affinity
 * (its id is the process's; the thread that ticks first may be pinned),
 * else the CPUs online.
 */
static uint32_t cpus(void)
{
	static uint32_t n;
	uint32_t c = __atomic_load_n(&n, __ATOMIC_RELAXED);
	uint64_t mask[MASK_WORDS];
	long got;
	int i;

	if (c)
		return c;
	got = syscall(SYS_sched_getaffinity, getpid(), sizeof(mask), mask);
	c = 0;
	for (i = 0; got > 0 && i < got / (long)sizeof(mask[0]); i++)
		c += (uint32_t)__builtin_popcountll(mask[i]);
	if (!c)
		c = (uint32_t)HS_MAX(get_nprocs(), 1);
	__atomic_store_n(&n, c, __ATOMIC_RELAXED);
	return c;
}

/*
 * A crowd: more threads than CROWD a CPU. Each heap cache may then fill
 * to its share of what CROWD threads a CPU would hold (at least a trip's
 * worth: below), and what overflows goes to the depot at once
 * (cache_drain()), where the other threads find it. A thread that had a burst of blocks
 * and then waits (a thread per connection) otherwise holds them all:
 * 1000 threads on 2 CPUs that each freed 400 KiB held 700 MiB, where
 * glibc's arenas, shared, held 44; now 146. The price is depot trips:
 * 1000 threads all churning blocks at once on 2 CPUs took 100 ns a pair
 * instead of 26 (256 threads: 14 instead of 10). With 4 threads a CPU
 * for a crowd, 256 threads took 70.
 */
#define CROWD		16
/*
 * But never fewer than a trip's worth: CROWD_OBJS objects, or fewer
 * making CROWD_BYTES. At a single object, every free into a full cache
 * and every allocation from an empty one was a trip to the depot with a
 * magazine of one, under the class's lock: bench-heap's crowd (1000
 * threads on 2 CPUs replacing blocks of 16 B to 2 KiB, a yield every 100)
 * took 75 ns an operation, glibc 49 and jemalloc 31. Now 42, at 135 MiB
 * instead of 107 (glibc 149, jemalloc 214).
 */
#define CROWD_OBJS	4
#define CROWD_BYTES	((size_t)8 << 10)

void _hs_tc_limit(const hs_pool_t *p, struct hs_tc *tc)
{
	uint32_t threads = __atomic_load_n(&_hs_tc_threads, __ATOMIC_RELAXED);
	uint32_t fit = CROWD * cpus(), share, trip;

	if (!tc->count_base || threads <= fit) {
		tc->lim = tc->cap;
		return;
	}
	share = (uint32_t)((uint64_t)tc->cap * fit / threads);
	trip = (uint32_t)HS_MIN(CROWD_BYTES / p->stride, CROWD_OBJS);
	tc->lim = HS_MIN(HS_MAX(HS_MAX(share, trip), 1), tc->cap);
}

void _hs_tc_gc_tick(void)
{
	struct hs_tls *t = &_hs_tls;
	uint32_t threads = __atomic_load_n(&_hs_tc_threads, __ATOMIC_RELAXED);
	uint32_t looks, i, id;

	/*
	 * Up to a thread per CPU, the caches are what per-CPU caches would
	 * be, and looks would cost a program speed. Beyond that, what the
	 * caches hold grows with the threads while each thread runs less:
	 * the more threads share a CPU, the more caches a tick looks at.
	 */
	if (threads <= cpus())
		return;
	looks = HS_MIN(threads / cpus(), MAX_LOOKS);
	for (i = 0; looks && i < HS_HEAP_IDS; i++) {
		struct hs_tc *tc;
		hs_pool_t *p;

		id = t->gc_next;
		t->gc_next = id + 1 < HS_HEAP_IDS ? id + 1 : 1;
		tc = id ? _hs_tc_direct[id] : NULL;
		p = tc ? __atomic_load_n(&tc->pool, __ATOMIC_RELAXED) : NULL;
		if (p) {
			look(p, tc);
			looks--;
		}
	}
}
