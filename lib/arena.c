// SPDX-License-Identifier: MIT
/*
 * libhugeslab: arenas - region memory handed to pools in 2 MiB units.
 *
 * One arena per NUMA node asked for (plus one for "any"). An arena maps
 * regions from the backend, growing geometrically (2 MiB, 4 MiB, ... 64 MiB)
 * so small programs stay small and big ones make few regions, and gives out
 * spans of contiguous units first-fit. A span never crosses a region, so no
 * object does either.
 *
 * Spans come back when a pool releases a slab, which it does only after
 * the slab went unused for a whole trim interval: their pages go back to
 * the kernel at once (decommitted, the address range kept) and are
 * faulted in again when a span reuses them. Fully free regions are
 * unmapped, except the most recently emptied one per arena, kept so a
 * workload swinging around a region boundary does not map and unmap on
 * every swing.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

#define ARENA_GROW_MAX	32	/* units: regions grow up to 64 MiB */

struct _hs_aregion {
	struct _hs_mem mem;
	size_t units;
	size_t nfree;
	uint64_t *used;			/* bit per unit */
	uint64_t *decommitted;		/* bit per unit: pages given back */
	struct _hs_aregion *next;
};

struct arena {
	int node;
	size_t grow;			/* units of the next region */
	struct _hs_aregion *regions;
	struct _hs_aregion *spare;	/* empty, kept for hysteresis */
	struct arena *next;
};

static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static struct arena *arenas;

static struct arena *arena_of(int node)
{
	struct arena *a;

	for (a = arenas; a; a = a->next)
		if (a->node == node)
			return a;
	a = _hs_meta_alloc(sizeof(*a));
	if (!a)
		return NULL;
	a->node = node;
	a->grow = 1;
	a->next = arenas;
	arenas = a;
	return a;
}

static bool unit_used(const struct _hs_aregion *r, size_t i)
{
	return r->used[i / 64] & (1ULL << (i % 64));
}

static void units_mark(struct _hs_aregion *r, size_t first, size_t n, bool used)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		if (used)
			r->used[i / 64] |= 1ULL << (i % 64);
		else
			r->used[i / 64] &= ~(1ULL << (i % 64));
	}
	if (used)
		r->nfree -= n;
	else
		r->nfree += n;
}

/* First run of @n free units in @r, or -1. */
static long find_run(const struct _hs_aregion *r, size_t n)
{
	size_t i, run = 0;

	if (r->nfree < n)
		return -1;
	for (i = 0; i < r->units; i++) {
		run = unit_used(r, i) ? 0 : run + 1;
		if (run == n)
			return (long)(i + 1 - n);
	}
	return -1;
}

static struct _hs_aregion *aregion_new(size_t units, int node)
{
	struct _hs_aregion *r;
	int err;

	r = _hs_meta_alloc(sizeof(*r));
	if (!r)
		goto nomem;
	r->used = _hs_meta_alloc(HS_ALIGN_UP(units, 64) / 8);
	r->decommitted = _hs_meta_alloc(HS_ALIGN_UP(units, 64) / 8);
	if (!r->used || !r->decommitted)
		goto nomem;
	if (_hs_mem_map(units * HS_UNIT, node, &r->mem) < 0)
		goto fail;
	r->units = units;
	r->nfree = units;
	return r;
nomem:
	_hs_fail(ENOMEM, "out of memory for arena bookkeeping");
fail:
	err = errno;
	if (r) {
		_hs_meta_free(r->used, HS_ALIGN_UP(units, 64) / 8);
		_hs_meta_free(r->decommitted, HS_ALIGN_UP(units, 64) / 8);
		_hs_meta_free(r, sizeof(*r));
	}
	errno = err;
	return NULL;
}

static void aregion_forget(struct _hs_aregion *r)
{
	_hs_meta_free(r->used, HS_ALIGN_UP(r->units, 64) / 8);
	_hs_meta_free(r->decommitted, HS_ALIGN_UP(r->units, 64) / 8);
	_hs_meta_free(r, sizeof(*r));
}

/* Fault back in the decommitted units of a run about to be used. */
static int units_commit(struct _hs_aregion *r, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		if (!(r->decommitted[i / 64] & (1ULL << (i % 64))))
			continue;
		if (_hs_mem_commit(&r->mem, i * HS_UNIT, HS_UNIT) < 0)
			return -1;
		r->decommitted[i / 64] &= ~(1ULL << (i % 64));
	}
	return 0;
}

static void units_decommit(struct _hs_aregion *r, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		if (r->decommitted[i / 64] & (1ULL << (i % 64)))
			continue;
		if (_hs_mem_decommit(&r->mem, i * HS_UNIT, HS_UNIT) == 0)
			r->decommitted[i / 64] |= 1ULL << (i % 64);
	}
}

static void span_take(struct _hs_aregion *r, size_t first, size_t units,
		      struct _hs_span *span)
{
	units_mark(r, first, units, true);
	span->base = (uintptr_t)r->mem.base + first * HS_UNIT;
	span->units = units;
	span->owner = r;
}

int _hs_span_alloc(size_t units, int node, struct _hs_span *span)
{
	struct _hs_aregion *r;
	struct arena *a;
	size_t n;
	long first;

	pthread_mutex_lock(&arena_lock);
	a = arena_of(node);
	if (!a) {
		pthread_mutex_unlock(&arena_lock);
		return _hs_fail(ENOMEM, "out of memory for arena bookkeeping");
	}
	for (r = a->regions; r; r = r->next) {
		first = find_run(r, units);
		if (first < 0)
			continue;
		if (units_commit(r, (size_t)first, units) < 0) {
			pthread_mutex_unlock(&arena_lock);
			return -1;
		}
		span_take(r, (size_t)first, units, span);
		pthread_mutex_unlock(&arena_lock);
		return 0;
	}
	if (a->spare && a->spare->units >= units &&
	    units_commit(a->spare, 0, units) == 0) {
		r = a->spare;
		a->spare = NULL;
	} else {
		n = units > a->grow ? units : a->grow;
		r = aregion_new(n, node);
		/* A limit may allow the span but not the growth. */
		if (!r && n > units)
			r = aregion_new(units, node);
		if (!r) {
			pthread_mutex_unlock(&arena_lock);
			return -1;
		}
		if (a->grow < ARENA_GROW_MAX)
			a->grow *= 2;
	}
	r->next = a->regions;
	a->regions = r;
	span_take(r, 0, units, span);
	pthread_mutex_unlock(&arena_lock);
	return 0;
}

void _hs_span_free(struct _hs_span *span)
{
	struct _hs_aregion *r = span->owner, **pp, *old = NULL;
	size_t first = (span->base - (uintptr_t)r->mem.base) / HS_UNIT;
	struct arena *a;

	pthread_mutex_lock(&arena_lock);
	units_mark(r, first, span->units, false);
	/* The pool kept the slab through an interval unused: pages go now. */
	units_decommit(r, first, span->units);
	if (r->nfree == r->units) {
		for (a = arenas; a; a = a->next) {
			for (pp = &a->regions; *pp; pp = &(*pp)->next) {
				if (*pp == r) {
					*pp = r->next;
					old = a->spare;
					a->spare = r;
					goto found;
				}
			}
		}
	}
found:
	pthread_mutex_unlock(&arena_lock);
	/* Unmapping may take a while (ioctl, munmap): not under the lock. */
	if (old) {
		_hs_mem_unmap(&old->mem);
		aregion_forget(old);
	}
	span->owner = NULL;
}

/* Give back the regions kept empty for hysteresis. */
void _hs_arena_trim(void)
{
	struct _hs_aregion *spares = NULL, *r;
	struct arena *a;

	pthread_mutex_lock(&arena_lock);
	for (a = arenas; a; a = a->next) {
		if (a->spare) {
			a->spare->next = spares;
			spares = a->spare;
			a->spare = NULL;
		}
	}
	pthread_mutex_unlock(&arena_lock);
	while ((r = spares)) {
		spares = r->next;
		_hs_mem_unmap(&r->mem);
		aregion_forget(r);
	}
}

void _hs_arena_fork_prepare(void)
{
	pthread_mutex_lock(&arena_lock);
}

void _hs_arena_fork_parent(void)
{
	pthread_mutex_unlock(&arena_lock);
}

/* The child has none of the regions (MADV_DONTFORK): forget them all. */
void _hs_arena_fork_child(void)
{
	struct _hs_aregion *r, *next;
	struct arena *a;

	for (a = arenas; a; a = a->next) {
		for (r = a->regions; r; r = next) {
			next = r->next;
			aregion_forget(r);
		}
		if (a->spare)
			aregion_forget(a->spare);
		a->regions = NULL;
		a->spare = NULL;
		a->grow = 1;
	}
	pthread_mutex_unlock(&arena_lock);
}
