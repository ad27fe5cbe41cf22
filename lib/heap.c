// SPDX-License-Identifier: MIT
/*
 * libhugeslab: the heap - hs_malloc() and friends, the middle layer
 * between the regions and the object-specific pools, as CPython's object
 * allocator sits between its raw allocator and the per-type free lists.
 *
 * Sizes up to 64 KiB go to size classes (heap.h), each a pool of the
 * pool layer: per-thread caches, a depot, slabs carved from the arena,
 * trimming with hysteresis, stats published for hsstat. A class's
 * magazines, slabs and depot are small (class_sizes), so what a burst of
 * frees leaves goes back to its slabs and empty slabs to the arena at
 * once, where another class, a run or a pool can use it. Larger blocks
 * are runs of 4 KiB pages from the same arena (runs.c), grown and shrunk
 * in place by hs_realloc() where they can be, and kept a while for reuse
 * when freed.
 *
 * Every block's owner is found from its address in the arena's map in
 * O(1); the map's tag says which class, or a large block, or another
 * pool's object (hs_free() gives those back to their pool), or nothing of
 * ours: such foreign pointers are ignored by hs_free() and copied what can
 * be by hs_realloc(), never trusted to have a header.
 *
 * When the module's pages or the hugetlb pool run out, classes and large
 * blocks go on with the fallback arena (THP, then plain pages), and
 * hs_heap_stats() says how much came from there.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "heap.h"
#include "runs.h"

#define CLASS_ALIGN_MAX		((size_t)4096)

/*
 * A class caches and carves less than a program's pool: there are 60 of
 * them, each with two magazines a thread, a depot and a slab being
 * carved. With pools' 256 KiB magazines, 4 MiB depots and 2 MiB slabs a
 * producer/consumer pair held 18 MiB for a 3 MiB live set, and a 400 MB
 * Python heap 40 MB of half-carved slabs; with 32 KiB magazines the pair
 * still held 7.4 MiB, 16 KiB made it 6.0 at the same speed. A depot visit
 * still moves 126 blocks of up to 128 bytes, 62 of up to 256, 14 of
 * 768 B to 16 KiB (6 of them made the pair 3% slower), 6 of up to
 * 32 KiB and 2 above (mag_cap_for()).
 */
static const struct _hs_pool_sizes class_sizes = {
	.mag_bytes = (size_t)16 << 10,
	.slab_bytes = (size_t)256 << 10,
	.depot_bytes = (size_t)512 << 10,
};

hs_pool_t *_hs_heap_pools[HS_CLASSES];

/* Under heap_lock: the classes' pools being made, and publishing. */
static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;
/* "malloc-fallback": what came from THP or pages when huge pages ran out. */
static struct _hs_pub fallback_pub = { .wanted = true };
static uint64_t fallback_shown;		/* bytes last published */
/* "malloc-4k-pages": what the small arena holds (plain pages by design). */
static struct _hs_pub small_pub = { .wanted = true };
static uint64_t small_shown;

/* ---- classes ---------------------------------------------------------------- */

static size_t class_align(unsigned int c)
{
	size_t size = _hs_class_size(c);

	return HS_MIN(HS_MAX(size & -size, (size_t)16), CLASS_ALIGN_MAX);
}

/* The pool of class @c, made on first use. NULL + errno + message. */
static hs_pool_t *class_pool(unsigned int c)
{
	hs_pool_t *p = __atomic_load_n(&_hs_heap_pools[c], __ATOMIC_ACQUIRE);
	char name[HS_POOL_NAME_MAX], num[HS_UTOA_LEN];

	if (likely(p))
		return p;
	pthread_mutex_lock(&heap_lock);
	p = _hs_heap_pools[c];
	if (!p) {
		_hs_join(name, sizeof(name), "malloc-",
			 _hs_utoa(num, _hs_class_size(c)), NULL);
		p = _hs_pool_create_heap(name, _hs_class_size(c), class_align(c),
					 (int)c + 1,
					 (uint8_t)(c + 1), &class_sizes);
		__atomic_store_n(&_hs_heap_pools[c], p, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&heap_lock);
	return p;
}

/*
 * Publish @b bytes the heap holds outside huge pages as a pool of its own
 * (bytes; objects of 1 byte, all in use), when that changed:
 * "malloc-fallback" for what came from THP or plain pages because huge
 * pages ran out, so an admin sees in hsstat that a process ran out, and
 * how much; "malloc-4k-pages" for the small arena. Called from slow
 * paths; one comparison when nothing changed.
 */
static void pages_publish(struct _hs_pub *pub, uint64_t *shown,
			  const char *name, uint64_t b)
{
	struct _hs_pub_counts c = { .bytes = b, .total = b, .in_use = b };

	if (b == __atomic_load_n(shown, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&heap_lock);
	__atomic_store_n(shown, b, __ATOMIC_RELAXED);
	c.obj_size = 1;
	_hs_pub_write(pub, name, &c);
	pthread_mutex_unlock(&heap_lock);
}

static void fallback_publish(void)
{
	pages_publish(&fallback_pub, &fallback_shown, "malloc-fallback",
		      __atomic_load_n(&_hs_fallback_bytes, __ATOMIC_RELAXED) +
		      __atomic_load_n(&_hs_runs_fallback, __ATOMIC_RELAXED));
	pages_publish(&small_pub, &small_shown, "malloc-4k-pages",
		      __atomic_load_n(&_hs_small_bytes, __ATOMIC_RELAXED) +
		      __atomic_load_n(&_hs_runs_small, __ATOMIC_RELAXED));
}

/* ---- slow paths ------------------------------------------------------------ */

/* A success keeps errno and hs_last_error() (see _hs_err_begin()). */
static void *err_end(int saved, void *obj)
{
	if (obj)
		_hs_err_ok(saved);
	else
		_hs_err_failed();
	return obj;
}

void *_hs_heap_alloc_slow(size_t n)
{
	int saved = _hs_err_begin();
	hs_pool_t *p;
	void *obj;

	if (n > HS_CLASS_MAX) {
		obj = _hs_run_alloc(n, HS_CHUNK, NULL);
	} else {
		p = class_pool(_hs_class_of(n));
		obj = p ? hs_pool_alloc(p) : NULL;
		_hs_runs_yield();
	}
	fallback_publish();
	return err_end(saved, obj);
}

void *_hs_heap_calloc_large(size_t n)
{
	int saved = _hs_err_begin();
	bool zeroed;
	void *p;

	HS_ASSERT(n > HS_CLASS_MAX);
	p = _hs_run_alloc(n, HS_CHUNK, &zeroed);
	if (p && !zeroed)
		memset(p, 0, n);
	fallback_publish();
	return err_end(saved, p);
}

void _hs_heap_free_slow(void *ptr, uintptr_t owner)
{
	uintptr_t tag = owner & HS_TAG_MASK;

	/* NULL, or a pointer we never handed out: nothing to do. */
	if (!owner)
		return;
	if (tag == HS_TAG_LARGE) {
		_hs_run_free(_hs_run_of(owner), true);
		return;
	}
	if (tag) {
		hs_pool_free(_hs_heap_pools[tag - 1], ptr);
		return;
	}
	/* Another pool's object: back to its pool. */
	hs_pool_free(((struct hs_slab *)owner)->pool, ptr);
}

/* ---- the API ---------------------------------------------------------------- */

HS_EXPORT void *hs_malloc(size_t n)
{
	return _hs_heap_alloc_fast(n);
}

HS_EXPORT void hs_free(void *p)
{
	_hs_heap_free_fast(p);
}

HS_EXPORT void hs_free_sized(void *p, size_t n)
{
	HS_ASSERT(!p || n <= hs_malloc_usable_size(p));
	(void)n;
	_hs_heap_free_fast(p);
}

HS_EXPORT void *hs_calloc(size_t nmemb, size_t size)
{
	size_t n;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		_hs_fail(ENOMEM, "hs_calloc: %zu x %zu bytes overflows", nmemb, size);
		return NULL;
	}
	if (n > HS_CLASS_MAX)
		return _hs_heap_calloc_large(n);
	p = _hs_heap_alloc_fast(n);
	if (p)
		memset(p, 0, n);
	return p;
}

HS_EXPORT size_t hs_malloc_usable_size(const void *p)
{
	uintptr_t owner = _hs_map_get(p), tag = owner & HS_TAG_MASK;

	if (!owner)
		return 0;
	if (tag == HS_TAG_LARGE)
		return _hs_run_usable(_hs_run_of(owner), p);
	if (tag)
		return _hs_class_size((unsigned int)tag - 1);
	return ((struct hs_slab *)owner)->pool->stride;
}

/* A block for @n bytes aligned to @align (a power of two above 16). */
static void *aligned_alloc_of(size_t align, size_t n)
{
	unsigned int c;
	hs_pool_t *p;

	/* The first class at least that big whose objects are aligned so. */
	if (n <= HS_CLASS_MAX && align <= CLASS_ALIGN_MAX) {
		for (c = _hs_class_of(n); c < HS_CLASSES; c++) {
			if (class_align(c) < align)
				continue;
			p = class_pool(c);
			return p ? hs_pool_alloc(p) : NULL;
		}
	}
	return _hs_run_alloc(n ? n : 1, align, NULL);
}

HS_EXPORT void *hs_aligned_alloc(size_t align, size_t n)
{
	int saved;

	if (!align || (align & (align - 1))) {
		_hs_fail(EINVAL, "hs_aligned_alloc: alignment %zu is not a power of two",
			 align);
		return NULL;
	}
	if (align <= 16)
		return _hs_heap_alloc_fast(n);
	saved = _hs_err_begin();
	return err_end(saved, aligned_alloc_of(align, n));
}

/*
 * What a foreign block (not ours: from before the library was loaded)
 * may hold: we do not know its size, so what is left of its page, which
 * is readable, up to @n.
 */
static size_t foreign_size(const void *p, size_t n)
{
	size_t page = (size_t)getpagesize();

	return HS_MIN(n, page - ((uintptr_t)p & (page - 1)));
}

/* hs_realloc() of a block @p to @n bytes, neither 0. */
static void *realloc_of(void *p, size_t n)
{
	uintptr_t owner, tag;
	size_t old, keep;
	void *q;

	owner = _hs_map_get(p);
	tag = owner & HS_TAG_MASK;
	if (!owner) {
		old = keep = foreign_size(p, n);
	} else if (tag == HS_TAG_LARGE) {
		struct _hs_run *r = _hs_run_of(owner);

		old = _hs_run_size(r);
		/* A move keeps every usable byte, as glibc's does: a
		 * buffer may have grown into them (hs_malloc_usable_size()). */
		keep = _hs_run_usable(r, p);
		/* Small sizes move to a class. */
		if (n > HS_CLASS_MAX && _hs_run_resize(r, p, n))
			return p;
	} else {
		old = keep = tag ? _hs_class_size((unsigned int)tag - 1) :
				   ((struct hs_slab *)owner)->pool->stride;
		/* Fits, and would not fit a class less than half the size. */
		if (tag && n <= old && (n > old / 2 || tag == 1))
			return p;
	}
	q = _hs_heap_alloc_fast(n);
	if (!q)
		return NULL;
	memcpy(q, p, HS_MIN(n, keep));
	/*
	 * A run that grew out of its place goes back at once: a growing
	 * buffer (a vector, a string builder) never wants its old size
	 * again, and kept it would hold its pages at the new one's peak.
	 */
	if (tag == HS_TAG_LARGE && n > old)
		_hs_run_free(_hs_run_of(owner), false);
	else if (owner)
		_hs_heap_free_fast(p);
	return q;
}

HS_EXPORT void *hs_realloc(void *p, size_t n)
{
	int saved;

	if (!p)
		return _hs_heap_alloc_fast(n);
	if (!n) {
		_hs_heap_free_fast(p);
		return NULL;
	}
	saved = _hs_err_begin();
	return err_end(saved, realloc_of(p, n));
}

/* ---- stats and trimming ------------------------------------------------------ */

HS_EXPORT int hs_heap_stats(struct hs_heap_stats *st)
{
	struct hs_pool_stats ps;
	unsigned int c;

	if (!st)
		return _hs_fail(EINVAL, "hs_heap_stats: the stats pointer is NULL");
	memset(st, 0, sizeof(*st));
	for (c = 0; c < HS_CLASSES; c++) {
		hs_pool_t *p = __atomic_load_n(&_hs_heap_pools[c], __ATOMIC_ACQUIRE);

		if (!p || hs_pool_stats(p, &ps) < 0)
			continue;
		st->classes++;
		st->in_use_bytes += ps.in_use * _hs_class_size(c);
		st->blocks += ps.in_use;
		st->bytes += ps.bytes;
		pthread_mutex_lock(&p->lock);
		st->fallback_bytes += p->fallback_bytes;
		st->small_bytes += p->small_bytes;
		pthread_mutex_unlock(&p->lock);
	}
	_hs_runs_stats(st);
	return 0;
}

HS_EXPORT size_t hs_heap_trim(void)
{
	int saved = errno;
	size_t bytes = _hs_runs_trim();
	unsigned int c;

	for (c = 0; c < HS_CLASSES; c++) {
		hs_pool_t *p = __atomic_load_n(&_hs_heap_pools[c], __ATOMIC_ACQUIRE);

		if (p)
			bytes += hs_pool_trim(p);
	}
	_hs_arena_trim();
	errno = saved;
	return bytes;
}

/* ---- fork ------------------------------------------------------------------ */

void _hs_heap_fork_prepare(void)
{
	pthread_mutex_lock(&heap_lock);
	_hs_runs_fork_prepare();
}

void _hs_heap_fork_parent(void)
{
	_hs_runs_fork_parent();
	pthread_mutex_unlock(&heap_lock);
}

/*
 * The child: when the regions stay out of it (the library's default, and
 * always on the kmod backend) the classes start empty like every pool, and
 * the runs are gone (runs.c).
 */
void _hs_heap_fork_child(void)
{
	_hs_runs_fork_child();
	if (!_hs_fork_keeps_memory())
		_hs_fallback_bytes = _hs_small_bytes = 0;
	fallback_pub.slot = NULL;
	fallback_pub.wanted = true;
	fallback_shown = 0;
	small_pub.slot = NULL;
	small_pub.wanted = true;
	small_shown = 0;
	pthread_mutex_unlock(&heap_lock);
}
