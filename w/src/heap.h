/* SPDX-License-Identifier: MIT */
/*
 * libhugeslab: the heap's size classes and its fast paths, shared by
 * heap.c (hs_malloc() and friends) and malloc.c (the malloc drop-in), so
 * both inline the same few instructions.
 *
 * Size classes:
 *   16 to 512 bytes in steps of 16 (32 classes, pymalloc's);
 *   above, four per doubling up to 64 KiB (28 classes, jemalloc's spacing:
 *     at most a fifth of a block is rounding);
 *   larger: a run of 4 KiB pages of its own (heap.c).
 * Class c is pool id c + 1, also its map tag, and its thread caches sit
 * in a TLS array the fast paths index by size and by tag, so malloc and
 * free of any class are a few instructions with no call.
 * Each class is a pool named "malloc-<size>", so its objects, caches,
 * depot and slabs are the pools' own, and debugfs and hsstat show it.
 * A class's objects are aligned to the largest power of two dividing its
 * size (at least 16, at most 4 KiB), which serves most aligned requests.
 */
#ifndef HS_HEAP_H
#define HS_HEAP_H

#include "debug.h"
#include "pool.h"

#define HS_SMALL_MAX		512
#define HS_SMALL_CLASSES	32
#define HS_CLASSES		60
#define HS_CLASS_MAX		((size_t)64 << 10)

_Static_assert(HS_CLASSES + 1 == HS_HEAP_IDS,
	       "the classes are the pool ids kept for the heap");
_Static_assert(HS_CLASSES + 1 < HS_TAG_LARGE, "classes fit in a map tag");

/* The class of n > HS_SMALL_MAX bytes, from m = n - 1 and b, the index
 * of m's top bit (9 .. 15 for a pool): a constant expression for
 * constants, so classes.c builds its table with it. */
#define HS_BIG_CLASS(m, b)						\
	(HS_SMALL_CLASSES + ((b) - 9) * 4 +				\
	 (unsigned int)(((m) - (1ULL << (b))) >> ((b) - 2)))
#define HS_TOP_BIT(m)	(63 - (unsigned int)__builtin_clzll(m))

/* The class of @n bytes: a pool's below HS_CLASSES, a run's size above. */
static inline unsigned int _hs_class_of(size_t n)
{
	if (n <= HS_SMALL_MAX)
		return n ? (unsigned int)((n - 1) >> 4) : 0;
	return HS_BIG_CLASS(n - 1, HS_TOP_BIT(n - 1));
}

static inline size_t _hs_class_size(unsigned int c)
{
	unsigned int b, k;

	if (c < HS_SMALL_CLASSES)
		return ((size_t)c + 1) << 4;
	b = 9 + (c - HS_SMALL_CLASSES) / 4;
	k = (c - HS_SMALL_CLASSES) % 4 + 1;
	return ((size_t)1 << b) + ((size_t)k << (b - 2));
}

/* The pool id (class + 1) and TLS index of a block of 1 to HS_CLASS_MAX
 * bytes; 0 for 0 bytes, which takes the slow path. A table (classes.c). */
#define HS_HEAP_ID_STEPS	(HS_CLASS_MAX / 16 + 1)
extern const uint8_t _hs_heap_ids[HS_HEAP_ID_STEPS];

static inline unsigned int _hs_heap_id(size_t n)
{
	HS_ASSERT(n <= HS_CLASS_MAX);
	return _hs_heap_ids[(n + 15) >> 4];
}

/* Pools of the classes made so far (heap.c); NULL until first used. */
extern hs_pool_t *_hs_heap_pools[HS_CLASSES];

void *_hs_heap_alloc_slow(size_t n) __attribute__((noinline));
/* A zeroed block of @n > HS_CLASS_MAX bytes; fresh pages are not written,
 * so a big calloc costs what is used of it. */
void *_hs_heap_calloc_large(size_t n);
void _hs_heap_free_slow(void *p, uintptr_t owner) __attribute__((noinline));

/*
 * The fast paths: a class's thread cache, found in the TLS array by size
 * or by the map's tag, pops or pushes one pointer; a free finds the
 * class without reading the block or its slab. Everything else goes to an
 * out-of-line slow path, so the fast paths save no registers: the heap's
 * below, the drop-in's own in malloc.c (which also takes foreign
 * pointers). Checker builds always take the slow paths, where the pools'
 * ASan/Valgrind hooks run.
 */

/* A block of @n bytes from this thread's cache, else from @slow (a
 * constant: inlined, the call is direct). */
static inline void *_hs_heap_alloc_with(size_t n, void *(*slow)(size_t))
{
#if !defined(HS_ASAN) && !defined(HS_VALGRIND)
	if (likely(n <= HS_CLASS_MAX)) {
		struct hs_tc *tc = _hs_tc_direct[_hs_heap_id(n)];

		if (likely(tc != NULL)) {
			uint64_t s = tc->c.state;
			uint64_t held = s & (HS_CACHE_HELD_MASK | HS_CACHE_COUNT_STOP);

			if (likely(held - 1 < HS_CACHE_HELD_MASK)) {
				__atomic_store_n(&tc->c.state, s + HS_CACHE_POP,
						 __ATOMIC_RELAXED);
				return tc->objs[held - 1];
			}
		}
	}
#endif
	return slow(n);
}

/* @p into this thread's cache of its class, else to @slow with its owner. */
static inline void _hs_heap_free_with(void *p,
				      void (*slow)(void *, uintptr_t))
{
#if !defined(HS_ASAN) && !defined(HS_VALGRIND)
	unsigned int tag = _hs_map_tag(p);

	if (likely(tag - 1 < HS_CLASSES)) {
		struct hs_tc *tc = _hs_tc_direct[tag];

		if (likely(tc != NULL)) {
			uint64_t s = tc->c.state;

			if (likely(s & HS_CACHE_ROOM_MASK)) {
				tc->objs[s & HS_CACHE_HELD_MASK] = p;
				__atomic_store_n(&tc->c.state, s + HS_CACHE_PUSH,
						 __ATOMIC_RELAXED);
				return;
			}
		}
	}
#endif
	slow(p, _hs_map_get(p));
}

static inline void *_hs_heap_alloc_fast(size_t n)
{
	return _hs_heap_alloc_with(n, _hs_heap_alloc_slow);
}

static inline void _hs_heap_free_fast(void *p)
{
	_hs_heap_free_with(p, _hs_heap_free_slow);
}

#endif /* HS_HEAP_H */
