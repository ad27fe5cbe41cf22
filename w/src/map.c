// SPDX-License-Identifier: MIT
/*
 * libhugeslab: the address map - from any address to the owner of the
 * 4 KiB chunk it is in (a slab or a run, with its tag), so hs_free() and
 * hs_pool_free() find an object's owner in O(1) without trusting the
 * object. An entry per chunk of the 47-bit address space, in two levels:
 * a root of 1 GiB leaves, each made when an arena maps a region there and
 * never freed (a leaf's pages count only once written). Lookups
 * (_hs_map_get(), internal.h) take no lock; the arenas write entries as
 * spans come and go.
 */
#include "internal.h"

#define MAP_VA_BITS	HS_MAP_VA_BITS
#define MAP_LEAF_SHIFT	HS_MAP_LEAF_SHIFT
#define MAP_LEAF_LEN	HS_MAP_LEAF_LEN

uint8_t *_hs_map_root[HS_MAP_ROOT_LEN];
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;

/* Make sure leaves cover [base, base + bytes); -1 without memory. */
int _hs_map_reserve(uintptr_t base, size_t bytes)
{
	uintptr_t i, end = (base + bytes - 1) >> MAP_LEAF_SHIFT;
	int rc = 0;

	HS_ASSERT(!((base + bytes - 1) >> MAP_VA_BITS));
	pthread_mutex_lock(&map_lock);
	for (i = base >> MAP_LEAF_SHIFT; i <= end; i++) {
		uint8_t *leaf;

		if (_hs_map_root[i])
			continue;
		/* Zero pages until written: a leaf costs what is used. */
		leaf = _hs_meta_alloc(MAP_LEAF_LEN * (1 + sizeof(uintptr_t)));
		if (!leaf) {
			rc = -1;
			break;
		}
		__atomic_store_n(&_hs_map_root[i], leaf, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&map_lock);
	return rc;
}

/* Point the entries of @chunks chunks from @base at @owner (or 0). */
void _hs_map_set(uintptr_t base, uint32_t chunks, uintptr_t owner)
{
	uint32_t i;

	for (i = 0; i < chunks; i++) {
		uintptr_t a = base + ((uintptr_t)i << HS_CHUNK_SHIFT);
		uint8_t *leaf = _hs_map_root[a >> MAP_LEAF_SHIFT];
		size_t k = _hs_map_index(a);

		HS_ASSERT(leaf);
		__atomic_store_n((uintptr_t *)(leaf + MAP_LEAF_LEN) + k, owner,
				 __ATOMIC_RELAXED);
		__atomic_store_n(leaf + k, (uint8_t)(owner & HS_TAG_MASK),
				 __ATOMIC_RELAXED);
	}
}

/* fork(): no thread may be making a leaf while the child is made. */
void _hs_map_fork_lock(void)
{
	pthread_mutex_lock(&map_lock);
}

void _hs_map_fork_unlock(void)
{
	pthread_mutex_unlock(&map_lock);
}
