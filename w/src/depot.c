// SPDX-License-Identifier: MIT
/*
 * libhugeslab: magazines and the depot, and the depot's working-set
 * trimming, as in Bonwick's magazine layer: during each interval (1 s, or
 * HUGESLAB_TRIM_MS) the pool notes the fewest full magazines its depot
 * held. Those were never needed, so at the interval's end that many go
 * back to their slabs, and slabs with nothing in use (beyond one kept as a
 * cushion) are released. A pool that oscillates within an interval dips
 * its depot to zero and so keeps its memory; one that shrank gives the
 * surplus back within two intervals of its next slow-path call. A pool
 * with a depot limit (the heap's classes) sends what is beyond it back at
 * once, so a burst of frees in one size does not hold memory other sizes
 * need.
 *
 * The work is done in bounded batches, a batch per slow path (and per lock
 * hold in hs_pool_trim()), so no allocation waits behind a pool giving back
 * gigabytes. Called with the pool lock held unless said otherwise.
 */
#include <errno.h>
#include <string.h>

#include "debug.h"
#include "pool.h"

#define KEEP_EMPTY_MAGS	16
/* Magazines sent back to slabs, and slabs released, per batch. */
#define BATCH_MAGS	32
#define BATCH_SLABS	16

/* ---- magazines ------------------------------------------------------------ */

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

void _hs_mags_free(struct hs_magazine *m)
{
	struct hs_magazine *next;

	for (; m; m = next) {
		next = m->next;
		_hs_mag_free(m);
	}
}

/* ---- the depot ------------------------------------------------------------ */

struct hs_magazine *_hs_depot_take_full_locked(hs_pool_t *p)
{
	struct hs_magazine *m = p->full;

	HS_ASSERT(!m == !p->nfull);
	if (m) {
		p->full = m->next;
		p->nfull--;
		if (p->nfull < p->min_full)
			p->min_full = p->nfull;
	}
	return m;
}

void _hs_depot_put_full_locked(hs_pool_t *p, struct hs_magazine *m)
{
	HS_ASSERT(m->rounds && m->rounds <= m->cap);
	m->next = p->full;
	p->full = m;
	p->nfull++;
}

struct hs_magazine *_hs_depot_take_empty_locked(hs_pool_t *p)
{
	struct hs_magazine *m = p->empty;

	HS_ASSERT(!m == !p->nempty);
	if (m) {
		p->empty = m->next;
		p->nempty--;
		return m;
	}
	return _hs_mag_new(p->mag_cap);
}

void _hs_depot_put_empty_locked(hs_pool_t *p, struct hs_magazine *m)
{
	HS_ASSERT(!m->rounds);
	if (p->nempty >= KEEP_EMPTY_MAGS) {
		_hs_mag_free(m);
		return;
	}
	m->next = p->empty;
	p->empty = m;
	p->nempty++;
}

/* Up to @n full magazines' objects back to their slabs. */
static void depot_to_slabs(hs_pool_t *p, uint64_t n)
{
	struct hs_magazine *m;
	uint32_t i;

	while (n-- && (m = _hs_depot_take_full_locked(p))) {
		for (i = 0; i < m->rounds; i++) {
			bool ok = _hs_slab_put_locked(p, m->objs[i]);

			HS_ASSERT(ok);
			(void)ok;
		}
		m->rounds = 0;
		_hs_depot_put_empty_locked(p, m);
	}
}

struct hs_slab *_hs_depot_tick_locked(hs_pool_t *p)
{
	struct hs_slab *out = NULL;
	bool look = !(++p->ticks % HS_TICKS_PER_LOOK);
	uint64_t now;

	if (p->depot_max && p->nfull > p->depot_max + p->trim_debt)
		p->trim_debt = p->nfull - p->depot_max;
	if (p->trim_debt) {
		uint64_t n = HS_MIN(p->trim_debt, BATCH_MAGS);

		depot_to_slabs(p, n);
		p->trim_debt -= n;
		if (!p->trim_debt || !p->full)
			p->trim_debt = 0;
		_hs_slab_unlink_empty_locked(p, 1, BATCH_SLABS, &out);
		return out;
	}
	if (!look)
		return NULL;
	now = _hs_now_ns();
	if (now < p->trim_at)
		return NULL;
	/* The interval is over: what it never needed goes back. */
	p->trim_debt = p->min_full;
	p->min_full = p->nfull - HS_MIN(p->nfull, p->trim_debt);
	p->trim_at = now + p->trim_ns;
	_hs_slab_unlink_empty_locked(p, 1, BATCH_SLABS, &out);
	return out;
}

size_t _hs_depot_trim(hs_pool_t *p)
{
	struct hs_slab *out;
	size_t bytes = 0;
	bool more;

	do {
		out = NULL;
		pthread_mutex_lock(&p->lock);
		depot_to_slabs(p, BATCH_MAGS);
		_hs_slab_unlink_empty_locked(p, 0, BATCH_SLABS, &out);
		more = p->full || out;
		if (!more) {
			_hs_mags_free(p->empty);
			p->empty = NULL;
			p->nempty = 0;
			p->min_full = p->nfull;
			p->trim_debt = 0;
			_hs_publish_locked(p);
		}
		pthread_mutex_unlock(&p->lock);
		/* Destructors and unmapping: unlocked. */
		bytes += _hs_slab_release(p, out);
	} while (more);
	return bytes;
}

void _hs_depot_destroy(hs_pool_t *p)
{
	struct hs_magazine *m;
	uint32_t i;

	for (m = p->full; m && p->dtor; m = m->next) {
		for (i = 0; i < m->rounds; i++) {
			_hs_dbg_dtor(p, m->objs[i]);
			p->dtor(m->objs[i], p->arg);
		}
	}
	_hs_mags_free(p->full);
	_hs_mags_free(p->empty);
	p->full = p->empty = NULL;
	p->nfull = p->nempty = 0;
}
