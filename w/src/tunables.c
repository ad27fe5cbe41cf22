// SPDX-License-Identifier: MIT
/*
 * libhugeslab: the clock and the settings read from the environment that
 * the layers share: how long freed memory is kept (HUGESLAB_TRIM_MS,
 * HUGESLAB_HEAP_TRIM_MS) and how much of the heap is on 4 KiB pages
 * (HUGESLAB_HEAP_SMALL_MB). A value that is not a number is ignored.
 */
#include <stdlib.h>
#include <time.h>

#include "internal.h"

#define TRIM_MS_DEFAULT		1000
#define HEAP_TRIM_MS_DEFAULT	5000
#define HEAP_SMALL_MB_DEFAULT	16

uint64_t _hs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The environment variable @name as a number (0 allowed), else @def. */
static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *e = getenv(name);
	unsigned long long v;
	char *end;

	if (!e || !*e)
		return def;
	v = strtoull(e, &end, 10);
	return *end ? def : v;
}

/* The environment variable @name in ms (0 is @def too), else @def; in ns. */
static uint64_t ms_env(const char *name, unsigned long def)
{
	uint64_t v = env_u64(name, def);

	return (v ? v : def) * 1000000ULL;
}

uint64_t _hs_trim_ns(void)
{
	return ms_env("HUGESLAB_TRIM_MS", TRIM_MS_DEFAULT);
}

/*
 * The heap's classes keep what they freed longer, as jemalloc's decay
 * does: a program's phases (a request, a batch, a collection) come back
 * within seconds, and objects sent back to their slabs in between would
 * only be taken out again one by one.
 */
uint64_t _hs_heap_trim_ns(void)
{
	return ms_env("HUGESLAB_HEAP_TRIM_MS", HEAP_TRIM_MS_DEFAULT);
}

/*
 * Huge pages only pay once a program is big enough to miss the TLB; below,
 * a 2 MiB page per size class would be most of a small program's memory.
 * Past 1 TiB the number is taken for a typo.
 */
size_t _hs_heap_small_bytes(void)
{
	uint64_t mb = env_u64("HUGESLAB_HEAP_SMALL_MB", HEAP_SMALL_MB_DEFAULT);

	return (size_t)(mb > (1U << 20) ? HEAP_SMALL_MB_DEFAULT : mb) << 20;
}
