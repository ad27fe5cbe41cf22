/* SPDX-License-Identifier: MIT */
/*
 * libhugeslab internals shared across files: the lower layers (errors,
 * bookkeeping memory, the OS backends, the arena). Everything here is
 * hidden (-fvisibility=hidden); cross-file names start with _hs_.
 *
 * Layers, each calling only the ones below it:
 *   heap.c                  size classes, the API          (heap.h)
 *   runs.c                  blocks above 64 KiB: page runs (runs.h)
 *   pool.c                  create, destroy, registry      (pool.h)
 *   publish.c               stats, the module's stats slots
 *   tcache.c                per-thread caches, fast/slow paths
 *   tcache_life.c           a thread cache's life: made, thread exit, fork
 *   depot.c                 magazines, depot, working-set trim
 *   slab.c                  carving spans into objects
 *   arena.c                 regions -> chunk spans, address -> slab map
 *   os.c                    backends: kmod, hugetlb, thp, pages
 *   meta.c, error.c         bookkeeping memory, error messages
 * fork.c runs every layer's fork hooks in one lock order.
 */
#ifndef HS_INTERNAL_H
#define HS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hugeslab.h"

/* An ASan build: objects and slabs are poisoned while free (debug.h). */
#if defined(__SANITIZE_ADDRESS__)
#define HS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HS_ASAN 1
#endif
#endif
#ifdef HS_ASAN
#include <sanitizer/asan_interface.h>
#endif
/* A TSan build. */
#if defined(__SANITIZE_THREAD__)
#define HS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HS_TSAN 1
#endif
#endif

#define HS_EXPORT	__attribute__((visibility("default")))
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/* A huge page: the unit regions are made of, and what hugetlb frees. */
#define HS_UNIT_SHIFT	21
#define HS_UNIT		((size_t)1 << HS_UNIT_SHIFT)
/* The arena hands out spans in 4 KiB chunks: small slabs need no huge page
 * of their own, and the heap's medium blocks are page runs. */
#define HS_CHUNK_SHIFT	12
#define HS_CHUNK	((size_t)1 << HS_CHUNK_SHIFT)
#define HS_UNIT_CHUNKS	(HS_UNIT / HS_CHUNK)
#define HS_PAGE_4K	((size_t)4096)

#define HS_ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define HS_MIN(a, b)		((a) < (b) ? (a) : (b))
#define HS_MAX(a, b)		((a) > (b) ? (a) : (b))

/*
 * Invariants, checked in debug and sanitizer builds (HS_DEBUG, set by
 * lib.mk for SANITIZE=..., VALGRIND=1 and DEBUG=1); nothing in others.
 */
#ifdef HS_DEBUG
#define HS_ASSERT(cond)							\
	(likely(cond) ? (void)0 :					\
	 _hs_assert_fail(#cond, __FILE__, __LINE__, __func__))
#else
#define HS_ASSERT(cond)	((void)0)
#endif

/* True if the @n words at @v are all zero (reserved fields of opts). */
static inline bool _hs_zeroed(const uint64_t *v, size_t n)
{
	while (n--)
		if (*v++)
			return false;
	return true;
}

/* ---- error.c: the per-thread "what to do" message ---------------------- */

#define HS_UTOA_LEN	21	/* UINT64_MAX's 20 digits and a NUL */

/*
 * What errno @err means, in English, for messages. Never strerror(): it
 * translates through gettext, which takes and drops glibc's locale lock,
 * and glibc allocates while it holds that lock (setlocale()): from inside
 * malloc that broke the lock, and the next setlocale() hung.
 */
const char *_hs_strerror(int err);

/* Record a message for hs_last_error(), set errno to err, return -1. */
int _hs_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), cold));

/*
 * A public call that may fail inside and still succeed brackets itself:
 * _hs_err_begin() notes errno; _hs_err_ok() puts errno and the message
 * back as they were, so a success leaves no trace of attempts that failed
 * on the way; _hs_err_failed() keeps what the failure said.
 */
int _hs_err_begin(void);
void _hs_err_ok(int saved);
void _hs_err_failed(void);

/*
 * Text built on paths every process runs (the backend's reason, pool
 * names) without printf: its code and tables are some 150 KiB of libc a
 * small program would otherwise page in, and it may allocate. _hs_join()
 * copies the strings up to NULL into @buf, cut to fit; _hs_utoa() writes
 * @v in decimal into @buf and returns where the digits start.
 */
void _hs_join(char *buf, size_t len, ...) __attribute__((sentinel));
const char *_hs_utoa(char buf[HS_UTOA_LEN], uint64_t v);

/* Print where a broken invariant was found and abort. */
void _hs_assert_fail(const char *cond, const char *file, int line,
		     const char *func) __attribute__((noreturn, cold));
/* Print a checker's report about a caller's bug and abort. */
void _hs_bug(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn, cold));

/* ---- meta.c: memory for the library's own bookkeeping ------------------ */

/* Zeroed, never from region memory; NULL on failure. Aligned to at least
 * 16 bytes, and a block of a power of two bytes to its size (up to 4 KiB). */
void *_hs_meta_alloc(size_t size);
void _hs_meta_free(void *p, size_t size);

/* ---- os.c: raw memory from the kernel ---------------------------------- */

/* One mapping from a backend. */
struct _hs_mem {
	void *base;
	size_t bytes;
	size_t page_size;
	int node;		/* -1 if spread or unknown */
	hs_backend_t backend;
	uint64_t kmod_id;	/* region id in hugeslab.ko */
	uint64_t epoch;		/* _hs_os_epoch() when mapped */
};

/* _hs_os_map() flags */
#define HS_MAP_FALLBACK_ONLY	(1U << 0)	/* not the process's backend
						 * but the next one: THP if
						 * on, else plain pages */
#define HS_MAP_POPULATE		(1U << 1)	/* huge pages faulted in now
						 * (else: _hs_os_commit()) */
#define HS_MAP_PAGES_ONLY	(1U << 2)	/* plain 4 KiB pages, whatever
						 * the process's backend */
#define HS_MAP_RESERVE		(1U << 3)	/* hugetlb: the huge pages of
						 * the whole mapping reserved
						 * now, faulted in as touched */

/*
 * Map @bytes (a multiple of HS_UNIT) of zeroed memory aligned to @align (a
 * power of two, at least HS_UNIT) from the process's backend, on @node if
 * >= 0. 0, or -1 + errno + message.
 */
int _hs_os_map(size_t bytes, size_t align, int node, unsigned int flags,
	       struct _hs_mem *mem);
/* Unmap it, if this process mapped it (not a fork parent). */
void _hs_os_unmap(struct _hs_mem *mem);
/*
 * Give the pages of [off, off + len) (whole units) back to the kernel,
 * keeping the address range; 0, or -1 where the backend cannot (kmod:
 * the module takes memory back by whole regions only). errno is kept.
 */
int _hs_os_decommit(struct _hs_mem *mem, size_t off, size_t len);
/*
 * Drop the pages of [off, off + len) (4 KiB aligned) now, on plain 4 KiB
 * pages only: elsewhere a huge page would be split or kept whole (no-op).
 * The contents are lost; errno is kept.
 */
void _hs_os_discard(struct _hs_mem *mem, size_t off, size_t len);
/* Make a decommitted range usable again; huge pages are faulted in now,
 * so an empty pool is an error here, not a SIGBUS later. */
int _hs_os_commit(struct _hs_mem *mem, size_t off, size_t len);
/* Bumped in a fork child that does not keep the memory: what was mapped
 * before is the parent's. */
uint64_t _hs_os_epoch(void);
/*
 * The malloc drop-in's mode: memory follows fork() as malloc's does
 * (copy-on-write), rather than staying out of children, and the kmod
 * backend, whose regions a child never gets, is used only when forced.
 */
void _hs_os_malloc_mode(void);
bool _hs_fork_keeps_memory(void);
/* The backend chosen (choosing it now), HS_BACKEND_NONE if none works. */
hs_backend_t _hs_os_backend(void);
/* The module's pool stats area (uapi/hugeslab.h), mapped on first use
 * (on any backend); NULL without the module. */
struct hugeslab_pool_stat *_hs_os_stats_area(void);

/* ---- arena.c: chunk spans of region memory ----------------------------- */

struct hs_slab;
struct _hs_aregion;
struct _hs_arena;

/* A run of contiguous chunks inside one region. */
struct _hs_span {
	uintptr_t base;
	uint32_t chunks;
	bool zeroed;		/* fresh from the kernel when taken */
	struct _hs_aregion *owner;
};

/*
 * The arena of NUMA node @node (-1: any): regions from the process's
 * backend, or with @fallback from the next one (the heap's memory when
 * huge pages run out). Made on first use; NULL + errno without memory.
 */
struct _hs_arena *_hs_arena_of(int node, bool fallback);
/*
 * The heap's small arena: the first HUGESLAB_HEAP_SMALL_MB (16 MiB) of the
 * heap's spans, on plain 4 KiB pages that count only once touched, so a
 * small program holds about what it would under glibc.
 * Full, a span from it fails with ENOSPC and no message: the heap goes on
 * with huge pages. NULL if off (0 MiB, or the backend is plain pages).
 */
struct _hs_arena *_hs_arena_small(void);
/*
 * @chunks chunks aligned to @align bytes (a power of two, at least
 * HS_CHUNK) from arena @a, recorded in the address map as @owner (the
 * caller's tagged pointer). 0, or -1 + errno + message. O(1) but for
 * mapping a region. span->zeroed: all of it on units that had no pages.
 */
int _hs_span_alloc(struct _hs_arena *a, uint32_t chunks, size_t align,
		   unsigned int flags, uintptr_t owner, struct _hs_span *span);
/*
 * A span for the heap (its classes' slabs, its runs), as _hs_span_alloc():
 * from the small arena while it has room, else from @a, else, when huge
 * pages ran out, from the fallback arena (THP, then plain pages), so only
 * address space running out fails it.
 */
int _hs_heap_span_alloc(struct _hs_arena *a, uint32_t chunks, size_t align,
			uintptr_t owner, struct _hs_span *span);
/* Give a span back; its chunks leave the address map. */
void _hs_span_free(struct _hs_span *span);
/*
 * Its pages back to the kernel now where they are 4 KiB pages (the small
 * arena, the plain-pages backend), before _hs_span_free(), by its owner:
 * for memory not wanted again soon. The contents are lost.
 */
void _hs_span_discard(struct _hs_span *span);
/* Grow a span in place to @chunks if the chunks after it are free (0),
 * else -1 and nothing changes. */
int _hs_span_grow(struct _hs_span *span, uint32_t chunks, uintptr_t owner);
/* Give the chunks of a span beyond its first @chunks back (if @drop, on
 * plain pages their pages to the kernel too): 0, or -1 for a span alone
 * in its region, which stays as it is. */
int _hs_span_shrink(struct _hs_span *span, uint32_t chunks, bool drop);
/* The backend a span's memory came from; whether from a fallback arena. */
hs_backend_t _hs_span_backend(const struct _hs_span *span);
bool _hs_span_fallback(const struct _hs_span *span);
bool _hs_span_small(const struct _hs_span *span);
/* Alone in its region (a big block on hugetlb): it cannot be cut. */
bool _hs_span_alone(const struct _hs_span *span);
/* Give back now the free memory kept for hysteresis. */
void _hs_arena_trim(void);
/* Give back the free huge pages kept past their interval, if any is due
 * (a clock read when none is). Unlocked; the span paths call it. */
void _hs_arena_purge_due(void);
/* Bytes of fresh memory the arenas have taken so far (a unit of huge
 * pages or of the small arena's 4 KiB pages, or a module region, at a
 * time); relaxed atomic, only ever grows. */
extern uint64_t _hs_arena_grown;
/* Bytes the arenas handed out on pages RSS counts so far: THP units as
 * committed, spans on plain pages (the small arena's, the pages
 * backend's) as taken; relaxed atomic, only ever grows. */
extern uint64_t _hs_rss_committed;
/* Bytes by which the process's peak RSS grew beyond the arenas' own
 * memory so far (rss.c), looked at again if a millisecond passed; only
 * grows. */
uint64_t _hs_outside_grown(uint64_t now);
void _hs_rss_fork_child(void);
/* Bytes of freed memory the layers above keep for reuse (the heap's kept
 * runs), so that growth outside stays owed while they may still come
 * down to the arenas; relaxed atomic. */
extern uint64_t _hs_kept_above;
/* CLOCK_MONOTONIC_COARSE in ns; the trim interval (HUGESLAB_TRIM_MS). */
uint64_t _hs_now_ns(void);
uint64_t _hs_trim_ns(void);
uint64_t _hs_heap_trim_ns(void);		/* HUGESLAB_HEAP_TRIM_MS */
size_t _hs_heap_small_bytes(void);		/* HUGESLAB_HEAP_SMALL_MB */

/*
 * The address map: an entry per chunk of the 47-bit address space, in two
 * levels (a root of 1 GiB leaves, made on first use). An entry holds the
 * owner a live span was given (0 elsewhere). _hs_map_get() is O(1), two
 * dependent loads, no lock, and safe on any address.
 */
#define HS_MAP_VA_BITS		47
#define HS_MAP_LEAF_SHIFT	30
#define HS_MAP_LEAF_LEN		((size_t)1 << (HS_MAP_LEAF_SHIFT - HS_CHUNK_SHIFT))
#define HS_MAP_ROOT_LEN		((size_t)1 << (HS_MAP_VA_BITS - HS_MAP_LEAF_SHIFT))

/* An owner's low bits are its tag (what it is: pool.h), kept apart too. */
#define HS_TAG_BITS	7
#define HS_TAG_MASK	((uintptr_t)(1 << HS_TAG_BITS) - 1)

/*
 * A leaf: first a byte per chunk, the tag alone, then the owners. The
 * free fast path needs only the tag, and a byte map is dense enough to
 * stay in cache for a heap of hundreds of MiB (a 400 MB heap's is 100 KB,
 * its owners 800 KB).
 */
extern uint8_t *_hs_map_root[HS_MAP_ROOT_LEN];

/* Make sure leaves cover [base, base + bytes); -1 without memory. */
int _hs_map_reserve(uintptr_t base, size_t bytes);
/* Point the entries of @chunks chunks from @base at @owner (or 0). */
void _hs_map_set(uintptr_t base, uint32_t chunks, uintptr_t owner);
/* Held across fork() by the arenas' hooks. */
void _hs_map_fork_lock(void);
void _hs_map_fork_unlock(void);

static inline uint8_t *_hs_map_leaf(uintptr_t a)
{
	if (unlikely(a >> HS_MAP_VA_BITS))
		return NULL;
	return __atomic_load_n(&_hs_map_root[a >> HS_MAP_LEAF_SHIFT],
			       __ATOMIC_ACQUIRE);
}

static inline size_t _hs_map_index(uintptr_t a)
{
	return (a >> HS_CHUNK_SHIFT) & (HS_MAP_LEAF_LEN - 1);
}

static inline uintptr_t _hs_map_get(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	uint8_t *leaf = _hs_map_leaf(a);

	if (unlikely(!leaf))
		return 0;
	return __atomic_load_n((uintptr_t *)(leaf + HS_MAP_LEAF_LEN) +
			       _hs_map_index(a), __ATOMIC_RELAXED);
}

/* The tag of @addr's owner (HS_TAG_MASK bits), 0 for none. */
static inline unsigned int _hs_map_tag(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	uint8_t *leaf = _hs_map_leaf(a);

	if (unlikely(!leaf))
		return 0;
	return __atomic_load_n(leaf + _hs_map_index(a), __ATOMIC_RELAXED);
}

/* ---- fork.c: one lock order for pthread_atfork ------------------------- */

void _hs_fork_init(void);

/* Each layer's hooks, run by fork.c top-down (prepare) and bottom-up. */
void _hs_heap_fork_prepare(void);
void _hs_heap_fork_parent(void);
void _hs_heap_fork_child(void);
void _hs_pool_fork_prepare(void);
void _hs_pool_fork_parent(void);
void _hs_pool_fork_child(void);
void _hs_publish_fork_prepare(void);
void _hs_publish_fork_parent(void);
void _hs_publish_fork_child(void);
void _hs_arena_fork_prepare(void);
void _hs_arena_fork_parent(void);
void _hs_arena_fork_child(void);
void _hs_os_fork_prepare(void);
void _hs_os_fork_parent(void);
void _hs_os_fork_child(void);
void _hs_meta_fork_prepare(void);
void _hs_meta_fork_parent(void);
void _hs_meta_fork_child(void);

#endif /* HS_INTERNAL_H */
