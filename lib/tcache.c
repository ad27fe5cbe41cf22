// SPDX-License-Identifier: MIT
/*
 * libhugeslab: per-thread caches - the allocation fast paths, the slow
 * paths that refill an empty cache from its reserve, the depot or the slabs
 * (constructing fresh objects) and drain a full one. A cache's life -
 * made, detached, a thread's exit, fork - is in tcache_life.c.
 *
 * Each thread has an array of cache pointers indexed by pool id. The fast
 * paths take no lock and no atomic read-modify-write: they check that the
 * cache belongs to the pool (ids are reused after a pool is destroyed) and
 * pop or push one pointer. A free from another thread goes into that
 * thread's cache like any other free: objects migrate, nothing is shared.
 *
 * Slow paths take the pool lock, do O(1) work (a magazine exchanged, a
 * slab taken or carved), fold this cache's counts into the pool's totals,
 * and let the depot trim a batch. Constructors and destructors (run by
 * trimming) are user code: they run with no lock held and may use this very
 * pool on this very thread, so nothing read before them is trusted after.
 *
 * A destroyed pool detaches every cache: its state word goes to zero (no
 * room, nothing held, so the inline functions call in here, which refuse),
 * and the cache's memory stays with its thread (tcache_life.c), so a
 * stale handle fails here instead of touching freed memory.
 */
#include <errno.h>
#include <string.h>

#include "tcache.h"

#define DIRECT_IDS	HS_DIRECT_IDS
#define hs_direct	_hs_tc_direct

/* ---- counters ------------------------------------------------------------- */

void _hs_tc_counts(const struct hs_tc *tc, uint64_t *allocs, uint64_t *frees)
{
	struct hs_magazine *prev = __atomic_load_n(&tc->prev, __ATOMIC_ACQUIRE);
	/* allocs_done before the state word: a heap cache's tick (below)
	 * restarts the count before it adds it here, so a reader in between
	 * counts less, never twice. */
	uint64_t a = __atomic_load_n(&tc->allocs_done, __ATOMIC_ACQUIRE);
	uint64_t st = state_of(tc);
	uint64_t in = __atomic_load_n(&tc->moved_in, __ATOMIC_RELAXED);
	uint64_t out = __atomic_load_n(&tc->moved_out, __ATOMIC_RELAXED);
	uint64_t held = st & HS_CACHE_HELD_MASK;

	a += count_of(tc, st);
	if (prev)
		held += mag_rounds(prev);
	*allocs = a;
	*frees = a + held + out > in ? a + held + out - in : 0;
}

/*
 * Under the pool lock, by the owner: move the state word's count into
 * allocs_done (so it never nears bit 63) and fold what this cache did
 * since its last visit into the pool's totals, which publishing reads.
 */
void _hs_tc_sync_locked(hs_pool_t *p, struct hs_tc *tc)
{
	uint64_t s = state_of(tc), a, f;

	check_state(tc);
	if (!tc->count_base) {
		/* (A heap cache's count runs on to its tick, which
		 * harvests it: tcache_gc.c.) */
		_hs_add(&tc->allocs_done, count_of(tc, s));
		cache_restart_count(tc);
	}
	_hs_tc_counts(tc, &a, &f);
	if (a > tc->synced_allocs)
		p->allocs += a - tc->synced_allocs;
	if (f > tc->synced_frees)
		p->frees += f - tc->synced_frees;
	tc->synced_allocs = HS_MAX(a, tc->synced_allocs);
	tc->synced_frees = HS_MAX(f, tc->synced_frees);
}
/* ---- slow paths ------------------------------------------------------------ */

/* A dying pool refuses allocations, and destructs what is freed into it
 * (its slabs' destructors may already have run). */
static void *refuse_dying(hs_pool_t *p)
{
	_hs_fail(EINVAL, "pool %s is destroyed or being destroyed", p->name);
	return NULL;
}

static void free_into_dying(hs_pool_t *p, void *obj)
{
	if (p->dtor) {
		_hs_dbg_dtor(p, obj);
		p->dtor(obj, p->arg);
	}
}

static void reverse(void **v, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n / 2; i++) {
		void *t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}

/*
 * Up to @want objects for a thread cache, under the lock: constructed ones
 * into @m, never-constructed ones (fresh carvings, failed constructions)
 * into @fresh for the caller to construct after unlocking. May drop the
 * lock to map a new slab. Returns how many went into @fresh; -1 if nothing
 * could be had at all (errno and message say why).
 */
static int fill_locked(hs_pool_t *p, struct hs_magazine *m, uint32_t want,
		       void **fresh)
{
	uint32_t got = 0, r0 = mag_rounds(m);
	uint64_t made;
	int nfresh = 0;
	void *obj;

	while (got < want && (obj = _hs_slab_raw_take_locked(p))) {
		fresh[nfresh++] = obj;
		got++;
	}
	while (got < want && (obj = _hs_slab_take_locked(p))) {
		mag_put(m, obj);
		got++;
	}
	while (got < want) {
		uint32_t n, i;
		struct hs_slab *s;

		if (p->ctor) {
			n = _hs_slab_carve_locked(p, fresh + nfresh, want - got);
			nfresh += (int)n;
		} else {
			/* Nothing to construct (the heap's classes): straight
			 * into the magazine, no second pass. */
			n = _hs_slab_carve_locked(p, m->objs + mag_rounds(m),
						  want - got);
			for (i = 0; i < n; i++) {
				_hs_dbg_carve(p, m->objs[mag_rounds(m) + i]);
				_hs_dbg_enter(p, m->objs[mag_rounds(m) + i]);
			}
			mag_set_rounds(m, mag_rounds(m) + n);
			p->carved += n;
		}
		got += n;
		if (n || got == want)
			continue;
		/*
		 * A new slab, mapped unlocked, by one thread at a time: the
		 * others that ran dry meanwhile carve from its slab. Were
		 * each to map its own, a crowd of threads starting together
		 * would leave a slab per thread mostly uncarved (a thousand
		 * threads, 32 MiB of slabs for 0.4 MiB of one class's
		 * objects).
		 */
		made = p->nslabs + p->released;
		pthread_mutex_unlock(&p->lock);
		pthread_mutex_lock(&p->grow_lock);
		pthread_mutex_lock(&p->lock);
		if (p->nslabs + p->released != made) {
			pthread_mutex_unlock(&p->grow_lock);
			continue;	/* grown meanwhile: carve again */
		}
		pthread_mutex_unlock(&p->lock);
		s = _hs_slab_new(p);
		pthread_mutex_lock(&p->lock);
		if (s)
			_hs_slab_add_locked(p, s);
		pthread_mutex_unlock(&p->grow_lock);
		if (!s)
			break;
	}
	/*
	 * The slabs give objects in address order and a cache pops from the
	 * top: reversed, a thread's next allocations climb through memory.
	 * Objects allocated together are then walked upwards together (a
	 * garbage collector's lists, a request's structures), which the
	 * CPU's next-line prefetchers follow; descending they do not. In
	 * CPython's GC-heavy workload this alone was 6% of its time. (Fresh
	 * objects come out reversed already: cache_stash() turns them over.)
	 */
	reverse(m->objs + r0, mag_rounds(m) - r0);
	return got ? nfresh : -1;
}

/*
 * Construct @n fresh objects into @m. On a constructor failure the rest go
 * back to the raw list; returns the first failure's errno or 0.
 */
static int construct(hs_pool_t *p, struct hs_magazine *m, void **fresh, int n)
{
	int i, err = 0;

	for (i = 0; i < n; i++) {
		_hs_dbg_carve(p, fresh[i]);
		if (p->ctor) {
			err = p->ctor(fresh[i], p->arg);
			if (err) {
				pthread_mutex_lock(&p->lock);
				_hs_slab_raw_put_locked(p, fresh + i,
							(uint32_t)(n - i));
				pthread_mutex_unlock(&p->lock);
				break;
			}
		}
		_hs_dbg_enter(p, fresh[i]);
		mag_put(m, fresh[i]);
	}
	if (i) {
		pthread_mutex_lock(&p->lock);
		p->carved += (uint64_t)i;
		pthread_mutex_unlock(&p->lock);
	}
	return err;
}

/* No thread cache (thread exiting, or no memory for one): one object. */
static void *alloc_uncached(hs_pool_t *p)
{
	union {				/* a magazine with room for one */
		struct hs_magazine m;
		char room[sizeof(struct hs_magazine) + sizeof(void *)];
	} one = { .m = { .cap = 1 } };
	struct hs_magazine *m;
	void *fresh[1];
	int n, err;

	pthread_mutex_lock(&p->lock);
	if (p->dying) {
		pthread_mutex_unlock(&p->lock);
		return refuse_dying(p);
	}
	p->misses++;
	m = _hs_depot_take_full_locked(p);
	if (m) {
		mag_put(&one.m, mag_take(m));
		n = 0;
		if (mag_rounds(m))
			_hs_depot_put_full_locked(p, m);
		else
			_hs_depot_put_empty_locked(p, m);
	} else {
		n = fill_locked(p, &one.m, 1, fresh);
	}
	pthread_mutex_unlock(&p->lock);
	if (n < 0)
		return NULL;
	err = construct(p, &one.m, fresh, n);
	if (!mag_rounds(&one.m)) {
		if (err)
			_hs_fail(err, "pool %s: the constructor failed (%s)",
				 p->name, _hs_strerror(err));
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	p->allocs++;
	pthread_mutex_unlock(&p->lock);
	_hs_dbg_alloc(p, one.m.objs[0]);
	return one.m.objs[0];
}

static void free_uncached(hs_pool_t *p, void *obj)
{
	bool ok;

	pthread_mutex_lock(&p->lock);
	if (p->dying) {
		pthread_mutex_unlock(&p->lock);
		free_into_dying(p, obj);
		return;
	}
	ok = _hs_slab_put_locked(p, obj);
	HS_ASSERT(ok);
	(void)ok;
	p->frees++;
	pthread_mutex_unlock(&p->lock);
}

/*
 * Objects new to this thread (@m, not shared) into the reserve, the cache,
 * or, with no room in either, back to their slabs.
 */
static void cache_stash(hs_pool_t *p, struct hs_tc *tc, struct hs_magazine *m)
{
	struct hs_magazine *prev = tc->prev;
	uint32_t back = 0;

	while (mag_rounds(m)) {
		void *obj = mag_take(m);

		if (prev && mag_rounds(prev) < prev->cap) {
			mag_put(prev, obj);
		} else if (has_room(tc)) {
			cache_push(tc, obj);
		} else {
			pthread_mutex_lock(&p->lock);
			_hs_slab_put_locked(p, obj);
			pthread_mutex_unlock(&p->lock);
			back++;
		}
	}
	_hs_add(&tc->moved_out, back);
}

/*
 * The end of a slow path: trimming's batch, publishing, unlock. Every few
 * (when the depot looks at the clock), the arenas' pages due back go too:
 * a program that stopped taking and freeing slabs but still allocates
 * must not keep what it freed before.
 */
static void slow_done_unlock(hs_pool_t *p)
{
	struct hs_slab *released = _hs_depot_tick_locked(p);
	bool look = !(p->ticks % HS_TICKS_PER_LOOK);

	_hs_publish_locked(p);
	pthread_mutex_unlock(&p->lock);
	_hs_slab_release(p, released);
	if (look)
		_hs_arena_purge_due();
}

/*
 * Fill an empty cache: from the reserve magazine, else a full magazine
 * from the depot, else objects from the slabs. Returns 0 or an errno.
 */
static int cache_refill(hs_pool_t *p, struct hs_tc *tc)
{
	union {				/* a magazine with room for MAG_MAX */
		struct hs_magazine m;
		char room[sizeof(struct hs_magazine) + MAG_MAX * sizeof(void *)];
	} made = { .m = { .cap = MAG_MAX } };
	struct hs_magazine *m, *prev = tc->prev;
	void *fresh[MAG_MAX];
	int n, err = 0;
	uint32_t r0;

	tc->dry++;
	_hs_tc_limit(p, tc);
	if (prev && mag_rounds(prev)) {
		cache_exchange(tc, prev);
		return 0;
	}
	pthread_mutex_lock(&p->lock);
	p->misses++;
	_hs_tc_sync_locked(p, tc);
	m = _hs_depot_take_full_locked(p);
	if (m) {
		/* Trade our emptiness for a full magazine from the depot. */
		_hs_add(&tc->moved_in, mag_rounds(m));
		cache_exchange(tc, m);
		_hs_depot_put_empty_locked(p, m);
		slow_done_unlock(p);
		return 0;
	}
	/*
	 * From the slabs: constructed objects into the (empty) reserve
	 * magazine, or into a magazine of our own where there is no reserve
	 * yet, fresh ones constructed into that one once unlocked.
	 * Destructors and constructors are user code that may use this pool
	 * on this thread, so the cache and the reserve are looked at again
	 * after them.
	 *
	 * A heap cache starts with small batches and doubles them as its
	 * thread comes back: a thread that takes a block or two of many
	 * classes (a worker per request) would otherwise carve half a
	 * magazine, some 8 KiB, of each (32 such threads held 10 times
	 * what they used).
	 */
	m = prev ? prev : &made.m;
	n = fill_locked(p, m, HS_MAX(HS_MIN(tc->fill, tc->lim), 1), fresh);
	tc->fill = HS_MIN(tc->fill * 2, HS_MAX(p->mag_cap / 2, 1));
	if (n < 0)
		err = errno;	/* the slab's mapping failed: its errno */
	_hs_add(&tc->moved_in, mag_rounds(m));
	slow_done_unlock(p);
	r0 = mag_rounds(&made.m);
	if (n > 0) {
		err = construct(p, &made.m, fresh, n);
		_hs_add(&tc->moved_in, mag_rounds(&made.m) - r0);
	}
	if (!tc->prev && !held_of(tc) && mag_rounds(&made.m) <= tc->lim) {
		/* Without a reserve, straight in: the fresh ones turned
		 * over, as cache_stash() would. */
		reverse(made.m.objs + r0, mag_rounds(&made.m) - r0);
		cache_exchange(tc, &made.m);
	}
	cache_stash(p, tc, &made.m);
	if (!held_of(tc) && tc->prev && mag_rounds(tc->prev))
		cache_exchange(tc, tc->prev);
	if (held_of(tc))
		return 0;
	if (err && n >= 0)
		_hs_fail(err, "pool %s: the constructor failed (%s)", p->name,
			 _hs_strerror(err));
	return err ? err : ENOMEM;
}

/* Checker builds: a cache used by a thread other than its owner. */
static void check_owner(const struct hs_tc *tc)
{
#if defined(HS_ASAN) || defined(HS_VALGRIND)
	if (tc->owner != &_hs_tls)
		_hs_bug("a thread cache of pool '%s' used by a thread that does not own it (hs_pool_cache() caches are per thread)",
			tc->pool ? tc->pool->name : "(destroyed)");
#else
	(void)tc;
#endif
}

void *_hs_pool_alloc_slow(hs_pool_t *p, struct hs_tc *tc)
{
	int saved = _hs_err_begin(), err;
	void *obj;

	if (!tc)
		tc = _hs_tc_get(p);
	if (!tc) {
		obj = alloc_uncached(p);
		goto out;
	}
	if (state_of(tc) & HS_CACHE_COUNT_STOP) {
		if (tc->count_base) {
			/* A heap cache's tick: no lock, the pool's totals get
			 * the count at the next visit. (Restarted first: see
			 * _hs_tc_counts().) */
			uint64_t n = count_of(tc, state_of(tc));

			cache_restart_count(tc);
			__atomic_store_n(&tc->allocs_done, tc->allocs_done + n,
					 __ATOMIC_RELEASE);
			_hs_tc_gc_tick();
		} else {
			/* Days of fast-path allocations: harvest the count. */
			pthread_mutex_lock(&p->lock);
			_hs_tc_sync_locked(p, tc);
			pthread_mutex_unlock(&p->lock);
		}
	}
	/* (A loop: a destructor run by the refill may have emptied it.) */
	while (!held_of(tc)) {
		err = cache_refill(p, tc);
		if (err) {
			errno = err;
			obj = NULL;
			goto out;
		}
	}
	obj = cache_pop(tc);
	_hs_dbg_alloc(p, obj);
out:
	if (obj)
		_hs_err_ok(saved);
	else
		_hs_err_failed();
	return obj;
}

/*
 * By the owner, for a trip to the depot: the pool locked, this cache's
 * counts synced, and an empty magazine from the depot. NULL, unlocked,
 * if there was no memory for one.
 */
static struct hs_magazine *lock_take_empty(hs_pool_t *p, struct hs_tc *tc)
{
	struct hs_magazine *m;

	pthread_mutex_lock(&p->lock);
	m = _hs_depot_take_empty_locked(p);
	if (!m) {
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	_hs_tc_sync_locked(p, tc);
	mag_set_rounds(m, 0);
	return m;
}

bool _hs_tc_reserve_to_depot(hs_pool_t *p, struct hs_tc *tc)
{
	struct hs_magazine *m = lock_take_empty(p, tc);

	if (!m)
		return false;
	_hs_add(&tc->moved_out, mag_rounds(tc->prev));
	_hs_depot_put_full_locked(p, tc->prev);
	__atomic_store_n(&tc->prev, m, __ATOMIC_RELEASE);
	slow_done_unlock(p);
	return true;
}

struct hs_magazine *_hs_tc_reserve(hs_pool_t *p, struct hs_tc *tc)
{
	struct hs_magazine *r = tc->prev;

	if (!r) {
		r = _hs_mag_new(p->mag_cap);
		if (r)
			__atomic_store_n(&tc->prev, r, __ATOMIC_RELEASE);
	}
	return r;
}

/* By the owner: the cache's objects to the depot, in an empty magazine
 * from there. False if there was no memory for one. */
static bool cache_to_depot(hs_pool_t *p, struct hs_tc *tc)
{
	struct hs_magazine *m = lock_take_empty(p, tc);

	if (!m)
		return false;
	cache_exchange(tc, m);
	_hs_add(&tc->moved_out, mag_rounds(m));
	_hs_depot_put_full_locked(p, m);
	slow_done_unlock(p);
	return true;
}

/*
 * Make room in a full cache: swap with the reserve if it has room, else
 * the (full) reserve goes to the depot and the cache's objects into an
 * empty magazine that becomes the reserve. In a crowd, or in a thread
 * that has only freed since it last came here, the cache's objects go to
 * the depot and the reserve stays as it was, empty. False if there was
 * no memory for a magazine.
 *
 * A cache has no reserve until it first overflows here (or tcache_gc.c
 * stashes into one): a thread that takes a block or two of a class never
 * needs one, and in a crowd the depot's magazines carry what overflows.
 * A reserve each was a third of what a thousand threads' caches took.
 */
static bool cache_drain(hs_pool_t *p, struct hs_tc *tc)
{
	struct hs_magazine *r = tc->prev;
	uint64_t allocs, frees;
	bool only_frees;

	_hs_tc_counts(tc, &allocs, &frees);
	only_frees = allocs == tc->drain_allocs;

	tc->drain_allocs = allocs;
	if (tc->lim < tc->cap || only_frees) {
		/*
		 * A crowd (tcache_gc.c), or a thread that has only freed
		 * since the cache last overflowed (a consumer of what another
		 * thread allocates): the reserve keeps nothing, the objects
		 * go where other threads find them. A full reserve would
		 * only hold a second magazine no one here allocates from.
		 */
		if (r && mag_rounds(r) && !_hs_tc_reserve_to_depot(p, tc))
			return false;
		return cache_to_depot(p, tc);
	}
	r = _hs_tc_reserve(p, tc);
	if (!r)
		return cache_to_depot(p, tc);
	if (mag_rounds(r) < r->cap) {
		cache_exchange(tc, r);
		return true;
	}
	if (!_hs_tc_reserve_to_depot(p, tc))
		return false;
	cache_exchange(tc, tc->prev);
	return true;
}

void _hs_pool_free_slow(hs_pool_t *p, struct hs_tc *tc, void *obj)
{
	int saved = errno;	/* free preserves errno */

	if (!tc)
		tc = _hs_tc_get(p);
	if (!tc) {
		free_uncached(p, obj);
		errno = saved;
		return;
	}
	_hs_tc_limit(p, tc);
	/* (A loop: a destructor run by the drain may have filled it.) */
	while (!has_room(tc)) {
		if (!cache_drain(p, tc)) {
			/* No memory for a magazine: straight back to the
			 * slab (a free that went in and out of the cache). */
			pthread_mutex_lock(&p->lock);
			_hs_slab_put_locked(p, obj);
			pthread_mutex_unlock(&p->lock);
			_hs_add(&tc->moved_out, 1);
			errno = saved;
			return;
		}
	}
	cache_push(tc, obj);
	errno = saved;
}

/* ---- fast paths ------------------------------------------------------------ */

static inline struct hs_tc *tc_of(const hs_pool_t *p)
{
	struct hs_tls *t = &_hs_tls;
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

	if (likely(tc != NULL)) {
		uint64_t held = tc->c.state &
				(HS_CACHE_HELD_MASK | HS_CACHE_COUNT_STOP);

		if (likely(held - 1 < HS_CACHE_HELD_MASK)) {
			void *obj = cache_pop(tc);

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
	if (likely(tc != NULL && (tc->c.state & HS_CACHE_ROOM_MASK))) {
		cache_push(tc, obj);
		return;
	}
	_hs_pool_free_slow(p, tc, obj);
}

/* ---- handles for the inline fast paths ----------------------------------- */

/*
 * Checker builds hand out a handle with no room and nothing held, so the
 * caller's inline code always calls in here, where hs_pool_alloc() and
 * hs_pool_free() check the objects. The word after its state names the
 * thread cache.
 */
static struct hs_tc *tc_of_cache(hs_cache_t *c)
{
#if defined(HS_ASAN) || defined(HS_VALGRIND)
	return ((void **)(c + 1))[0];
#else
	return (struct hs_tc *)((char *)c - offsetof(struct hs_tc, c));
#endif
}

HS_EXPORT hs_cache_t *hs_pool_cache(hs_pool_t *p)
{
	struct hs_tc *tc = _hs_tc_get(p);

	if (!tc) {
		_hs_fail(__atomic_load_n(&p->dying, __ATOMIC_RELAXED) ?
			 EINVAL : ENOMEM,
			 "pool %s: no cache for this thread (the pool is being destroyed, the thread is exiting, or out of memory)",
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
	hs_pool_t *p = __atomic_load_n(&tc->pool, __ATOMIC_ACQUIRE);

	check_owner(tc);
	if (!p) {
		_hs_fail(EINVAL, "hs_cache_alloc: the cache's pool was destroyed");
		return NULL;
	}
#if defined(HS_ASAN) || defined(HS_VALGRIND)
	return hs_pool_alloc(p);
#else
	return _hs_pool_alloc_slow(p, tc);
#endif
}

HS_EXPORT void hs_cache_free_slow(hs_cache_t *c, void *obj)
{
	struct hs_tc *tc = tc_of_cache(c);
	hs_pool_t *p = __atomic_load_n(&tc->pool, __ATOMIC_ACQUIRE);

	check_owner(tc);
	/* After its pool was destroyed: the object went with the pool. */
	if (!obj || !p)
		return;
#if defined(HS_ASAN) || defined(HS_VALGRIND)
	hs_pool_free(p, obj);
#else
	_hs_pool_free_slow(p, tc, obj);
#endif
}
