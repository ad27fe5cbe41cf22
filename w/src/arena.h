/* SPDX-License-Identifier: MIT */
/*
 * libhugeslab: what arena.c (regions, extents, spans) and units.c (each
 * 2 MiB unit's pages: committed, free with pages, given back) share.
 * Nothing else looks inside an arena.
 */
#ifndef HS_ARENA_H
#define HS_ARENA_H

#include "internal.h"

#define NBINS			32

/* A free unit that still has its pages, in its arena's list by age. */
struct _hs_dirty {
	struct _hs_aregion *r;
	uint32_t u;
	uint64_t at;			/* free since */
	struct _hs_dirty *next, *prev;	/* newer, older */
};

/* A run of free chunks in a region, in a bin of its arena. */
struct _hs_extent {
	uint32_t start, n;		/* chunk index in the region, count */
	struct _hs_aregion *r;
	struct _hs_extent *next, *prev;	/* bin list */
};

struct _hs_aregion {
	struct _hs_mem mem;
	struct _hs_arena *arena;
	uint32_t nchunks;
	uint32_t used;			/* chunks in spans */
	uint32_t nunits;
	struct _hs_extent **tag;	/* per chunk: the free extent that
					 * starts or ends here, else NULL */
	uint16_t *unit_used;		/* per unit: its chunks in spans */
	uint64_t *committed;		/* bit per unit: has its pages */
	struct _hs_dirty **dirty;	/* per unit: its entry, if free with
					 * pages */
	uint32_t ndirty;		/* units with such an entry */
	bool alone;			/* mapped for one span: goes with it */
	struct _hs_aregion *next, *prev;	/* the arena's regions */
};

struct _hs_arena {
	pthread_mutex_t lock;
	int node;
	bool fallback;			/* the heap's: other backends allowed */
	bool small;			/* the heap's small arena: 4 KiB pages */
	size_t cap;			/* maps no more than this (0: no cap) */
	struct _hs_dirty *dirty_new, *dirty_old; /* free units with pages */
	uint64_t dirty_ns;		/* how long they keep them */
	struct _hs_extent *bins[NBINS];
	uint32_t binmap;
	size_t mapped;			/* bytes of regions, spare included */
	struct _hs_aregion *regions;
	struct _hs_aregion *spare;	/* all free, kept for hysteresis */
	struct _hs_arena *next;
};

/* Every arena, for purging and fork; under _hs_arenas_lock. */
extern pthread_mutex_t _hs_arenas_lock;
extern struct _hs_arena *_hs_arenas;

/* ---- units.c: a region's units and their pages (under the arena's lock) */

/* Units [u0, u1] of @r are about to be used: give them pages again. 1 if
 * none had pages (so all are zero), 0 if some had, -1 + errno. */
int _hs_units_commit(struct _hs_aregion *r, uint32_t u0, uint32_t u1);
/* Chunks [c, c + n) of @r enter (+1) or leave (-1) spans; a unit left
 * with nothing in use keeps its pages an interval. */
void _hs_units_account(struct _hs_aregion *r, uint32_t c, uint32_t n,
		       int dir);
/* A region about to go: its free units leave the arena's list. */
void _hs_region_undirty(struct _hs_arena *a, struct _hs_aregion *r);
/* Free units past the interval, or (@all) every one, and while *@owed
 * (if not NULL) is not paid off (less a unit each), give their pages
 * back, oldest first; regions left empty and without pages are handed to
 * _hs_region_drained_locked(), what it lets go added to *@gone. */
void _hs_dirty_purge_locked(struct _hs_arena *a, bool all, uint64_t *owed,
			    struct _hs_aregion **gone);

/* ---- arena.c, for units.c ------------------------------------------------ */

/* If @r has nothing in use and no pages kept: it becomes the spare, the
 * old spare (if any) goes on *@gone for _hs_regions_unmap() after the
 * lock. */
void _hs_region_drained_locked(struct _hs_arena *a, struct _hs_aregion *r,
			       struct _hs_aregion **gone);
/* Unmap and forget the regions of a list (unlocked). */
void _hs_regions_unmap(struct _hs_aregion *gone);

#endif /* HS_ARENA_H */
