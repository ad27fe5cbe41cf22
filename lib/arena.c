// SPDX-License-Identifier: MIT
/*
 * libhugeslab: arenas - region memory handed out in spans of 4 KiB chunks,
 * each span's chunks entered in the map from any address to its owner.
 *
 * An arena (one per NUMA node asked for, and one more per node for the
 * heap's fallback memory) maps regions from the backend and keeps their
 * free 4 KiB chunks as extents in bins by size (a bin per power of two, a
 * bitmap of the bins in use), so finding a span is O(1) however many
 * regions and extents there are, and a freed span merges with its free
 * neighbours through tags at each extent's ends. A span never crosses a
 * region, so no object does either.
 *
 * Regions grow with the arena - an eighth of what it holds, 2 MiB to 64 MiB
 * (more for a span that big) - so small programs map little, big ones map
 * few regions, and one region kept alive by a last object holds back at
 * most an eighth of the peak. A big block of the heap on hugetlb has a
 * region alone (ALONE_MIN_CHUNKS), its pages reserved, not populated.
 *
 * Giving memory back: a huge page (unit) whose chunks are all free keeps
 * its pages a trim interval, then gives them back (units.c);
 * hs_pool_trim() and hs_heap_trim() give back all such at once. A region
 * whose chunks are all free keeps its place (and the pages its units
 * keep) until the last unit gave them back; then it is unmapped, except
 * one per arena kept as a spare. The module takes memory back by whole
 * regions only, so on the kmod backend units stay committed until their
 * region goes, and an empty region goes at once.
 *
 * The address map has an entry per chunk of the 47-bit address space in
 * two levels (map.c); an entry holds the owning slab while the chunk is in
 * a span.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define REGION_MIN_UNITS	1
#define REGION_MAX_UNITS	32	/* 64 MiB, unless one span needs more */
#define REGION_MAX_UNITS_KMOD	8	/* 16 MiB */
/*
 * The heap's blocks from 16 MiB are alone in their regions on hugetlb, as
 * glibc mmaps its big blocks: a program sizes such a buffer for its worst
 * case and may touch a corner (sort, xz). Below, a block shares regions,
 * grows in place and its units keep their pages a while when freed.
 */
#define ALONE_MIN_CHUNKS	((16U << 20) >> HS_CHUNK_SHIFT)

pthread_mutex_t _hs_arenas_lock = PTHREAD_MUTEX_INITIALIZER;
struct _hs_arena *_hs_arenas;

/* ---- bins of free extents ------------------------------------------------ */

static unsigned int floor_log2(uint32_t n)
{
	return 31 - (unsigned int)__builtin_clz(n);
}

static void bin_insert(struct _hs_arena *a, struct _hs_extent *e)
{
	unsigned int b = floor_log2(e->n);

	e->prev = NULL;
	e->next = a->bins[b];
	if (e->next)
		e->next->prev = e;
	a->bins[b] = e;
	a->binmap |= 1U << b;
	e->r->tag[e->start] = e;
	e->r->tag[e->start + e->n - 1] = e;
}

static void bin_remove(struct _hs_arena *a, struct _hs_extent *e)
{
	unsigned int b = floor_log2(e->n);

	if (e->prev)
		e->prev->next = e->next;
	else
		a->bins[b] = e->next;
	if (e->next)
		e->next->prev = e->prev;
	if (!a->bins[b])
		a->binmap &= ~(1U << b);
	e->r->tag[e->start] = NULL;
	e->r->tag[e->start + e->n - 1] = NULL;
}

/* Where in @e a span of @chunks aligned to @align starts, or -1. */
static long fit(const struct _hs_extent *e, uint32_t chunks, size_t align)
{
	uintptr_t base = (uintptr_t)e->r->mem.base +
			 ((uintptr_t)e->start << HS_CHUNK_SHIFT);
	uintptr_t at = HS_ALIGN_UP(base, align);
	uint32_t skip = (uint32_t)((at - base) >> HS_CHUNK_SHIFT);

	if ((uint64_t)skip + chunks > e->n)
		return -1;
	return (long)(e->start + skip);
}

/*
 * A free extent that holds @chunks aligned to @align: one in the request's
 * own bin that happens to fit, else one of the first bigger bin, which
 * fits by its size; a few extents are looked at, never a whole bin. O(1).
 * Sets *at to where the span starts.
 */
static struct _hs_extent *find(struct _hs_arena *a, uint32_t chunks,
				size_t align, long *at)
{
	uint32_t need = chunks + (uint32_t)(align / HS_CHUNK) - 1;
	unsigned int b = floor_log2(chunks), looked = 0;
	struct _hs_extent *e, *best = NULL;
	long best_at = -1;
	uint32_t above;

	/*
	 * Of the few extents looked at, the one in the fullest region: new
	 * spans go where memory is used already, so other regions empty and
	 * can go back to the kernel.
	 */
	for (e = a->bins[b]; e && looked < 8; e = e->next, looked++)
		if ((*at = fit(e, chunks, align)) >= 0 &&
		    (!best || e->r->used > best->r->used)) {
			best = e;
			best_at = *at;
		}
	/* Bins above need's own hold only extents of at least need. */
	b = floor_log2(need) + 1;
	above = b < NBINS ? a->binmap >> b << b : 0;
	while (above && !best) {
		for (e = a->bins[__builtin_ctz(above)], looked = 0;
		     e && looked < 8; e = e->next, looked++)
			if ((*at = fit(e, chunks, align)) >= 0 &&
			    (!best || e->r->used > best->r->used)) {
				best = e;
				best_at = *at;
			}
		above &= above - 1;
	}
	if (best) {
		*at = best_at;
		return best;
	}
	/* need's own bin: its extents may or may not be big enough (an
	 * aligned span; a few looked at, else a new region). */
	for (e = a->bins[floor_log2(need)], looked = 0; e && looked < 16;
	     e = e->next, looked++)
		if ((*at = fit(e, chunks, align)) >= 0)
			return e;
	return NULL;
}

/* ---- regions ------------------------------------------------------------- */

static size_t tags_bytes(uint32_t nchunks)
{
	return nchunks * sizeof(struct _hs_extent *);
}

static void aregion_forget(struct _hs_aregion *r)
{
	_hs_meta_free(r->tag, tags_bytes(r->nchunks));
	_hs_meta_free(r->unit_used, r->nunits * sizeof(*r->unit_used));
	_hs_meta_free(r->committed, HS_ALIGN_UP(r->nunits, 64) / 8);
	_hs_meta_free(r->dirty, r->nunits * sizeof(*r->dirty));
	_hs_meta_free(r, sizeof(*r));
}

/* Map a region of @units units; its chunks form one free extent. */
static struct _hs_aregion *aregion_new(struct _hs_arena *a, size_t units,
				       size_t align, unsigned int flags)
{
	struct _hs_aregion *r = _hs_meta_alloc(sizeof(*r));
	struct _hs_extent *e = _hs_meta_alloc(sizeof(*e));
	uint32_t i;
	int err;

	if (!r || !e)
		goto nomem;
	r->nchunks = (uint32_t)(units * HS_UNIT_CHUNKS);
	r->nunits = (uint32_t)units;
	r->tag = _hs_meta_alloc(tags_bytes(r->nchunks));
	r->unit_used = _hs_meta_alloc(units * sizeof(*r->unit_used));
	r->committed = _hs_meta_alloc(HS_ALIGN_UP(units, 64) / 8);
	r->dirty = _hs_meta_alloc(units * sizeof(*r->dirty));
	if (!r->tag || !r->unit_used || !r->committed || !r->dirty)
		goto nomem;
	if (_hs_os_map(units * HS_UNIT, align, a->node,
		       flags | (a->fallback ? HS_MAP_FALLBACK_ONLY : 0) |
		       (a->small ? HS_MAP_PAGES_ONLY : 0), &r->mem) < 0)
		goto fail;
	if (_hs_map_reserve((uintptr_t)r->mem.base, r->mem.bytes) < 0) {
		_hs_os_unmap(&r->mem);
		goto nomem;
	}
	/* The module populates a region whole, and a reserved one has its
	 * pages set aside; other backends get their pages a unit at a time,
	 * as spans take the units. */
	if (r->mem.backend == HS_BACKEND_KMOD || (flags & HS_MAP_RESERVE)) {
		for (i = 0; i < units; i++)
			r->committed[i / 64] |= 1ULL << (i % 64);
		__atomic_add_fetch(&_hs_arena_grown, r->mem.bytes,
				   __ATOMIC_RELAXED);
	}
	r->arena = a;
	e->start = 0;
	e->n = r->nchunks;
	e->r = r;
	r->tag[0] = e;		/* parked: see park() */
	r->tag[r->nchunks - 1] = e;
	return r;
nomem:
	_hs_fail(ENOMEM, "out of memory for arena bookkeeping");
fail:
	err = errno;
	_hs_meta_free(e, sizeof(*e));
	if (r)
		aregion_forget(r);
	errno = err;
	return NULL;
}

static void region_link(struct _hs_arena *a, struct _hs_aregion *r)
{
	r->prev = NULL;
	r->next = a->regions;
	if (r->next)
		r->next->prev = r;
	a->regions = r;
}

static void region_unlink(struct _hs_arena *a, struct _hs_aregion *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		a->regions = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

/* The free extent of a region with nothing in use. */
static struct _hs_extent *whole(struct _hs_aregion *r)
{
	struct _hs_extent *e = r->tag[0];

	HS_ASSERT(!r->used && e && e->n == r->nchunks);
	return e;
}

/* Take an all-free region's extent out of the bins, keeping its tags. */
static void park(struct _hs_arena *a, struct _hs_aregion *r)
{
	struct _hs_extent *e = whole(r);

	bin_remove(a, e);
	r->tag[0] = e;
	r->tag[r->nchunks - 1] = e;
}

/* Forget a region whose memory is gone or going. */
static void region_free(struct _hs_aregion *r)
{
	_hs_meta_free(r->tag[0], sizeof(struct _hs_extent));
	aregion_forget(r);
}

void _hs_region_drained_locked(struct _hs_arena *a, struct _hs_aregion *r,
			       struct _hs_aregion **gone)
{
	struct _hs_aregion *old = a->spare;

	if (r->used || r->ndirty)
		return;
	park(a, r);
	region_unlink(a, r);
	a->spare = r;
	if (old) {
		_hs_region_undirty(a, old);
		a->mapped -= old->mem.bytes;
		old->next = *gone;
		*gone = old;
	}
}

void _hs_regions_unmap(struct _hs_aregion *gone)
{
	struct _hs_aregion *r;

	while ((r = gone)) {
		gone = r->next;
		_hs_os_unmap(&r->mem);
		region_free(r);
	}
}

/*
 * Units of the next region: an eighth of the arena, 2 to 64 MiB. The
 * module takes memory back by whole regions only, so there a sixteenth,
 * up to 16 MiB: a region kept by a last live object holds back less.
 * Elsewhere a region costs only address space until its units are used,
 * so a big span gets as much again after it, to grow into in place.
 */
static size_t grow_units(const struct _hs_arena *a, uint32_t need)
{
	bool kmod = _hs_os_backend() == HS_BACKEND_KMOD && !a->fallback &&
		    !a->small;
	size_t units = HS_ALIGN_UP(a->mapped / (kmod ? 16 : 8), HS_UNIT) / HS_UNIT;
	size_t want = HS_ALIGN_UP((size_t)need * HS_CHUNK, HS_UNIT) / HS_UNIT;

	units = HS_MIN(HS_MAX(units, REGION_MIN_UNITS),
		       kmod ? REGION_MAX_UNITS_KMOD : REGION_MAX_UNITS);
	if (!kmod && need >= HS_UNIT_CHUNKS / 2)
		want *= 2;
	return HS_MAX(units, want);
}

/* ---- spans ---------------------------------------------------------------- */

struct _hs_arena *_hs_arena_of(int node, bool fallback)
{
	struct _hs_arena *a;

	pthread_mutex_lock(&_hs_arenas_lock);
	for (a = _hs_arenas; a; a = a->next)
		if (a->node == node && a->fallback == fallback && !a->small)
			break;
	if (!a) {
		a = _hs_meta_alloc(sizeof(*a));
		if (a) {
			pthread_mutex_init(&a->lock, NULL);
			a->node = node;
			a->fallback = fallback;
			a->dirty_ns = _hs_trim_ns();
			a->next = _hs_arenas;
			_hs_arenas = a;
		}
	}
	pthread_mutex_unlock(&_hs_arenas_lock);
	if (!a)
		_hs_fail(ENOMEM, "out of memory for arena bookkeeping");
	return a;
}

/*
 * Made once: its cap is read from the environment the first time. Huge
 * pages only pay once a program is big enough to miss the TLB; below, a
 * 2 MiB page per size class would be most of a small program's memory.
 */
struct _hs_arena *_hs_arena_small(void)
{
	static struct _hs_arena *small;
	static bool decided;
	struct _hs_arena *a;
	uint64_t cap;

	if (__atomic_load_n(&decided, __ATOMIC_ACQUIRE))
		return small;
	cap = _hs_heap_small_bytes();
	pthread_mutex_lock(&_hs_arenas_lock);
	if (!decided && cap && _hs_os_backend() != HS_BACKEND_PAGES) {
		a = _hs_meta_alloc(sizeof(*a));
		if (a) {
			pthread_mutex_init(&a->lock, NULL);
			a->node = -1;
			a->small = true;
			a->cap = HS_ALIGN_UP(cap, HS_UNIT);
			a->dirty_ns = _hs_trim_ns();
			a->next = _hs_arenas;
			_hs_arenas = a;
			small = a;
		}
	}
	__atomic_store_n(&decided, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&_hs_arenas_lock);
	return small;
}

/* A span no region can hold: -1 + ENOMEM + message. */
static bool too_big(uint32_t chunks)
{
	if (chunks <= (1U << 30) / 2)
		return false;
	_hs_fail(ENOMEM, "a span of %u chunks is beyond any region", chunks);
	return true;
}

/* Spans that RSS counts once touched: counted as taken (rss.c), where
 * THP units count as committed. */
static bool on_plain_pages(const struct _hs_aregion *r)
{
	return r->arena->small || r->mem.backend == HS_BACKEND_PAGES;
}

/* Take [at, at + chunks) out of free extent @e; no memory needed. */
static void carve(struct _hs_arena *a, struct _hs_extent *e, uint32_t at,
		  uint32_t chunks, struct _hs_extent *spare)
{
	struct _hs_aregion *r = e->r;
	uint32_t end = e->start + e->n;

	bin_remove(a, e);
	if (at > e->start) {
		e->n = at - e->start;
		bin_insert(a, e);
		e = spare;		/* the tail, if any, needs another */
		spare = NULL;
	}
	if (at + chunks < end) {
		HS_ASSERT(e);
		e->r = r;
		e->start = at + chunks;
		e->n = end - e->start;
		bin_insert(a, e);
		e = NULL;
	}
	_hs_meta_free(e, sizeof(*e));
	_hs_meta_free(spare, sizeof(*spare));
	_hs_units_account(r, at, chunks, 1);
	if (on_plain_pages(r))
		__atomic_add_fetch(&_hs_rss_committed,
				   (uint64_t)chunks << HS_CHUNK_SHIFT,
				   __ATOMIC_RELAXED);
}

int _hs_span_alloc(struct _hs_arena *a, uint32_t chunks, size_t align,
		   unsigned int flags, uintptr_t owner, struct _hs_span *span)
{
	struct _hs_aregion *r;
	struct _hs_extent *e, *spare;
	size_t units;
	long at;
	int fresh;

	HS_ASSERT(chunks && align >= HS_CHUNK && !(align & (align - 1)));
	if (too_big(chunks))
		return -1;
	/* A split may need a second extent: had before taking the lock. */
	spare = _hs_meta_alloc(sizeof(*spare));
	if (!spare)
		return _hs_fail(ENOMEM, "out of memory for arena bookkeeping");
	pthread_mutex_lock(&a->lock);
	for (;;) {
		e = find(a, chunks, align, &at);
		if (e)
			break;
		/* A spare region that fits comes back first. */
		if (a->spare && fit(a->spare->tag[0], chunks, align) >= 0) {
			r = a->spare;
			a->spare = NULL;
			region_link(a, r);
			e = r->tag[0];
			bin_insert(a, e);
			at = fit(e, chunks, align);
			break;
		}
		/* A capped arena maps all it may at once, then is full. */
		units = a->cap ? a->cap / HS_UNIT : grow_units(a, chunks);
		if (a->cap && (a->mapped + units * HS_UNIT > a->cap ||
			       units * HS_UNIT_CHUNKS < chunks)) {
			pthread_mutex_unlock(&a->lock);
			_hs_meta_free(spare, sizeof(*spare));
			errno = ENOSPC;
			return -1;
		}
		pthread_mutex_unlock(&a->lock);
		r = aregion_new(a, units, HS_MAX(align, HS_UNIT), flags);
		/* A limit may allow the span but not the growth. */
		if (!r && !a->cap && units * HS_UNIT_CHUNKS > chunks)
			r = aregion_new(a, HS_ALIGN_UP((size_t)chunks * HS_CHUNK,
						       HS_UNIT) / HS_UNIT,
					HS_MAX(align, HS_UNIT), flags);
		pthread_mutex_lock(&a->lock);
		if (!r) {
			pthread_mutex_unlock(&a->lock);
			_hs_meta_free(spare, sizeof(*spare));
			return -1;
		}
		a->mapped += r->mem.bytes;
		region_link(a, r);
		e = whole(r);
		bin_insert(a, e);
		/* Mapped aligned for this request: it fits at the start. */
		at = fit(e, chunks, align);
		if (at >= 0)
			break;
	}
	r = e->r;
	fresh = _hs_units_commit(r, (uint32_t)at / HS_UNIT_CHUNKS,
				 ((uint32_t)at + chunks - 1) / HS_UNIT_CHUNKS);
	if (fresh < 0) {
		pthread_mutex_unlock(&a->lock);
		_hs_meta_free(spare, sizeof(*spare));
		return -1;
	}
	carve(a, e, (uint32_t)at, chunks, spare);
	span->base = (uintptr_t)r->mem.base + ((uintptr_t)at << HS_CHUNK_SHIFT);
	span->chunks = chunks;
	span->zeroed = fresh;
	span->owner = r;
	_hs_map_set(span->base, chunks, owner);
	pthread_mutex_unlock(&a->lock);
	_hs_arena_purge_due();
	return 0;
}

/*
 * A span alone in a region mapped for it, as _hs_span_alloc(): on hugetlb
 * its huge pages are reserved rather than faulted in, so a big block
 * costs the pages a program touches and a touch cannot fail later (the
 * span is zeroed); the region goes with the span.
 */
static int span_alloc_alone(struct _hs_arena *a, uint32_t chunks,
			    size_t align, uintptr_t owner,
			    struct _hs_span *span)
{
	size_t units = HS_ALIGN_UP((size_t)chunks * HS_CHUNK, HS_UNIT) / HS_UNIT;
	struct _hs_aregion *r;
	uint32_t u;

	if (too_big(chunks))
		return -1;
	r = aregion_new(a, units, HS_MAX(align, HS_UNIT), HS_MAP_RESERVE);
	if (!r)
		return -1;
	/* All of it is the span's from the start: no unit is ever free
	 * (kept, purged) while it lives, none ever in the bins. */
	r->alone = true;
	r->used = r->nchunks;
	for (u = 0; u < units; u++)
		r->unit_used[u] = HS_UNIT_CHUNKS;
	pthread_mutex_lock(&a->lock);
	a->mapped += r->mem.bytes;
	region_link(a, r);
	span->base = (uintptr_t)r->mem.base;
	span->chunks = r->nchunks;
	span->zeroed = true;
	span->owner = r;
	_hs_map_set(span->base, span->chunks, owner);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

/* The region of a span alone goes with it, its reservation too. */
static void alone_free(struct _hs_span *span)
{
	struct _hs_aregion *r = span->owner;
	struct _hs_arena *a = r->arena;

	pthread_mutex_lock(&a->lock);
	_hs_map_set(span->base, span->chunks, 0);
	region_unlink(a, r);
	a->mapped -= r->mem.bytes;
	pthread_mutex_unlock(&a->lock);
	_hs_regions_unmap(r);
	span->owner = NULL;
}

int _hs_heap_span_alloc(struct _hs_arena *a, uint32_t chunks, size_t align,
			uintptr_t owner, struct _hs_span *span)
{
	struct _hs_arena *small = _hs_arena_small(), *fb;
	int rc = -1, err = errno;

	/* (A block aligned to a huge page asks for one.) */
	if (small && align < HS_UNIT) {
		rc = _hs_span_alloc(small, chunks, align, 0, owner, span);
		/* Full is no error: a malloc that succeeds keeps errno. */
		errno = err;
	}
	/* A big block on hugetlb: reserved, not populated (see above). */
	if (rc < 0 && chunks >= ALONE_MIN_CHUNKS && !a->fallback &&
	    _hs_os_backend() == HS_BACKEND_HUGETLB)
		rc = span_alloc_alone(a, chunks, align, owner, span);
	else if (rc < 0)
		rc = _hs_span_alloc(a, chunks, align, 0, owner, span);
	/* Huge pages ran out: on with the next backend. */
	if (rc < 0 && (errno == ENOMEM || errno == EDQUOT) &&
	    (fb = _hs_arena_of(-1, true)))
		rc = _hs_span_alloc(fb, chunks, align, 0, owner, span);
	return rc;
}

void _hs_span_free(struct _hs_span *span)
{
	struct _hs_aregion *r = span->owner, *gone = NULL;
	struct _hs_arena *a = r->arena;
	uint32_t at = (uint32_t)((span->base - (uintptr_t)r->mem.base) >>
				 HS_CHUNK_SHIFT);
	struct _hs_extent *e, *left, *right;

	if (r->alone) {
		alone_free(span);
		return;
	}
	e = _hs_meta_alloc(sizeof(*e));
	pthread_mutex_lock(&a->lock);
	_hs_map_set(span->base, span->chunks, 0);
	_hs_units_account(r, at, span->chunks, -1);
	left = at ? r->tag[at - 1] : NULL;
	right = at + span->chunks < r->nchunks ? r->tag[at + span->chunks] : NULL;
	if (left) {
		/* Grow the left neighbour over the span (and the right one). */
		bin_remove(a, left);
		left->n += span->chunks;
		if (right) {
			bin_remove(a, right);
			left->n += right->n;
			_hs_meta_free(right, sizeof(*right));
		}
		bin_insert(a, left);
	} else if (right) {
		bin_remove(a, right);
		right->start = at;
		right->n += span->chunks;
		bin_insert(a, right);
	} else if (e) {
		e->r = r;
		e->start = at;
		e->n = span->chunks;
		bin_insert(a, e);
		e = NULL;
	} else {
		/*
		 * No memory for an extent: the chunks stay out of the bins
		 * (lost to this arena until the region goes) rather than
		 * fail a free.
		 */
		_hs_units_account(r, at, span->chunks, 1);
	}
	/*
	 * If all is free: a region whose units keep their pages an interval
	 * stays in the bins, so a program that frees everything and starts
	 * again (a batch, a request burst) finds its pages instead of faulting
	 * in and zeroing them all again; the purge hands it on once they are
	 * gone. The module's units keep theirs until the region goes.
	 */
	_hs_region_drained_locked(a, r, &gone);
	pthread_mutex_unlock(&a->lock);
	_hs_meta_free(e, sizeof(*e));
	/* Unmapping may take a while (munmap, ioctl): not under the lock. */
	_hs_regions_unmap(gone);
	span->owner = NULL;
	_hs_arena_purge_due();
}

int _hs_span_grow(struct _hs_span *span, uint32_t chunks, uintptr_t owner)
{
	struct _hs_aregion *r = span->owner;
	struct _hs_arena *a = r->arena;
	uint32_t end = (uint32_t)((span->base - (uintptr_t)r->mem.base) >>
				  HS_CHUNK_SHIFT) + span->chunks;
	uint32_t more = chunks - span->chunks;
	struct _hs_extent *e, *spare;
	int rc = -1;

	HS_ASSERT(chunks > span->chunks);
	if (r->alone)
		return -1;
	spare = _hs_meta_alloc(sizeof(*spare));
	if (!spare)
		return -1;
	pthread_mutex_lock(&a->lock);
	/* The free extent right after the span, if it has room. */
	e = end < r->nchunks ? r->tag[end] : NULL;
	if (e && e->start == end && e->n >= more &&
	    _hs_units_commit(r, end / HS_UNIT_CHUNKS,
			 (end + more - 1) / HS_UNIT_CHUNKS) >= 0) {
		carve(a, e, end, more, spare);
		spare = NULL;
		_hs_map_set(span->base + ((uintptr_t)span->chunks << HS_CHUNK_SHIFT),
			more, owner);
		span->chunks = chunks;
		rc = 0;
	}
	pthread_mutex_unlock(&a->lock);
	_hs_meta_free(spare, sizeof(*spare));
	return rc;
}

int _hs_span_shrink(struct _hs_span *span, uint32_t chunks, bool drop)
{
	struct _hs_span tail = {
		.base = span->base + ((uintptr_t)chunks << HS_CHUNK_SHIFT),
		.chunks = span->chunks - chunks,
		.owner = span->owner,
	};

	HS_ASSERT(chunks && chunks < span->chunks);
	if (span->owner->alone)
		return -1;
	span->chunks = chunks;
	if (drop)
		_hs_span_discard(&tail);
	_hs_span_free(&tail);
	return 0;
}

hs_backend_t _hs_span_backend(const struct _hs_span *span)
{
	return span->owner->mem.backend;
}

bool _hs_span_fallback(const struct _hs_span *span)
{
	return span->owner->arena->fallback;
}

bool _hs_span_small(const struct _hs_span *span)
{
	return span->owner->arena->small;
}

bool _hs_span_alone(const struct _hs_span *span)
{
	return span->owner->alone;
}

void _hs_span_discard(struct _hs_span *span)
{
	struct _hs_aregion *r = span->owner;

	_hs_os_discard(&r->mem, span->base - (uintptr_t)r->mem.base,
		       (size_t)span->chunks << HS_CHUNK_SHIFT);
}

/* Give back the spare regions and every free unit now. */
void _hs_arena_trim(void)
{
	struct _hs_aregion *spares = NULL;
	struct _hs_arena *a;

	pthread_mutex_lock(&_hs_arenas_lock);
	for (a = _hs_arenas; a; a = a->next) {
		pthread_mutex_lock(&a->lock);
		_hs_dirty_purge_locked(a, true, NULL, &spares);
		if (a->spare) {
			a->mapped -= a->spare->mem.bytes;
			a->spare->next = spares;
			spares = a->spare;
			a->spare = NULL;
		}
		pthread_mutex_unlock(&a->lock);
	}
	pthread_mutex_unlock(&_hs_arenas_lock);
	_hs_regions_unmap(spares);
}

/* ---- fork ---------------------------------------------------------------- */

void _hs_arena_fork_prepare(void)
{
	struct _hs_arena *a;

	pthread_mutex_lock(&_hs_arenas_lock);
	for (a = _hs_arenas; a; a = a->next)
		pthread_mutex_lock(&a->lock);
	_hs_map_fork_lock();
}

void _hs_arena_fork_parent(void)
{
	struct _hs_arena *a;

	_hs_map_fork_unlock();
	for (a = _hs_arenas; a; a = a->next)
		pthread_mutex_unlock(&a->lock);
	pthread_mutex_unlock(&_hs_arenas_lock);
}

static void region_drop_child(struct _hs_aregion *r)
{
	uint32_t c;

#ifdef HS_ASAN
	/*
	 * The parent's free objects were poisoned, and the child has a copy
	 * of the shadow but not the memory: a mapping of its own at these
	 * addresses must not start out poisoned.
	 */
	ASAN_UNPOISON_MEMORY_REGION(r->mem.base, r->mem.bytes);
#endif
	/* Its free units' entries, and its extents, found through their end
	 * tags. */
	for (c = 0; c < r->nunits; c++)
		_hs_meta_free(r->dirty[c], sizeof(struct _hs_dirty));
	memset(r->dirty, 0, r->nunits * sizeof(*r->dirty));
	for (c = 0; c < r->nchunks; c++) {
		struct _hs_extent *e = r->tag[c];

		if (e && e->start == c) {
			c = e->start + e->n - 1;
			_hs_meta_free(e, sizeof(*e));
		}
	}
	_hs_map_set((uintptr_t)r->mem.base, r->nchunks, 0);
	aregion_forget(r);
}

/*
 * The child has none of the regions (MADV_DONTFORK, VM_DONTCOPY): forget
 * them, and their chunks in the address map, so a child's own mapping at
 * the same addresses is never taken for a parent's slab.
 */
void _hs_arena_fork_child(void)
{
	struct _hs_aregion *r, *next;
	struct _hs_arena *a;

	_hs_map_fork_unlock();
	for (a = _hs_arenas; a; a = a->next) {
		if (_hs_fork_keeps_memory()) {
			/* Copy-on-write: all of it is the child's too. */
			pthread_mutex_unlock(&a->lock);
			continue;
		}
		for (r = a->regions; r; r = next) {
			next = r->next;
			region_drop_child(r);
		}
		if (a->spare)
			region_drop_child(a->spare);
		a->regions = a->spare = NULL;
		memset(a->bins, 0, sizeof(a->bins));
		a->dirty_new = a->dirty_old = NULL;
		a->binmap = 0;
		a->mapped = 0;
		pthread_mutex_unlock(&a->lock);
	}
	pthread_mutex_unlock(&_hs_arenas_lock);
}
