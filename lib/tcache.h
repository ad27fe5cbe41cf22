/* SPDX-License-Identifier: MIT */
/*
 * libhugeslab: what the files of the per-thread caches share - a cache's
 * state word and inline objects, its magazines, and the thread's array of
 * caches. tcache.c has the paths through a cache (fast and slow),
 * tcache_life.c a cache's life (made, detached, flushed at thread exit,
 * reset in a fork child), tcache_gc.c what heap caches give back.
 */
#ifndef HS_TCACHE_H
#define HS_TCACHE_H

#include <string.h>

#include "debug.h"
#include "pool.h"

/* A thread's caches, by pool id. */
struct hs_tls {
	struct hs_tc **tcs;
	uint32_t n;
	bool keyed;		/* the exit destructor is armed */
	bool exited;		/* it ran: no more caches for this thread */
	uint32_t ngrave;
	struct hs_tc *grave;	/* detached caches, newest first */
	uint32_t gc_next;	/* the heap id tcache_gc.c looks at next */
};

extern __thread struct hs_tls _hs_tls __attribute__((tls_model("initial-exec")));

/* ---- the state word and the inline objects (owner only) ------------------ */

static inline uint64_t state_of(const struct hs_tc *tc)
{
	return __atomic_load_n(&tc->c.state, __ATOMIC_RELAXED);
}

/*
 * held + room is what the last slow path set (cache_set_held()) and the
 * fast paths keep: the cache's limit, or more it was given at once (a
 * magazine from the depot), never more than its capacity.
 */
static inline void check_state(const struct hs_tc *tc)
{
	uint64_t s = __atomic_load_n(&tc->c.state, __ATOMIC_RELAXED);

	HS_ASSERT(!tc->pool || (s & HS_CACHE_HELD_MASK) +
		  ((s & HS_CACHE_ROOM_MASK) >> 8) <= tc->cap);
	(void)s;
}

/* Allocations the state word @s of @tc counts since the last visit. */
static inline uint64_t count_of(const struct hs_tc *tc, uint64_t s)
{
	uint64_t n = s >> HS_CACHE_COUNT_SHIFT;

	/* (A detached cache's word is 0, below any base.) */
	return n > tc->count_base ? n - tc->count_base : 0;
}

/* The owner, visiting: the count starts again from the cache's base. */
static inline void cache_restart_count(struct hs_tc *tc)
{
	uint64_t s = state_of(tc) & (HS_CACHE_HELD_MASK | HS_CACHE_ROOM_MASK);

	__atomic_store_n(&tc->c.state,
			 s | tc->count_base << HS_CACHE_COUNT_SHIFT,
			 __ATOMIC_RELAXED);
}

static inline uint32_t held_of(const struct hs_tc *tc)
{
	return (uint32_t)(state_of(tc) & HS_CACHE_HELD_MASK);
}

static inline bool has_room(const struct hs_tc *tc)
{
	return state_of(tc) & HS_CACHE_ROOM_MASK;
}

/* The owner's pop (counted as an allocation) and push: the inline ones. */
static inline void *cache_pop(struct hs_tc *tc)
{
	uint64_t s = tc->c.state;

	__atomic_store_n(&tc->c.state, s + HS_CACHE_POP, __ATOMIC_RELAXED);
	return tc->objs[(s & HS_CACHE_HELD_MASK) - 1];
}

static inline void cache_push(struct hs_tc *tc, void *obj)
{
	uint64_t s = tc->c.state;

	tc->objs[s & HS_CACHE_HELD_MASK] = obj;
	__atomic_store_n(&tc->c.state, s + HS_CACHE_PUSH, __ATOMIC_RELAXED);
}

/* The owner sets how many objects its cache holds, with room up to its
 * limit; the count stays. */
static inline void cache_set_held(struct hs_tc *tc, uint32_t held)
{
	uint64_t s = state_of(tc) & ~(HS_CACHE_HELD_MASK | HS_CACHE_ROOM_MASK);

	HS_ASSERT(held <= tc->cap && tc->lim && tc->lim <= tc->cap);
	s |= held | (uint64_t)(HS_MAX(tc->lim, held) - held) << 8;
	__atomic_store_n(&tc->c.state, s, __ATOMIC_RELAXED);
}

static inline uint32_t mag_rounds(const struct hs_magazine *m)
{
	return __atomic_load_n(&m->rounds, __ATOMIC_RELAXED);
}

static inline void mag_set_rounds(struct hs_magazine *m, uint32_t n)
{
	__atomic_store_n(&m->rounds, n, __ATOMIC_RELAXED);
}

static inline void mag_put(struct hs_magazine *m, void *obj)
{
	uint32_t n = mag_rounds(m);

	HS_ASSERT(n < m->cap);
	m->objs[n] = obj;
	mag_set_rounds(m, n + 1);
}

static inline void *mag_take(struct hs_magazine *m)
{
	uint32_t n = mag_rounds(m) - 1;

	mag_set_rounds(m, n);
	return m->objs[n];
}

/*
 * Swap the objects in the cache with those in @m: what swapping two
 * magazine pointers was, with the loaded magazine inline. Costs a copy of
 * at most a magazine, once per magazine's worth of fast-path operations.
 */
static inline void cache_exchange(struct hs_tc *tc, struct hs_magazine *m)
{
	uint32_t held = held_of(tc), rounds = mag_rounds(m);
	uint32_t i, common = HS_MIN(held, rounds);

	HS_ASSERT(held <= m->cap && rounds <= tc->cap);
	for (i = 0; i < common; i++) {
		void *t = tc->objs[i];

		tc->objs[i] = m->objs[i];
		m->objs[i] = t;
	}
	if (held > rounds)
		memcpy(m->objs + common, tc->objs + common,
		       (held - common) * sizeof(void *));
	else
		memcpy(tc->objs + common, m->objs + common,
		       (rounds - common) * sizeof(void *));
	cache_set_held(tc, rounds);
	mag_set_rounds(m, held);
	check_state(tc);
}

/*
 * Under the pool lock, by the owner: fold what the cache did since its
 * last visit into the pool's totals (tcache.c).
 */
void _hs_tc_sync_locked(hs_pool_t *p, struct hs_tc *tc);

/*
 * By the owner: the cache's reserve magazine, made if it has none yet (a
 * cache has none until it first overflows). NULL if there was no memory.
 */
struct hs_magazine *_hs_tc_reserve(hs_pool_t *p, struct hs_tc *tc);

/*
 * By the owner: the reserve (with objects) to the depot, an empty
 * magazine in its place. False if there was no memory for one.
 */
bool _hs_tc_reserve_to_depot(hs_pool_t *p, struct hs_tc *tc);

/*
 * A heap cache's count starts HS_TC_TICK short of bit 63 (the count's
 * stop), so every HS_TC_TICK allocations from it take the slow path, which
 * calls _hs_tc_gc_tick() (tcache_gc.c).
 */
#define HS_TC_TICK		256ULL
#define HS_TC_COUNT_BASE	((HS_CACHE_COUNT_STOP >> HS_CACHE_COUNT_SHIFT) - \
				 HS_TC_TICK)
/* Threads that have caches (tcache_life.c). */
extern uint32_t _hs_tc_threads;
void _hs_tc_gc_tick(void);

/*
 * By the owner, in a slow path: the limit of a heap cache for the threads
 * there are now (tcache_gc.c). Pools' caches keep their capacity.
 */
void _hs_tc_limit(const hs_pool_t *p, struct hs_tc *tc);

#endif /* HS_TCACHE_H */
