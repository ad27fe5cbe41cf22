/* SPDX-License-Identifier: MIT */
/*
 * libhugeslab: huge-page memory for C servers.
 *
 * Layers, bottom up:
 *   regions  raw runs of huge pages from /dev/hugeslab (hugeslab.ko), or
 *            from a fallback backend where the module is absent
 *   heap     hs_malloc() and friends: size classes built on pools, large
 *            blocks from the same regions
 *   pools    object-specific caches carved from regions: fixed object size,
 *            constructor/destructor, per-thread caches
 *
 * Errors: functions that can fail return NULL or -1 and set errno; they never
 * print. hs_last_error() gives a sentence saying what failed and what to do.
 */
#ifndef HUGESLAB_H
#define HUGESLAB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HS_VERSION_MAJOR 1
#define HS_VERSION_MINOR 1
#define HS_VERSION_PATCH 0

/* "1.0.0": the version of the library actually loaded. */
const char *hs_version(void);

/*
 * What the last failing hs_* call in this thread said: what failed and what
 * to do about it. Never NULL; "" when nothing failed yet.
 */
const char *hs_last_error(void);

/* ---- backends ----------------------------------------------------------- */

/*
 * Where region memory comes from. The first one that works is used, in this
 * order, unless HUGESLAB_BACKEND=kmod|hugetlb|thp|pages forces one (then it
 * is that one or nothing). The choice is made once per process.
 */
typedef enum hs_backend {
	HS_BACKEND_NONE = 0,	/* none chosen (or none works) */
	HS_BACKEND_KMOD,	/* /dev/hugeslab: reserved 2 MiB pages */
	HS_BACKEND_HUGETLB,	/* mmap(MAP_HUGETLB) from the hugetlb pool */
	HS_BACKEND_THP,		/* anonymous memory + MADV_HUGEPAGE */
	HS_BACKEND_PAGES,	/* plain anonymous memory */
} hs_backend_t;

/* The backend regions come from, choosing it now if not yet chosen. */
hs_backend_t hs_backend(void);

/* "kmod", "hugetlb", "thp", "pages" or "none". */
const char *hs_backend_name(hs_backend_t backend);

/*
 * Why that backend: e.g. "kmod: /dev/hugeslab" or "hugetlb: /dev/hugeslab
 * absent (module not loaded)". Never NULL.
 */
const char *hs_backend_reason(void);

/* ---- regions ------------------------------------------------------------ */

typedef struct hs_region hs_region_t;

/* Options for hs_region_create(); zero-initialise, then set what you need. */
struct hs_region_opts {
	int node;		/* NUMA node when flags has HS_REGION_NODE */
	unsigned int flags;	/* HS_REGION_* */
	uint64_t reserved[4];	/* must be zero */
};

/* opts->node is meaningful (otherwise any node). */
#define HS_REGION_NODE		(1U << 0)

/*
 * A region of at least @bytes (rounded up to the page size), zeroed, mapped
 * read-write and aligned to its page size. NULL + errno on failure:
 * ENOMEM (no huge pages left), EDQUOT (a module limit), EINVAL.
 */
hs_region_t *hs_region_create(size_t bytes, const struct hs_region_opts *opts);
void hs_region_destroy(hs_region_t *region);
void *hs_region_base(const hs_region_t *region);
size_t hs_region_size(const hs_region_t *region);
size_t hs_region_page_size(const hs_region_t *region);
hs_backend_t hs_region_backend(const hs_region_t *region);
/* Node the memory is on, or -1 if spread or unknown. */
int hs_region_node(const hs_region_t *region);

/* ---- pools -------------------------------------------------------------- */

typedef struct hs_pool hs_pool_t;

/*
 * Constructed-state contract (as in Bonwick's slab allocator): the
 * constructor runs once when an object first enters the pool, not on every
 * allocation; a freed object must be handed back in its constructed state,
 * and the destructor runs only when the object's memory leaves the pool.
 * A constructor returns 0, or an errno value to fail the allocation.
 */
typedef int (*hs_ctor_t)(void *obj, void *arg);
typedef void (*hs_dtor_t)(void *obj, void *arg);

/* Options for hs_pool_create(); zero-initialise, then set what you need. */
struct hs_pool_opts {
	size_t align;		/* power of two up to the page size; 0 = 16 or
				 * the object size's natural alignment */
	hs_ctor_t ctor;		/* optional */
	hs_dtor_t dtor;		/* optional */
	void *arg;		/* passed to ctor and dtor */
	int node;		/* NUMA node when flags has HS_POOL_NODE */
	unsigned int flags;	/* HS_POOL_* */
	uint64_t reserved[4];	/* must be zero */
};

#define HS_POOL_NODE		(1U << 0)	/* opts->node is meaningful */

#define HS_POOL_NAME_MAX	32	/* including the NUL */

/*
 * A pool of @obj_size-byte objects named @name (shown by hsstat; at most
 * HS_POOL_NAME_MAX - 1 bytes). @opts may be NULL. NULL + errno on failure.
 * All pool functions are thread-safe.
 */
hs_pool_t *hs_pool_create(const char *name, size_t obj_size,
			  const struct hs_pool_opts *opts);
/* NULL + errno (ENOMEM, or what the constructor returned) on failure. */
void *hs_pool_alloc(hs_pool_t *pool);
/* @obj must come from hs_pool_alloc(@pool); NULL is ignored. */
void hs_pool_free(hs_pool_t *pool, void *obj);
/* Objects still allocated are lost with the pool's memory. */
void hs_pool_destroy(hs_pool_t *pool);
const char *hs_pool_name(const hs_pool_t *pool);
size_t hs_pool_obj_size(const hs_pool_t *pool);

/* ---- per-thread caches: the inline fast path ----------------------------- */

/*
 * hs_pool_alloc() and hs_pool_free() find the calling thread's cache of the
 * pool on each call. A thread that allocates from a pool in a hot loop can
 * hold on to that cache instead and use the inline hs_cache_alloc() /
 * hs_cache_free(), which pop and push one pointer and fall back to the
 * library only when the cache is empty or full.
 *
 * A cache belongs to the thread that got it from hs_pool_cache(): only that
 * thread may use it, until it exits or the pool is destroyed. Objects may
 * still be freed by any thread, into that thread's own cache. Both ways
 * share the same per-thread cache and counters. After hs_pool_destroy(),
 * hs_cache_alloc() on a cache of that pool fails (NULL, EINVAL) and
 * hs_cache_free() ignores the object, for as long as the thread lives
 * (the library keeps the last 64 such caches of each thread; a handle
 * older than that must not be used). Checker builds of the library
 * (ASan, VALGRIND=1) report a cache used by a thread that does not own it.
 *
 * The structure below is what the inline functions read; its layout is
 * part of the library's ABI. Do not touch it.
 */
typedef struct hs_cache {
	/*
	 * Objects held (bits 0-7), room left for more (bits 8-15) and
	 * allocations served since the library last looked (bits 16-63),
	 * in one word, so a pop or a push tests one field, counts itself and
	 * stores one word. The held objects follow the word in memory,
	 * newest last. A cache with no room and nothing held always goes to
	 * the library, and so does an allocation once the count reaches bit
	 * 63, so the count is harvested long before it could wrap.
	 */
	uint64_t state;
} hs_cache_t;

#define HS_CACHE_HELD_MASK	0xffULL
#define HS_CACHE_ROOM_MASK	0xff00ULL
#define HS_CACHE_COUNT_SHIFT	16
#define HS_CACHE_COUNT_STOP	(1ULL << 63)
/* One held less, one more room, one more allocation. */
#define HS_CACHE_POP	((1ULL << HS_CACHE_COUNT_SHIFT) + 0x100ULL - 1)
/* One held more, one less room (adding it wraps). */
#define HS_CACHE_PUSH	(1ULL - 0x100ULL)

/* This thread's cache of @pool, made on first use. NULL + errno. */
hs_cache_t *hs_pool_cache(hs_pool_t *pool);

/* Called by the inline functions when the cache is empty / full. */
void *hs_cache_alloc_slow(hs_cache_t *cache);
void hs_cache_free_slow(hs_cache_t *cache, void *obj);

/* The held objects: right after the state word. */
static inline void **hs_cache_objs_(hs_cache_t *c)
{
	return (void **)(c + 1);
}

/*
 * hs_pool_alloc() through the calling thread's own cache. (State is
 * stored with relaxed atomics, plain moves: the library reads it from other
 * threads for statistics.)
 */
static inline void *hs_cache_alloc(hs_cache_t *c)
{
	uint64_t s = c->state;
	/* Something held, and the count short of bit 63: one compare. */
	uint64_t held = s & (HS_CACHE_HELD_MASK | HS_CACHE_COUNT_STOP);

	if (__builtin_expect(held - 1 < HS_CACHE_HELD_MASK, 1)) {
		__atomic_store_n(&c->state, s + HS_CACHE_POP, __ATOMIC_RELAXED);
		return hs_cache_objs_(c)[held - 1];
	}
	return hs_cache_alloc_slow(c);
}

/* hs_pool_free() through the calling thread's own cache. */
static inline void hs_cache_free(hs_cache_t *c, void *obj)
{
	uint64_t s = c->state;

	if (__builtin_expect((s & HS_CACHE_ROOM_MASK) != 0 && obj != NULL, 1)) {
		hs_cache_objs_(c)[s & HS_CACHE_HELD_MASK] = obj;
		__atomic_store_n(&c->state, s + HS_CACHE_PUSH, __ATOMIC_RELAXED);
		return;
	}
	hs_cache_free_slow(c, obj);
}

/* Per-pool counters; a consistent-enough snapshot, taken without stopping
 * allocation. */
struct hs_pool_stats {
	uint64_t obj_size;	/* bytes per object as requested */
	uint64_t stride;	/* bytes per object including alignment */
	uint64_t in_use;	/* objects allocated and not freed */
	uint64_t total;		/* objects carved (allocated or cached) */
	uint64_t bytes;		/* memory held from regions */
	uint64_t allocs;	/* hs_pool_alloc() calls that succeeded */
	uint64_t frees;		/* hs_pool_free() calls */
	uint64_t cache_hits;	/* allocs served by the thread's cache */
	uint64_t slabs;		/* slabs (runs of huge pages) held */
	uint64_t slabs_released; /* slabs given back to the regions so far */
	uint64_t reserved[6];
};

int hs_pool_stats(hs_pool_t *pool, struct hs_pool_stats *stats);

/*
 * Give back now what the pool holds but does not use: objects cached in
 * the shared depot go back to their slabs, and slabs with nothing in use
 * return to the regions, and so to the kernel. Objects in threads' caches
 * stay. Returns the bytes given back. Pools also do this by themselves, a
 * step at a time: memory a pool has not needed for a whole interval (1 s,
 * or HUGESLAB_TRIM_MS) is given back when the pool is next used, so a
 * workload that shrinks does not keep its peak and one that oscillates
 * does not map and unmap on every swing.
 */
size_t hs_pool_trim(hs_pool_t *pool);

/*
 * The pool's stats as one JSON object into @buf (NUL-terminated). Returns
 * the length it needs (like snprintf); -1 + errno on failure.
 */
int hs_pool_stats_json(hs_pool_t *pool, char *buf, size_t len);

/* ---- external pools: other objects, listed with the pools ---------------- */

/*
 * Objects a program carves from hugeslab memory itself (libhugeslab-uring's
 * io_uring buffer sets do) can be listed beside the pools: in debugfs
 * "pools" and hsstat on the kmod backend, like a pool. hs_extpool_create()
 * names the listing (1 to HS_POOL_NAME_MAX - 1 bytes; NULL + errno EINVAL
 * or ENOMEM). hs_extpool_update() copies obj_size, in_use, total, bytes,
 * allocs, frees and cache_hits of @stats into the module's stats area
 * (the other fields are ignored): a few plain stores once listed, never a
 * system call on the way. Nothing is listed, and nothing fails, off the
 * kmod backend or while every slot of the area is taken (then a later
 * update tries again). hs_extpool_destroy() removes the listing; NULL is
 * ignored. Calls on one handle must not run concurrently; different
 * handles are independent. In a fork child a handle made before the fork
 * lists nothing of the parent's; its next update lists the child's.
 */
typedef struct hs_extpool hs_extpool_t;

hs_extpool_t *hs_extpool_create(const char *name);
void hs_extpool_update(hs_extpool_t *extpool, const struct hs_pool_stats *stats);
void hs_extpool_destroy(hs_extpool_t *extpool);

/* ---- the heap ------------------------------------------------------------ */

/*
 * malloc(3) and friends on huge pages: small sizes in size classes (each
 * a pool named "malloc-<size>", with per-thread caches), large blocks in
 * spans of their own, all from the same regions as the pools. Thread-safe;
 * a block may be freed by any thread. When huge pages run out the heap
 * goes on with the next backend (THP, then plain pages): see
 * hs_heap_stats(). The semantics are glibc's:
 *
 *   hs_malloc(0)          a unique pointer, to be freed
 *   hs_calloc(n, size)    zeroed; NULL + ENOMEM if n * size overflows
 *   hs_realloc(NULL, n)   hs_malloc(n)
 *   hs_realloc(p, 0)      frees p, returns NULL
 *   hs_realloc(p, n)      on failure NULL + ENOMEM, p untouched
 *   hs_aligned_alloc(a, n) any power-of-two a; EINVAL otherwise
 *   hs_free(p)            p from any of these; NULL is ignored; errno kept
 *   hs_free_sized(p, n)   n must be what was asked for (or the usable size)
 *
 * Failures return NULL with errno ENOMEM (only address space, or every
 * backend, exhausted) and say why in hs_last_error().
 */
void *hs_malloc(size_t size);
void *hs_calloc(size_t nmemb, size_t size);
void *hs_realloc(void *ptr, size_t size);
void hs_free(void *ptr);
void hs_free_sized(void *ptr, size_t size);
void *hs_aligned_alloc(size_t alignment, size_t size);
/* Bytes usable at ptr (at least what was asked for); 0 for NULL. */
size_t hs_malloc_usable_size(const void *ptr);

/* The heap as a whole. */
struct hs_heap_stats {
	uint64_t in_use_bytes;		/* asked for and not freed, by class size */
	uint64_t blocks;		/* blocks in use */
	uint64_t bytes;			/* memory the heap holds */
	uint64_t fallback_bytes;	/* of it from THP or plain pages, when
					 * huge pages ran out */
	uint64_t large_blocks;		/* blocks in spans of their own */
	uint64_t large_bytes;		/* their spans, and ones kept for reuse */
	uint64_t classes;		/* size classes in use */
	uint64_t small_bytes;		/* of bytes, on 4 KiB pages: the heap's
					 * first HUGESLAB_HEAP_SMALL_MB */
	uint64_t reserved[8];
};

int hs_heap_stats(struct hs_heap_stats *stats);
/* Give back what the heap holds but does not use (as hs_pool_trim()). */
size_t hs_heap_trim(void);

#ifdef __cplusplus
}
#endif

#endif /* HUGESLAB_H */
