// SPDX-License-Identifier: MIT
/*
 * libhugeslab-malloc.so: the malloc family on the hugeslab heap, for
 * unmodified programs (LD_PRELOAD, or linked). Only this file is extra; the
 * rest of the library is the same code, built into this object a second
 * time, so the plain libhugeslab.so never replaces malloc.
 *
 * What a replacement must survive, and how:
 *   - Calls before the library is set up, and calls the library makes
 *     itself while setting up (glibc functions it uses may allocate): a
 *     thread already inside a slow path is served from a small bootstrap
 *     area, never freed, whose blocks carry their size.
 *   - Pointers it never handed out (from before it was loaded, or the
 *     bootstrap area): free() ignores them; realloc() copies what it can.
 *   - fork(): memory follows it as glibc's does (copy-on-write), except on
 *     the kmod backend, whose regions a child never gets (hugeslab-malloc(7)).
 *   - Threads that exit: their caches go back; later frees on the thread
 *     (glibc's own teardown) take the uncached path.
 * free() keeps errno; failures set ENOMEM, as glibc's do.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap.h"

#define EXPORT	HS_EXPORT

/* ---- the bootstrap area ------------------------------------------------------ */

#define BOOT_BYTES	((size_t)1 << 20)
#define BOOT_HDR	16

static char boot[BOOT_BYTES] __attribute__((aligned(4096)));
static size_t boot_used;

static bool is_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + BOOT_BYTES;
}

/* Aligned to @align (>= 16); NULL once the area is used up. */
static void *boot_alloc(size_t n, size_t align)
{
	size_t at, old, end;

	if (n > BOOT_BYTES || align > 4096)
		return NULL;
	old = __atomic_load_n(&boot_used, __ATOMIC_RELAXED);
	do {
		at = HS_ALIGN_UP(old + BOOT_HDR, align);
		end = at + HS_ALIGN_UP(n, 16);
		if (end > BOOT_BYTES)
			return NULL;
	} while (!__atomic_compare_exchange_n(&boot_used, &old, end, true,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	*(size_t *)(boot + at - sizeof(size_t)) = n;
	return boot + at;
}

static size_t boot_size(const void *p)
{
	return *(const size_t *)((const char *)p - sizeof(size_t));
}

/* ---- re-entry ----------------------------------------------------------------- */

/* Set while this thread is in a slow path: a nested call is the library's
 * own (through a glibc function that allocates) and must not re-enter. */
static __thread int inside __attribute__((tls_model("initial-exec")));
static int started;

static inline bool enter(void)
{
	if (unlikely(inside))
		return false;
	inside = 1;
	if (unlikely(!__atomic_load_n(&started, __ATOMIC_RELAXED))) {
		/* malloc'd memory follows fork, as glibc's does. */
		_hs_os_malloc_mode();
		__atomic_store_n(&started, 1, __ATOMIC_RELAXED);
	}
	return true;
}

static inline void leave(void)
{
	inside = 0;
}

static void *alloc_slow(size_t n, size_t align)
{
	void *p;

	if (!enter()) {
		p = boot_alloc(n, HS_MAX(align, (size_t)16));
		if (!p)
			errno = ENOMEM;
		return p;
	}
	p = align > 16 ? hs_aligned_alloc(align, n) : _hs_heap_alloc_slow(n);
	leave();
	return p;
}

/* ---- the malloc family -------------------------------------------------------- */

/* free()'s slow path: out of line, so the fast path saves no registers. */
static void __attribute__((noinline)) free_slow(void *p, uintptr_t owner)
{
	int saved;

	/* NULL, the bootstrap area, or not ours: nothing to give back. */
	if (!owner)
		return;
	saved = errno;
	if (enter()) {
		_hs_heap_free_slow(p, owner);
		leave();
	}
	/* (A nested free from the library's own glibc call leaks; it is
	 * one of the library's few, during set-up.) */
	errno = saved;
}

static void *__attribute__((noinline)) malloc_slow(size_t n)
{
	return alloc_slow(n, 0);
}

/* A big calloc writes no fresh page: it costs what the program uses. */
static void *calloc_large(size_t n)
{
	void *p;

	if (!enter()) {
		p = boot_alloc(n, 16);	/* zero, never reused */
		if (!p)
			errno = ENOMEM;
		return p;
	}
	p = _hs_heap_calloc_large(n);
	leave();
	return p;
}

EXPORT void *malloc(size_t n)
{
	return _hs_heap_alloc_with(n, malloc_slow);
}

EXPORT void free(void *p)
{
	_hs_heap_free_with(p, free_slow);
}

EXPORT void *calloc(size_t nmemb, size_t size)
{
	size_t n;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (n > HS_CLASS_MAX)
		return calloc_large(n);
	p = malloc(n);
	/* The bootstrap area is zero and never reused. */
	if (p && !is_boot(p))
		memset(p, 0, n);
	return p;
}

static size_t usable(const void *p)
{
	if (is_boot(p))
		return boot_size(p);
	return hs_malloc_usable_size(p);
}

EXPORT void *realloc(void *p, size_t n)
{
	uintptr_t owner, tag;
	void *q;

	if (!p)
		return malloc(n);
	if (!n) {
		free(p);
		return NULL;
	}
	if (is_boot(p)) {
		q = malloc(n);
		if (q)
			memcpy(q, p, HS_MIN(n, boot_size(p)));
		return q;
	}
	owner = _hs_map_get(p);
	tag = owner & HS_TAG_MASK;
	if (tag && tag != HS_TAG_LARGE) {
		/* A size class's block: kept if it still fits its class and
		 * would not fit one less than half the size, else moved by
		 * malloc() and free(), which guard themselves. */
		size_t size = _hs_class_size((unsigned int)tag - 1);

		if (n <= size && (n > size / 2 || tag == 1))
			return p;
		q = malloc(n);
		if (!q)
			return NULL;
		memcpy(q, p, HS_MIN(n, size));
		free(p);
		return q;
	}
	/* Large blocks (grown in place), foreign and pool blocks. */
	if (!enter()) {
		q = boot_alloc(n, 16);
		if (q)
			memcpy(q, p, HS_MIN(n, usable(p)));
		else
			errno = ENOMEM;
		return q;
	}
	q = hs_realloc(p, n);
	leave();
	return q;
}

EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	int saved = errno;
	void *p;

	/* A power of two and a multiple of sizeof(void *). */
	if (!align || (align & (align - 1)) || align % sizeof(void *))
		return EINVAL;
	p = align <= 16 ? malloc(n) : alloc_slow(n, align);
	if (!p) {
		errno = saved;
		return ENOMEM;
	}
	*out = p;
	return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	if (!align || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	return align <= 16 ? malloc(n) : alloc_slow(n, align);
}

EXPORT void *memalign(size_t align, size_t n)
{
	/* glibc rounds an alignment that is not a power of two up to one. */
	if (align & (align - 1))
		align = (size_t)1 << (64 - __builtin_clzll(align));
	return aligned_alloc(align ? align : 1, n);
}

EXPORT void *valloc(size_t n)
{
	return aligned_alloc((size_t)getpagesize(), n);
}

EXPORT void *pvalloc(size_t n)
{
	size_t page = (size_t)getpagesize();

	if (n > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	return aligned_alloc(page, HS_ALIGN_UP(n ? n : 1, page));
}

EXPORT size_t malloc_usable_size(void *p)
{
	return p ? usable(p) : 0;
}

/* Give back what the heap holds but does not use, as glibc's does. */
EXPORT int malloc_trim(size_t pad)
{
	size_t bytes;

	(void)pad;
	if (!enter())
		return 0;
	bytes = hs_heap_trim();
	leave();
	return bytes > 0;
}
