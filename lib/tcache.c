// SPDX-License-Identifier: MIT
/*
 * libhugeslab: per-thread caches and the allocation fast paths.
 *
 * Each thread has an array of cache pointers indexed by pool id. The fast
 * paths take no lock and no atomic read-modify-write: they check that the
 * cache belongs to the pool (ids are reused after a pool is destroyed) and
 * pop or push one pointer. A free from another thread goes into that
 * thread's cache like any other free: objects migrate, nothing is shared.
 *
 * When a thread exits, a pthread key destructor gives its cached objects
 * back to the pools (see _hs_pool_tc_flush_locked).
 */
#include <errno.h>
#include <string.h>

#include "debug.h"
#include "pool.h"

struct hs_tls {
	struct hs_tc **tcs;
	uint32_t n;
	bool keyed;		/* the exit destructor is armed */
	bool exited;		/* it ran: no more caches for this thread */
};

static __thread struct hs_tls hs_tls __attribute__((tls_model("initial-exec")));
/* The first pools' caches again, where the fast path finds them in one load. */
#define DIRECT_IDS	16
static __thread struct hs_tc *hs_direct[DIRECT_IDS]
	__attribute__((tls_model("initial-exec")));
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static size_t tc_bytes(uint32_t cap)
{
	return sizeof(struct hs_tc) + cap * sizeof(void *);
}

void _hs_tc_free(struct hs_tc *tc)
{
	_hs_mag_free(tc->prev);
	/* A checker build's handle: the state word and a pointer back. */
	_hs_meta_free(tc->checked, sizeof(*tc->checked) + sizeof(void *));
	_hs_meta_free(tc, tc_bytes(tc->cap));
}

static void tls_exit(void *arg)
{
	struct hs_tls *t = &hs_tls;
	uint32_t i;

	(void)arg;
	pthread_mutex_lock(&_hs_pools_lock);
	for (i = 0; i < t->n; i++) {
		struct hs_tc *tc = t->tcs[i];
		hs_pool_t *p;

		if (!tc)
			continue;
		/* Pools are destroyed under _hs_pools_lock: p is alive. */
		p = __atomic_load_n(&tc->pool, __ATOMIC_ACQUIRE);
		if (p) {
			pthread_mutex_lock(&p->lock);
			_hs_pool_tc_flush_locked(p, tc);
			pthread_mutex_unlock(&p->lock);
		}
		_hs_tc_free(tc);
	}
	pthread_mutex_unlock(&_hs_pools_lock);
	_hs_meta_free(t->tcs, t->n * sizeof(*t->tcs));
	memset(hs_direct, 0, sizeof(hs_direct));
	t->tcs = NULL;
	t->n = 0;
	t->exited = true;
}

static void tls_key_init(void)
{
	pthread_key_create(&tls_key, tls_exit);
}

bool _hs_tc_is_mine(const struct hs_tc *tc, uint32_t id)
{
	return id < hs_tls.n && hs_tls.tcs[id] == tc;
}

/* Checker builds: the handle hs_pool_cache() hands out (see tc_of_cache). */
static bool checked_init(struct hs_tc *tc)
{
#if defined(HS_ASAN) || defined(HS_VALGRIND)
	tc->checked = _hs_meta_alloc(sizeof(*tc->checked) + sizeof(void *));
	if (!tc->checked)
		return false;
	tc->checked->objs[0] = tc;	/* its state stays 0: always slow */
#else
	(void)tc;
#endif
	return true;
}

/* This thread's cache for @p, made if needed; NULL if none can be had. */
struct hs_tc *_hs_tc_get(hs_pool_t *p)
{
	struct hs_tls *t = &hs_tls;
	struct hs_tc *tc;

	if (t->exited)
		return NULL;
	if (!t->keyed) {
		pthread_once(&tls_once, tls_key_init);
		if (pthread_setspecific(tls_key, t))
			return NULL;
		t->keyed = true;
	}
	if (p->id >= t->n) {
		uint32_t n = t->n ? t->n : 8;
		struct hs_tc **tcs;

		while (n <= p->id)
			n *= 2;
		tcs = _hs_meta_alloc(n * sizeof(*tcs));
		if (!tcs)
			return NULL;
		if (t->tcs)
			memcpy(tcs, t->tcs, t->n * sizeof(*tcs));
		_hs_meta_free(t->tcs, t->n * sizeof(*tcs));
		t->tcs = tcs;
		t->n = n;
	}
	tc = t->tcs[p->id];
	if (tc && __atomic_load_n(&tc->pool, __ATOMIC_ACQUIRE) == p)
		return tc;
	if (tc) {
		/* Left by a destroyed pool that had this id. */
		_hs_tc_free(tc);
		t->tcs[p->id] = NULL;
		if (p->id < DIRECT_IDS)
			hs_direct[p->id] = NULL;
	}

	tc = _hs_meta_alloc(tc_bytes(p->mag_cap));
	if (!tc)
		return NULL;
	tc->cap = p->mag_cap;
	tc->prev = _hs_mag_new(p->mag_cap);
	if (!tc->prev || !checked_init(tc)) {
		_hs_tc_free(tc);
		return NULL;
	}
	_hs_cache_set_held(tc, 0);
	tc->pool = p;
	pthread_mutex_lock(&p->lock);
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

/* ---- fast paths ---------------------------------------------------------- */

static inline struct hs_tc *tc_of(const hs_pool_t *p)
{
	struct hs_tls *t = &hs_tls;
	struct hs_tc *tc;

	if (likely(p->id < DIRECT_IDS))
		tc = hs_direct[p->id];
	else if (p->id < t->n)
		tc = t->tcs[p->id];
	else
		return NULL;
	if (unlikely(!tc || __atomic_load_n(&tc->pool, __ATOMIC_RELAXED) != p))
		return NULL;
	return tc;
}

HS_EXPORT void *hs_pool_alloc(hs_pool_t *p)
{
	struct hs_tc *tc = tc_of(p);

	if (likely(tc != NULL && (tc->c.state & HS_CACHE_HELD_MASK))) {
		void *obj = _hs_cache_pop(&tc->c);

		_hs_dbg_alloc(p, obj);
		return obj;
	}
	return _hs_pool_alloc_slow(p, tc);
}

HS_EXPORT void hs_pool_free(hs_pool_t *p, void *obj)
{
	struct hs_tc *tc;

	if (unlikely(!obj))
		return;
	_hs_dbg_free(p, obj);
	tc = tc_of(p);
	if (likely(tc != NULL && (tc->c.state & HS_CACHE_ROOM_MASK))) {
		_hs_cache_push(&tc->c, obj);
		return;
	}
	_hs_pool_free_slow(p, tc, obj);
}

/* ---- handles for the inline fast paths ----------------------------------- */

/*
 * Checker builds hand out a handle with no room and nothing held, so the
 * caller's inline code always calls in here, where hs_pool_alloc() and
 * hs_pool_free() check the objects. Its objs[0] names the thread cache.
 */
static struct hs_tc *tc_of_cache(hs_cache_t *c)
{
#if defined(HS_ASAN) || defined(HS_VALGRIND)
	return c->objs[0];
#else
	return (struct hs_tc *)((char *)c - offsetof(struct hs_tc, c));
#endif
}

HS_EXPORT hs_cache_t *hs_pool_cache(hs_pool_t *p)
{
	struct hs_tc *tc = _hs_tc_get(p);

	if (!tc) {
		_hs_fail(ENOMEM, "pool %s: no cache for this thread (out of memory, or the thread is exiting)",
			 p->name);
		return NULL;
	}
#if defined(HS_ASAN) || defined(HS_VALGRIND)
	return tc->checked;
#else
	return &tc->c;
#endif
}

HS_EXPORT void *hs_cache_alloc_slow(hs_cache_t *c)
{
	struct hs_tc *tc = tc_of_cache(c);

#if defined(HS_ASAN) || defined(HS_VALGRIND)
	return hs_pool_alloc(tc->pool);
#else
	return _hs_pool_alloc_slow(tc->pool, tc);
#endif
}

HS_EXPORT void hs_cache_free_slow(hs_cache_t *c, void *obj)
{
	struct hs_tc *tc = tc_of_cache(c);

	if (!obj)
		return;
#if defined(HS_ASAN) || defined(HS_VALGRIND)
	hs_pool_free(tc->pool, obj);
#else
	_hs_pool_free_slow(tc->pool, tc, obj);
#endif
}
