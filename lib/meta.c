// SPDX-License-Identifier: MIT
/*
 * libhugeslab: memory for the library's own bookkeeping (pools, slabs,
 * magazines, thread caches). It never comes from malloc, so the library can
 * sit under a malloc replacement, and never from region memory, so huge
 * pages hold only user objects.
 *
 * Power-of-two size classes from 16 bytes to 64 KiB, each a free list fed
 * from 256 KiB mmap chunks, blocks aligned to their size (up to 4 KiB);
 * bigger blocks are mapped directly. Only slow
 * paths allocate metadata, so one lock is enough.
 */
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define META_MIN_SHIFT	4
#define META_MAX_SHIFT	16
#define META_CLASSES	(META_MAX_SHIFT - META_MIN_SHIFT + 1)
#define META_CHUNK	((size_t)256 << 10)

struct meta_free {
	struct meta_free *next;
};

static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static struct meta_free *meta_lists[META_CLASSES];
static char *meta_bump, *meta_bump_end;

static unsigned int meta_class(size_t size)
{
	unsigned int shift = META_MIN_SHIFT;

	while (((size_t)1 << shift) < size)
		shift++;
	return shift - META_MIN_SHIFT;
}

static void *meta_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void *_hs_meta_alloc(size_t size)
{
	unsigned int c;
	size_t csize;
	void *p;

	if (size > ((size_t)1 << META_MAX_SHIFT))
		return meta_map(HS_ALIGN_UP(size, HS_PAGE_4K));

	c = meta_class(size);
	csize = (size_t)1 << (c + META_MIN_SHIFT);
	pthread_mutex_lock(&meta_lock);
	p = meta_lists[c];
	if (p) {
		meta_lists[c] = meta_lists[c]->next;
	} else {
		/* Align each block to its size (up to a page) so structs
		 * with cache-line-aligned members are aligned too. */
		meta_bump = (char *)HS_ALIGN_UP((uintptr_t)meta_bump,
				csize < HS_PAGE_4K ? csize : HS_PAGE_4K);
		if (meta_bump_end - meta_bump < (ptrdiff_t)csize) {
			/* The tail of the old chunk is lost: at most 64 KiB. */
			meta_bump = meta_map(META_CHUNK);
			if (!meta_bump) {
				meta_bump_end = NULL;
				pthread_mutex_unlock(&meta_lock);
				return NULL;
			}
			meta_bump_end = meta_bump + META_CHUNK;
		}
		p = meta_bump;
		meta_bump += csize;
	}
	pthread_mutex_unlock(&meta_lock);
	memset(p, 0, csize);
	return p;
}

void _hs_meta_free(void *p, size_t size)
{
	struct meta_free *f = p;
	unsigned int c;

	if (!p)
		return;
	if (size > ((size_t)1 << META_MAX_SHIFT)) {
		munmap(p, HS_ALIGN_UP(size, HS_PAGE_4K));
		return;
	}
	c = meta_class(size);
	pthread_mutex_lock(&meta_lock);
	f->next = meta_lists[c];
	meta_lists[c] = f;
	pthread_mutex_unlock(&meta_lock);
}

void _hs_meta_fork_prepare(void)
{
	pthread_mutex_lock(&meta_lock);
}

void _hs_meta_fork_parent(void)
{
	pthread_mutex_unlock(&meta_lock);
}

void _hs_meta_fork_child(void)
{
	pthread_mutex_unlock(&meta_lock);
}
