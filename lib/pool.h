/* SPDX-License-Identifier: MIT */
/*
 * libhugeslab: the pool layer's structures and cross-file functions, by
 * file (each file calls only the ones listed after it):
 *
 *   pool.c     create, destroy (the dying state), registry, fork
 *   publish.c  counters, hs_pool_stats(), the module's stats slots
 *   tcache.c   per-thread caches: fast paths, slow paths
 *   tcache_life.c  a cache made, detached, flushed at thread exit, forked
 *   tcache_gc.c    heap caches giving back what they do not need
 *   depot.c    magazines, the depot, working-set trimming
 *   slab.c     spans carved into objects, free maps, slab lists
 *
 * Three levels, after Bonwick's magazines and depot:
 *   thread cache  per thread per pool: an array of free objects inline
 *                 in the cache (the loaded magazine, where alloc pops and
 *                 free pushes, no lock, no atomic RMW) and one magazine
 *                 in reserve, from the cache's first overflow on
 *   depot         full and empty magazines shared by all threads, under
 *                 the pool lock, exchanged a whole magazine at a time
 *   slabs         spans of region memory carved into objects; objects are
 *                 constructed when carved
 * The allocator keeps its bookkeeping outside the objects, so a free
 * object keeps its constructed state intact. User code (constructors,
 * destructors) never runs under a lock, and may use its own pool.
 */
#ifndef HS_POOL_H
#define HS_POOL_H

#include "internal.h"
#include "uapi/hugeslab.h"

/* A slot of the module's stats area, for a pool or the heap's large blocks. */
struct _hs_pub {
	struct hugeslab_pool_stat *slot;	/* NULL: none (yet) */
	bool wanted;				/* try to take one */
};

/* Most objects a magazine holds: held and room are 8-bit fields. */
#define MAG_MAX		240
_Static_assert(MAG_MAX <= HS_CACHE_HELD_MASK,
	       "held and room are 8-bit fields of a cache's state word");

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
 * One thread's cache for one pool. Its state word (c) is what
 * hs_pool_cache() hands out (checker builds hand out @checked instead),
 * and the loaded magazine's objects follow it inline, cap of them. Every
 * path keeps held + room == cap.
 */
struct hs_tc {
	struct hs_tc *next, *prevtc;	/* pool->tcs, under the pool lock */
	struct hs_magazine *prev;	/* the reserve: full, empty or none */
	struct hs_cache *checked;	/* handed out by checker builds */
	const void *owner;		/* the owning thread (its TLS block) */
	/*
	 * Counters, written by the owning thread (relaxed stores), read by
	 * stats: allocations harvested from the state word, and objects the
	 * slow paths moved in and out. Frees follow:
	 * frees = allocs + objects held - moved in + moved out.
	 */
	uint64_t allocs_done;
	uint64_t moved_in;
	uint64_t moved_out;
	/* What the pool's totals already count of this cache (pool lock). */
	uint64_t synced_allocs, synced_frees;
	struct hs_tc *grave;		/* the thread's detached caches */
	/*
	 * Where the state word's count starts: 0, but in the heap's caches
	 * HS_TC_TICK short of bit 63, so their fast paths stop by themselves
	 * every HS_TC_TICK allocations (tcache_gc.c).
	 */
	uint64_t count_base;
	uint32_t dry;			/* times the cache ran dry (refills) */
	uint32_t gc_dry;		/* dry when tcache_gc.c last looked */
	uint32_t cap;
	/* What the slow paths let the cache fill to: cap, less for a heap
	 * cache in a crowd of threads (tcache_gc.c). */
	uint32_t lim;
	/* The next batch from the slabs: half the capacity, for a heap
	 * cache small at first and doubled each time up to that
	 * (tcache.c: cache_refill()). */
	uint32_t fill;
	/* Allocations made when the cache last overflowed (cache_drain()). */
	uint64_t drain_allocs;
	hs_pool_t *pool;		/* NULL once detached (pool destroyed) */
	struct hs_cache c;		/* last: cap objects follow */
	void *objs[];
};
_Static_assert(__builtin_offsetof(struct hs_tc, objs) ==
	       __builtin_offsetof(struct hs_tc, c) + sizeof(struct hs_cache),
	       "the inline functions find the objects right after the state");

/* Slab lists: partly free ones by how full they are, and empty ones. */
enum {
	SLAB_PARTIAL0,			/* at most 1/8 of its objects free */
	SLAB_PARTIAL1,			/* at most 1/4 */
	SLAB_PARTIAL2,			/* at most 1/2 */
	SLAB_PARTIAL3,			/* more */
	SLAB_EMPTY,			/* nothing of it in use */
	SLAB_FRESH,			/* nothing carved yet, not carving */
	SLAB_LISTS,
	SLAB_NONE = SLAB_LISTS,		/* all carved objects out */
};

struct hs_slab {
	hs_pool_t *pool;		/* first: the heap's free reads it */
	uintptr_t base;			/* first object */
	uint32_t nobj;			/* objects that fit */
	uint32_t ncarved;		/* objects carved so far */
	uint32_t nfree;			/* constructed objects back in the slab */
	uint32_t nraw;			/* carved, never constructed (p->raw) */
	uint32_t scan;			/* freemap word to look at first */
	uint8_t list;			/* SLAB_* list it is on */
	struct _hs_span span;
	uint64_t *freemap;		/* bit per object: back in the slab */
	struct hs_slab *next, *prev;	/* its list */
	struct hs_slab *anext, *aprev;	/* all the pool's slabs */
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
	uint8_t tag;			/* in the address map: see HS_TAG_* */
	struct _hs_arena *arena;
	bool heap;			/* a heap class: _hs_heap_span_alloc() */
	uint32_t slab_min_chunks;	/* first slab's size */
	uint32_t slab_max_chunks;	/* slabs double up to this */
	char name[HS_POOL_NAME_MAX];
	/* Held by the one thread mapping a new slab, taken before lock:
	 * threads that find the slabs empty meanwhile wait for its slab
	 * instead of each mapping one (tcache.c: fill_locked()). */
	pthread_mutex_t grow_lock;

	/* Everything below is under lock. */
	pthread_mutex_t lock __attribute__((aligned(64)));
	bool dying;			/* being destroyed: no new caches */
	/* depot.c */
	struct hs_magazine *full;	/* magazines with objects */
	struct hs_magazine *empty;	/* empty magazines */
	uint64_t nfull, nempty;
	uint64_t trim_ns;		/* length of a working-set interval */
	uint64_t trim_at;		/* when the current interval ends */
	uint64_t min_full;		/* fewest full magazines seen in it */
	uint64_t trim_debt;		/* magazines still to send back */
	uint64_t depot_max;		/* full magazines kept at most (0: no
					 * limit but the working set's) */
	uint64_t ticks;			/* slow paths, to look at the clock
					 * every HS_TICKS_PER_LOOK */
	/* slab.c */
	struct hs_slab *lists[SLAB_LISTS];
	struct hs_slab *all;		/* every slab, for destroy and fork */
	struct hs_slab *carving;	/* slab with objects never carved */
	uint32_t next_chunks;		/* size of the next new slab */
	uint64_t nslabs;
	uint64_t slab_bytes;		/* memory the slabs hold */
	uint64_t fallback_bytes;	/* of it from a fallback backend */
	uint64_t small_bytes;		/* of it from the heap's small arena */
	uint64_t slab_free;		/* constructed objects in slabs */
	uint64_t carved;		/* objects carved and constructed */
	uint64_t released;		/* slabs given back so far */
	void **raw;			/* carved, never constructed */
	uint32_t nraw, raw_cap;
	/* tcache.c */
	struct hs_tc *tcs;
	uint64_t allocs, frees;		/* as of each cache's last slow path */
	uint64_t misses;		/* allocs that needed the depot/slabs */
	/* publish.c */
	struct _hs_pub pub;		/* slot in the module's stats area */
};

/* ---- slab.c (pool lock held unless said otherwise) --------------------- */

/*
 * A slab's entries in the address map are its pointer with a tag in the
 * low bits (slabs are 128-byte aligned bookkeeping blocks): 0 for a pool's
 * slab, the heap's class + 1 for its size classes, HS_TAG_LARGE for a
 * large block (HS_TAG_BITS: internal.h). The heap's free finds the class
 * without touching the slab.
 */
#define HS_TAG_LARGE	HS_TAG_MASK

static inline struct hs_slab *_hs_slab_of(const void *addr)
{
	return (struct hs_slab *)(_hs_map_get(addr) & ~HS_TAG_MASK);
}

/* Bytes of all slabs from a fallback arena (the heap's), atomically. */
extern uint64_t _hs_fallback_bytes;
extern uint64_t _hs_small_bytes;

/* Slab sizes for @p's objects: sets slab_min/max_chunks. */
/* Slab sizes for @p, the largest @max_bytes (a power of two). */
void _hs_slab_size(hs_pool_t *p, size_t max_bytes);
/* Map a new slab; without the pool lock. NULL + errno + message. */
struct hs_slab *_hs_slab_new(hs_pool_t *p);
void _hs_slab_add_locked(hs_pool_t *p, struct hs_slab *s);
/* Put a constructed object back into its slab (false: not this pool's,
 * or already there). */
bool _hs_slab_put_locked(hs_pool_t *p, void *obj);
/* A constructed object back out of the fullest slab that has one. */
void *_hs_slab_take_locked(hs_pool_t *p);
/* Up to @want never-carved objects of the carving slab into @out. */
uint32_t _hs_slab_carve_locked(hs_pool_t *p, void **out, uint32_t want);
/* Carved objects whose construction failed: kept, never destructed. */
void _hs_slab_raw_put_locked(hs_pool_t *p, void **objs, uint32_t n);
void *_hs_slab_raw_take_locked(hs_pool_t *p);
/* Unlink up to @max empty slabs beyond @keep into *@out. */
void _hs_slab_unlink_empty_locked(hs_pool_t *p, uint32_t keep, uint32_t max,
				  struct hs_slab **out);
/* Destruct and free unlinked slabs; without the lock. Bytes freed. */
size_t _hs_slab_release(hs_pool_t *p, struct hs_slab *list);
/* Every slab of a dying pool: destructors on its free objects, then
 * the memory; without the lock. */
void _hs_slab_destroy_all(hs_pool_t *p);
/* Forget every slab (fork child: the memory is not there). */
void _hs_slab_forget_all(hs_pool_t *p);

/* ---- depot.c ------------------------------------------------------------ */

struct hs_magazine *_hs_mag_new(uint32_t cap);
void _hs_mag_free(struct hs_magazine *m);
void _hs_mags_free(struct hs_magazine *m);
/* A full magazine from the depot, or NULL. */
struct hs_magazine *_hs_depot_take_full_locked(hs_pool_t *p);
void _hs_depot_put_full_locked(hs_pool_t *p, struct hs_magazine *m);
/* An empty magazine (from the depot, else new), or NULL. */
struct hs_magazine *_hs_depot_take_empty_locked(hs_pool_t *p);
void _hs_depot_put_empty_locked(hs_pool_t *p, struct hs_magazine *m);
/*
 * On every slow path: track the depot's low water mark and, at the end of
 * an interval, send a bounded batch of unneeded magazines back to their
 * slabs; empty slabs to release are returned (release them unlocked).
 * The clock costs a call: it is looked at every HS_TICKS_PER_LOOK ticks,
 * when p->ticks is a multiple of it.
 */
#define HS_TICKS_PER_LOOK	8
struct hs_slab *_hs_depot_tick_locked(hs_pool_t *p);
/* hs_pool_trim()'s work: everything in the depot back to the slabs and
 * every empty slab released, a batch per lock hold. Bytes given back. */
size_t _hs_depot_trim(hs_pool_t *p);
/* Destructors on the depot's objects of a dying pool, then its memory. */
void _hs_depot_destroy(hs_pool_t *p);

/* ---- tcache.c, tcache_life.c ------------------------------------------- */

/*
 * Pool ids below HS_DIRECT_IDS have their thread caches in a TLS array the
 * fast paths index directly; ids 1 to 60 are kept for the heap's size
 * classes (id = class + 1, the class's map tag; (size + 15) / 16 up to
 * 512 bytes), and id 0 for nothing, so malloc(0) takes the slow path;
 * pool.c gives ids from HS_HEAP_IDS up to other pools.
 */
#define HS_HEAP_IDS	61
#define HS_DIRECT_IDS	(HS_HEAP_IDS + 16)
extern __thread struct hs_tc *_hs_tc_direct[HS_DIRECT_IDS]
	__attribute__((tls_model("initial-exec")));

/* This thread's cache for @p, made if needed; NULL if none can be had
 * (the thread is exiting, the pool is dying, or no memory). */
struct hs_tc *_hs_tc_get(hs_pool_t *p);

void *_hs_pool_alloc_slow(hs_pool_t *p, struct hs_tc *tc);
void _hs_pool_free_slow(hs_pool_t *p, struct hs_tc *tc, void *obj);
/* Detach every cache of a dying pool, collecting their objects into
 * *@mags (magazines the caller destructs and frees). */
void _hs_tc_detach_all_locked(hs_pool_t *p, struct hs_magazine **mags);
/* This cache's allocs and frees; exact for an idle thread. */
void _hs_tc_counts(const struct hs_tc *tc, uint64_t *allocs, uint64_t *frees);
/* Fork child: the count of threads with caches is 1 or 0. */
void _hs_tc_fork_child_threads(void);
/* Fork child: drop every cache but the forking thread's, emptied. */
void _hs_tc_fork_child(hs_pool_t *p);
/* Fork child that keeps the memory: the other threads' caches go, and
 * what they held with them. */
void _hs_tc_fork_child_keep(hs_pool_t *p);

/* ---- publish.c ---------------------------------------------------------- */

/* Write the pool's counters to its slot in the module's stats area (O(1));
 * takes a slot if it has none yet and one is free. */
void _hs_publish_locked(hs_pool_t *p);
/* Give the slot back. */
void _hs_publish_drop(hs_pool_t *p);

/* Counters of something that is not a pool (the heap's large blocks). */
struct _hs_pub_counts {
	uint64_t obj_size, in_use, total, bytes, allocs, frees, cache_hits;
};
void _hs_pub_write(struct _hs_pub *pub, const char *name,
		   const struct _hs_pub_counts *c);
void _hs_pub_drop(struct _hs_pub *pub);

/* ---- pool.c ------------------------------------------------------------- */

extern pthread_mutex_t _hs_pools_lock;

/* How much a pool caches and carves at a time. */
struct _hs_pool_sizes {
	size_t mag_bytes;	/* objects in a magazine, about */
	size_t slab_bytes;	/* the largest slab (a power of two) */
	size_t depot_bytes;	/* objects in the depot at most; 0: no limit */
};

/*
 * A pool for the heap: id @id (1 to HS_HEAP_IDS - 1) or any if -1, map tag
 * @tag, the heap's arenas and @sizes. Never destroyed. NULL + errno +
 * message.
 */
hs_pool_t *_hs_pool_create_heap(const char *name, size_t size, size_t align,
				int id, uint8_t tag,
				const struct _hs_pool_sizes *sizes);

/* The counters a thread cache's owner writes: relaxed stores, no RMW. */
static inline void _hs_add(uint64_t *ctr, uint64_t n)
{
	__atomic_store_n(ctr, *ctr + n, __ATOMIC_RELAXED);
}

#endif /* HS_POOL_H */
