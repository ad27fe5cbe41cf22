// SPDX-License-Identifier: MIT
/*
 * libhugeslab: the heap's runs - blocks above HS_CLASS_MAX, each a span of
 * 4 KiB pages of its own from the same arena as the classes and the pools
 * (so memory the heap gives back the pools can use and the other way
 * round), cut to whole pages. hs_realloc() grows and shrinks a run in
 * place when the pages after it are free (_hs_run_resize()).
 *
 * Freed runs are kept for reuse for a trim interval, in buckets by size
 * (O(1) to find one; cut for a smaller block), at most a quarter of the
 * bytes in live runs (32 to 64 MiB); then their spans go back, or sooner,
 * when the heap takes fresh pages elsewhere.
 *
 * The runs are published as the pool "malloc-large".
 */
#include <errno.h>
#include <string.h>

#include "heap.h"
#include "runs.h"

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

/* A run: a span of its own. 128-byte aligned, for the map's tag. */
struct _hs_run {
	hs_pool_t *pool;		/* NULL: tells it from a slab */
	struct _hs_span span;
	uintptr_t ptr;			/* what the caller got */
	size_t size;			/* what the caller asked for */
	uint64_t freed_at;		/* kept for reuse since */
	struct _hs_run *next, *prev;	/* the live list, or kept ones by age */
	struct _hs_run *bnext, *bprev;	/* kept: its size's bucket */
	uint32_t bucket;		/* kept: which */
};
#define LARGE_BYTES	((size_t)1 << HS_TAG_BITS)
_Static_assert(sizeof(struct _hs_run) <= LARGE_BYTES, "large struct too big");

/* Under runs_lock: the live and kept runs and their counts. */
static pthread_mutex_t runs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct _hs_run *live, *kept, *kept_tail;	/* newest first */
static struct _hs_run *bucket[RUN_BUCKETS];	/* kept ones by size */
static uint64_t bucket_map[MAP_WORDS];		/* the buckets in use */
static uint64_t nkept, kept_bytes;
static uint64_t keep_ns = UINT64_MAX;	/* HUGESLAB_HEAP_TRIM_MS, read once */
static uint64_t grown_seen;		/* _hs_arena_grown when last looked */
static uint64_t outside_seen;		/* _hs_outside_grown() when looked */
static uint64_t outside_debt;		/* of it, not yet paid with runs */
static uint64_t large_n, large_bytes, large_allocs, large_frees;
static uint64_t large_in_use;		/* bytes asked for */
uint64_t _hs_runs_fallback;		/* bytes of runs from the fallback */
uint64_t _hs_runs_small;		/* bytes of runs in the small arena */
static struct _hs_pub large_pub = { .wanted = true };

static void list_add(struct _hs_run **head, struct _hs_run *l)
{
	l->prev = NULL;
	l->next = *head;
	if (l->next)
		l->next->prev = l;
	*head = l;
}

static void list_del(struct _hs_run **head, struct _hs_run *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		*head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->next = l->prev = NULL;
}

static uint64_t span_bytes(const struct _hs_run *l)
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

/* Under runs_lock: add @delta to a counter the heap's publishing reads
 * without the lock. */
static void counter_add(uint64_t *c, int64_t delta)
{
	__atomic_store_n(c, *c + (uint64_t)delta, __ATOMIC_RELAXED);
}

/* Account @b more bytes of @l's span in the heap (fewer if negative). */
static void large_add_bytes(const struct _hs_run *l, int64_t b)
{
	large_bytes += (uint64_t)b;
	if (_hs_span_fallback(&l->span))
		counter_add(&_hs_runs_fallback, b);
	if (_hs_span_small(&l->span))
		counter_add(&_hs_runs_small, b);
}

/* Account a span entering (+1) or leaving (-1) the heap. */
static void large_account(const struct _hs_run *l, int dir)
{
	large_add_bytes(l, (int64_t)span_bytes(l) * dir);
}

/* Account a run resized in place from @was chunks. */
static void large_resized(const struct _hs_run *l, uint32_t was)
{
	large_add_bytes(l, (int64_t)span_bytes(l) -
			   ((int64_t)was << HS_CHUNK_SHIFT));
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

static void kept_add_locked(struct _hs_run *l)
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

static void kept_del_locked(struct _hs_run *l)
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
static void kept_out_locked(struct _hs_run *l, struct _hs_run **out)
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
static void kept_expire_locked(bool all, struct _hs_run **out)
{
	uint64_t now = _hs_now_ns(), cutoff, grown, debt;
	struct _hs_run *l;

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
static void large_release(struct _hs_run *list, bool reuse)
{
	struct _hs_run *l, *next;

	for (l = list; l; l = next) {
		next = l->next;
		if (!reuse && span_bytes(l) >= DISCARD_MIN_BYTES)
			_hs_span_discard(&l->span);
		_hs_span_free(&l->span);
		_hs_meta_free(l, LARGE_BYTES);
	}
}

/* After a class took memory: kept runs yield to the growth, if any. */
void _hs_runs_yield(void)
{
	struct _hs_run *old = NULL;

	if (likely(__atomic_load_n(&_hs_arena_grown, __ATOMIC_RELAXED) ==
		   __atomic_load_n(&grown_seen, __ATOMIC_RELAXED)))
		return;
	pthread_mutex_lock(&runs_lock);
	kept_expire_locked(false, &old);
	if (old)
		large_publish_locked();
	pthread_mutex_unlock(&runs_lock);
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
static struct _hs_run *kept_take_locked(uint32_t chunks, size_t align)
{
	uint32_t b = bucket_of(chunks);
	struct _hs_run *l = NULL;
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
static struct _hs_run *kept_give_way_locked(uint32_t chunks)
{
	struct _hs_run *l = kept, *out = NULL;

	if (l && l->span.chunks < chunks && !_hs_span_alone(&l->span))
		kept_out_locked(l, &out);
	return out;
}

/* A run of @n bytes; *@zeroed (if asked) whether its pages are fresh
 * from the kernel. */
void *_hs_run_alloc(size_t n, size_t align, bool *zeroed)
{
	struct _hs_arena *a = _hs_arena_of(-1, false);
	struct _hs_run *l, *old = NULL;
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
	pthread_mutex_lock(&runs_lock);
	l = kept_take_locked(chunks, align);
	if (!l) {
		struct _hs_run *k = kept_give_way_locked(chunks);

		pthread_mutex_unlock(&runs_lock);
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
		pthread_mutex_lock(&runs_lock);
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
	pthread_mutex_unlock(&runs_lock);
	large_release(old, false);
	/* A run reused from those kept takes no span: look here too. */
	_hs_arena_purge_due();
	return (void *)l->ptr;
}

/*
 * Free a run: kept for reuse a while (if @keep and it fits what may be
 * kept), else its span goes back now.
 */
void _hs_run_free(struct _hs_run *l, bool keep)
{
	struct _hs_run *old = NULL;

	pthread_mutex_lock(&runs_lock);
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
	pthread_mutex_unlock(&runs_lock);
	large_release(old, false);
	_hs_arena_purge_due();
}

/* ---- what heap.c asks of a run -------------------------------------------- */

size_t _hs_run_size(const struct _hs_run *l)
{
	return l->size;
}

/* Bytes usable from @p, a block in @l, to the end of its span. */
size_t _hs_run_usable(const struct _hs_run *l, const void *p)
{
	return l->span.base + span_bytes(l) - (uintptr_t)p;
}

/*
 * Resize @l, holding the block @p, to @n bytes in place: shrink (giving
 * back the pages after it), or grow over free pages after it. The span is
 * the caller's: no lock across the tail's madvise. A big block alone in
 * its region is not shrunk: it moves, so its reservation goes.
 */
bool _hs_run_resize(struct _hs_run *l, const void *p, size_t n)
{
	uint32_t was = l->span.chunks, need = run_chunks(n);

	if ((uintptr_t)p != l->span.base)
		return false;
	if (need > was &&
	    _hs_span_grow(&l->span, need, (uintptr_t)l | HS_TAG_LARGE) < 0)
		return false;
	if (need < was * 3 / 4 && _hs_span_shrink(&l->span, need, true) < 0)
		return false;
	pthread_mutex_lock(&runs_lock);
	large_in_use += n - l->size;
	large_resized(l, was);
	l->size = n;
	pthread_mutex_unlock(&runs_lock);
	return true;
}

/* Add the runs to @st (hs_heap_stats()). */
void _hs_runs_stats(struct hs_heap_stats *st)
{
	pthread_mutex_lock(&runs_lock);
	st->in_use_bytes += large_in_use;
	st->blocks += large_n;
	st->large_blocks = large_n;
	st->large_bytes = large_bytes;
	st->bytes += large_bytes;
	st->fallback_bytes += _hs_runs_fallback;
	st->small_bytes += _hs_runs_small;
	pthread_mutex_unlock(&runs_lock);
}

/* Every kept run goes back now; the bytes that went. */
size_t _hs_runs_trim(void)
{
	struct _hs_run *old = NULL, *l;
	size_t bytes = 0;

	pthread_mutex_lock(&runs_lock);
	kept_expire_locked(true, &old);
	large_publish_locked();
	pthread_mutex_unlock(&runs_lock);
	for (l = old; l; l = l->next)
		bytes += span_bytes(l);
	large_release(old, false);
	return bytes;
}

/* ---- fork ------------------------------------------------------------------ */

void _hs_runs_fork_prepare(void)
{
	pthread_mutex_lock(&runs_lock);
}

void _hs_runs_fork_parent(void)
{
	pthread_mutex_unlock(&runs_lock);
}

/*
 * The child: when the regions stay out of it (the library's default, and
 * always on the kmod backend) its runs are gone with them; the
 * bookkeeping goes.
 */
void _hs_runs_fork_child(void)
{
	struct _hs_run *l, *next;

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
		nkept = kept_bytes = 0;
		large_n = large_bytes = large_in_use = 0;
		large_allocs = large_frees = 0;
		_hs_runs_fallback = _hs_runs_small = 0;
		_hs_kept_above = outside_debt = 0;
	}
	large_pub.slot = NULL;
	large_pub.wanted = true;
	pthread_mutex_unlock(&runs_lock);
}
