// SPDX-License-Identifier: MIT
/*
 * libhugeslab: pools - creation, destruction and the registry of live
 * pools (an id per pool, which the threads' cache arrays are indexed by),
 * and what happens to pools across fork(). See pool.h for the levels.
 *
 * Destroying a pool marks it dying and takes it out of the registry first,
 * under the registry and pool locks: from then on no thread cache can
 * attach, a fork child never sees it, and its id can go to a new pool.
 * Only then are the caches' objects, the depot and the slabs destructed
 * and freed, with no lock held (destructors are user code). A destructor
 * may free objects into the dying pool: they are destructed on the spot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "debug.h"
#include "pool.h"

/* Objects per magazine of a pool: about 256 KiB of objects, up to MAG_MAX
 * of small ones, fewer of big ones, at least one. The heap asks for less
 * (heap.c): it has a pool per class, so its caches add up. Objects up to
 * MAG_MIN_BYTES get MAG_MIN a magazine, or what fits in MAG_BYTES: each
 * depot visit takes the pool lock, which a thread freeing what another
 * allocates contends for, so it must carry more than a handful. */
#define MAG_BYTES	((size_t)256 << 10)
#define MAG_MIN		16
#define MAG_MIN_BYTES	((size_t)32 << 10)

/* A program's pools: slabs up to a huge page, no depot limit. */
static const struct _hs_pool_sizes pool_sizes = {
	.mag_bytes = MAG_BYTES,
	.slab_bytes = HS_UNIT,
};

pthread_mutex_t _hs_pools_lock = PTHREAD_MUTEX_INITIALIZER;
/* id -> pool, under _hs_pools_lock; free ids on a stack. */
static hs_pool_t **registry;
static uint32_t registry_cap, registry_top;
static uint32_t *free_ids;
static uint32_t nfree_ids;

/* ---- the registry ---------------------------------------------------------- */

/* Room for one more id; -1 without memory. */
static int registry_grow(void)
{
	uint32_t cap = registry_cap ? registry_cap * 2 : 2 * HS_HEAP_IDS;
	hs_pool_t **r = _hs_meta_alloc(cap * sizeof(*r));
	uint32_t *f = _hs_meta_alloc(cap * sizeof(*f));

	if (!r || !f) {
		_hs_meta_free(r, cap * sizeof(*r));
		_hs_meta_free(f, cap * sizeof(*f));
		return -1;
	}
	if (registry) {
		memcpy(r, registry, registry_cap * sizeof(*r));
		memcpy(f, free_ids, nfree_ids * sizeof(*f));
	}
	_hs_meta_free(registry, registry_cap * sizeof(*r));
	_hs_meta_free(free_ids, registry_cap * sizeof(*f));
	registry = r;
	free_ids = f;
	registry_cap = cap;
	return 0;
}

/* Register @p under a free id, or under @want (a heap id) if >= 0. */
static int registry_add(hs_pool_t *p, int want)
{
	uint32_t id;

	if (!registry_top)
		registry_top = HS_HEAP_IDS;	/* ids below are the heap's */
	if (registry_top >= registry_cap && registry_grow() < 0)
		return -1;
	if (want >= 0)
		id = (uint32_t)want;
	else if (nfree_ids)
		id = free_ids[--nfree_ids];
	else
		id = registry_top++;
	HS_ASSERT(id < registry_cap && !registry[id]);
	registry[id] = p;
	p->id = id;
	return 0;
}

/* ---- create and destroy ------------------------------------------------ */

/*
 * Objects per magazine of about @mag_bytes, adjusted so a magazine (a header and the object
 * pointers) fills its power-of-two bookkeeping block: rounded down to fit
 * the block below, unless that would halve it.
 */
static uint32_t mag_cap_for(size_t stride, size_t mag_bytes)
{
	size_t cap = mag_bytes / stride, bytes, block = 1, n;

	if (stride <= MAG_MIN_BYTES)
		cap = HS_MAX(cap, HS_MIN(MAG_MIN, MAG_BYTES / stride));
	cap = HS_MIN(HS_MAX(cap, 1), MAG_MAX);
	bytes = sizeof(struct hs_magazine) + cap * sizeof(void *);
	while (block * 2 <= bytes)
		block *= 2;
	n = (block - sizeof(struct hs_magazine)) / sizeof(void *);
	if (n < HS_MAX(cap / 2, 1))
		n = (block * 2 - sizeof(struct hs_magazine)) / sizeof(void *);
	return (uint32_t)HS_MIN(n, MAG_MAX);
}

/*
 * Make and register a pool from checked arguments: under @id (a heap id)
 * if >= 0. NULL + errno + message.
 */
/*
 * A class's lock is held for a few dozen instructions (a magazine traded,
 * a slab taken), so a waiter spins a little before it sleeps: sleeping
 * and waking cost microseconds in the kernel. 1000 threads on 2 CPUs all
 * churning blocks flat out spent half their time in futex calls and took
 * 2.2 s; spinning first, 1.6 s (bench-heap's crowd, which yields every
 * 100 operations: 82 ns an operation, now 75).
 */
static void pool_lock_init(pthread_mutex_t *lock)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(lock, &attr);
	pthread_mutexattr_destroy(&attr);
}

static hs_pool_t *pool_new(const char *name, size_t obj_size, size_t align,
			   const struct hs_pool_opts *o, int node, int id,
			   const struct _hs_pool_sizes *sz)
{
	hs_pool_t *p;

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
	p->ctor = o->ctor;
	p->dtor = o->dtor;
	p->arg = o->arg;
	p->node = node;
	p->mag_cap = mag_cap_for(p->stride, sz->mag_bytes);
	p->arena = _hs_arena_of(p->node, false);
	_hs_slab_size(p, sz->slab_bytes);
	p->trim_ns = _hs_trim_ns();
	p->trim_at = _hs_now_ns() + p->trim_ns;
	pool_lock_init(&p->lock);
	pthread_mutex_init(&p->grow_lock, NULL);
	if (!p->arena) {
		pthread_mutex_destroy(&p->lock);
		pthread_mutex_destroy(&p->grow_lock);
		_hs_meta_free(p, sizeof(*p));
		return NULL;
	}
	pthread_mutex_lock(&_hs_pools_lock);
	if (registry_add(p, id) < 0) {
		pthread_mutex_unlock(&_hs_pools_lock);
		pthread_mutex_destroy(&p->lock);
		pthread_mutex_destroy(&p->grow_lock);
		_hs_meta_free(p, sizeof(*p));
		_hs_fail(ENOMEM, "hs_pool_create(%s): out of memory", name);
		return NULL;
	}
	pthread_mutex_unlock(&_hs_pools_lock);
	_hs_dbg_pool_new(p);
	pthread_mutex_lock(&p->lock);
	p->pub.wanted = true;
	_hs_publish_locked(p);
	pthread_mutex_unlock(&p->lock);
	return p;
}

HS_EXPORT hs_pool_t *hs_pool_create(const char *name, size_t obj_size,
				    const struct hs_pool_opts *opts)
{
	struct hs_pool_opts o = { 0 };
	int saved = _hs_err_begin();
	size_t align;
	hs_pool_t *p;

	if (opts)
		o = *opts;
	if (!name || !*name || strlen(name) >= HS_POOL_NAME_MAX) {
		_hs_fail(EINVAL, "hs_pool_create: the name must be 1 to %d bytes",
			 HS_POOL_NAME_MAX - 1);
		goto fail;
	}
	if ((o.flags & ~HS_POOL_NODE) || !_hs_zeroed(o.reserved, 4)) {
		_hs_fail(EINVAL, "hs_pool_create(%s): unknown flags or non-zero reserved fields in opts",
			 name);
		goto fail;
	}
	if (!obj_size || obj_size > ((size_t)1 << 30)) {
		_hs_fail(EINVAL, "hs_pool_create(%s): object size %zu is not between 1 byte and 1 GiB",
			 name, obj_size);
		goto fail;
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
		goto fail;
	}
	if ((o.flags & HS_POOL_NODE) && o.node < 0) {
		_hs_fail(EINVAL, "hs_pool_create(%s): node %d is not a NUMA node",
			 name, o.node);
		goto fail;
	}
	p = pool_new(name, obj_size, align, &o,
		     (o.flags & HS_POOL_NODE) ? o.node : -1, -1, &pool_sizes);
	if (!p)
		goto fail;
	_hs_err_ok(saved);
	return p;
fail:
	_hs_err_failed();
	return NULL;
}

hs_pool_t *_hs_pool_create_heap(const char *name, size_t size, size_t align,
				int id, uint8_t tag,
				const struct _hs_pool_sizes *sizes)
{
	struct hs_pool_opts o = { 0 };
	hs_pool_t *p;

	p = pool_new(name, size, align, &o, -1, id, sizes);
	if (p) {
		pthread_mutex_lock(&p->lock);
		p->tag = tag;
		p->heap = true;
		p->trim_ns = _hs_heap_trim_ns();
		p->trim_at = _hs_now_ns() + p->trim_ns;
		p->depot_max = HS_MAX(sizes->depot_bytes /
				      ((size_t)p->mag_cap * p->stride), 1);
		pthread_mutex_unlock(&p->lock);
	}
	return p;
}

/* Destructors on the objects of magazines taken from the caches. */
static void dtor_mags(hs_pool_t *p, struct hs_magazine *m)
{
	uint32_t i;

	for (; m && p->dtor; m = m->next) {
		for (i = 0; i < m->rounds; i++) {
			_hs_dbg_dtor(p, m->objs[i]);
			p->dtor(m->objs[i], p->arg);
		}
	}
}

HS_EXPORT void hs_pool_destroy(hs_pool_t *p)
{
	struct hs_magazine *mags = NULL;
	int saved = errno;

	if (!p)
		return;
	pthread_mutex_lock(&_hs_pools_lock);
	pthread_mutex_lock(&p->lock);
	HS_ASSERT(registry[p->id] == p && !p->dying);
	__atomic_store_n(&p->dying, true, __ATOMIC_RELEASE);
	registry[p->id] = NULL;
	_hs_tc_detach_all_locked(p, &mags);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&_hs_pools_lock);
	_hs_publish_drop(p);

	/* Out of every thread's reach: user code may run now. */
	dtor_mags(p, mags);
	_hs_mags_free(mags);
	_hs_depot_destroy(p);
	/* Before the slabs go: the checker forgets the objects still out,
	 * then is told the memory is anybody's. */
	_hs_dbg_pool_gone(p);
	_hs_slab_destroy_all(p);
	_hs_meta_free(p->raw, p->raw_cap * sizeof(void *));

	pthread_mutex_lock(&_hs_pools_lock);
	free_ids[nfree_ids++] = p->id;
	pthread_mutex_unlock(&_hs_pools_lock);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->grow_lock);
	_hs_meta_free(p, sizeof(*p));
	errno = saved;
}

HS_EXPORT const char *hs_pool_name(const hs_pool_t *p)
{
	return p->name;
}

HS_EXPORT size_t hs_pool_obj_size(const hs_pool_t *p)
{
	return p->obj_size;
}

HS_EXPORT size_t hs_pool_trim(hs_pool_t *p)
{
	int saved = errno;
	size_t bytes;

	if (!p)
		return 0;
	bytes = _hs_depot_trim(p);
	_hs_arena_trim();
	errno = saved;
	return bytes;
}

/* ---- fork ------------------------------------------------------------- */

void _hs_pool_fork_prepare(void)
{
	uint32_t i;

	pthread_mutex_lock(&_hs_pools_lock);
	for (i = 0; i < registry_top; i++) {
		if (registry && registry[i]) {
			pthread_mutex_lock(&registry[i]->grow_lock);
			pthread_mutex_lock(&registry[i]->lock);
		}
	}
}

void _hs_pool_fork_parent(void)
{
	uint32_t i;

	for (i = registry_top; i-- > 0;) {
		if (registry && registry[i]) {
			pthread_mutex_unlock(&registry[i]->lock);
			pthread_mutex_unlock(&registry[i]->grow_lock);
		}
	}
	pthread_mutex_unlock(&_hs_pools_lock);
}

/*
 * The child has none of the pool memory (regions stay out of children)
 * and only the forking thread: every pool starts again empty, keeping this
 * thread's (emptied) caches and dropping the other threads' ones.
 */
static void pool_reset_child(hs_pool_t *p)
{
	_hs_mags_free(p->full);
	_hs_mags_free(p->empty);
	p->full = p->empty = NULL;
	p->nfull = p->nempty = 0;
	p->min_full = p->trim_debt = 0;
	_hs_slab_forget_all(p);
	p->released = 0;
	p->allocs = p->frees = p->misses = 0;
	p->pub.slot = NULL;	/* the parent's stats area is not ours */
	p->pub.wanted = true;	/* the child publishes in its own */
	_hs_tc_fork_child(p);
}

void _hs_pool_fork_child(void)
{
	uint32_t i;

	_hs_tc_fork_child_threads();
	for (i = registry_top; i-- > 0;) {
		if (registry && registry[i]) {
			if (_hs_fork_keeps_memory()) {
				/* Only this thread is left: the others'
				 * caches go, unread (tcache_life.c). */
				_hs_tc_fork_child_keep(registry[i]);
				registry[i]->pub.slot = NULL;
				registry[i]->pub.wanted = true;
			} else {
				pool_reset_child(registry[i]);
			}
			pthread_mutex_unlock(&registry[i]->lock);
			pthread_mutex_unlock(&registry[i]->grow_lock);
		}
	}
	pthread_mutex_unlock(&_hs_pools_lock);
}
