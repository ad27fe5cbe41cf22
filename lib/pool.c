// SPDX-License-Identifier: MIT
/*
 * libhugeslab: pools - creation and destruction, the depot, trimming, and
 * the slow paths the per-thread caches fall back to (see pool.h for the
 * levels, slab.c for the slabs).
 *
 * User code (constructors, destructors) never runs under a pool lock, so it
 * may itself use pools.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "debug.h"
#include "pool.h"

/* Objects per magazine: about 64 KiB of objects, between 8 and 128. */
#define MAG_BYTES	((size_t)64 << 10)
#define MAG_MIN		8
#define MAG_MAX		128
_Static_assert(MAG_MAX <= HS_CACHE_HELD_MASK,
	       "held and room are 8-bit fields of a cache's state word");
/* A slab holds at least this many objects. */
#define SLAB_MIN_OBJS	8

pthread_mutex_t _hs_pools_lock = PTHREAD_MUTEX_INITIALIZER;
static hs_pool_t **registry;		/* id -> pool, under _hs_pools_lock */
static uint32_t registry_cap;

/* ---- magazines --------------------------------------------------------- */

struct hs_magazine *_hs_mag_new(uint32_t cap)
{
	struct hs_magazine *m = _hs_meta_alloc(sizeof(*m) + cap * sizeof(void *));

	if (m)
		m->cap = cap;
	return m;
}

void _hs_mag_free(struct hs_magazine *m)
{
	if (m)
		_hs_meta_free(m, sizeof(*m) + m->cap * sizeof(void *));
}

static void mags_free(struct hs_magazine *m)
{
	struct hs_magazine *next;

	for (; m; m = next) {
		next = m->next;
		_hs_mag_free(m);
	}
}

/* ---- trimming and publishing ----------------------------------------- */

/*
 * Working-set trimming, as in Bonwick's depot: during each interval the
 * pool notes the fewest full magazines its depot held. Those were never
 * needed, so at the interval's end that many go back to their slabs, and
 * slabs with nothing in use (beyond one kept as a cushion) are released.
 * A pool that oscillates within an interval dips its depot to zero and so
 * keeps its memory; one that shrank gives the surplus back within two
 * intervals of its next slow-path call.
 */
#define TRIM_MS_DEFAULT	1000
#define KEEP_EMPTY_MAGS	16

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * One thread cache's allocations and frees. Read from any thread: exact
 * for a thread that is not allocating right now, within a magazine or so
 * for one that is.
 */
void _hs_tc_counts(const struct hs_tc *tc, uint64_t *allocs, uint64_t *frees)
{
	struct hs_magazine *prev = __atomic_load_n(&tc->prev, __ATOMIC_RELAXED);
	uint64_t st = _hs_cache_state(&tc->c);
	uint64_t a = __atomic_load_n(&tc->allocs_done, __ATOMIC_RELAXED);
	uint64_t in = __atomic_load_n(&tc->moved_in, __ATOMIC_RELAXED);
	uint64_t out = __atomic_load_n(&tc->moved_out, __ATOMIC_RELAXED);
	uint64_t held = st & HS_CACHE_HELD_MASK;

	a += st >> HS_CACHE_COUNT_SHIFT;
	if (prev)
		held += _hs_mag_rounds(prev);
	*allocs = a;
	*frees = a + held + out > in ? a + held + out - in : 0;
}

void _hs_pool_counters_locked(hs_pool_t *p, uint64_t *allocs, uint64_t *frees)
{
	struct hs_tc *tc;
	uint64_t a, f;

	*allocs = p->gone_allocs;
	*frees = p->gone_frees;
	for (tc = p->tcs; tc; tc = tc->next) {
		_hs_tc_counts(tc, &a, &f);
		*allocs += a;
		*frees += f;
	}
}

/* Take a slot in the module's stats area and name the pool there. */
static void publish_attach_locked(hs_pool_t *p)
{
	struct hugeslab_pool_stat *st;

	p->pub_wanted = false;
	st = _hs_stats_slot_get();
	if (!st)
		return;
	memcpy(st->name, p->name, sizeof(st->name));
	st->obj_size = p->obj_size;
	p->pub = st;
}

/* Copy the counters to the module's stats area, if the pool has a slot. */
void _hs_pool_publish_locked(hs_pool_t *p)
{
	struct hugeslab_pool_stat *st;
	uint64_t allocs, frees;

	if (!p->pub && p->pub_wanted)
		publish_attach_locked(p);
	st = p->pub;
	if (!st)
		return;
	_hs_pool_counters_locked(p, &allocs, &frees);
#define PUB(field, v) __atomic_store_n(&st->field, (v), __ATOMIC_RELAXED)
	PUB(in_use, allocs > frees ? allocs - frees : 0);
	PUB(total, p->carved);
	PUB(bytes, p->nslabs * p->slab_units * HS_UNIT);
	PUB(allocs, allocs);
	PUB(frees, frees);
	PUB(cache_hits, allocs > p->misses ? allocs - p->misses : 0);
#undef PUB
	__atomic_store_n(&st->flags, HUGESLAB_POOL_LIVE, __ATOMIC_RELEASE);
}

/*
 * Send up to @nmags full depot magazines back to their slabs, then unlink
 * the slabs with nothing in use beyond @keep of them into @out (released
 * by release_slabs() once unlocked).
 */
static void depot_release_locked(hs_pool_t *p, uint64_t nmags, uint32_t keep,
				 struct hs_slab **out)
{
	struct hs_slab *s, *next;
	uint32_t i, kept = 0;

	while (nmags && p->full) {
		struct hs_magazine *m = p->full;

		p->full = m->next;
		p->nfull--;
		nmags--;
		for (i = 0; i < _hs_mag_rounds(m); i++)
			_hs_slab_put_locked(p, m->objs[i]);
		_hs_mag_set_rounds(m, 0);
		if (p->nempty < KEEP_EMPTY_MAGS) {
			m->next = p->empty;
			p->empty = m;
			p->nempty++;
		} else {
			_hs_mag_free(m);
		}
	}
	for (s = p->slabs; s; s = next) {
		next = s->next;
		if (!_hs_slab_empty(s))
			continue;
		if (kept < keep) {
			kept++;
			continue;
		}
		_hs_slab_unlink_locked(p, s);
		p->released++;
		s->next = *out;
		*out = s;
	}
}

/* Destruct and free released slabs; without the lock (runs destructors). */
static size_t release_slabs(hs_pool_t *p, struct hs_slab *list)
{
	struct hs_slab *s, *next;
	size_t bytes = 0;

	for (s = list; s; s = next) {
		next = s->next;
		bytes += s->span.units * HS_UNIT;
		_hs_slab_destruct(p, s);
		_hs_slab_free(p, s);
	}
	return bytes;
}

/*
 * Called on every slow path with the lock held: track the depot's low
 * water mark, trim at the end of an interval, publish the counters.
 */
static struct hs_slab *tick_locked(hs_pool_t *p)
{
	struct hs_slab *out = NULL;
	uint64_t now;

	if (p->nfull < p->min_full)
		p->min_full = p->nfull;
	_hs_pool_publish_locked(p);
	now = now_ns();
	if (now < p->trim_at)
		return NULL;
	depot_release_locked(p, p->min_full, 1, &out);
	p->min_full = p->nfull;
	p->trim_at = now + p->trim_ns;
	return out;
}

HS_EXPORT size_t hs_pool_trim(hs_pool_t *p)
{
	struct hs_slab *out = NULL;
	size_t bytes;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	depot_release_locked(p, UINT64_MAX, 0, &out);
	mags_free(p->empty);
	p->empty = NULL;
	p->nempty = 0;
	p->min_full = p->nfull;
	_hs_pool_publish_locked(p);
	pthread_mutex_unlock(&p->lock);
	bytes = release_slabs(p, out);
	_hs_arena_trim();
	return bytes;
}

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

/* An allocation from a cache that holds something: counted as a pop. */
static void *cache_pop(struct hs_tc *tc)
{
	uint64_t s = _hs_cache_state(&tc->c);
	uint64_t held = s & HS_CACHE_HELD_MASK;

	__atomic_store_n(&tc->c.state, s + HS_CACHE_POP, __ATOMIC_RELAXED);
	return tc->c.objs[held - 1];
}

/* A free into a cache with room. */
static void cache_push(struct hs_tc *tc, void *obj)
{
	uint64_t s = _hs_cache_state(&tc->c);

	tc->c.objs[s & HS_CACHE_HELD_MASK] = obj;
	__atomic_store_n(&tc->c.state, s + HS_CACHE_PUSH, __ATOMIC_RELAXED);
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
		released = tick_locked(p);
		pthread_mutex_unlock(&p->lock);
		release_slabs(p, released);
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
	released = tick_locked(p);
	pthread_mutex_unlock(&p->lock);
	release_slabs(p, released);
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
	obj = cache_pop(tc);
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
	released = tick_locked(p);
	pthread_mutex_unlock(&p->lock);
	release_slabs(p, released);
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
	cache_push(tc, obj);
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

/* ---- create and destroy ------------------------------------------------ */

static int registry_add(hs_pool_t *p)
{
	uint32_t i;

	for (i = 0; i < registry_cap; i++)
		if (!registry[i])
			break;
	if (i == registry_cap) {
		uint32_t cap = registry_cap ? registry_cap * 2 : 16;
		hs_pool_t **r = _hs_meta_alloc(cap * sizeof(*r));

		if (!r)
			return -1;
		if (registry)
			memcpy(r, registry, registry_cap * sizeof(*r));
		_hs_meta_free(registry, registry_cap * sizeof(*r));
		registry = r;
		registry_cap = cap;
	}
	registry[i] = p;
	p->id = i;
	return 0;
}

/* The trim interval: HUGESLAB_TRIM_MS, else TRIM_MS_DEFAULT. */
static uint64_t trim_ms(void)
{
	const char *e = getenv("HUGESLAB_TRIM_MS");
	char *end;
	unsigned long v;

	if (!e || !*e)
		return TRIM_MS_DEFAULT;
	v = strtoul(e, &end, 10);
	return *end || !v ? TRIM_MS_DEFAULT : v;
}

HS_EXPORT hs_pool_t *hs_pool_create(const char *name, size_t obj_size,
				    const struct hs_pool_opts *opts)
{
	struct hs_pool_opts o = { 0 };
	size_t align, units;
	hs_pool_t *p;

	if (opts)
		o = *opts;
	if (!name || !*name || strlen(name) >= HS_POOL_NAME_MAX) {
		_hs_fail(EINVAL, "hs_pool_create: the name must be 1 to %d bytes",
			 HS_POOL_NAME_MAX - 1);
		return NULL;
	}
	if ((o.flags & ~HS_POOL_NODE) || !_hs_zeroed(o.reserved, 4)) {
		_hs_fail(EINVAL, "hs_pool_create(%s): unknown flags or non-zero reserved fields in opts",
			 name);
		return NULL;
	}
	if (!obj_size || obj_size > ((size_t)1 << 30)) {
		_hs_fail(EINVAL, "hs_pool_create(%s): object size %zu is not between 1 byte and 1 GiB",
			 name, obj_size);
		return NULL;
	}
	align = o.align;
	if (!align) {
		/* Natural alignment of an object that size, at most 16. */
		align = obj_size & -obj_size;
		if (align > 16)
			align = 16;
	}
	if (align & (align - 1) || align > HS_UNIT) {
		_hs_fail(EINVAL, "hs_pool_create(%s): alignment %zu is not a power of two up to 2 MiB",
			 name, align);
		return NULL;
	}
	if ((o.flags & HS_POOL_NODE) && o.node < 0) {
		_hs_fail(EINVAL, "hs_pool_create(%s): node %d is not a NUMA node",
			 name, o.node);
		return NULL;
	}
	_hs_fork_init();

	p = _hs_meta_alloc(sizeof(*p));
	if (!p) {
		_hs_fail(ENOMEM, "hs_pool_create(%s): out of memory", name);
		return NULL;
	}
	strcpy(p->name, name);
	p->obj_size = obj_size;
	p->align = align;
	p->stride = HS_ALIGN_UP(obj_size, align);
	p->ctor = o.ctor;
	p->dtor = o.dtor;
	p->arg = o.arg;
	p->node = (o.flags & HS_POOL_NODE) ? o.node : -1;
	p->mag_cap = (uint32_t)(MAG_BYTES / p->stride);
	if (p->mag_cap < MAG_MIN)
		p->mag_cap = MAG_MIN;
	if (p->mag_cap > MAG_MAX)
		p->mag_cap = MAG_MAX;
	units = HS_ALIGN_UP(p->stride * SLAB_MIN_OBJS, HS_UNIT) / HS_UNIT;
	p->slab_units = units;
	p->slab_nobj = (uint32_t)(units * HS_UNIT / p->stride);
	p->trim_ns = trim_ms() * 1000000ULL;
	p->trim_at = now_ns() + p->trim_ns;
	pthread_mutex_init(&p->lock, NULL);

	pthread_mutex_lock(&_hs_pools_lock);
	if (registry_add(p) < 0) {
		pthread_mutex_unlock(&_hs_pools_lock);
		pthread_mutex_destroy(&p->lock);
		_hs_meta_free(p, sizeof(*p));
		_hs_fail(ENOMEM, "hs_pool_create(%s): out of memory", name);
		return NULL;
	}
	pthread_mutex_unlock(&_hs_pools_lock);
	pthread_mutex_lock(&p->lock);
	p->pub_wanted = true;
	_hs_pool_publish_locked(p);
	pthread_mutex_unlock(&p->lock);
	return p;
}

static void dtor_mag(hs_pool_t *p, struct hs_magazine *m)
{
	uint32_t i;

	for (; m; m = m->next) {
		for (i = 0; i < _hs_mag_rounds(m); i++) {
			_hs_dbg_dtor(p, m->objs[i]);
			p->dtor(m->objs[i], p->arg);
		}
	}
}

HS_EXPORT void hs_pool_destroy(hs_pool_t *p)
{
	struct hs_magazine *mags = NULL;
	struct hs_slab *s, *next;
	struct hs_tc *tc;
	uint32_t i;

	if (!p)
		return;
	/* Take every magazine, including idle threads' ones. */
	pthread_mutex_lock(&_hs_pools_lock);
	pthread_mutex_lock(&p->lock);
	for (tc = p->tcs; tc; tc = tc->next) {
		/* The cache's objects go back to their slabs (destructed
		 * with them below), the reserve joins the other magazines. */
		for (i = 0; i < _hs_cache_held(&tc->c); i++)
			_hs_slab_put_locked(p, tc->c.objs[i]);
		__atomic_store_n(&tc->c.state, 0, __ATOMIC_RELAXED);
		if (tc->prev) {
			tc->prev->next = mags;
			mags = tc->prev;
			tc->prev = NULL;
		}
		/* Its thread frees the husk when it next looks. */
		__atomic_store_n(&tc->pool, NULL, __ATOMIC_RELEASE);
	}
	p->tcs = NULL;
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&_hs_pools_lock);
	_hs_stats_slot_put(p->pub);
	p->pub = NULL;

	if (p->dtor) {
		dtor_mag(p, mags);
		dtor_mag(p, p->full);
		for (s = p->slabs; s; s = s->next)
			_hs_slab_destruct(p, s);
	}
	mags_free(mags);
	mags_free(p->full);
	mags_free(p->empty);
	for (s = p->slabs; s; s = next) {
		next = s->next;
		_hs_slab_free(p, s);
	}
	_hs_meta_free(p->map, p->map_cap * sizeof(*p->map));
	_hs_meta_free(p->raw, p->raw_cap * sizeof(void *));

	/* Only now may the id be reused: threads still hold husks under it. */
	pthread_mutex_lock(&_hs_pools_lock);
	registry[p->id] = NULL;
	pthread_mutex_unlock(&_hs_pools_lock);
	pthread_mutex_destroy(&p->lock);
	_hs_meta_free(p, sizeof(*p));
}

HS_EXPORT const char *hs_pool_name(const hs_pool_t *p)
{
	return p->name;
}

HS_EXPORT size_t hs_pool_obj_size(const hs_pool_t *p)
{
	return p->obj_size;
}

/* ---- fork ------------------------------------------------------------- */

void _hs_pool_fork_prepare(void)
{
	uint32_t i;

	pthread_mutex_lock(&_hs_pools_lock);
	for (i = 0; i < registry_cap; i++)
		if (registry[i])
			pthread_mutex_lock(&registry[i]->lock);
}

void _hs_pool_fork_parent(void)
{
	uint32_t i;

	for (i = registry_cap; i-- > 0;)
		if (registry[i])
			pthread_mutex_unlock(&registry[i]->lock);
	pthread_mutex_unlock(&_hs_pools_lock);
}

/*
 * The child has none of the pool memory (regions are MADV_DONTFORK) and
 * only the forking thread: every pool starts again empty, keeping this
 * thread's (emptied) caches and dropping the other threads' ones.
 */
static void pool_reset_child(hs_pool_t *p)
{
	struct hs_slab *s, *snext;
	struct hs_tc *tc, *tnext;

	mags_free(p->full);
	mags_free(p->empty);
	p->full = p->empty = NULL;
	p->nfull = p->nempty = 0;
	for (s = p->slabs; s; s = snext) {
		snext = s->next;
		_hs_slab_forget(p, s);
	}
	p->slabs = p->carving = NULL;
	p->nslabs = p->slab_free = 0;
	_hs_meta_free(p->map, p->map_cap * sizeof(*p->map));
	p->map = NULL;
	p->map_cap = p->map_used = 0;
	p->nraw = 0;
	p->carved = p->misses = p->gone_allocs = p->gone_frees = 0;
	p->min_full = p->released = 0;
	p->pub = NULL;		/* the parent's stats area is not ours */
	p->pub_wanted = true;	/* the child publishes in its own */
	for (tc = p->tcs; tc; tc = tnext) {
		tnext = tc->next;
		if (_hs_tc_is_mine(tc, p->id)) {
			__atomic_store_n(&tc->c.state, 0, __ATOMIC_RELAXED);
			_hs_cache_set_held(tc, 0);
			_hs_mag_set_rounds(tc->prev, 0);
			tc->allocs_done = tc->moved_in = tc->moved_out = 0;
			continue;
		}
		if (tc->prevtc)
			tc->prevtc->next = tc->next;
		else
			p->tcs = tc->next;
		if (tc->next)
			tc->next->prevtc = tc->prevtc;
		_hs_tc_free(tc);
	}
}

void _hs_pool_fork_child(void)
{
	uint32_t i;

	for (i = registry_cap; i-- > 0;) {
		if (registry[i]) {
			pool_reset_child(registry[i]);
			pthread_mutex_unlock(&registry[i]->lock);
		}
	}
	pthread_mutex_unlock(&_hs_pools_lock);
}
