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
 * are runs: 4 KiB pages of their own from the same arena (so memory the
 * heap gives back the pools can use and the other way round), cut to
 * whole pages. hs_realloc() grows and shrinks a run in place when the
 * pages after it are free. Freed runs are kept for
 * reuse for a trim interval, in buckets by size (O(1) to find one; cut for
 * a smaller block), at most a quarter of the bytes in live runs (32 to
 * 64 MiB); then their spans go back, or sooner, when the heap takes fresh
 * pages elsewhere.
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

#define CLASS_ALIGN_MAX		((size_t)4096)
/* Kept runs by size: a bucket per page count up to 1 MiB, then four per
 * doubling (a size class's) up to the largest block; a bitmap of the
 * buckets in use finds the smallest that fits in O(1). */
#define EXACT_CHUNKS		((uint32_t)((1 << 20) >> HS_CHUNK_SHIFT))
#define CLASS_1M		76	/* _hs_class_of((1 MiB) + 1) */
#define RUN_BUCKETS		(EXACT_CHUNKS + 180 - CLASS_1M)
#define MAP_WORDS		((RUN_BUCKETS + 63) / 64)
/* Kept runs hold memory that was in use a moment ago: they raise what a
 * process keeps for the trim interval, not its peak, as they yield to
 * growth (kept_expire_locked()). The floor lets a program that cycles a
 * few blocks of some MiB reuse them without a page fault each time; a
 * quarter of the live runs bounds what a large program keeps beyond it. */
#define KEEP_MIN_BYTES		((uint64_t)32 << 20)
#define KEEP_MAX_BYTES		((uint64_t)64 << 20)
/* A smaller run's 4 KiB pages stay for the next span there, as a block
 * under glibc's mmap threshold stays in its heap: a buffer growing by half
 * from 64 to 175 KiB spent 40% of its time in the madvise and faulting
 * its pages in again. */
#define DISCARD_MIN_BYTES	((uint64_t)256 << 10)
#define SPLIT_SLACK		((uint32_t)16)	/* chunks a kept run may exceed by */
/* A kept run up to this many times the size asked for is cut to it (as
 * jemalloc's lg_extent_max_active_fit: bigger, a long-lived small block
 * would split a big run the program may want back whole). */
#define SPLIT_MAX		((uint32_t)64)
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

/* A run: a span of its own. 128-byte aligned, for the map's tag. */
struct large {
	hs_pool_t *pool;		/* NULL: tells it from a slab */
	struct _hs_span span;
	uintptr_t ptr;			/* what the caller got */
	size_t size;			/* what the caller asked for */
	uint64_t freed_at;		/* kept for reuse since */
	struct large *next, *prev;	/* the live list, or kept ones by age */
	struct large *bnext, *bprev;	/* kept: its size's bucket */
	uint32_t bucket;		/* kept: which */
};
#define LARGE_BYTES	((size_t)1 << HS_TAG_BITS)
_Static_assert(sizeof(struct large) <= LARGE_BYTES, "large struct too big");

/* Under heap_lock: the classes' pools being made, and large blocks. */
static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct large *live, *kept, *kept_tail;	/* newest first */
static struct large *bucket[RUN_BUCKETS];	/* kept ones by size */
static uint64_t bucket_map[MAP_WORDS];		/* the buckets in use */
static uint64_t nkept, kept_bytes;
static uint64_t keep_ns = UINT64_MAX;	/* HUGESLAB_HEAP_TRIM_MS, read once */
static uint64_t grown_seen;		/* _hs_arena_grown when last looked */
static uint64_t outside_seen;		/* _hs_outside_grown() when looked */
static uint64_t outside_debt;		/* of it, not yet paid with runs */
static uint64_t large_n, large_bytes, large_fallback, large_allocs, large_frees;
static uint64_t large_small;		/* bytes of runs in the small arena */
static uint64_t large_in_use;		/* bytes asked for */
static struct _hs_pub large_pub = { .wanted = true };
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

/* Under heap_lock: add @delta to a counter fallback_publish() reads
 * without the lock. */
static void counter_add(uint64_t *c, int64_t delta)
{
	__atomic_store_n(c, *c + (uint64_t)delta, __ATOMIC_RELAXED);
}

/* Account a span entering (+1) or leaving (-1) the heap. */
static void large_account(const struct large *l, int dir)
{
	int64_t b = (int64_t)span_bytes(l) * dir;

	large_bytes += (uint64_t)b;
	if (_hs_span_fallback(&l->span))
		counter_add(&large_fallback, b);
	if (_hs_span_small(&l->span))
		counter_add(&large_small, b);
}

/* Account a run resized in place from @was chunks. */
static void large_resized(const struct large *l, uint32_t was)
{
	int64_t b = (int64_t)span_bytes(l) - ((int64_t)was << HS_CHUNK_SHIFT);

	large_bytes += (uint64_t)b;
	if (_hs_span_fallback(&l->span))
		counter_add(&large_fallback, b);
	if (_hs_span_small(&l->span))
		counter_add(&large_small, b);
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
		      __atomic_load_n(&large_fallback, __ATOMIC_RELAXED));
	pages_publish(&small_pub, &small_shown, "malloc-4k-pages",
		      __atomic_load_n(&_hs_small_bytes, __ATOMIC_RELAXED) +
		      __atomic_load_n(&large_small, __ATOMIC_RELAXED));
}

static uint32_t run_chunks(size_t n)
{
	return (uint32_t)(HS_ALIGN_UP(n, HS_CHUNK) >> HS_CHUNK_SHIFT);
}

/* The bucket of runs of @chunks pages: every run in it has at least the
 * bucket's smallest size; in the first EXACT_CHUNKS, exactly it. */
static uint32_t bucket_of(uint32_t chunks)
{
	if (chunks <= EXACT_CHUNKS)
		return chunks - 1;
	return EXACT_CHUNKS +
	       _hs_class_of((size_t)chunks << HS_CHUNK_SHIFT) - CLASS_1M;
}

/* What may be kept: a quarter of the bytes in live runs, 32 to 64 MiB. */
static uint64_t keep_max_locked(void)
{
	uint64_t live_bytes = large_bytes - kept_bytes;

	return HS_MIN(HS_MAX(live_bytes / 4, KEEP_MIN_BYTES), KEEP_MAX_BYTES);
}

/* The process's growth outside the library since the last look is owed
 * by the runs kept meanwhile, up to their bytes (called before a run is
 * kept, so the new one owes none of it). */
static void outside_note_locked(uint64_t now)
{
	uint64_t outside = _hs_outside_grown(now);

	outside_debt = HS_MIN(outside_debt + (outside - outside_seen),
			      kept_bytes);
	outside_seen = outside;
}

static void kept_add_locked(struct large *l)
{
	uint32_t bkt = bucket_of(l->span.chunks);

	l->freed_at = _hs_now_ns();
	outside_note_locked(l->freed_at);
	list_add(&kept, l);
	if (!kept_tail)
		kept_tail = l;
	l->bucket = bkt;
	l->bprev = NULL;
	l->bnext = bucket[bkt];
	if (l->bnext)
		l->bnext->bprev = l;
	bucket[bkt] = l;
	bucket_map[bkt / 64] |= 1ULL << (bkt % 64);
	nkept++;
	kept_bytes += span_bytes(l);
	__atomic_store_n(&_hs_kept_above, kept_bytes, __ATOMIC_RELAXED);
}

static void kept_del_locked(struct large *l)
{
	if (kept_tail == l)
		kept_tail = l->prev;
	list_del(&kept, l);
	if (l->bprev)
		l->bprev->bnext = l->bnext;
	else if (!(bucket[l->bucket] = l->bnext))
		bucket_map[l->bucket / 64] &= ~(1ULL << (l->bucket % 64));
	if (l->bnext)
		l->bnext->bprev = l->bprev;
	l->bnext = l->bprev = NULL;
	nkept--;
	kept_bytes -= span_bytes(l);
	__atomic_store_n(&_hs_kept_above, kept_bytes, __ATOMIC_RELAXED);
}

/* A kept run off the kept lists and onto @out, for large_release(). */
static void kept_out_locked(struct large *l, struct large **out)
{
	kept_del_locked(l);
	large_account(l, -1);
	l->next = *out;
	*out = l;
}

/*
 * Kept runs older than the trim interval, or beyond what may be kept (or
 * all), leave, oldest first, into *@out, to be released unlocked. So do
 * as many bytes of them as the arenas took fresh pages since the last
 * look: memory kept for reuse must not sit idle while the heap grows
 * elsewhere (a Python heap kept 30 MB of old dict tables at its peak),
 * so the growth after this finds their pages instead. And, oldest first,
 * runs as big as the process grew outside the library to a new peak since
 * they were kept: the arenas give back as many bytes of free pages for
 * that growth (units.c).
 */
static void kept_expire_locked(bool all, struct large **out)
{
	uint64_t now = _hs_now_ns(), cutoff, grown, debt;
	struct large *l;

	if (keep_ns == UINT64_MAX)
		keep_ns = _hs_heap_trim_ns();
	cutoff = now - HS_MIN(now, keep_ns);
	grown = __atomic_load_n(&_hs_arena_grown, __ATOMIC_RELAXED);
	debt = grown - grown_seen;
	__atomic_store_n(&grown_seen, grown, __ATOMIC_RELAXED);
	outside_note_locked(now);

	while ((l = kept_tail) &&
	       (all || debt || l->freed_at <= cutoff ||
		kept_bytes > keep_max_locked() ||
		outside_debt >= span_bytes(l))) {
		uint64_t b = span_bytes(l);

		debt -= HS_MIN(debt, b);
		outside_debt -= HS_MIN(outside_debt, b);
		kept_out_locked(l, out);
	}
}

/*
 * Runs not kept go back to the arena; on 4 KiB pages the pages of one of
 * DISCARD_MIN_BYTES or more go to the kernel now (as glibc's munmap of a
 * big block), since nobody asked for them again, unless @reuse (a block
 * is about to take them): a huge page's wait a trim interval in the
 * arena.
 */
static void large_release(struct large *list, bool reuse)
{
	struct large *l, *next;

	for (l = list; l; l = next) {
		next = l->next;
		if (!reuse && span_bytes(l) >= DISCARD_MIN_BYTES)
			_hs_span_discard(&l->span);
		_hs_span_free(&l->span);
		_hs_meta_free(l, LARGE_BYTES);
	}
}

/* After a class took memory: kept runs yield to the growth, if any. */
static void kept_yield(void)
{
	struct large *old = NULL;

	if (likely(__atomic_load_n(&_hs_arena_grown, __ATOMIC_RELAXED) ==
		   __atomic_load_n(&grown_seen, __ATOMIC_RELAXED)))
		return;
	pthread_mutex_lock(&heap_lock);
	kept_expire_locked(false, &old);
	if (old)
		large_publish_locked();
	pthread_mutex_unlock(&heap_lock);
	large_release(old, false);
}

/* The first bucket in use from @b on, or RUN_BUCKETS. */
static uint32_t bucket_next(uint32_t b)
{
	uint32_t w = b / 64;
	uint64_t bits;

	if (b >= RUN_BUCKETS)
		return RUN_BUCKETS;
	bits = bucket_map[w] & (~0ULL << (b % 64));
	while (!bits) {
		if (++w == MAP_WORDS)
			return RUN_BUCKETS;
		bits = bucket_map[w];
	}
	return w * 64 + (uint32_t)__builtin_ctzll(bits);
}

/*
 * The smallest kept run of at least @chunks aligned to @align (best fit:
 * the newest of the first bucket in use that fits, or of the next),
 * taken off the lists and cut to @chunks, the rest going back to the
 * arena with its pages; NULL if none. O(1). A kept run is memory in use a
 * moment ago: cut, it serves a smaller block that would otherwise take
 * fresh pages while it waited, unused, for a block of its own size (a
 * buffer grown round after round kept one run a round). Only a run more
 * than SPLIT_MAX times too big, or alone in its region, waits for one.
 */
static struct large *kept_take_locked(uint32_t chunks, size_t align)
{
	uint32_t b = bucket_of(chunks);
	struct large *l = NULL;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		b = bucket_next(b);
		if (b == RUN_BUCKETS)
			return NULL;
		l = bucket[b];
		if (l->span.chunks >= chunks &&
		    !(l->span.base & (align - 1)) &&
		    (l->span.chunks <= chunks + chunks / 4 + SPLIT_SLACK ||
		     (l->span.chunks / SPLIT_MAX <= chunks &&
		      !_hs_span_alone(&l->span))))
			break;
		l = NULL;
		b++;
	}
	if (!l)
		return NULL;
	kept_del_locked(l);
	if (l->span.chunks > chunks) {
		uint32_t was = l->span.chunks;

		_hs_span_shrink(&l->span, chunks, false);
		large_resized(l, was);
	}
	return l;
}

/*
 * No kept run serves a block of @chunks: the newest, if smaller, goes
 * back to the arena (returned, for large_release()), where it joins the
 * free memory around it and the block may take its place. Blocks each a
 * little bigger than the one freed before (bytearray(i * 100) for i up
 * to 5000) otherwise each took fresh pages beside the kept runs: 40 MiB
 * where glibc, which merges a freed block with its free neighbours,
 * held 2. O(1).
 */
static struct large *kept_give_way_locked(uint32_t chunks)
{
	struct large *l = kept, *out = NULL;

	if (l && l->span.chunks < chunks && !_hs_span_alone(&l->span))
		kept_out_locked(l, &out);
	return out;
}

/* A run of @n bytes; *@zeroed (if asked) whether its pages are fresh
 * from the kernel. */
static void *large_alloc(size_t n, size_t align, bool *zeroed)
{
	struct _hs_arena *a = _hs_arena_of(-1, false);
	struct large *l, *old = NULL;
	uint32_t chunks;
	int rc;

	align = HS_MAX(align, HS_CHUNK);
	if (n > ((size_t)1 << 46)) {
		_hs_fail(ENOMEM, "hs_malloc: %zu bytes is beyond any region", n);
		return NULL;
	}
	chunks = run_chunks(n);
	if (zeroed)
		*zeroed = false;
	pthread_mutex_lock(&heap_lock);
	l = kept_take_locked(chunks, align);
	if (!l) {
		struct large *k = kept_give_way_locked(chunks);

		pthread_mutex_unlock(&heap_lock);
		large_release(k, true);
		l = _hs_meta_alloc(LARGE_BYTES);
		if (!l || !a) {
			_hs_meta_free(l, LARGE_BYTES);
			_hs_fail(ENOMEM, "hs_malloc: out of memory for bookkeeping");
			return NULL;
		}
		rc = _hs_heap_span_alloc(a, chunks, align,
					 (uintptr_t)l | HS_TAG_LARGE, &l->span);
		if (rc < 0) {
			int err = errno;

			_hs_meta_free(l, LARGE_BYTES);
			errno = err;
			return NULL;
		}
		if (zeroed)
			*zeroed = l->span.zeroed;
		pthread_mutex_lock(&heap_lock);
		large_account(l, 1);
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
	large_release(old, false);
	/* A run reused from those kept takes no span: look here too. */
	_hs_arena_purge_due();
	return (void *)l->ptr;
}

/*
 * Free a run: kept for reuse a while (if @keep and it fits what may be
 * kept), else its span goes back now.
 */
static void large_free(struct large *l, bool keep)
{
	struct large *old = NULL;

	pthread_mutex_lock(&heap_lock);
	list_del(&live, l);
	large_n--;
	large_frees++;
	large_in_use -= l->size;
	if (keep && kept_bytes + span_bytes(l) <= keep_max_locked()) {
		kept_add_locked(l);
	} else {
		large_account(l, -1);
		l->next = old;
		old = l;
	}
	kept_expire_locked(false, &old);
	large_publish_locked();
	pthread_mutex_unlock(&heap_lock);
	large_release(old, false);
	_hs_arena_purge_due();
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
		obj = large_alloc(n, HS_CHUNK, NULL);
	} else {
		p = class_pool(_hs_class_of(n));
		obj = p ? hs_pool_alloc(p) : NULL;
		kept_yield();
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
	p = large_alloc(n, HS_CHUNK, &zeroed);
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
		large_free((struct large *)(owner & ~HS_TAG_MASK), true);
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

/* Bytes usable from @p, a block in @l, to the end of its span. */
static size_t large_usable(const struct large *l, const void *p)
{
	return l->span.base + span_bytes(l) - (uintptr_t)p;
}

HS_EXPORT size_t hs_malloc_usable_size(const void *p)
{
	uintptr_t owner = _hs_map_get(p), tag = owner & HS_TAG_MASK;

	if (!owner)
		return 0;
	if (tag == HS_TAG_LARGE)
		return large_usable((const struct large *)(owner & ~HS_TAG_MASK), p);
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
	return large_alloc(n ? n : 1, align, NULL);
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
		struct large *l = (struct large *)(owner & ~HS_TAG_MASK);
		uint32_t need;

		old = l->size;
		/* A move keeps every usable byte, as glibc's does: a
		 * buffer may have grown into them (hs_malloc_usable_size()). */
		keep = large_usable(l, p);
		/* In place: shrink (giving back the pages after it), or grow
		 * over free pages after it. Small sizes move to a class. */
		if (n > HS_CLASS_MAX && l->ptr == l->span.base) {
			uint32_t was = l->span.chunks;

			need = run_chunks(n);
			if ((need <= was ||
			     _hs_span_grow(&l->span, need, owner) == 0) &&
			    /* The span is the caller's: no lock across the
			     * tail's madvise. A big block alone in its
			     * region moves, so its reservation goes. */
			    (need >= was * 3 / 4 ||
			     _hs_span_shrink(&l->span, need, true) == 0)) {
				pthread_mutex_lock(&heap_lock);
				large_in_use += n - old;
				large_resized(l, was);
				l->size = n;
				pthread_mutex_unlock(&heap_lock);
				return p;
			}
		}
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
		large_free((struct large *)(owner & ~HS_TAG_MASK), false);
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
	pthread_mutex_lock(&heap_lock);
	st->in_use_bytes += large_in_use;
	st->blocks += large_n;
	st->large_blocks = large_n;
	st->large_bytes = large_bytes;
	st->bytes += large_bytes;
	st->fallback_bytes += large_fallback;
	st->small_bytes += large_small;
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
	large_release(old, false);
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
		live = kept = kept_tail = NULL;
		memset(bucket, 0, sizeof(bucket));
		memset(bucket_map, 0, sizeof(bucket_map));
		nkept = 0;
		kept_bytes = large_n = large_bytes = large_fallback = 0;
		_hs_kept_above = outside_debt = 0;
		large_small = 0;
		_hs_fallback_bytes = _hs_small_bytes = 0;
		large_allocs = large_frees = large_in_use = 0;
	}
	large_pub.slot = NULL;
	large_pub.wanted = true;
	fallback_pub.slot = NULL;
	fallback_pub.wanted = true;
	fallback_shown = 0;
	small_pub.slot = NULL;
	small_pub.wanted = true;
	small_shown = 0;
	pthread_mutex_unlock(&heap_lock);
}
