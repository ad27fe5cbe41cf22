// SPDX-License-Identifier: MIT
/*
 * libhugeslab: a thread cache's life - made on a thread's first use of a
 * pool, detached from a destroyed pool, flushed when its thread exits, and
 * reset or dropped in a fork child.
 *
 * A thread finds its caches in an array indexed by pool id (ids are reused
 * after a pool is destroyed, so a cache found there is checked against its
 * pool). A detached cache's memory stays with its thread - the last
 * GRAVE_MAX per thread - so a stale handle fails in the slow path instead
 * of touching freed memory. The thread's exit (a pthread key's destructor)
 * gives every cache's objects back to their pools.
 */
#include <string.h>

#include "tcache.h"

__thread struct hs_tls _hs_tls __attribute__((tls_model("initial-exec")));
/* The first ids' caches again, where the fast paths find them in one load:
 * the heap's small classes, then the first pools made. */
__thread struct hs_tc *_hs_tc_direct[HS_DIRECT_IDS]
	__attribute__((tls_model("initial-exec")));
#define DIRECT_IDS	HS_DIRECT_IDS
#define hs_direct	_hs_tc_direct
uint32_t _hs_tc_threads;
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

#define GRAVE_MAX	64

static size_t tc_bytes(uint32_t cap)
{
	return sizeof(struct hs_tc) + cap * sizeof(void *);
}

static void tc_free(struct hs_tc *tc)
{
	_hs_mag_free(tc->prev);
	/* A checker build's handle: the state word and a pointer back. */
	_hs_meta_free(tc->checked, sizeof(*tc->checked) + sizeof(void *));
	_hs_meta_free(tc, tc_bytes(tc->cap));
}

/* Keep a detached cache while its thread lives, the last GRAVE_MAX. */
static void grave_add(struct hs_tls *t, struct hs_tc *tc)
{
	struct hs_tc **pp;

	tc->grave = t->grave;
	t->grave = tc;
	if (++t->ngrave <= GRAVE_MAX)
		return;
	for (pp = &t->grave; (*pp)->grave; pp = &(*pp)->grave)
		;
	tc_free(*pp);
	*pp = NULL;
	t->ngrave--;
}

static void tc_unlink_locked(hs_pool_t *p, struct hs_tc *tc)
{
	if (tc->prevtc)
		tc->prevtc->next = tc->next;
	else
		p->tcs = tc->next;
	if (tc->next)
		tc->next->prevtc = tc->prevtc;
	tc->next = tc->prevtc = NULL;
}

/*
 * A thread cache leaves the pool (thread exit): its reserve goes to the
 * depot, with the cache's objects in it if it was empty (or in an empty
 * magazine of the depot's if it had none), else those go back to their
 * slabs.
 */
static void tc_flush_locked(hs_pool_t *p, struct hs_tc *tc)
{
	struct hs_magazine *m = tc->prev;
	uint32_t i, held;

	_hs_tc_sync_locked(p, tc);
	/* (A cache without a reserve: an empty magazine from the depot.) */
	if (!m && held_of(tc))
		m = _hs_depot_take_empty_locked(p);
	if (m && !mag_rounds(m))
		cache_exchange(tc, m);
	held = held_of(tc);
	for (i = 0; i < held; i++)
		_hs_slab_put_locked(p, tc->objs[i]);
	cache_set_held(tc, 0);
	if (m && mag_rounds(m))
		_hs_depot_put_full_locked(p, m);
	else if (m)
		_hs_depot_put_empty_locked(p, m);
	__atomic_store_n(&tc->prev, NULL, __ATOMIC_RELAXED);
	tc_unlink_locked(p, tc);
	__atomic_store_n(&tc->pool, NULL, __ATOMIC_RELEASE);
}

static void tls_exit(void *arg)
{
	struct hs_tls *t = &_hs_tls;
	struct hs_tc *tc;
	uint32_t i;

	(void)arg;
	pthread_mutex_lock(&_hs_pools_lock);
	for (i = 0; i < t->n; i++) {
		hs_pool_t *p;

		tc = t->tcs[i];
		if (!tc)
			continue;
		/* Pools are destroyed under _hs_pools_lock: p is alive. */
		p = __atomic_load_n(&tc->pool, __ATOMIC_ACQUIRE);
		if (p) {
			pthread_mutex_lock(&p->lock);
			tc_flush_locked(p, tc);
			pthread_mutex_unlock(&p->lock);
		}
		tc_free(tc);
	}
	pthread_mutex_unlock(&_hs_pools_lock);
	while ((tc = t->grave)) {
		t->grave = tc->grave;
		tc_free(tc);
	}
	t->ngrave = 0;
	_hs_meta_free(t->tcs, t->n * sizeof(*t->tcs));
	memset(hs_direct, 0, sizeof(hs_direct));
	t->tcs = NULL;
	t->n = 0;
	t->exited = true;
	__atomic_sub_fetch(&_hs_tc_threads, 1, __ATOMIC_RELAXED);
}

static void tls_key_init(void)
{
	pthread_key_create(&tls_key, tls_exit);
}

/* Checker builds: the handle hs_pool_cache() hands out (see tc_of_cache). */
static bool checked_init(struct hs_tc *tc)
{
#if defined(HS_ASAN) || defined(HS_VALGRIND)
	tc->checked = _hs_meta_alloc(sizeof(*tc->checked) + sizeof(void *));
	if (!tc->checked)
		return false;
	/* Its state stays 0: always slow. */
	((void **)(tc->checked + 1))[0] = tc;
#else
	(void)tc;
#endif
	return true;
}

/* Room in this thread's array for @id; false without memory. */
static bool tls_grow(struct hs_tls *t, uint32_t id)
{
	uint32_t n = t->n ? t->n : 8;
	struct hs_tc **tcs;

	while (n <= id)
		n *= 2;
	tcs = _hs_meta_alloc(n * sizeof(*tcs));
	if (!tcs)
		return false;
	if (t->tcs)
		memcpy(tcs, t->tcs, t->n * sizeof(*tcs));
	_hs_meta_free(t->tcs, t->n * sizeof(*tcs));
	t->tcs = tcs;
	t->n = n;
	return true;
}

struct hs_tc *_hs_tc_get(hs_pool_t *p)
{
	struct hs_tls *t = &_hs_tls;
	struct hs_tc *tc;

	/* Checked first: a dying pool's id may already be another pool's,
	 * and this thread's cache under it is that pool's. */
	if (t->exited || __atomic_load_n(&p->dying, __ATOMIC_ACQUIRE))
		return NULL;
	if (!t->keyed) {
		pthread_once(&tls_once, tls_key_init);
		if (pthread_setspecific(tls_key, t))
			return NULL;
		t->keyed = true;
		__atomic_add_fetch(&_hs_tc_threads, 1, __ATOMIC_RELAXED);
	}
	if (p->id >= t->n && !tls_grow(t, p->id))
		return NULL;
	tc = t->tcs[p->id];
	if (tc && __atomic_load_n(&tc->pool, __ATOMIC_ACQUIRE) == p)
		return tc;
	if (tc) {
		/* Left by a destroyed pool that had this id. */
		t->tcs[p->id] = NULL;
		if (p->id < DIRECT_IDS)
			hs_direct[p->id] = NULL;
		grave_add(t, tc);
	}

	tc = _hs_meta_alloc(tc_bytes(p->mag_cap));
	if (!tc)
		return NULL;
	tc->cap = p->mag_cap;
	tc->lim = tc->cap;
	/* A pool's batch is half a magazine from the start (cache_refill()). */
	tc->fill = HS_MAX(tc->cap / (p->heap ? 16 : 2), 1);
	tc->owner = t;
	/* (No reserve until the cache overflows: tcache.c, cache_drain().) */
	if (!checked_init(tc)) {
		tc_free(tc);
		return NULL;
	}
	cache_set_held(tc, 0);
	tc->count_base = p->heap ? HS_TC_COUNT_BASE : 0;
	cache_restart_count(tc);
	pthread_mutex_lock(&p->lock);
	if (p->dying) {
		/* No cache may attach once destroy detached them all. */
		pthread_mutex_unlock(&p->lock);
		tc_free(tc);
		return NULL;
	}
	tc->pool = p;
	tc->next = p->tcs;
	if (p->tcs)
		p->tcs->prevtc = tc;
	p->tcs = tc;
	pthread_mutex_unlock(&p->lock);
	t->tcs[p->id] = tc;
	if (p->id < DIRECT_IDS)
		hs_direct[p->id] = tc;
	return tc;
}

void _hs_tc_detach_all_locked(hs_pool_t *p, struct hs_magazine **mags)
{
	struct hs_tc *tc, *next;
	struct hs_magazine *m;
	uint32_t held;

	for (tc = p->tcs; tc; tc = next) {
		next = tc->next;
		/* The cache's objects ride in a magazine of their own. */
		held = (uint32_t)(state_of(tc) & HS_CACHE_HELD_MASK);
		m = held ? _hs_mag_new(held) : NULL;
		if (m) {
			memcpy(m->objs, tc->objs, held * sizeof(void *));
			m->rounds = held;
			m->next = *mags;
			*mags = m;
		} else if (held) {
			/* Without memory: back to the slabs, destructed there. */
			while (held--)
				_hs_slab_put_locked(p, tc->objs[held]);
		}
		__atomic_store_n(&tc->c.state, 0, __ATOMIC_RELAXED);
		if (tc->prev) {
			tc->prev->next = *mags;
			*mags = tc->prev;
			__atomic_store_n(&tc->prev, NULL, __ATOMIC_RELAXED);
		}
		tc->next = tc->prevtc = NULL;
		__atomic_store_n(&tc->pool, NULL, __ATOMIC_RELEASE);
	}
	p->tcs = NULL;
}

/* Fork child: only the forking thread is left (and has caches if it had). */
void _hs_tc_fork_child_threads(void)
{
	_hs_tc_threads = _hs_tls.keyed && !_hs_tls.exited;
}

/* Fork child: only the forking thread is left; its caches start empty. */
void _hs_tc_fork_child(hs_pool_t *p)
{
	struct hs_tc *tc, *next;

	for (tc = p->tcs; tc; tc = next) {
		next = tc->next;
		if (tc->owner == &_hs_tls) {
			tc->c.state = 0;
			cache_set_held(tc, 0);
			cache_restart_count(tc);
			if (tc->prev)
				mag_set_rounds(tc->prev, 0);
			tc->allocs_done = tc->moved_in = tc->moved_out = 0;
			tc->synced_allocs = tc->synced_frees = 0;
			continue;
		}
		tc_unlink_locked(p, tc);
		tc_free(tc);
	}
}

void _hs_tc_fork_child_keep(hs_pool_t *p)
{
	struct hs_tc *tc, *next;

	/*
	 * The other threads' caches are dropped with what they held, unread:
	 * their owners wrote them without a lock and ran on while fork()
	 * copied the address space, page by page, so the copy may show a
	 * cache halfway through trading objects with its reserve, or its
	 * state word and its objects from different moments, and the same
	 * block in two places. The child loses those blocks (it cannot tell
	 * which are real); it must never hand one out twice. Their reserve
	 * pointers are written under the pool lock, held across fork.
	 */
	for (tc = p->tcs; tc; tc = next) {
		next = tc->next;
		if (tc->owner == &_hs_tls)
			continue;
		tc_unlink_locked(p, tc);
		tc_free(tc);
	}
}
