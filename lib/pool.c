// SPDX-License-Identifier: MIT
/*
 * libhugeslab: pools - creation and destruction, the depot, slabs, and the
 * slow paths the per-thread caches fall back to (see pool.h for the levels).
 *
 * User code (constructors, destructors) never runs under a pool lock, so it
 * may itself use pools.
 */
#include <errno.h>
#include <string.h>

#include "pool.h"

/* Objects per magazine: about 64 KiB of objects, between 8 and 128. */
#define MAG_BYTES	((size_t)64 << 10)
#define MAG_MIN		8
#define MAG_MAX		128
/* A slab holds at least this many objects. */
#define SLAB_MIN_OBJS	8

pthread_mutex_t _hs_pools_lock = PTHREAD_MUTEX_INITIALIZER;
static hs_pool_t **registry;		/* id -> pool, under _hs_pools_lock */
static uint32_t registry_cap;

/* ---- magazines --------------------------------------------------------- */

struct hs_mag *_hs_mag_new(uint32_t cap)
{
	struct hs_mag *m = _hs_meta_alloc(sizeof(*m) + cap * sizeof(void *));

	if (m)
		m->cap = cap;
	return m;
}

void _hs_mag_free(struct hs_mag *m)
{
	if (m)
		_hs_meta_free(m, sizeof(*m) + m->cap * sizeof(void *));
}

static void mags_free(struct hs_mag *m)
{
	struct hs_mag *next;

	for (; m; m = next) {
		next = m->next;
		_hs_mag_free(m);
	}
}

/* ---- unit -> slab map (slow paths only) -------------------------------- */

static uint32_t map_slot(uintptr_t unit, uint32_t cap)
{
	return (uint32_t)((unit * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
}

static uintptr_t slab_unit(const struct hs_slab *s, size_t i)
{
	return (s->span.base >> HS_UNIT_SHIFT) + i;
}

/*
 * Rebuild the table from the slab list with room for @cap entries. Slabs
 * come and go rarely, so rebuilding beats tombstones. -1 without memory.
 */
static int map_rebuild(hs_pool_t *p, uint32_t cap)
{
	struct hs_slab **map = _hs_meta_alloc(cap * sizeof(*map));
	struct hs_slab *s;
	size_t u;

	if (!map)
		return -1;
	p->map_used = 0;
	for (s = p->slabs; s; s = s->next) {
		for (u = 0; u < s->span.units; u++) {
			uint32_t k = map_slot(slab_unit(s, u), cap);

			while (map[k])
				k = (k + 1) & (cap - 1);
			map[k] = s;
			p->map_used++;
		}
	}
	_hs_meta_free(p->map, p->map_cap * sizeof(*p->map));
	p->map = map;
	p->map_cap = cap;
	return 0;
}

static struct hs_slab *map_find(const hs_pool_t *p, uintptr_t addr)
{
	uintptr_t unit = addr >> HS_UNIT_SHIFT;
	uint32_t k;

	if (!p->map_cap)
		return NULL;
	for (k = map_slot(unit, p->map_cap); p->map[k];
	     k = (k + 1) & (p->map_cap - 1)) {
		struct hs_slab *s = p->map[k];

		if (unit >= slab_unit(s, 0) && unit < slab_unit(s, s->span.units))
			return s;
	}
	return NULL;
}

/* ---- slabs ------------------------------------------------------------- */

static size_t freemap_bytes(uint32_t nobj)
{
	return HS_ALIGN_UP((size_t)nobj, 64) / 8;
}

/* Map a new slab; called without the pool lock. */
static struct hs_slab *slab_new(hs_pool_t *p)
{
	struct hs_slab *s = _hs_meta_alloc(sizeof(*s));

	if (!s) {
		_hs_fail(ENOMEM, "pool %s: out of memory for slab bookkeeping",
			 p->name);
		return NULL;
	}
	s->freemap = _hs_meta_alloc(freemap_bytes(p->slab_nobj));
	if (!s->freemap) {
		_hs_meta_free(s, sizeof(*s));
		_hs_fail(ENOMEM, "pool %s: out of memory for slab bookkeeping",
			 p->name);
		return NULL;
	}
	if (_hs_span_alloc(p->slab_units, p->node, &s->span) < 0) {
		int err = errno;

		_hs_meta_free(s->freemap, freemap_bytes(p->slab_nobj));
		_hs_meta_free(s, sizeof(*s));
		errno = err;
		return NULL;
	}
	s->base = s->span.base;
	s->nobj = p->slab_nobj;
	return s;
}

static void slab_meta_free(hs_pool_t *p, struct hs_slab *s)
{
	_hs_meta_free(s->freemap, freemap_bytes(p->slab_nobj));
	_hs_meta_free(s, sizeof(*s));
}

/* Link a new slab in; false if the lookup table could not grow. */
static bool slab_add_locked(hs_pool_t *p, struct hs_slab *s)
{
	uint32_t need = (uint32_t)(p->map_used + s->span.units), cap;

	s->prev = NULL;
	s->next = p->slabs;
	if (p->slabs)
		p->slabs->prev = s;
	p->slabs = s;
	/* Keep the table at most half full. */
	for (cap = p->map_cap ? p->map_cap : 64; need * 2 > cap; cap *= 2)
		;
	if (map_rebuild(p, cap) < 0) {
		p->slabs = s->next;
		if (p->slabs)
			p->slabs->prev = NULL;
		return false;
	}
	p->nslabs++;
	if (!p->carving)
		p->carving = s;
	return true;
}

/* Put a constructed object back into its slab. */
static void slab_put_locked(hs_pool_t *p, void *obj)
{
	struct hs_slab *s = map_find(p, (uintptr_t)obj);
	uint32_t i;

	if (!s)
		return;	/* not from this pool: nothing safe to do */
	i = (uint32_t)(((uintptr_t)obj - s->base) / p->stride);
	if (s->freemap[i / 64] & (1ULL << (i % 64)))
		return;	/* already free: a double free */
	s->freemap[i / 64] |= 1ULL << (i % 64);
	s->nfree++;
	p->slab_free++;
}

/* Take a constructed object back out of some slab, or NULL. */
static void *slab_take_locked(hs_pool_t *p)
{
	struct hs_slab *s;
	uint32_t w, words;

	if (!p->slab_free)
		return NULL;
	for (s = p->slabs; s; s = s->next) {
		if (!s->nfree)
			continue;
		words = (s->ncarved + 63) / 64;
		for (w = s->scan; w < words + s->scan; w++) {
			uint32_t k = w % words;
			uint64_t bits = s->freemap[k];

			if (bits) {
				uint32_t i = k * 64 + (uint32_t)__builtin_ctzll(bits);

				s->freemap[k] &= bits - 1;
				s->nfree--;
				p->slab_free--;
				s->scan = k;
				return (void *)(s->base + (uintptr_t)i * p->stride);
			}
		}
	}
	return NULL;
}

/*
 * Up to @want objects for a thread cache, under the lock: constructed ones
 * into @m, never-constructed ones (fresh carvings, failed constructions)
 * into @fresh for the caller to construct after unlocking. May drop the
 * lock to map a new slab. Returns how many went into @fresh; -1 if nothing
 * could be had at all.
 */
static int fill_locked(hs_pool_t *p, struct hs_mag *m, uint32_t want,
		       void **fresh)
{
	uint32_t got = 0;
	int nfresh = 0;
	void *obj;

	while (got < want && p->nraw) {
		fresh[nfresh++] = p->raw[--p->nraw];
		got++;
	}
	while (got < want && (obj = slab_take_locked(p))) {
		m->objs[m->rounds++] = obj;
		got++;
	}
	while (got < want) {
		struct hs_slab *s = p->carving;

		if (!s) {
			pthread_mutex_unlock(&p->lock);
			s = slab_new(p);
			pthread_mutex_lock(&p->lock);
			if (!s)
				break;
			if (!slab_add_locked(p, s)) {
				pthread_mutex_unlock(&p->lock);
				_hs_span_free(&s->span);
				slab_meta_free(p, s);
				pthread_mutex_lock(&p->lock);
				_hs_fail(ENOMEM, "pool %s: out of memory for slab bookkeeping",
					 p->name);
				break;
			}
			continue;	/* another thread may have added one too */
		}
		while (got < want && s->ncarved < s->nobj) {
			fresh[nfresh++] = (void *)(s->base +
				(uintptr_t)s->ncarved * p->stride);
			s->ncarved++;
			got++;
		}
		if (s->ncarved == s->nobj) {
			/* Find the next slab that still has room, if any. */
			for (p->carving = p->slabs; p->carving;
			     p->carving = p->carving->next)
				if (p->carving->ncarved < p->carving->nobj)
					break;
		}
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
static int construct(hs_pool_t *p, struct hs_mag *m, void **fresh, int n)
{
	int i, err = 0;

	for (i = 0; i < n; i++) {
		if (p->ctor) {
			err = p->ctor(fresh[i], p->arg);
			if (err) {
				raw_put(p, fresh + i, (uint32_t)(n - i));
				break;
			}
		}
		m->objs[m->rounds++] = fresh[i];
	}
	if (i) {
		pthread_mutex_lock(&p->lock);
		p->carved += (uint64_t)i;
		pthread_mutex_unlock(&p->lock);
	}
	return err;
}

/* ---- slow paths -------------------------------------------------------- */

static void swap_mags(struct hs_tc *tc)
{
	struct hs_mag *m = tc->loaded;

	tc->loaded = tc->prev;
	tc->prev = m;
}

/* No thread cache (thread exiting, or no memory for one): one object. */
static void *alloc_uncached(hs_pool_t *p)
{
	struct {
		struct hs_mag m;
		void *objs[1];
	} one = { .m = { .cap = 1 } };
	void *fresh[1];
	int n, err;

	pthread_mutex_lock(&p->lock);
	p->misses++;
	if (p->full && p->full->rounds) {
		one.m.objs[0] = p->full->objs[--p->full->rounds];
		one.m.rounds = 1;
		n = 0;
	} else {
		n = fill_locked(p, &one.m, 1, fresh);
	}
	pthread_mutex_unlock(&p->lock);
	if (n < 0)
		return NULL;
	err = construct(p, &one.m, fresh, n);
	if (!one.m.rounds) {
		errno = err ? err : ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	p->gone_allocs++;
	pthread_mutex_unlock(&p->lock);
	return one.m.objs[0];
}

void *_hs_pool_alloc_slow(hs_pool_t *p, struct hs_tc *tc)
{
	void *fresh[MAG_MAX];
	struct hs_mag *m;
	int n, err;

	if (!tc)
		tc = _hs_tc_get(p);
	if (!tc)
		return alloc_uncached(p);
	if (!tc->loaded->rounds && tc->prev->rounds)
		swap_mags(tc);
	if (tc->loaded->rounds)
		goto pop;

	pthread_mutex_lock(&p->lock);
	p->misses++;
	m = p->full;
	if (m) {
		/* Trade our empty magazine for a full one from the depot. */
		p->full = m->next;
		p->nfull--;
		tc->prev->next = p->empty;
		p->empty = tc->prev;
		p->nempty++;
		tc->prev = tc->loaded;
		tc->loaded = m;
		pthread_mutex_unlock(&p->lock);
		goto pop;
	}
	n = fill_locked(p, tc->loaded, p->mag_cap / 2 ? p->mag_cap / 2 : 1,
			fresh);
	pthread_mutex_unlock(&p->lock);
	if (n < 0)
		return NULL;
	err = construct(p, tc->loaded, fresh, n);
	if (!tc->loaded->rounds) {
		errno = err ? err : ENOMEM;
		if (err)
			_hs_fail(err, "pool %s: the constructor failed (%s)",
				 p->name, strerror(err));
		return NULL;
	}
pop:
	_hs_count(&tc->allocs);
	return tc->loaded->objs[--tc->loaded->rounds];
}

void _hs_pool_free_slow(hs_pool_t *p, struct hs_tc *tc, void *obj)
{
	struct hs_mag *m;

	if (!tc)
		tc = _hs_tc_get(p);
	if (!tc) {
		pthread_mutex_lock(&p->lock);
		slab_put_locked(p, obj);
		p->gone_frees++;
		pthread_mutex_unlock(&p->lock);
		return;
	}
	if (tc->loaded->rounds == tc->loaded->cap &&
	    tc->prev->rounds < tc->prev->cap)
		swap_mags(tc);
	if (tc->loaded->rounds < tc->loaded->cap)
		goto push;

	pthread_mutex_lock(&p->lock);
	m = p->empty;
	if (m) {
		p->empty = m->next;
		p->nempty--;
	} else {
		m = _hs_mag_new(p->mag_cap);
	}
	if (!m) {
		/* No memory for a magazine: straight back to the slab. */
		slab_put_locked(p, obj);
		pthread_mutex_unlock(&p->lock);
		_hs_count(&tc->frees);
		return;
	}
	/* Both magazines are full: one goes to the depot. */
	tc->prev->next = p->full;
	p->full = tc->prev;
	p->nfull++;
	tc->prev = tc->loaded;
	m->rounds = 0;
	tc->loaded = m;
	pthread_mutex_unlock(&p->lock);
push:
	tc->loaded->objs[tc->loaded->rounds++] = obj;
	_hs_count(&tc->frees);
}

/* A thread cache leaves the pool (thread exit): its objects go to the depot. */
void _hs_pool_tc_flush_locked(hs_pool_t *p, struct hs_tc *tc)
{
	struct hs_mag *mags[2] = { tc->loaded, tc->prev };
	int i;

	for (i = 0; i < 2; i++) {
		struct hs_mag *m = mags[i];

		if (!m)
			continue;
		if (m->rounds) {
			m->next = p->full;
			p->full = m;
			p->nfull++;
		} else {
			m->next = p->empty;
			p->empty = m;
			p->nempty++;
		}
	}
	tc->loaded = tc->prev = NULL;
	p->gone_allocs += tc->allocs;
	p->gone_frees += tc->frees;
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

static bool zeroed(const uint64_t *v, size_t n)
{
	while (n--)
		if (*v++)
			return false;
	return true;
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
	if ((o.flags & ~HS_POOL_NODE) || !zeroed(o.reserved, 4)) {
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
	return p;
}

static void dtor_mag(hs_pool_t *p, struct hs_mag *m)
{
	uint32_t i;

	for (; m; m = m->next)
		for (i = 0; i < m->rounds; i++)
			p->dtor(m->objs[i], p->arg);
}

HS_EXPORT void hs_pool_destroy(hs_pool_t *p)
{
	struct hs_mag *mags = NULL;
	struct hs_slab *s, *next;
	struct hs_tc *tc;
	uint32_t i;

	if (!p)
		return;
	/* Take every magazine, including idle threads' ones. */
	pthread_mutex_lock(&_hs_pools_lock);
	pthread_mutex_lock(&p->lock);
	for (tc = p->tcs; tc; tc = tc->next) {
		struct hs_mag *two[2] = { tc->loaded, tc->prev };

		for (i = 0; i < 2; i++) {
			if (two[i]) {
				two[i]->next = mags;
				mags = two[i];
			}
		}
		tc->loaded = tc->prev = NULL;
		/* Its thread frees the husk when it next looks. */
		__atomic_store_n(&tc->pool, NULL, __ATOMIC_RELEASE);
	}
	p->tcs = NULL;
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&_hs_pools_lock);

	if (p->dtor) {
		dtor_mag(p, mags);
		dtor_mag(p, p->full);
		for (s = p->slabs; s; s = s->next) {
			for (i = 0; i < s->ncarved; i++)
				if (s->freemap[i / 64] & (1ULL << (i % 64)))
					p->dtor((void *)(s->base +
						(uintptr_t)i * p->stride), p->arg);
		}
	}
	mags_free(mags);
	mags_free(p->full);
	mags_free(p->empty);
	for (s = p->slabs; s; s = next) {
		next = s->next;
		_hs_span_free(&s->span);
		slab_meta_free(p, s);
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
		slab_meta_free(p, s);
	}
	p->slabs = p->carving = NULL;
	p->nslabs = p->slab_free = 0;
	_hs_meta_free(p->map, p->map_cap * sizeof(*p->map));
	p->map = NULL;
	p->map_cap = p->map_used = 0;
	p->nraw = 0;
	p->carved = p->misses = p->gone_allocs = p->gone_frees = 0;
	for (tc = p->tcs; tc; tc = tnext) {
		tnext = tc->next;
		if (_hs_tc_is_mine(tc, p->id)) {
			tc->loaded->rounds = 0;
			tc->prev->rounds = 0;
			tc->allocs = tc->frees = 0;
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
