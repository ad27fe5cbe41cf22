// SPDX-License-Identifier: MIT
/*
 * libhugeslab: slabs - spans of region memory carved into one pool's
 * objects. Objects are carved in address order and constructed as they
 * leave the slab; constructed objects handed back to the slab (by
 * trimming) are kept in a bitmap, never in the objects themselves.
 *
 * A pool keeps its slabs that have free objects on lists by how full they
 * are, and takes objects from the fullest, so live objects gather in few
 * slabs and the others empty; empty slabs are on a list of their own,
 * ready to be released (destructors run, the span goes back to the arena).
 * Every operation here is O(1) in the number of slabs; finding a free
 * object in a slab's bitmap starts where the last one was found.
 *
 * Slab sizes: the first slab of a pool is small (a chunk or what one
 * object needs) and each new one doubles, up to 2 MiB for small objects
 * (less for the heap's classes, of which there are many), so a small pool
 * holds little and a big one has few slabs. The size is
 * picked so the space left after the last object is at most an eighth of
 * the slab; an object of 512 KiB or more has a slab of its own.
 *
 * Called with the pool lock held unless said otherwise.
 */
#include <errno.h>
#include <string.h>

#include "debug.h"
#include "pool.h"

uint64_t _hs_fallback_bytes;
uint64_t _hs_small_bytes;

/* ---- sizes --------------------------------------------------------------- */

/* Chunks for @k objects of @stride. */
static uint32_t chunks_for(size_t stride, size_t k)
{
	return (uint32_t)(HS_ALIGN_UP(stride * k, HS_CHUNK) >> HS_CHUNK_SHIFT);
}

/* Chunks of the smallest slab holding at least one object and wasting at
 * most an eighth of itself. */
static uint32_t smallest_slab(size_t stride)
{
	size_t k;

	for (k = 1; k < 8; k++) {
		size_t bytes = (size_t)chunks_for(stride, k) << HS_CHUNK_SHIFT;

		if ((bytes - k * stride) * 8 <= bytes)
			break;
	}
	return chunks_for(stride, k);
}

void _hs_slab_size(hs_pool_t *p, size_t max_bytes)
{
	uint32_t min = smallest_slab(p->stride), max = min;

	/* Small objects: slabs grow to @max_bytes, each size wasting little. */
	while (((size_t)max << (HS_CHUNK_SHIFT + 1)) <= max_bytes)
		max *= 2;
	p->slab_min_chunks = min;
	p->slab_max_chunks = max;
	p->next_chunks = min;
}

/* ---- lists ------------------------------------------------------------- */

/* The list a slab belongs on for its counts. */
static uint8_t list_of(const hs_pool_t *p, const struct hs_slab *s)
{
	uint32_t n = s->nfree;

	if (!s->ncarved && s != p->carving)
		return SLAB_FRESH;
	if (n + s->nraw == s->ncarved)
		return SLAB_EMPTY;
	if (!n)
		return SLAB_NONE;
	if (n * 8 <= s->nobj)
		return SLAB_PARTIAL0;
	if (n * 4 <= s->nobj)
		return SLAB_PARTIAL1;
	if (n * 2 <= s->nobj)
		return SLAB_PARTIAL2;
	return SLAB_PARTIAL3;
}

static void list_del(hs_pool_t *p, struct hs_slab *s)
{
	if (s->list == SLAB_NONE)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		p->lists[s->list] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	s->list = SLAB_NONE;
}

/* Move @s to the list its counts call for. */
static void relist(hs_pool_t *p, struct hs_slab *s)
{
	uint8_t l;

	HS_ASSERT(s->nfree + s->nraw <= s->ncarved && s->ncarved <= s->nobj);
	l = list_of(p, s);
	if (l == s->list)
		return;
	list_del(p, s);
	if (l == SLAB_NONE)
		return;
	s->list = l;
	s->prev = NULL;
	s->next = p->lists[l];
	if (s->next)
		s->next->prev = s;
	p->lists[l] = s;
}

/* ---- slabs ------------------------------------------------------------- */

static size_t freemap_bytes(uint32_t nobj)
{
	return HS_ALIGN_UP((size_t)nobj, 64) / 8;
}

/* Slab structs take a 128-byte block, so map tags fit under them. */
#define SLAB_BYTES	((size_t)1 << HS_TAG_BITS)
_Static_assert(sizeof(struct hs_slab) <= SLAB_BYTES, "slab struct too big");

static void slab_forget(struct hs_slab *s)
{
	_hs_meta_free(s->freemap, freemap_bytes(s->nobj));
	_hs_meta_free(s, SLAB_BYTES);
}

/*
 * Slabs are aligned to the largest power of two dividing their size (up to
 * a huge page): one of a power of two never straddles a huge page it does
 * not fill, so a huge page whose slabs all went is free as a whole, and
 * can go back to the kernel; one of 40, 48 or 56 chunks packs against the
 * next of its size. Aligned to its size's power of two below (32 chunks),
 * each left a hole of 24, 16 or 8 chunks that only a smaller slab could
 * fill: 8 MiB of 3000-byte blocks grown over 8 MiB of freed 1000-byte ones
 * took 3 MiB of fresh pages beside them.
 */
static size_t span_align(const hs_pool_t *p, uint32_t chunks)
{
	size_t bytes = (size_t)chunks << HS_CHUNK_SHIFT;

	return HS_MAX(p->align, HS_MIN(bytes & -bytes, HS_UNIT));
}

struct hs_slab *_hs_slab_new(hs_pool_t *p)
{
	struct hs_slab *s = _hs_meta_alloc(SLAB_BYTES);
	uint32_t chunks;
	size_t align;
	int rc;

	pthread_mutex_lock(&p->lock);
	chunks = p->next_chunks;
	pthread_mutex_unlock(&p->lock);
	if (s) {
		s->nobj = (uint32_t)(((size_t)chunks << HS_CHUNK_SHIFT) / p->stride);
		s->freemap = _hs_meta_alloc(freemap_bytes(s->nobj));
	}
	if (!s || !s->freemap) {
		_hs_meta_free(s, SLAB_BYTES);
		_hs_fail(ENOMEM, "pool %s: out of memory for slab bookkeeping",
			 p->name);
		return NULL;
	}
	HS_ASSERT(s->nobj >= 1 && !((uintptr_t)s & HS_TAG_MASK));
	s->pool = p;
	s->list = SLAB_NONE;
	align = span_align(p, chunks);
	/* What came from where is counted (slab_count()). */
	if (p->heap)
		rc = _hs_heap_span_alloc(p->arena, chunks, align,
					 (uintptr_t)s | p->tag, &s->span);
	else
		rc = _hs_span_alloc(p->arena, chunks, align, 0,
				    (uintptr_t)s | p->tag, &s->span);
	if (rc < 0) {
		int err = errno;

		slab_forget(s);
		errno = err;
		return NULL;
	}
	s->base = s->span.base;
	_hs_dbg_span_new(p, (void *)s->base, (size_t)chunks << HS_CHUNK_SHIFT);
	return s;
}

/* Count a slab's bytes from the fallback or small arena in (+1) or out. */
static void slab_count(hs_pool_t *p, const struct hs_slab *s, int dir)
{
	int64_t b = ((int64_t)s->span.chunks << HS_CHUNK_SHIFT) * dir;

	if (_hs_span_fallback(&s->span)) {
		p->fallback_bytes += (uint64_t)b;
		__atomic_add_fetch(&_hs_fallback_bytes, (uint64_t)b,
				   __ATOMIC_RELAXED);
	}
	if (_hs_span_small(&s->span)) {
		p->small_bytes += (uint64_t)b;
		__atomic_add_fetch(&_hs_small_bytes, (uint64_t)b,
				   __ATOMIC_RELAXED);
	}
}

void _hs_slab_add_locked(hs_pool_t *p, struct hs_slab *s)
{
	size_t bytes = (size_t)s->span.chunks << HS_CHUNK_SHIFT;

	s->aprev = NULL;
	s->anext = p->all;
	if (s->anext)
		s->anext->aprev = s;
	p->all = s;
	p->nslabs++;
	p->slab_bytes += bytes;
	slab_count(p, s, 1);
	if (p->next_chunks < p->slab_max_chunks &&
	    s->span.chunks >= p->next_chunks)
		p->next_chunks *= 2;
	/* The carving slab may still have room: it goes on being carved,
	 * and this one waits on the fresh list. */
	if (!p->carving)
		p->carving = s;
	else
		relist(p, s);
}

bool _hs_slab_put_locked(hs_pool_t *p, void *obj)
{
	struct hs_slab *s = _hs_slab_of(obj);
	uintptr_t off;
	uint32_t i;

	if (!s || s->pool != p)
		return false;
	off = (uintptr_t)obj - s->base;
	i = (uint32_t)(off / p->stride);
	if (off % p->stride || i >= s->ncarved ||
	    (s->freemap[i / 64] & (1ULL << (i % 64))))
		return false;
	s->freemap[i / 64] |= 1ULL << (i % 64);
	s->nfree++;
	p->slab_free++;
	relist(p, s);
	return true;
}

void *_hs_slab_take_locked(hs_pool_t *p)
{
	struct hs_slab *s = NULL;
	uint32_t w, words;
	int l;

	/* The fullest slab that has free objects; empty ones last. */
	for (l = SLAB_PARTIAL0; l <= SLAB_EMPTY && !s; l++) {
		s = p->lists[l];
		/* An empty slab may hold only never-constructed objects. */
		while (s && !s->nfree)
			s = s->next;
	}
	if (!s)
		return NULL;
	words = (s->ncarved + 63) / 64;
	for (w = 0; w < words; w++) {
		uint32_t k = (s->scan + w) % words;
		uint64_t bits = s->freemap[k];

		if (bits) {
			uint32_t i = k * 64 + (uint32_t)__builtin_ctzll(bits);

			s->freemap[k] &= bits - 1;
			s->nfree--;
			p->slab_free--;
			s->scan = k;
			relist(p, s);
			return (void *)(s->base + (uintptr_t)i * p->stride);
		}
	}
	HS_ASSERT(!"a slab's free count and its bitmap disagree");
	return NULL;
}

uint32_t _hs_slab_carve_locked(hs_pool_t *p, void **out, uint32_t want)
{
	struct hs_slab *s = p->carving;
	uint32_t n = 0;

	if (!s)
		return 0;
	while (n < want && s->ncarved < s->nobj) {
		out[n++] = (void *)(s->base + (uintptr_t)s->ncarved * p->stride);
		s->ncarved++;
	}
	if (s->ncarved == s->nobj) {
		/* Fully carved: a fresh slab, if one waits, takes over. */
		p->carving = p->lists[SLAB_FRESH];
		if (p->carving)
			list_del(p, p->carving);
	}
	relist(p, s);
	return n;
}

void _hs_slab_raw_put_locked(hs_pool_t *p, void **objs, uint32_t n)
{
	uint32_t i;

	if (p->nraw + n > p->raw_cap) {
		uint32_t cap = (p->nraw + n) * 2;
		void **raw = _hs_meta_alloc(cap * sizeof(void *));

		if (raw) {
			if (p->nraw)
				memcpy(raw, p->raw, p->nraw * sizeof(void *));
			_hs_meta_free(p->raw, p->raw_cap * sizeof(void *));
			p->raw = raw;
			p->raw_cap = cap;
		}
	}
	/* Without room they stay carved and unusable until the pool goes. */
	for (i = 0; i < n && p->nraw < p->raw_cap; i++) {
		struct hs_slab *s = _hs_slab_of(objs[i]);

		p->raw[p->nraw++] = objs[i];
		s->nraw++;
		relist(p, s);
	}
}

/* A never-constructed object out of p->raw, or NULL. */
void *_hs_slab_raw_take_locked(hs_pool_t *p)
{
	struct hs_slab *s;
	void *obj;

	if (!p->nraw)
		return NULL;
	obj = p->raw[--p->nraw];
	s = _hs_slab_of(obj);
	s->nraw--;
	relist(p, s);
	return obj;
}

/* Take @s out of the pool; its raw objects leave p->raw (rare: O(raw)). */
static void slab_unlink(hs_pool_t *p, struct hs_slab *s)
{
	uint32_t i = 0;

	list_del(p, s);
	if (p->carving == s)
		p->carving = NULL;
	if (s->aprev)
		s->aprev->anext = s->anext;
	else
		p->all = s->anext;
	if (s->anext)
		s->anext->aprev = s->aprev;
	while (s->nraw && i < p->nraw) {
		if (_hs_slab_of(p->raw[i]) == s) {
			p->raw[i] = p->raw[--p->nraw];
			s->nraw--;
		} else {
			i++;
		}
	}
	p->nslabs--;
	p->slab_bytes -= (size_t)s->span.chunks << HS_CHUNK_SHIFT;
	slab_count(p, s, -1);
	p->slab_free -= s->nfree;
	p->carved -= s->ncarved - s->nraw;
	p->released++;
}

void _hs_slab_unlink_empty_locked(hs_pool_t *p, uint32_t keep, uint32_t max,
				  struct hs_slab **out)
{
	uint32_t kept = 0, n = 0;
	int l;

	/* Fresh slabs first: nothing to destruct. The ones kept are the
	 * list heads, so this stays O(keep + max). */
	for (l = SLAB_FRESH; l >= SLAB_EMPTY; l--) {
		struct hs_slab *s = p->lists[l], *next;

		for (; s && n < max; s = next) {
			next = s->next;
			if (kept < keep) {
				kept++;
				continue;
			}
			slab_unlink(p, s);
			s->next = *out;
			*out = s;
			n++;
		}
	}
}

/* Run the destructor on each constructed free object of @s. */
static void slab_destruct(hs_pool_t *p, struct hs_slab *s)
{
	uint32_t w;

	if (!p->dtor)
		return;
	for (w = 0; w < (s->ncarved + 63) / 64; w++) {
		uint64_t bits = s->freemap[w];

		while (bits) {
			uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);
			void *obj = (void *)(s->base + (uintptr_t)i * p->stride);

			bits &= bits - 1;
			_hs_dbg_dtor(p, obj);
			p->dtor(obj, p->arg);
		}
	}
}

static void slab_free_memory(struct hs_slab *s)
{
	_hs_dbg_span_gone((void *)s->base, (size_t)s->span.chunks << HS_CHUNK_SHIFT);
	_hs_span_free(&s->span);
	slab_forget(s);
}

size_t _hs_slab_release(hs_pool_t *p, struct hs_slab *list)
{
	struct hs_slab *s, *next;
	size_t bytes = 0;

	for (s = list; s; s = next) {
		next = s->next;
		bytes += (size_t)s->span.chunks << HS_CHUNK_SHIFT;
		slab_destruct(p, s);
		slab_free_memory(s);
	}
	return bytes;
}

/*
 * Every slab of a dying pool: destructors on the free objects of all of
 * them first, with the slabs still in the address map (a destructor may
 * free into the dying pool: that object is destructed at once, see
 * tcache.c), then the memory. No lock: nothing else reaches the pool.
 */
void _hs_slab_destroy_all(hs_pool_t *p)
{
	struct hs_slab *s, *next;

	for (s = p->all; s; s = s->anext)
		slab_destruct(p, s);
	for (s = p->all; s; s = next) {
		next = s->anext;
		slab_free_memory(s);
	}
	p->all = p->carving = NULL;
	memset(p->lists, 0, sizeof(p->lists));
}

/* Fork child: the slabs' memory is the parent's; forget them all. */
void _hs_slab_forget_all(hs_pool_t *p)
{
	struct hs_slab *s, *next;

	for (s = p->all; s; s = next) {
		next = s->anext;
		slab_forget(s);
	}
	p->all = p->carving = NULL;
	memset(p->lists, 0, sizeof(p->lists));
	p->nslabs = p->slab_bytes = p->slab_free = p->carved = 0;
	p->fallback_bytes = p->small_bytes = 0;
	p->nraw = 0;
	p->next_chunks = p->slab_min_chunks;
}
