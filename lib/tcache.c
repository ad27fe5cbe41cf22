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
 * When a thread exits, a pthread key destructor hands its magazines to the
 * pools' depots.
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

void _hs_tc_free(struct hs_tc *tc)
{
	_hs_mag_free(tc->c.loaded);
	_hs_mag_free(tc->c.prev);
	_hs_meta_free(tc, sizeof(*tc));
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
		p = __atomic_load_n(&tc->c.pool, __ATOMIC_ACQUIRE);
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
	if (tc && __atomic_load_n(&tc->c.pool, __ATOMIC_ACQUIRE) == p)
		return tc;
	if (tc) {
		/* Left by a destroyed pool that had this id. */
		_hs_tc_free(tc);
		t->tcs[p->id] = NULL;
		if (p->id < DIRECT_IDS)
			hs_direct[p->id] = NULL;
	}

	tc = _hs_meta_alloc(sizeof(*tc));
	if (!tc)
		return NULL;
	tc->c.loaded = _hs_mag_new(p->mag_cap);
	tc->c.prev = _hs_mag_new(p->mag_cap);
	if (!tc->c.loaded || !tc->c.prev) {
		_hs_tc_free(tc);
		return NULL;
	}
	tc->c.pool = p;
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
	if (unlikely(!tc || __atomic_load_n(&tc->c.pool, __ATOMIC_RELAXED) != p))
		return NULL;
	return tc;
}

HS_EXPORT void *hs_pool_alloc(hs_pool_t *p)
{
	struct hs_tc *tc = tc_of(p);

	if (likely(tc != NULL)) {
		struct hs_magazine *m = tc->c.loaded;
		uint64_t st = m->state;	/* ours: a plain load */

		if (likely(st & HS_MAG_ROUNDS_MASK)) {
			void *obj = m->objs[(st & HS_MAG_ROUNDS_MASK) - 1];

			_hs_mag_store(m, st + HS_MAG_POP);
			_hs_dbg_alloc(p, obj);
			return obj;
		}
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
	if (likely(tc != NULL)) {
		struct hs_magazine *m = tc->c.loaded;
		uint64_t st = m->state;

		if (likely((st & HS_MAG_ROUNDS_MASK) < m->cap)) {
			m->objs[st & HS_MAG_ROUNDS_MASK] = obj;
			_hs_mag_store(m, st + 1);
			return;
		}
	}
	_hs_pool_free_slow(p, tc, obj);
}

/* ---- handles for the inline fast paths ----------------------------------- */

#if defined(HS_ASAN) || defined(HS_VALGRIND)
/*
 * Checker builds hand out a cache with room for nothing, so the caller's
 * inline code always calls in here, where the objects are checked.
 */
static struct hs_magazine no_room;

static bool cache_is_checked(const hs_cache_t *c)
{
	return c->loaded == &no_room;
}
#else
static bool cache_is_checked(const hs_cache_t *c)
{
	(void)c;
	return false;
}
#endif

HS_EXPORT hs_cache_t *hs_pool_cache(hs_pool_t *p)
{
	struct hs_tc *tc = _hs_tc_get(p);

	if (!tc) {
		_hs_fail(ENOMEM, "pool %s: no cache for this thread (out of memory, or the thread is exiting)",
			 p->name);
		return NULL;
	}
#if defined(HS_ASAN) || defined(HS_VALGRIND)
	tc->checked.loaded = tc->checked.prev = &no_room;
	tc->checked.pool = p;
	return &tc->checked;
#else
	return &tc->c;
#endif
}

HS_EXPORT void *hs_cache_alloc_slow(hs_cache_t *c)
{
	if (cache_is_checked(c))
		return hs_pool_alloc(c->pool);
	return _hs_pool_alloc_slow(c->pool, (struct hs_tc *)c);
}

HS_EXPORT void hs_cache_free_slow(hs_cache_t *c, void *obj)
{
	if (!obj)
		return;
	if (cache_is_checked(c)) {
		hs_pool_free(c->pool, obj);
		return;
	}
	_hs_pool_free_slow(c->pool, (struct hs_tc *)c, obj);
}
