// SPDX-License-Identifier: MIT
/*
 * libhugeslab: slabs - spans of region memory carved into one pool's
 * objects. Objects are carved in address order and constructed as they
 * leave the slab; objects handed back to the slab (by trimming) are kept in
 * a bitmap, never in the objects themselves. A slab whose carved objects
 * are all back can be released: destructors run, the span returns to the
 * arena. Everything here is a slow path, called with the pool lock held
 * unless said otherwise.
 */
#include <errno.h>
#include <string.h>

#include "debug.h"
#include "pool.h"

/* ---- unit -> slab map ---------------------------------------------------- */

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
struct hs_slab *_hs_slab_new(hs_pool_t *p)
{
	struct hs_slab *s = _hs_meta_alloc(sizeof(*s));

	if (s)
		s->freemap = _hs_meta_alloc(freemap_bytes(p->slab_nobj));
	if (!s || !s->freemap) {
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
	_hs_dbg_span_new(p, (void *)s->base, s->span.units * HS_UNIT);
	return s;
}

/* Give a slab's memory back and forget it; without the pool lock. */
void _hs_slab_free(hs_pool_t *p, struct hs_slab *s)
{
	_hs_dbg_span_gone((void *)s->base, s->span.units * HS_UNIT);
	_hs_span_free(&s->span);
	_hs_meta_free(s->freemap, freemap_bytes(p->slab_nobj));
	_hs_meta_free(s, sizeof(*s));
}

/* Link a new slab in; false if the lookup table could not grow. */
bool _hs_slab_add_locked(hs_pool_t *p, struct hs_slab *s)
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

/* Take a slab out of the pool (to release it). */
void _hs_slab_unlink_locked(hs_pool_t *p, struct hs_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		p->slabs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	p->nslabs--;
	p->slab_free -= s->nfree;
	p->carved -= s->ncarved;
	if (p->carving == s)
		p->carving = NULL;
	if (p->take == s)
		p->take = NULL;
	/* Without memory for a new table the old one stays: only its entries
	 * for this slab go, so no lookup can find it. */
	if (map_rebuild(p, p->map_cap) < 0) {
		uint32_t i;

		for (i = 0; i < p->map_cap; i++)
			if (p->map[i] == s)
				p->map[i] = NULL;
	}
	if (!p->carving) {
		for (p->carving = p->slabs; p->carving;
		     p->carving = p->carving->next)
			if (p->carving->ncarved < p->carving->nobj)
				break;
	}
}

/* Every carved object is back: nothing of it is in use or cached. */
bool _hs_slab_empty(const struct hs_slab *s)
{
	return s->nfree == s->ncarved;
}

/*
 * Put a constructed object back into its slab. Returns the slab, or NULL
 * for a pointer that is not a free-able object of this pool.
 */
struct hs_slab *_hs_slab_put_locked(hs_pool_t *p, void *obj)
{
	struct hs_slab *s = map_find(p, (uintptr_t)obj);
	uintptr_t off;
	uint32_t i;

	if (!s)
		return NULL;
	off = (uintptr_t)obj - s->base;
	i = (uint32_t)(off / p->stride);
	if (off % p->stride || i >= s->ncarved ||
	    (s->freemap[i / 64] & (1ULL << (i % 64))))
		return NULL;
	s->freemap[i / 64] |= 1ULL << (i % 64);
	s->nfree++;
	p->slab_free++;
	return s;
}

/*
 * Take a constructed object back out of some slab, or NULL. Objects come
 * from the fullest slab that has any, so live objects gather in few slabs
 * and the others can empty and be released.
 */
void *_hs_slab_take_locked(hs_pool_t *p)
{
	struct hs_slab *s = p->take;
	uint32_t w, words;

	if (!p->slab_free)
		return NULL;
	if (!s || !s->nfree) {
		struct hs_slab *t;

		s = NULL;
		for (t = p->slabs; t; t = t->next)
			if (t->nfree && (!s || t->nfree < s->nfree))
				s = t;
		p->take = s;
	}
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
	return NULL;	/* unreachable: nfree said there was one */
}

/* Reserve up to @want never-carved objects from the carving slab. */
uint32_t _hs_slab_carve_locked(hs_pool_t *p, struct hs_slab *s, void **out,
			       uint32_t want)
{
	uint32_t n = 0;

	while (n < want && s->ncarved < s->nobj) {
		out[n++] = (void *)(s->base + (uintptr_t)s->ncarved * p->stride);
		s->ncarved++;
	}
	if (s->ncarved == s->nobj && p->carving == s) {
		for (p->carving = p->slabs; p->carving;
		     p->carving = p->carving->next)
			if (p->carving->ncarved < p->carving->nobj)
				break;
	}
	return n;
}

/* Run the destructor on each object of a released slab; no lock held. */
void _hs_slab_destruct(hs_pool_t *p, struct hs_slab *s)
{
	uint32_t i;

	if (!p->dtor)
		return;
	for (i = 0; i < s->ncarved; i++) {
		void *obj = (void *)(s->base + (uintptr_t)i * p->stride);

		if (s->freemap[i / 64] & (1ULL << (i % 64))) {
			_hs_dbg_dtor(p, obj);
			p->dtor(obj, p->arg);
		}
	}
}

/* Forget a slab whose memory is gone (fork child): no destructors. */
void _hs_slab_forget(hs_pool_t *p, struct hs_slab *s)
{
	_hs_meta_free(s->freemap, freemap_bytes(p->slab_nobj));
	_hs_meta_free(s, sizeof(*s));
}
