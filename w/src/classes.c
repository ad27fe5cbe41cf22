// SPDX-License-Identifier: MIT
/*
 * libhugeslab: the heap's size-class table - the pool id (class + 1) of
 * every size up to HS_CLASS_MAX in 16-byte steps, so malloc's fast path
 * finds its class with one load and no branch. The branch between the
 * 16-byte classes and the four-per-doubling ones mispredicts on mixed
 * sizes (a fifth of the time on malloc/free pairs of 16 B to 64 KiB), and
 * computing both and picking one puts a dozen instructions more in every
 * malloc, which slowed a cache-missing workload by a fifth. Class
 * boundaries above HS_SMALL_MAX are multiples of 128, so a 16-byte step
 * never straddles one. Built at compile time: malloc runs before any
 * initialiser does.
 */
#include "heap.h"

/* The id of the sizes up to 16 * i: _hs_class_of() + 1. */
#define ID(i)		((uint8_t)((i) <= HS_SMALL_CLASSES ? (i) :	\
			 HS_BIG_CLASS(16ULL * (i) - 1,			\
				      HS_TOP_BIT(16ULL * (i) - 1)) + 1))
#define ID4(i)		ID(i), ID((i) + 1), ID((i) + 2), ID((i) + 3)
#define ID16(i)		ID4(i), ID4((i) + 4), ID4((i) + 8), ID4((i) + 12)
#define ID64(i)		ID16(i), ID16((i) + 16), ID16((i) + 32), ID16((i) + 48)
#define ID256(i)	ID64(i), ID64((i) + 64), ID64((i) + 128), ID64((i) + 192)
#define ID1K(i)		ID256(i), ID256((i) + 256), ID256((i) + 512), \
			ID256((i) + 768)

const uint8_t _hs_heap_ids[HS_HEAP_ID_STEPS] = {
	ID1K(0), ID1K(1024), ID1K(2048), ID1K(3072), ID(4096)
};
