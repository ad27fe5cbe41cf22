// SPDX-License-Identifier: MIT
/*
 * libhugeslab: memory for the library's own bookkeeping (pools, slabs,
 * magazines, thread caches, the address map). It never comes from malloc,
 * so the library can sit under a malloc replacement, and never from region
 * memory, so huge pages hold only user objects.
 *
 * Size classes from 16 bytes to 16 KiB, two per doubling from 32 (a power
 * of two and one and a half times it): a thread cache is a header and a
 * magazine's worth of pointers, a little over a power of two, and would
 * waste a third of its block, not half. A block is aligned to the largest
 * power of two dividing its class size (at most 4 KiB), so one of a power
 * of two bytes (a slab's, whose low bits carry a tag) is aligned to its
 * size. Each class takes 64 KiB pages of its own,
 * carved from 4 MiB mappings; a page whose blocks are all free goes back
 * to the kernel (MADV_DONTNEED; the address range is kept for the next
 * page), so bookkeeping that grew with a workload (magazines of a big
 * depot, say) shrinks with it. Bigger blocks are mapped directly. Only
 * slow paths allocate metadata, so one lock is enough.
 */
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define META_MAX_SHIFT	14		/* bigger blocks are mapped */
#define META_CLASSES	20
#define PAGE_SHIFT	16
#define META_PAGE	((size_t)1 << PAGE_SHIFT)
#define META_MAP	((size_t)4 << 20)

struct meta_free {
	struct meta_free *next;
};

/* At the start of each page; its blocks follow, aligned as said above. */
struct meta_page {
	struct meta_free *free;		/* free blocks */
	struct meta_page *next, *prev;	/* its class's pages with free blocks */
	uint32_t used;			/* blocks handed out */
	uint32_t cap;			/* blocks in the page */
	uint32_t first;			/* offset of the first block */
	uint32_t bump;			/* offset of the first never-used block */
	uint8_t cls;
	bool listed;
};

static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static struct meta_page *partial[META_CLASSES];	/* pages with room */
static struct meta_page *spare;			/* pages given back */
static char *map_next, *map_end;		/* pages never used yet */

static const uint16_t class_size[META_CLASSES] = {
	16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
	3072, 4096, 6144, 8192, 12288, 16384
};
_Static_assert(16384 == (1 << META_MAX_SHIFT), "the last class is the max");

static unsigned int meta_class(size_t size)
{
	unsigned int c = 0;

	while (class_size[c] < size)
		c++;
	return c;
}

/*
 * Metadata is touched sparsely, a few bytes a slab or region: under THP
 * "always" (Debian's default) each 2 MiB of it touched at all would be a
 * huge page, MiB for a small program's KiB.
 */
static void no_thp(void *p, size_t size)
{
	madvise(p, size, MADV_NOHUGEPAGE);
}

static void *os_map(size_t size, size_t align)
{
	char *p = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t at;

	if (p == MAP_FAILED)
		return NULL;
	at = HS_ALIGN_UP((uintptr_t)p, align);
	if (at > (uintptr_t)p)
		munmap(p, at - (uintptr_t)p);
	munmap((char *)at + size, (uintptr_t)p + align - at);
	no_thp((void *)at, size);
	return (void *)at;
}

static void list_add(unsigned int c, struct meta_page *pg)
{
	pg->prev = NULL;
	pg->next = partial[c];
	if (pg->next)
		pg->next->prev = pg;
	partial[c] = pg;
	pg->listed = true;
}

static void list_del(unsigned int c, struct meta_page *pg)
{
	if (pg->prev)
		pg->prev->next = pg->next;
	else
		partial[c] = pg->next;
	if (pg->next)
		pg->next->prev = pg->prev;
	pg->listed = false;
}

/* A fresh page for class @c; NULL without memory. */
static struct meta_page *page_new(unsigned int c)
{
	size_t csize = class_size[c];
	struct meta_page *pg;

	if (spare) {
		pg = spare;
		spare = *(struct meta_page **)pg;
	} else {
		if (map_next == map_end) {
			map_next = os_map(META_MAP, META_PAGE);
			if (!map_next) {
				map_end = NULL;
				return NULL;
			}
			map_end = map_next + META_MAP;
		}
		pg = (struct meta_page *)map_next;
		map_next += META_PAGE;
	}
	memset(pg, 0, sizeof(*pg));
	pg->cls = (uint8_t)c;
	pg->first = (uint32_t)HS_ALIGN_UP(sizeof(*pg),
					  HS_MIN(csize & -csize, HS_PAGE_4K));
	pg->bump = pg->first;
	pg->cap = (uint32_t)((META_PAGE - pg->first) / csize);
	list_add(c, pg);
	return pg;
}

void *_hs_meta_alloc(size_t size)
{
	struct meta_page *pg;
	unsigned int c;
	size_t csize;
	void *p;

	if (size > ((size_t)1 << META_MAX_SHIFT)) {
		/* Zero pages from the kernel: costs what is touched. */
		p = mmap(NULL, HS_ALIGN_UP(size, HS_PAGE_4K), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		no_thp(p, HS_ALIGN_UP(size, HS_PAGE_4K));
		return p;
	}
	c = meta_class(size);
	csize = class_size[c];
	pthread_mutex_lock(&meta_lock);
	pg = partial[c];
	if (!pg && !(pg = page_new(c))) {
		pthread_mutex_unlock(&meta_lock);
		return NULL;
	}
	if (pg->free) {
		p = pg->free;
		pg->free = pg->free->next;
	} else {
		p = (char *)pg + pg->bump;
		pg->bump += (uint32_t)csize;
	}
	if (++pg->used == pg->cap)
		list_del(c, pg);
	pthread_mutex_unlock(&meta_lock);
	memset(p, 0, csize);
	return p;
}

void _hs_meta_free(void *p, size_t size)
{
	struct meta_page *pg;
	struct meta_free *f = p;
	unsigned int c;

	if (!p)
		return;
	if (size > ((size_t)1 << META_MAX_SHIFT)) {
		munmap(p, HS_ALIGN_UP(size, HS_PAGE_4K));
		return;
	}
	pg = (struct meta_page *)((uintptr_t)p & ~(META_PAGE - 1));
	pthread_mutex_lock(&meta_lock);
	c = pg->cls;
	HS_ASSERT(c == meta_class(size) && pg->used);
	f->next = pg->free;
	pg->free = f;
	if (!pg->listed)
		list_add(c, pg);
	if (!--pg->used) {
		/* All free: the page's memory goes back, its address stays. */
		list_del(c, pg);
		madvise(pg, META_PAGE, MADV_DONTNEED);
		*(struct meta_page **)pg = spare;
		spare = pg;
	}
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
