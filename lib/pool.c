// SPDX-License-Identifier: MIT
/*
 * libhugeslab: pools - creation and destruction, the depot's trimming,
 * publishing the counters, and fork (see pool.h for the levels, cache.c
 * for the thread caches' slow paths, slab.c for the slabs).
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
size_t _hs_pool_release_slabs(hs_pool_t *p, struct hs_slab *list)
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
struct hs_slab *_hs_pool_tick_locked(hs_pool_t *p)
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
	bytes = _hs_pool_release_slabs(p, out);
	_hs_arena_trim();
	return bytes;
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
