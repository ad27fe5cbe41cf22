// SPDX-License-Identifier: MIT
/*
 * libhugeslab: per-pool statistics, as a struct and as JSON. Counters are
 * summed from the thread caches without stopping them, so a snapshot taken
 * while other threads allocate is approximate but never torn per counter.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"

HS_EXPORT int hs_pool_stats(hs_pool_t *p, struct hs_pool_stats *st)
{
	uint64_t allocs, frees;

	if (!p || !st) {
		errno = EINVAL;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&p->lock);
	_hs_pool_counters_locked(p, &allocs, &frees);
	st->obj_size = p->obj_size;
	st->stride = p->stride;
	st->allocs = allocs;
	st->frees = frees;
	/* A free counted before its alloc's increment is visible. */
	st->in_use = allocs > frees ? allocs - frees : 0;
	st->total = p->carved;
	st->bytes = p->nslabs * p->slab_units * HS_UNIT;
	st->cache_hits = allocs > p->misses ? allocs - p->misses : 0;
	st->slabs = p->nslabs;
	st->slabs_released = p->released;
	_hs_pool_publish_locked(p);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* Append @s to @out as a JSON string, escaped. */
static int json_str(char *out, size_t len, const char *s)
{
	size_t n = 0;
	int w;

#define PUT(...) do {							\
		w = snprintf(out + (n < len ? n : len),			\
			     n < len ? len - n : 0, __VA_ARGS__);	\
		if (w < 0)						\
			return -1;					\
		n += (size_t)w;						\
	} while (0)
	PUT("\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			PUT("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			PUT("\\u%04x", c);
		else
			PUT("%c", c);
	}
	PUT("\"");
#undef PUT
	return (int)n;
}

HS_EXPORT int hs_pool_stats_json(hs_pool_t *p, char *buf, size_t len)
{
	struct hs_pool_stats st;
	char name[HS_POOL_NAME_MAX * 6 + 3];
	int n;

	if (hs_pool_stats(p, &st) < 0)
		return -1;
	if (json_str(name, sizeof(name), p->name) < 0)
		return -1;
	n = snprintf(buf, len,
		     "{\"name\":%s,\"backend\":\"%s\",\"obj_size\":%llu,"
		     "\"stride\":%llu,\"in_use\":%llu,\"total\":%llu,"
		     "\"bytes\":%llu,\"allocs\":%llu,\"frees\":%llu,"
		     "\"cache_hits\":%llu,\"cache_hit_rate\":%.4f,"
		     "\"slabs\":%llu}",
		     name, hs_backend_name(hs_backend()),
		     (unsigned long long)st.obj_size,
		     (unsigned long long)st.stride,
		     (unsigned long long)st.in_use,
		     (unsigned long long)st.total,
		     (unsigned long long)st.bytes,
		     (unsigned long long)st.allocs,
		     (unsigned long long)st.frees,
		     (unsigned long long)st.cache_hits,
		     st.allocs ? (double)st.cache_hits / (double)st.allocs : 0.0,
		     (unsigned long long)st.slabs);
	if (n < 0)
		errno = EINVAL;
	return n;
}
