// SPDX-License-Identifier: MIT
/*
 * libhugeslab: the heap - hs_malloc() and friends, the middle layer
 * between the regions and the object-specific pools, as CPython's object
 * allocator sits between its raw allocator and the per-type free lists.
 *
 * Small and medium sizes go to size classes (heap.h), each a pool of the
 * pool layer: per-thread caches, a depot, slabs carved from the arena,
 * trimming with hysteresis, stats published for hsstat. Large blocks (over
 * 1 MiB, or aligned beyond 4 KiB) get a span of chunks of their own from
 * the same arena, so memory the heap gives back the pools can use and the
 * other way round. hs_realloc() grows and shrinks a large block in place
 * when the chunks after it are free. Freed large blocks are kept for reuse
 * for a trim interval (at most LARGE_KEEP of them and LARGE_KEEP_BYTES),
 * then their spans go back.
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
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "heap.h"

#define LARGE_KEEP		16
#define LARGE_KEEP_BYTES	((uint64_t)64 << 20)
#define CLASS_ALIGN_MAX		((size_t)4096)

hs_pool_t *_hs_heap_pools[HS_CLASSES];

/* A large block: a span of its own. 128-byte aligned, for the map's tag. */
struct large {
	hs_pool_t *pool;		/* NULL: tells it from a slab */
	struct _hs_span span;
	uintptr_t ptr;			/* what the caller got */
	size_t size;			/* what the caller asked for */
	uint64_t freed_at;		/* kept for reuse since */
	struct large *next, *prev;	/* the live list, or the kept list */
};
#define LARGE_BYTES	((size_t)1 << HS_TAG_BITS)
_Static_assert(sizeof(struct large) <= LARGE_BYTES, "large struct too big");

/* Under heap_lock: the classes' pools being made, and large blocks. */
static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct large *live, *kept;	/* newest first */
static uint32_t nkept;
static uint64_t kept_bytes;
static uint64_t large_n, large_bytes, large_fallback, large_allocs, large_frees;
static uint64_t large_in_use;		/* bytes asked for */
static struct _hs_pub large_pub = { .wanted = true };
/* "malloc-fallback": what came from THP or pages when huge pages ran out. */
static struct _hs_pub fallback_pub = { .wanted = true };
static uint64_t fallback_shown;		/* bytes last published */

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
	char name[HS_POOL_NAME_MAX];

	if (likely(p))
		return p;
	pthread_mutex_lock(&heap_lock);
	p = _hs_heap_pools[c];
	if (!p) {
		snprintf(name, sizeof(name), "malloc-%zu", _hs_class_size(c));
		p = _hs_pool_create_heap(name, _hs_class_size(c), class_align(c),
					 c < HS_SMALL_CLASSES ? (int)c + 1 : -1,
					 (uint8_t)(c + 1));
		__atomic_store_n(&_hs_heap_pools[c], p, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&heap_lock);
	return p;
}

/* ---- large blocks ---------------------------------------------------------- */

static void list_add(struct large **head, struct large *l)
{
	l->prev = NULL;
	l->next = *head;
	if (l->next)
		l->next->prev = l;
	*head = l;
}

static void list_del(struct large **head, struct large *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		*head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->next = l->prev = NULL;
}

static uint64_t span_bytes(const struct large *l)
{
	return (uint64_t)l->span.chunks << HS_CHUNK_SHIFT;
}

static void large_publish_locked(void)
{
	struct _hs_pub_counts c = {
		.obj_size = large_n ? large_in_use / large_n : 0,
		.in_use = large_n,
		.total = large_n + nkept,
		.bytes = large_bytes,
		.allocs = large_allocs,
		.frees = large_frees,
	};

	_hs_pub_write(&large_pub, "malloc-large", &c);
}

/* Account a span entering (+1) or leaving (-1) the heap. */
static void large_account(const struct large *l, int dir)
{
	uint64_t b = span_bytes(l);

	large_bytes = dir > 0 ? large_bytes + b : large_bytes - b;
	if (_hs_span_fallback(&l->span))
		large_fallback = dir > 0 ? large_fallback + b : large_fallback - b;
}

/*
 * Publish what the heap holds from the fallback backends, as a pool of its
 * own ("malloc-fallback": bytes, and the number of fallback slabs and
 * large blocks' bytes in use is what it holds), when that changed: so an
 * admin sees in hsstat that a process ran out of huge pages, and how much.
 * Called from slow paths; one comparison when nothing changed.
 */
static void fallback_publish(void)
{
	uint64_t b = __atomic_load_n(&_hs_fallback_bytes, __ATOMIC_RELAXED) +
		     __atomic_load_n(&large_fallback, __ATOMIC_RELAXED);
	struct _hs_pub_counts c = { .bytes = b, .total = b, .in_use = b };

	if (b == __atomic_load_n(&fallback_shown, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&heap_lock);
	__atomic_store_n(&fallback_shown, b, __ATOMIC_RELAXED);
	c.obj_size = 1;
	_hs_pub_write(&fallback_pub, "malloc-fallback", &c);
	pthread_mutex_unlock(&heap_lock);
}

/* Kept blocks older than the trim interval (or all) leave the keep list
 * into *@out, to be released unlocked. */
static void kept_expire_locked(bool all, struct large **out)
{
	uint64_t now = _hs_now_ns();
	uint64_t cutoff = now - HS_MIN(now, _hs_heap_trim_ns());
	struct large *l, *prev;

	/* Oldest last: walk back from the tail while they are old. */
	for (l = kept; l && l->next; l = l->next)
		;
	for (; l && (all || l->freed_at <= cutoff); l = prev) {
		prev = l->prev;
		list_del(&kept, l);
		nkept--;
		kept_bytes -= span_bytes(l);
		large_account(l, -1);
		l->next = *out;
		*out = l;
	}
}

static void large_release(struct large *list)
{
	struct large *l, *next;

	for (l = list; l; l = next) {
		next = l->next;
		_hs_span_free(&l->span);
		_hs_meta_free(l, LARGE_BYTES);
	}
}

/* A kept block of at least @chunks (at most a quarter more) aligned to
 * @align, taken off the list; NULL if none. O(LARGE_KEEP). */
static struct large *kept_take_locked(uint32_t chunks, size_t align)
{
	struct large *l, *best = NULL;

	for (l = kept; l; l = l->next)
		if (l->span.chunks >= chunks &&
		    l->span.chunks <= chunks + chunks / 4 &&
		    !(l->span.base & (align - 1)) &&
		    (!best || l->span.chunks < best->span.chunks))
			best = l;
	if (best) {
		list_del(&kept, best);
		nkept--;
		kept_bytes -= span_bytes(best);
	}
	return best;
}

static void *large_alloc(size_t n, size_t align)
{
	struct _hs_arena *a = _hs_arena_of(-1, false), *fb;
	struct large *l, *old = NULL;
	uint32_t chunks;
	int rc;

	align = HS_MAX(align, HS_CHUNK);
	if (n > ((size_t)1 << 46)) {
		_hs_fail(ENOMEM, "hs_malloc: %zu bytes is beyond any region", n);
		return NULL;
	}
	chunks = (uint32_t)(HS_ALIGN_UP(n, HS_CHUNK) >> HS_CHUNK_SHIFT);
	pthread_mutex_lock(&heap_lock);
	l = kept_take_locked(chunks, align);
	pthread_mutex_unlock(&heap_lock);
	if (!l) {
		l = _hs_meta_alloc(LARGE_BYTES);
		if (!l || !a) {
			_hs_meta_free(l, LARGE_BYTES);
			_hs_fail(ENOMEM, "hs_malloc: out of memory for bookkeeping");
			return NULL;
		}
		rc = _hs_span_alloc(a, chunks, align, 0,
				    (uintptr_t)l | HS_TAG_LARGE, &l->span);
		/* Huge pages ran out: on with the next backend. */
		if (rc < 0 && (errno == ENOMEM || errno == EDQUOT) &&
		    (fb = _hs_arena_of(-1, true)))
			rc = _hs_span_alloc(fb, chunks, align, 0,
					    (uintptr_t)l | HS_TAG_LARGE, &l->span);
		if (rc < 0) {
			int err = errno;

			_hs_meta_free(l, LARGE_BYTES);
			errno = err;
			return NULL;
		}
		pthread_mutex_lock(&heap_lock);
		large_account(l, 1);
	} else {
		pthread_mutex_lock(&heap_lock);
	}
	l->ptr = l->span.base;
	l->size = n;
	list_add(&live, l);
	large_n++;
	large_allocs++;
	large_in_use += n;
	kept_expire_locked(false, &old);
	large_publish_locked();
	pthread_mutex_unlock(&heap_lock);
	large_release(old);
	return (void *)l->ptr;
}

static void large_free(struct large *l)
{
	struct large *old = NULL;

	pthread_mutex_lock(&heap_lock);
	list_del(&live, l);
	large_n--;
	large_frees++;
	large_in_use -= l->size;
	/* Kept for reuse a while, if it fits what is kept. */
	if (kept_bytes + span_bytes(l) <= LARGE_KEEP_BYTES) {
		l->freed_at = _hs_now_ns();
		list_add(&kept, l);
		nkept++;
		kept_bytes += span_bytes(l);
		if (nkept > LARGE_KEEP) {
			struct large *t;

			for (t = kept; t->next; t = t->next)
				;
			list_del(&kept, t);
			nkept--;
			kept_bytes -= span_bytes(t);
			large_account(t, -1);
			old = t;
		}
	} else {
		large_account(l, -1);
		l->next = old;
		old = l;
	}
	kept_expire_locked(false, &old);
	large_publish_locked();
	pthread_mutex_unlock(&heap_lock);
	large_release(old);
}

/* ---- slow paths ------------------------------------------------------------ */

void *_hs_heap_alloc_slow(size_t n)
{
	hs_pool_t *p;
	void *obj;

	if (n > HS_CLASS_MAX) {
		obj = large_alloc(n, HS_CHUNK);
	} else {
		p = class_pool(_hs_class_of(n));
		obj = p ? hs_pool_alloc(p) : NULL;
	}
	fallback_publish();
	return obj;
}

void _hs_heap_free_slow(void *ptr, uintptr_t owner)
{
	uintptr_t tag = owner & HS_TAG_MASK;

	/* NULL, or a pointer we never handed out: nothing to do. */
	if (!owner)
		return;
	if (tag == HS_TAG_LARGE) {
		large_free((struct large *)(owner & ~HS_TAG_MASK));
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
	if (tag == HS_TAG_LARGE) {
		const struct large *l = (const struct large *)(owner & ~HS_TAG_MASK);

		return l->span.base + span_bytes(l) - (uintptr_t)p;
	}
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
	return large_alloc(n ? n : 1, align);
}

HS_EXPORT void *hs_aligned_alloc(size_t align, size_t n)
{
	if (!align || (align & (align - 1))) {
		_hs_fail(EINVAL, "hs_aligned_alloc: alignment %zu is not a power of two",
			 align);
		return NULL;
	}
	if (align <= 16)
		return _hs_heap_alloc_fast(n);
	return aligned_alloc_of(align, n);
}

/*
 * What a foreign block (not ours: from before the library was loaded)
 * may hold: we do not know its size, so what is left of its page, which
 * is readable, up to @n.
 */
static size_t foreign_size(const void *p, size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return HS_MIN(n, page - ((uintptr_t)p & (page - 1)));
}

HS_EXPORT void *hs_realloc(void *p, size_t n)
{
	uintptr_t owner, tag;
	size_t old;
	void *q;

	if (!p)
		return _hs_heap_alloc_fast(n);
	if (!n) {
		_hs_heap_free_fast(p);
		return NULL;
	}
	owner = _hs_map_get(p);
	tag = owner & HS_TAG_MASK;
	if (!owner) {
		old = foreign_size(p, n);
	} else if (tag == HS_TAG_LARGE) {
		struct large *l = (struct large *)(owner & ~HS_TAG_MASK);
		uint32_t need;

		old = l->size;
		if (n > HS_CLASS_MAX) {
			/* In place: shrink, or grow over free chunks after it. */
			need = (uint32_t)(HS_ALIGN_UP(n + (l->ptr - l->span.base),
						      HS_CHUNK) >> HS_CHUNK_SHIFT);
			if (need <= l->span.chunks ||
			    _hs_span_grow(&l->span, need, owner) == 0) {
				pthread_mutex_lock(&heap_lock);
				large_in_use += n - old;
				if (need < l->span.chunks * 3 / 4) {
					large_bytes -= span_bytes(l);
					if (_hs_span_fallback(&l->span))
						large_fallback -= span_bytes(l);
					_hs_span_shrink(&l->span, need);
					large_bytes += span_bytes(l);
					if (_hs_span_fallback(&l->span))
						large_fallback += span_bytes(l);
				}
				l->size = n;
				pthread_mutex_unlock(&heap_lock);
				return p;
			}
		}
	} else {
		old = tag ? _hs_class_size((unsigned int)tag - 1) :
			    ((struct hs_slab *)owner)->pool->obj_size;
		/* Fits, and would not fit a class less than half the size. */
		if (tag && n <= old && (n > old / 2 || tag == 1))
			return p;
	}
	q = _hs_heap_alloc_fast(n);
	if (!q)
		return NULL;
	memcpy(q, p, HS_MIN(n, old));
	if (owner)
		_hs_heap_free_fast(p);
	return q;
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
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_lock(&heap_lock);
	st->in_use_bytes += large_in_use;
	st->blocks += large_n;
	st->large_blocks = large_n;
	st->large_bytes = large_bytes;
	st->bytes += large_bytes;
	st->fallback_bytes += large_fallback;
	pthread_mutex_unlock(&heap_lock);
	return 0;
}

HS_EXPORT size_t hs_heap_trim(void)
{
	struct large *old = NULL, *l;
	size_t bytes = 0;
	unsigned int c;
	int saved = errno;

	pthread_mutex_lock(&heap_lock);
	kept_expire_locked(true, &old);
	large_publish_locked();
	pthread_mutex_unlock(&heap_lock);
	for (l = old; l; l = l->next)
		bytes += span_bytes(l);
	large_release(old);
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
}

void _hs_heap_fork_parent(void)
{
	pthread_mutex_unlock(&heap_lock);
}

/*
 * The child: when the regions stay out of it (the library's default, and
 * always on the kmod backend) its large blocks are gone with them, and the
 * classes start empty like every pool; the bookkeeping goes.
 */
void _hs_heap_fork_child(void)
{
	struct large *l, *next;

	if (!_hs_fork_keeps_memory()) {
		for (l = live; l; l = next) {
			next = l->next;
			_hs_meta_free(l, LARGE_BYTES);
		}
		for (l = kept; l; l = next) {
			next = l->next;
			_hs_meta_free(l, LARGE_BYTES);
		}
		live = kept = NULL;
		nkept = 0;
		kept_bytes = large_n = large_bytes = large_fallback = 0;
		_hs_fallback_bytes = 0;
		large_allocs = large_frees = large_in_use = 0;
	}
	large_pub.slot = NULL;
	large_pub.wanted = true;
	fallback_pub.slot = NULL;
	fallback_pub.wanted = true;
	fallback_shown = 0;
	pthread_mutex_unlock(&heap_lock);
}
