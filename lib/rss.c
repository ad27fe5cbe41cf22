// SPDX-License-Identifier: MIT
/*
 * libhugeslab: how far the process grew outside the library. Free memory
 * the library keeps for reuse (units with their pages, the heap's kept
 * runs) costs nothing while the process shrinks or holds steady; once the
 * process climbs to a new peak of its own, whatever the library keeps
 * idle adds to that peak, and goes back. CPython on the drop-in with its
 * own small-object allocator held 56 MiB of json.dumps' freed buffers in
 * huge pages while its arenas (mmap'd past malloc) grew 230 MiB.
 *
 * The peak is the kernel's (getrusage's ru_maxrss: about the mm's
 * high-water RSS, file pages and all, but neither hugetlb nor the
 * module's pages), looked at no more than once a millisecond by
 * whichever thread comes first. What the library handed out on pages RSS
 * counts in the meantime (_hs_rss_committed) is taken from its growth:
 * that growth is what the kept memory is there for. Such memory becomes
 * resident as it is touched, a moment later: the growth of one look may
 * be the memory of the look before. Memory touched later than that (a
 * big calloc filled bit by bit) is taken for growth outside: kept memory
 * then goes back early, which costs a page fault later, nothing else.
 */
#include <sys/resource.h>

#include "internal.h"

#define LOOK_NS		1000000ULL

/* Under a sanitizer or memcheck the resident set is mostly their shadow
 * of the library's own memory: there is nothing to learn from it. The
 * looks are still taken, so the checkers see the election and the
 * looker's state; what they see is not acted on. */
#if defined(HS_ASAN) || defined(HS_TSAN) || defined(HS_VALGRIND)
#define NO_ACTING 1
#else
#define NO_ACTING 0
#endif

uint64_t _hs_rss_committed;

static uint64_t look_due;		/* no look before */
static uint64_t outside;		/* bytes so far */
static int looking;			/* a thread is looking */
/* The looker's: what the last look saw, and the growth not yet counted:
 * under a unit, or (negative) the memory handed out before the last look
 * that may not be resident yet. */
static uint64_t max_seen, own_seen;
static int64_t balance;

static void look(void)
{
	uint64_t max, own;
	int64_t own_grew;
	struct rusage ru;

	/* The process's peak, without RUSAGE_SELF's walk of every thread. */
	if (getrusage(RUSAGE_THREAD, &ru) < 0)
		return;
	max = (uint64_t)ru.ru_maxrss << 10;
	/* It is the larger of the high-water mark and the RSS now, which
	 * may fall (swap, evicted file pages) before the mark is updated:
	 * a climb back is no growth. */
	if (max < max_seen)
		max = max_seen;
	own = __atomic_load_n(&_hs_rss_committed, __ATOMIC_RELAXED);
	own_grew = (int64_t)(own - own_seen);
	/* The first look (of a process, or of a fork child) only starts. */
	balance += (max_seen ? (int64_t)(max - max_seen) : 0) - own_grew;
	if (balance < -own_grew)
		balance = -own_grew;
	/* In whole units, what the arenas give back by; the rest waits. */
	if (balance >= (int64_t)HS_UNIT) {
		uint64_t units = (uint64_t)balance / HS_UNIT * HS_UNIT;

		if (!NO_ACTING)
			__atomic_add_fetch(&outside, units, __ATOMIC_RELAXED);
		balance -= (int64_t)units;
	}
	max_seen = max;
	own_seen = own;
}

uint64_t _hs_outside_grown(uint64_t now)
{
	uint64_t due = __atomic_load_n(&look_due, __ATOMIC_RELAXED);

	if (now >= due &&
	    __atomic_compare_exchange_n(&look_due, &due, now + LOOK_NS, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED) &&
	    !__atomic_exchange_n(&looking, 1, __ATOMIC_ACQUIRE)) {
		look();
		__atomic_store_n(&looking, 0, __ATOMIC_RELEASE);
	}
	return __atomic_load_n(&outside, __ATOMIC_RELAXED);
}

/* A thread that was looking is gone; the child's peak starts over. */
void _hs_rss_fork_child(void)
{
	looking = 0;
	max_seen = 0;
	balance = 0;
}
