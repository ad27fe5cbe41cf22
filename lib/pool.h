/* SPDX-License-Identifier: MIT */
/*
 * libhugeslab: pool structures, shared by pool.c (lifetime, trimming,
 * publishing, fork), cache.c (the thread caches' slow paths), tcache.c
 * (per-thread caches and the fast paths), slab.c and stats.c.
 *
 * Three levels, after Bonwick's magazines and depot:
 *   thread cache  per thread per pool: an array of free objects inline
 *                 in the cache (the loaded magazine, where alloc pops and
 *                 free pushes, no lock, no atomic RMW) and one magazine
 *                 in reserve
 *   depot         full and empty magazines shared by all threads, under
 *                 the pool lock, exchanged a whole magazine at a time
 *   slabs         spans of region memory carved into objects; objects are
 *                 constructed when carved
 * The allocator keeps all its bookkeeping outside the objects, so a free
 * object keeps its constructed state intact.
 */
#ifndef HS_POOL_H
#define HS_POOL_H

#include "internal.h"
#include "uapi/hugeslab.h"

/*
 * A magazine: a stack of free, constructed objects, in a thread cache's
 * reserve or in the depot. Its rounds are read by other threads' stats.
 */
struct hs_magazine {
	uint32_t rounds;		/* objects in objs[] */
	uint32_t cap;			/* room in objs[] */
	struct hs_magazine *next;	/* depot lists */
	void *objs[];
};

/*
 * One thread's cache for one pool. Its last member is what
 * hs_pool_cache() hands out (checker builds hand out @checked instead):
 * the state word and the inline loaded magazine, cap objects long, with
 * the pool that hs_pool_alloc() checks just before it. Every path keeps
 * held + room == cap.
 */
struct hs_tc {
	struct hs_tc *next, *prevtc;	/* pool->tcs, under the pool lock */
	struct hs_magazine *prev;	/* the reserve: full or empty */
	struct hs_cache *checked;	/* handed out by checker builds */
	/*
	 * Counters, written by the owning thread (relaxed stores), read by
	 * stats: allocations harvested from the state word, and objects the
	 * slow paths moved in and out. Frees follow:
	 * frees = allocs + objects held - moved in + moved out.
	 */
	uint64_t allocs_done;
	uint64_t moved_in;
	uint64_t moved_out;
	uint32_t cap;
	hs_pool_t *pool;		/* NULL once the pool is destroyed */
	struct hs_cache c;		/* last: c.objs[cap] follows */
};

struct hs_slab {
	struct _hs_span span;
	uintptr_t base;			/* first object */
	uint32_t nobj;			/* objects that fit */
	uint32_t ncarved;		/* objects carved (constructed) so far */
	uint32_t nfree;			/* carved objects back in the slab */
	uint32_t scan;			/* where to look for the next free one */
	uint64_t *freemap;		/* bit per object: back in the slab */
	struct hs_slab *next, *prev;	/* pool->slabs */
};

struct hs_pool {
	/* Read-only after create; what the fast paths read. */
	uint32_t id;			/* index into the threads' cache arrays */
	uint32_t mag_cap;
	size_t obj_size;
	size_t stride;
	size_t align;
	hs_ctor_t ctor;
	hs_dtor_t dtor;
	void *arg;
	int node;
	size_t slab_units;
	uint32_t slab_nobj;
	char name[HS_POOL_NAME_MAX];

	/* Everything below is under lock. */
	pthread_mutex_t lock __attribute__((aligned(64)));
	struct hs_magazine *full;		/* depot: magazines with objects */
	struct hs_magazine *empty;		/* depot: empty magazines */
	uint64_t nfull, nempty;
	struct hs_slab *slabs;
	struct hs_slab *carving;	/* slab with objects never carved */
	struct hs_slab *take;		/* slab free objects are taken from */
	uint64_t nslabs;
	uint64_t slab_free;		/* objects back in slabs */
	void **raw;			/* carved, never constructed (ctor failed) */
	uint32_t nraw, raw_cap;
	struct hs_slab **map;		/* unit number -> slab, open addressing */
	uint32_t map_cap, map_used;
	struct hs_tc *tcs;
	uint64_t carved;		/* objects carved and constructed */
	uint64_t misses;		/* allocs that needed the depot or slabs */
	uint64_t gone_allocs, gone_frees; /* of thread caches that went away */
	/* Trimming: see pool.c. */
	uint64_t trim_ns;		/* length of a working-set interval */
	uint64_t trim_at;		/* when the current interval ends */
	uint64_t min_full;		/* fewest full magazines seen in it */
	uint64_t released;		/* slabs given back so far */
	struct hugeslab_pool_stat *pub;	/* slot in the module's stats area */
	bool pub_wanted;		/* no slot yet: try on the next publish */
};

/* slab.c (pool lock held unless said otherwise) */
struct hs_slab *_hs_slab_new(hs_pool_t *p);
void _hs_slab_free(hs_pool_t *p, struct hs_slab *s);
bool _hs_slab_add_locked(hs_pool_t *p, struct hs_slab *s);
void _hs_slab_unlink_locked(hs_pool_t *p, struct hs_slab *s);
bool _hs_slab_empty(const struct hs_slab *s);
struct hs_slab *_hs_slab_put_locked(hs_pool_t *p, void *obj);
void *_hs_slab_take_locked(hs_pool_t *p);
uint32_t _hs_slab_carve_locked(hs_pool_t *p, struct hs_slab *s, void **out,
			       uint32_t want);
void _hs_slab_destruct(hs_pool_t *p, struct hs_slab *s);
void _hs_slab_forget(hs_pool_t *p, struct hs_slab *s);

/* Most objects a magazine holds (see hs_pool_create). */
#define MAG_MAX		128
_Static_assert(MAG_MAX <= HS_CACHE_HELD_MASK,
	       "held and room are 8-bit fields of a cache's state word");

/* pool.c */
void _hs_pool_counters_locked(hs_pool_t *p, uint64_t *allocs, uint64_t *frees);
void _hs_tc_counts(const struct hs_tc *tc, uint64_t *allocs, uint64_t *frees);
void _hs_pool_publish_locked(hs_pool_t *p);
struct hs_slab *_hs_pool_tick_locked(hs_pool_t *p);
size_t _hs_pool_release_slabs(hs_pool_t *p, struct hs_slab *list);
struct hs_magazine *_hs_mag_new(uint32_t cap);
void _hs_mag_free(struct hs_magazine *m);
extern pthread_mutex_t _hs_pools_lock;

/* cache.c: the thread caches' slow paths */
void *_hs_pool_alloc_slow(hs_pool_t *p, struct hs_tc *tc);
void _hs_pool_free_slow(hs_pool_t *p, struct hs_tc *tc, void *obj);
void _hs_pool_tc_flush_locked(hs_pool_t *p, struct hs_tc *tc);

/* tcache.c */
struct hs_tc *_hs_tc_get(hs_pool_t *p);
void _hs_tc_free(struct hs_tc *tc);
bool _hs_tc_is_mine(const struct hs_tc *tc, uint32_t id);

/* ---- magazines and the cache's state word ----------------------------- */

static inline uint32_t _hs_mag_rounds(const struct hs_magazine *m)
{
	return __atomic_load_n(&m->rounds, __ATOMIC_RELAXED);
}

static inline void _hs_mag_set_rounds(struct hs_magazine *m, uint32_t n)
{
	__atomic_store_n(&m->rounds, n, __ATOMIC_RELAXED);
}

static inline void _hs_mag_put(struct hs_magazine *m, void *obj)
{
	uint32_t n = _hs_mag_rounds(m);

	m->objs[n] = obj;
	_hs_mag_set_rounds(m, n + 1);
}

static inline void *_hs_mag_take(struct hs_magazine *m)
{
	uint32_t n = _hs_mag_rounds(m) - 1;

	_hs_mag_set_rounds(m, n);
	return m->objs[n];
}

static inline uint64_t _hs_cache_state(const struct hs_cache *c)
{
	return __atomic_load_n(&c->state, __ATOMIC_RELAXED);
}

static inline uint32_t _hs_cache_held(const struct hs_cache *c)
{
	return (uint32_t)(_hs_cache_state(c) & HS_CACHE_HELD_MASK);
}

/*
 * The owner's pop (counted as an allocation; @c must hold something) and
 * push (@c must have room): what the inline hs_cache_alloc/free do.
 */
static inline void *_hs_cache_pop(struct hs_cache *c)
{
	uint64_t s = c->state;

	__atomic_store_n(&c->state, s + HS_CACHE_POP, __ATOMIC_RELAXED);
	return c->objs[(s & HS_CACHE_HELD_MASK) - 1];
}

static inline void _hs_cache_push(struct hs_cache *c, void *obj)
{
	uint64_t s = c->state;

	c->objs[s & HS_CACHE_HELD_MASK] = obj;
	__atomic_store_n(&c->state, s + HS_CACHE_PUSH, __ATOMIC_RELAXED);
}

/* The owner sets how many objects its cache holds; the count stays. */
static inline void _hs_cache_set_held(struct hs_tc *tc, uint32_t held)
{
	uint64_t s = _hs_cache_state(&tc->c) & ~(HS_CACHE_HELD_MASK |
						   HS_CACHE_ROOM_MASK);

	s |= held | (uint64_t)(tc->cap - held) << 8;
	__atomic_store_n(&tc->c.state, s, __ATOMIC_RELAXED);
}

/* The owner's counter updates: relaxed stores, no read-modify-write. */
static inline void _hs_add(uint64_t *ctr, uint64_t n)
{
	__atomic_store_n(ctr, *ctr + n, __ATOMIC_RELAXED);
}

#endif /* HS_POOL_H */
