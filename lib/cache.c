// SPDX-License-Identifier: MIT
/*
 * libhugeslab: the thread caches' slow paths - an empty cache refilled
 * from its reserve, the depot or the slabs (constructing fresh objects), a
 * full one drained into them, and a cache's objects given back when its
 * thread exits. The fast paths are in tcache.c and the public header.
 *
 * User code (constructors, and destructors run by trimming) runs here with
 * no lock held and may use this very pool on this very thread, so nothing
 * read before it is trusted after it.
 */
#include <errno.h>
#include <string.h>

#include "debug.h"
#include "pool.h"

/*
 * Up to @want objects for a thread cache, under the lock: constructed ones
 * into @m, never-constructed ones (fresh carvings, failed constructions)
 * into @fresh for the caller to construct after unlocking. May drop the
 * lock to map a new slab. Returns how many went into @fresh; -1 if nothing
 * could be had at all.
 */
static int fill_locked(hs_pool_t *p, struct hs_magazine *m, uint32_t want,
		       void **fresh)
{
	uint32_t got = 0;
	int nfresh = 0;
	void *obj;

	while (got < want && p->nraw) {
		fresh[nfresh++] = p->raw[--p->nraw];
		got++;
	}
	while (got < want && (obj = _hs_slab_take_locked(p))) {
		_hs_mag_put(m, obj);
		got++;
	}
	while (got < want) {
		struct hs_slab *s = p->carving;
		uint32_t n;

		if (!s) {
			pthread_mutex_unlock(&p->lock);
			s = _hs_slab_new(p);
			pthread_mutex_lock(&p->lock);
			if (!s)
				break;
			if (!_hs_slab_add_locked(p, s)) {
				pthread_mutex_unlock(&p->lock);
				_hs_slab_free(p, s);
				pthread_mutex_lock(&p->lock);
				_hs_fail(ENOMEM, "pool %s: out of memory for slab bookkeeping",
					 p->name);
				break;
			}
			continue;	/* another thread may have added one too */
		}
		n = _hs_slab_carve_locked(p, s, fresh + nfresh, want - got);
		nfresh += (int)n;
		got += n;
	}
	return got ? nfresh : -1;
}

/* Keep never-constructed objects for later. */
static void raw_put(hs_pool_t *p, void **objs, uint32_t n)
{
	pthread_mutex_lock(&p->lock);
	if (p->nraw + n > p->raw_cap) {
		uint32_t cap = (p->nraw + n) * 2;
		void **raw = _hs_meta_alloc(cap * sizeof(void *));

		if (raw) {
			if (p->nraw)
				memcpy(raw, p->raw, p->nraw * sizeof(void *));
			_hs_meta_free(p->raw, p->raw_cap * sizeof(void *));
			p->raw = raw;
			p->raw_cap = cap;
		}
	}
	/* Without room they are lost to the pool until it is destroyed. */
	while (n && p->nraw < p->raw_cap)
		p->raw[p->nraw++] = objs[--n];
	pthread_mutex_unlock(&p->lock);
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
				raw_put(p, fresh + i, (uint32_t)(n - i));
				break;
			}
		}
		_hs_dbg_enter(p, fresh[i]);
		_hs_mag_put(m, fresh[i]);
	}
	if (i) {
		pthread_mutex_lock(&p->lock);
		p->carved += (uint64_t)i;
		pthread_mutex_unlock(&p->lock);
	}
	return err;
}

/* ---- the thread cache's state word and inline magazine (owner only) --- */

/*
 * Move the allocation count out of the state word into allocs_done, so it
 * only grows between visits to the depot. Under the pool lock: stats
 * readers hold it too, and must not see the count in both places.
 */
static void cache_harvest_locked(struct hs_tc *tc)
{
	uint64_t s = _hs_cache_state(&tc->c);

	_hs_add(&tc->allocs_done, s >> HS_CACHE_COUNT_SHIFT);
	__atomic_store_n(&tc->c.state,
			 s & (HS_CACHE_HELD_MASK | HS_CACHE_ROOM_MASK),
			 __ATOMIC_RELAXED);
}

/*
 * Swap the objects in the cache with those in @m: what swapping two
 * magazine pointers was, with the loaded magazine inline. Costs a copy of
 * at most a magazine, once per magazine's worth of fast-path operations.
 */
static void cache_exchange(struct hs_tc *tc, struct hs_magazine *m)
{
	uint32_t held = _hs_cache_held(&tc->c), rounds = _hs_mag_rounds(m);
	uint32_t i, common = held < rounds ? held : rounds;

	for (i = 0; i < common; i++) {
		void *t = tc->c.objs[i];

		tc->c.objs[i] = m->objs[i];
		m->objs[i] = t;
	}
	if (held > rounds)
		memcpy(m->objs + common, tc->c.objs + common,
		       (held - common) * sizeof(void *));
	else
		memcpy(tc->c.objs + common, m->objs + common,
		       (rounds - common) * sizeof(void *));
	_hs_cache_set_held(tc, rounds);
	_hs_mag_set_rounds(m, held);
}

/* No thread cache (thread exiting, or no memory for one): one object. */
static void *alloc_uncached(hs_pool_t *p)
{
	struct {
		struct hs_magazine m;
		void *objs[1];
	} one = { .m = { .cap = 1 } };
	void *fresh[1];
	int n, err;

	pthread_mutex_lock(&p->lock);
	p->misses++;
	if (p->full) {
		struct hs_magazine *m = p->full;

		_hs_mag_put(&one.m, _hs_mag_take(m));
		n = 0;
		if (!_hs_mag_rounds(m)) {
			/* The depot's full list holds no empty magazine. */
			p->full = m->next;
			p->nfull--;
			m->next = p->empty;
			p->empty = m;
			p->nempty++;
		}
	} else {
		n = fill_locked(p, &one.m, 1, fresh);
	}
	pthread_mutex_unlock(&p->lock);
	if (n < 0)
		return NULL;
	err = construct(p, &one.m, fresh, n);
	if (!_hs_mag_rounds(&one.m)) {
		errno = err ? err : ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	p->gone_allocs++;
	pthread_mutex_unlock(&p->lock);
	_hs_dbg_alloc(p, one.m.objs[0]);
	return one.m.objs[0];
}

/*
 * Objects new to this thread (@m, not shared) into the reserve, the cache,
 * or, with no room in either, back to their slabs.
 */
static void cache_stash(hs_pool_t *p, struct hs_tc *tc, struct hs_magazine *m)
{
	struct hs_magazine *prev = tc->prev;
	uint32_t back = 0;

	while (_hs_mag_rounds(m)) {
		void *obj = _hs_mag_take(m);

		if (_hs_mag_rounds(prev) < prev->cap) {
			_hs_mag_put(prev, obj);
		} else if (_hs_cache_state(&tc->c) & HS_CACHE_ROOM_MASK) {
			_hs_cache_push(&tc->c, obj);
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
 * Fill an empty cache: from the reserve magazine, else a full magazine
 * from the depot, else objects from the slabs. Returns 0 or an errno.
 */
static int cache_refill(hs_pool_t *p, struct hs_tc *tc)
{
	struct {
		struct hs_magazine m;
		void *objs[MAG_MAX];
	} made = { .m = { .cap = MAG_MAX } };
	struct hs_magazine *m, *prev = tc->prev;
	struct hs_slab *released;
	void *fresh[MAG_MAX];
	int n, err = 0;

	if (_hs_mag_rounds(prev)) {
		cache_exchange(tc, prev);
		return 0;
	}
	pthread_mutex_lock(&p->lock);
	p->misses++;
	cache_harvest_locked(tc);
	m = p->full;
	if (m) {
		/* Trade our emptiness for a full magazine from the depot. */
		p->full = m->next;
		p->nfull--;
		_hs_add(&tc->moved_in, _hs_mag_rounds(m));
		cache_exchange(tc, m);
		m->next = p->empty;
		p->empty = m;
		p->nempty++;
		released = _hs_pool_tick_locked(p);
		pthread_mutex_unlock(&p->lock);
		_hs_pool_release_slabs(p, released);
		return 0;
	}
	/*
	 * From the slabs: constructed objects into the (empty) reserve
	 * magazine, fresh ones constructed into a magazine of our own once
	 * unlocked. Destructors and constructors are user code that may use
	 * this pool on this thread, so the cache and the reserve are looked
	 * at again after them.
	 */
	errno = 0;
	n = fill_locked(p, prev, p->mag_cap / 2 ? p->mag_cap / 2 : 1, fresh);
	if (n < 0)
		err = errno ? errno : ENOMEM;	/* the slab's mapping failed */
	_hs_add(&tc->moved_in, _hs_mag_rounds(prev));
	released = _hs_pool_tick_locked(p);
	pthread_mutex_unlock(&p->lock);
	_hs_pool_release_slabs(p, released);
	if (n > 0) {
		err = construct(p, &made.m, fresh, n);
		_hs_add(&tc->moved_in, _hs_mag_rounds(&made.m));
		cache_stash(p, tc, &made.m);
	}
	if (!_hs_cache_held(&tc->c) && _hs_mag_rounds(tc->prev))
		cache_exchange(tc, tc->prev);
	if (_hs_cache_held(&tc->c))
		return 0;
	if (err && n >= 0)
		_hs_fail(err, "pool %s: the constructor failed (%s)", p->name,
			 strerror(err));
	return err ? err : ENOMEM;
}

void *_hs_pool_alloc_slow(hs_pool_t *p, struct hs_tc *tc)
{
	void *obj;
	int err;

	if (!tc)
		tc = _hs_tc_get(p);
	if (!tc)
		return alloc_uncached(p);
	/* (A loop: a destructor run by the refill may have emptied it.) */
	while (!_hs_cache_held(&tc->c)) {
		err = cache_refill(p, tc);
		if (err) {
			errno = err;
			return NULL;
		}
	}
	obj = _hs_cache_pop(&tc->c);
	_hs_dbg_alloc(p, obj);
	return obj;
}

/*
 * Make room in a full cache: swap with the reserve if it has room, else
 * the (full) reserve goes to the depot and the cache's objects into an
 * empty magazine that becomes the reserve. False if there was no memory
 * for a magazine.
 */
static bool cache_drain(hs_pool_t *p, struct hs_tc *tc)
{
	struct hs_slab *released;
	struct hs_magazine *m;

	if (_hs_mag_rounds(tc->prev) < tc->prev->cap) {
		cache_exchange(tc, tc->prev);
		return true;
	}
	pthread_mutex_lock(&p->lock);
	m = p->empty;
	if (m) {
		p->empty = m->next;
		p->nempty--;
	} else {
		m = _hs_mag_new(p->mag_cap);
	}
	if (!m) {
		pthread_mutex_unlock(&p->lock);
		return false;
	}
	cache_harvest_locked(tc);
	_hs_add(&tc->moved_out, _hs_mag_rounds(tc->prev));
	tc->prev->next = p->full;
	p->full = tc->prev;
	p->nfull++;
	_hs_mag_set_rounds(m, 0);
	cache_exchange(tc, m);
	__atomic_store_n(&tc->prev, m, __ATOMIC_RELAXED);
	released = _hs_pool_tick_locked(p);
	pthread_mutex_unlock(&p->lock);
	_hs_pool_release_slabs(p, released);
	return true;
}

void _hs_pool_free_slow(hs_pool_t *p, struct hs_tc *tc, void *obj)
{
	if (!tc)
		tc = _hs_tc_get(p);
	if (!tc) {
		pthread_mutex_lock(&p->lock);
		_hs_slab_put_locked(p, obj);
		p->gone_frees++;
		pthread_mutex_unlock(&p->lock);
		return;
	}
	/* (A loop: a destructor run by the drain may have filled it.) */
	while (!(_hs_cache_state(&tc->c) & HS_CACHE_ROOM_MASK)) {
		if (!cache_drain(p, tc)) {
			/* No memory for a magazine: straight back to the
			 * slab (a free that went in and out of the cache). */
			pthread_mutex_lock(&p->lock);
			_hs_slab_put_locked(p, obj);
			pthread_mutex_unlock(&p->lock);
			_hs_add(&tc->moved_out, 1);
			return;
		}
	}
	_hs_cache_push(&tc->c, obj);
}

/*
 * A thread cache leaves the pool (thread exit): its reserve goes to the
 * depot, with the cache's objects in it if it was empty, else those go
 * back to their slabs.
 */
void _hs_pool_tc_flush_locked(hs_pool_t *p, struct hs_tc *tc)
{
	struct hs_magazine *m = tc->prev;
	uint64_t allocs, frees;
	uint32_t i;

	_hs_tc_counts(tc, &allocs, &frees);
	if (m && !_hs_mag_rounds(m))
		cache_exchange(tc, m);
	/* The reserve held objects already: these go back to their slabs. */
	for (i = 0; i < _hs_cache_held(&tc->c); i++)
		_hs_slab_put_locked(p, tc->c.objs[i]);
	_hs_cache_set_held(tc, 0);
	if (m && _hs_mag_rounds(m)) {
		m->next = p->full;
		p->full = m;
		p->nfull++;
	} else if (m) {
		m->next = p->empty;
		p->empty = m;
		p->nempty++;
	}
	__atomic_store_n(&tc->prev, NULL, __ATOMIC_RELAXED);
	p->gone_allocs += allocs;
	p->gone_frees += frees;
	if (tc->prevtc)
		tc->prevtc->next = tc->next;
	else
		p->tcs = tc->next;
	if (tc->next)
		tc->next->prevtc = tc->prevtc;
	tc->next = tc->prevtc = NULL;
}
