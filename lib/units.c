// SPDX-License-Identifier: MIT
/*
 * libhugeslab: units - the pages of a region's 2 MiB units. A unit gets
 * its pages when a span first takes one of its chunks (hugetlb: faulted
 * in then, so an empty pool is an error and not a SIGBUS later); when the
 * last span in it goes, it keeps them a trim interval (HUGESLAB_TRIM_MS)
 * in its arena's list by age, so a span taken again soon costs no fault
 * and no zeroing of 2 MiB; then they go back to the kernel, on the next
 * span taken or freed in any arena, its address range kept. A region
 * left empty waits the same way, its pages reusable, until the last of
 * them has gone back. The module's regions keep their pages until the
 * region goes.
 */
#include "arena.h"

/* When the oldest free unit with pages of any arena is due to go back. */
static uint64_t dirty_due = UINT64_MAX;
/* Bytes of units committed outside the small arena (the heap's kept runs
 * give way to them). */
uint64_t _hs_arena_grown;

static bool unit_committed(const struct _hs_aregion *r, uint32_t u)
{
	return r->committed[u / 64] & (1ULL << (u % 64));
}

int _hs_units_commit(struct _hs_aregion *r, uint32_t u0, uint32_t u1)
{
	int fresh = 1;
	uint32_t u;

	/* A unit without pages has none to be dirty: it has never been
	 * touched, or gave them back (MADV_DONTNEED), and comes zeroed. */
	for (u = u0; u <= u1; u++) {
		if (unit_committed(r, u)) {
			fresh = 0;
			continue;
		}
		if (_hs_os_commit(&r->mem, (size_t)u * HS_UNIT, HS_UNIT) < 0)
			return -1;
		r->committed[u / 64] |= 1ULL << (u % 64);
		/* Growth, for the heap's kept runs to give way to; the small
		 * arena's too, though its pages fill one at a time. */
		__atomic_add_fetch(&_hs_arena_grown, HS_UNIT, __ATOMIC_RELAXED);
		/* Plain pages (the small arena's too) are counted as spans
		 * take them (arena.c). */
		if (r->mem.backend == HS_BACKEND_THP)
			__atomic_add_fetch(&_hs_rss_committed, HS_UNIT,
					   __ATOMIC_RELAXED);
	}
	return fresh;
}

static void unit_decommit(struct _hs_aregion *r, uint32_t u)
{
	if (!_hs_os_decommit(&r->mem, (size_t)u * HS_UNIT, HS_UNIT))
		r->committed[u / 64] &= ~(1ULL << (u % 64));
}

static void dirty_del(struct _hs_arena *a, struct _hs_dirty *d)
{
	if (d->next)
		d->next->prev = d->prev;
	else
		a->dirty_new = d->prev;
	if (d->prev)
		d->prev->next = d->next;
	else
		a->dirty_old = d->next;
	d->r->dirty[d->u] = NULL;
	d->r->ndirty--;
	_hs_meta_free(d, sizeof(*d));
}

/* dirty_due = min(dirty_due, @t), racing with other arenas' frees. */
static void due_at_most(uint64_t t)
{
	uint64_t cur = __atomic_load_n(&dirty_due, __ATOMIC_RELAXED);

	while (t < cur &&
	       !__atomic_compare_exchange_n(&dirty_due, &cur, t, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Unit @u of @r has its pages and nothing in use: it keeps them a while
 * (the module's regions keep theirs anyway). */
static void unit_freed(struct _hs_aregion *r, uint32_t u)
{
	struct _hs_arena *a = r->arena;
	struct _hs_dirty *d;

	if (r->mem.backend == HS_BACKEND_KMOD)
		return;
	d = _hs_meta_alloc(sizeof(*d));
	if (!d) {
		unit_decommit(r, u);
		return;
	}
	HS_ASSERT(!r->dirty[u]);
	d->r = r;
	d->u = u;
	d->at = _hs_now_ns();
	due_at_most(d->at + a->dirty_ns);
	d->next = NULL;
	d->prev = a->dirty_new;
	if (d->prev)
		d->prev->next = d;
	else
		a->dirty_old = d;
	a->dirty_new = d;
	r->dirty[u] = d;
	r->ndirty++;
}

void _hs_dirty_purge_locked(struct _hs_arena *a, bool all, uint64_t *owed,
			    struct _hs_aregion **gone)
{
	uint64_t now = a->dirty_old ? _hs_now_ns() : 0;
	struct _hs_dirty *d;

	while ((d = a->dirty_old)) {
		struct _hs_aregion *r = d->r;
		uint32_t u = d->u;

		/* Units due go anyway: only the others pay what is owed. */
		if (!all && now - d->at < a->dirty_ns) {
			if (!owed || !*owed)
				break;
			*owed -= HS_MIN(*owed, HS_UNIT);
		}
		dirty_del(a, d);
		unit_decommit(r, u);
		_hs_region_drained_locked(a, r, gone);
	}
}

/* Of _hs_outside_grown(): paid for with units given back, or let go. */
static uint64_t paid;
/* Freed memory the layers above keep for reuse (the heap's kept runs). */
uint64_t _hs_kept_above;

/* paid = max(paid, @to): it only moves forward. */
static void pay(uint64_t to)
{
	uint64_t cur = __atomic_load_n(&paid, __ATOMIC_RELAXED);

	while ((int64_t)(to - cur) > 0 &&
	       !__atomic_compare_exchange_n(&paid, &cur, to, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* What stays owed of @owed: no more than the runs kept above could
 * still bring down (a program that keeps one run forever must not
 * pile up a debt that empties the arenas at its next free). */
static uint64_t still_owed(uint64_t owed)
{
	return HS_MIN(owed, __atomic_load_n(&_hs_kept_above, __ATOMIC_RELAXED));
}

/*
 * Every arena's units due, and as many more, oldest first, as the process
 * grew outside the library (@grown) beyond what was paid for. What no
 * unit can pay yet stays owed, as much as the heap's kept runs, which
 * may come down next, could pay.
 */
static void purge(uint64_t grown)
{
	struct _hs_aregion *gone = NULL;
	uint64_t was, owed, left;
	struct _hs_arena *a;

	pthread_mutex_lock(&_hs_arenas_lock);
	was = __atomic_load_n(&paid, __ATOMIC_RELAXED);
	owed = left = (int64_t)(grown - was) > 0 ? grown - was : 0;
	/* Reset first: a unit freed meanwhile lowers it again. */
	__atomic_store_n(&dirty_due, UINT64_MAX, __ATOMIC_RELAXED);
	for (a = _hs_arenas; a; a = a->next) {
		pthread_mutex_lock(&a->lock);
		_hs_dirty_purge_locked(a, false, &left, &gone);
		if (a->dirty_old)
			due_at_most(a->dirty_old->at + a->dirty_ns);
		pthread_mutex_unlock(&a->lock);
	}
	pay(was + owed - still_owed(left));
	pthread_mutex_unlock(&_hs_arenas_lock);
	_hs_regions_unmap(gone);
}

/*
 * Called after every span taken or freed, unlocked: what a program frees
 * goes back by its next span an interval later, in any arena (as
 * jemalloc's decay without its background thread), or sooner once the
 * process grows elsewhere to a new peak: as many bytes as it grew. A
 * clock read, a look at the process's peak at most once a millisecond,
 * and a few comparisons when nothing is due; then every arena (a few:
 * kinds by node) is looked at.
 */
void _hs_arena_purge_due(void)
{
	uint64_t now = _hs_now_ns(), grown = _hs_outside_grown(now);
	uint64_t was = __atomic_load_n(&paid, __ATOMIC_RELAXED);
	uint64_t due = __atomic_load_n(&dirty_due, __ATOMIC_RELAXED);
	bool owed = (int64_t)(grown - was) > 0;

	/* No free unit: what the runs kept above cannot bring down is owed
	 * nothing (all of it, when none is kept). */
	if (owed && due == UINT64_MAX) {
		pay(grown - still_owed(grown - was));
		return;
	}
	if (now < due && !owed)
		return;
	purge(grown);
}

void _hs_region_undirty(struct _hs_arena *a, struct _hs_aregion *r)
{
	uint32_t u;

	for (u = 0; u < r->nunits; u++)
		if (r->dirty[u])
			dirty_del(a, r->dirty[u]);
}

void _hs_units_account(struct _hs_aregion *r, uint32_t c, uint32_t n,
		       int dir)
{
	uint32_t end = c + n;

	while (c < end) {
		uint32_t u = c / HS_UNIT_CHUNKS;
		uint32_t stop = HS_MIN(end, (u + 1) * HS_UNIT_CHUNKS);
		uint32_t k = stop - c;

		if (dir > 0) {
			if (r->dirty[u])
				dirty_del(r->arena, r->dirty[u]);
			r->unit_used[u] += k;
		} else {
			HS_ASSERT(r->unit_used[u] >= k);
			r->unit_used[u] -= k;
			if (!r->unit_used[u] && unit_committed(r, u))
				unit_freed(r, u);
		}
		c = stop;
	}
	r->used = dir > 0 ? r->used + n : r->used - n;
}
