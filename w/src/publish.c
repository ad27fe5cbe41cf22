// SPDX-License-Identifier: MIT
/*
 * libhugeslab: per-pool statistics - hs_pool_stats() as a struct and as
 * JSON, and publishing to the module's stats area, where debugfs "pools"
 * and hsstat read every process's pools.
 *
 * Publishing is O(1) and runs on slow paths only: it copies the pool's own
 * totals, which each thread cache folds its counts into when it visits the
 * pool lock, so they lag a thread by at most what it did since its last
 * slow path (a magazine or two), and no thread is walked. hs_pool_stats()
 * is exact for threads that are not allocating right now: it adds what
 * every cache did since its last visit.
 *
 * External pools (hs_extpool_*) publish counters a caller keeps for
 * objects it manages itself, through the same slots.
 *
 * The stats area has HUGESLAB_STATS_SLOTS slots per process; a pool made
 * while all are taken tries again, at most every PUB_RETRY_MS, and is
 * listed as soon as one is free.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"

#define PUB_RETRY_NS	(100ULL * 1000000)

/* Which slots of the module's stats area are taken, under pub_lock. */
static pthread_mutex_t pub_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t taken[HUGESLAB_STATS_SLOTS / 64];
static uint64_t retry_at;		/* when a full area is tried again */

/* ---- slots --------------------------------------------------------------- */

static struct hugeslab_pool_stat *slot_get(void)
{
	struct hugeslab_pool_stat *area = _hs_os_stats_area(), *slot = NULL;
	unsigned int w;

	if (!area)
		return NULL;
	pthread_mutex_lock(&pub_lock);
	for (w = 0; w < HUGESLAB_STATS_SLOTS / 64; w++) {
		if (~taken[w]) {
			unsigned int b = (unsigned int)__builtin_ctzll(~taken[w]);

			taken[w] |= 1ULL << b;
			slot = &area[w * 64 + b];
			break;
		}
	}
	pthread_mutex_unlock(&pub_lock);
	return slot;
}

void _hs_pub_drop(struct _hs_pub *pub)
{
	struct hugeslab_pool_stat *area, *slot = pub->slot;
	size_t i;

	pub->slot = NULL;
	pub->wanted = false;
	if (!slot)
		return;
	area = _hs_os_stats_area();
	if (!area)
		return;
	pthread_mutex_lock(&pub_lock);
	/* A slot from before a fork is not ours to touch any more. */
	if (slot >= area && slot < area + HUGESLAB_STATS_SLOTS) {
		i = (size_t)(slot - area);
		__atomic_store_n(&slot->flags, 0, __ATOMIC_RELEASE);
		memset(slot->name, 0, sizeof(slot->name));
		taken[i / 64] &= ~(1ULL << (i % 64));
		retry_at = 0;	/* pools waiting for a slot may have it */
	}
	pthread_mutex_unlock(&pub_lock);
}

void _hs_publish_drop(hs_pool_t *p)
{
	_hs_pub_drop(&p->pub);
}

/* Take a slot and name it; false if none is free. */
static bool pub_attach(struct _hs_pub *pub, const char *name, uint64_t obj_size)
{
	struct hugeslab_pool_stat *st;
	uint64_t now = _hs_now_ns();

	if (now < __atomic_load_n(&retry_at, __ATOMIC_RELAXED))
		return false;
	st = slot_get();
	if (!st) {
		/* Off the kmod backend, or no module area: nothing to do. */
		if (!_hs_os_stats_area())
			pub->wanted = false;
		else
			__atomic_store_n(&retry_at, now + PUB_RETRY_NS,
					 __ATOMIC_RELAXED);
		return false;
	}
	pub->wanted = false;
	/* NUL-terminated if shorter than the field (uapi/hugeslab.h). */
	memset(st->name, 0, sizeof(st->name));
	memcpy(st->name, name, HS_MIN(strlen(name), sizeof(st->name)));
	st->obj_size = obj_size;
	pub->slot = st;
	return true;
}

void _hs_pub_write(struct _hs_pub *pub, const char *name,
		   const struct _hs_pub_counts *c)
{
	struct hugeslab_pool_stat *st;

	if (!pub->slot && (!pub->wanted || !pub_attach(pub, name, c->obj_size)))
		return;
	st = pub->slot;
#define PUB(field, v) __atomic_store_n(&st->field, (v), __ATOMIC_RELAXED)
	PUB(obj_size, c->obj_size);
	PUB(in_use, c->in_use);
	PUB(total, c->total);
	PUB(bytes, c->bytes);
	PUB(allocs, c->allocs);
	PUB(frees, c->frees);
	PUB(cache_hits, c->cache_hits);
#undef PUB
	__atomic_store_n(&st->flags, HUGESLAB_POOL_LIVE, __ATOMIC_RELEASE);
}

/* Publish @allocs and @frees with the pool's other counters. */
static void publish_counts_locked(hs_pool_t *p, uint64_t allocs,
				  uint64_t frees)
{
	struct _hs_pub_counts c = {
		.obj_size = p->obj_size,
		.in_use = allocs > frees ? allocs - frees : 0,
		.total = p->carved,
		.bytes = p->slab_bytes,
		.allocs = allocs,
		.frees = frees,
		.cache_hits = allocs > p->misses ? allocs - p->misses : 0,
	};

	_hs_pub_write(&p->pub, p->name, &c);
}

void _hs_publish_locked(hs_pool_t *p)
{
	publish_counts_locked(p, p->allocs, p->frees);
}

void _hs_publish_fork_prepare(void)
{
	pthread_mutex_lock(&pub_lock);
}

void _hs_publish_fork_parent(void)
{
	pthread_mutex_unlock(&pub_lock);
}

/* The child maps a stats area of its own: every slot is free there. */
void _hs_publish_fork_child(void)
{
	memset(taken, 0, sizeof(taken));
	retry_at = 0;
	pthread_mutex_unlock(&pub_lock);
}

/* ---- external pools -------------------------------------------------------- */

/*
 * Objects a caller manages itself (libhugeslab-uring's buffer sets), listed
 * beside the pools. The slot is taken on the first update, as a pool's is;
 * a handle from before a fork (another epoch) holds a slot in the parent's
 * area, which the child neither has nor may clear, so it starts over.
 */
struct hs_extpool {
	struct _hs_pub pub;
	uint64_t epoch;			/* _hs_os_epoch() it was made in */
	char name[HS_POOL_NAME_MAX];
};

HS_EXPORT hs_extpool_t *hs_extpool_create(const char *name)
{
	hs_extpool_t *ep;

	_hs_fork_init();
	if (!name || !*name || strlen(name) >= HS_POOL_NAME_MAX) {
		_hs_fail(EINVAL, "hs_extpool_create: the name must be 1 to %d bytes",
			 HS_POOL_NAME_MAX - 1);
		return NULL;
	}
	ep = _hs_meta_alloc(sizeof(*ep));
	if (!ep) {
		_hs_fail(ENOMEM, "hs_extpool_create(%s): out of memory", name);
		return NULL;
	}
	strcpy(ep->name, name);
	ep->epoch = _hs_os_epoch();
	ep->pub.wanted = true;
	return ep;
}

/* A handle made before a fork lists nothing of the parent's in the child. */
static void extpool_follow_fork(hs_extpool_t *ep)
{
	uint64_t now = _hs_os_epoch();

	if (ep->epoch != now) {
		ep->epoch = now;
		ep->pub.slot = NULL;
		ep->pub.wanted = true;
	}
}

HS_EXPORT void hs_extpool_update(hs_extpool_t *ep, const struct hs_pool_stats *st)
{
	struct _hs_pub_counts c;
	int saved;

	if (!ep || !st)
		return;
	/* The first update may choose the backend and map the stats area:
	 * whatever that tried leaves no trace in errno or the message. */
	saved = _hs_err_begin();
	extpool_follow_fork(ep);
	c.obj_size = st->obj_size;
	c.in_use = st->in_use;
	c.total = st->total;
	c.bytes = st->bytes;
	c.allocs = st->allocs;
	c.frees = st->frees;
	c.cache_hits = st->cache_hits;
	_hs_pub_write(&ep->pub, ep->name, &c);
	_hs_err_ok(saved);
}

HS_EXPORT void hs_extpool_destroy(hs_extpool_t *ep)
{
	int saved = errno;

	if (!ep)
		return;
	extpool_follow_fork(ep);
	_hs_pub_drop(&ep->pub);
	_hs_meta_free(ep, sizeof(*ep));
	errno = saved;
}

/* ---- hs_pool_stats() ------------------------------------------------------ */

HS_EXPORT int hs_pool_stats(hs_pool_t *p, struct hs_pool_stats *st)
{
	uint64_t allocs, frees, a, f;
	struct hs_tc *tc;

	if (!p || !st)
		return _hs_fail(EINVAL, "hs_pool_stats: %s is NULL",
				p ? "the stats pointer" : "the pool");
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&p->lock);
	allocs = p->allocs;
	frees = p->frees;
	/* What each cache did since its last visit: an explicit call may
	 * walk the threads, an allocation never does. */
	for (tc = p->tcs; tc; tc = tc->next) {
		_hs_tc_counts(tc, &a, &f);
		allocs += a > tc->synced_allocs ? a - tc->synced_allocs : 0;
		frees += f > tc->synced_frees ? f - tc->synced_frees : 0;
	}
	st->obj_size = p->obj_size;
	st->stride = p->stride;
	st->allocs = allocs;
	st->frees = frees;
	/* A free counted before its alloc's increment is visible. */
	st->in_use = allocs > frees ? allocs - frees : 0;
	st->total = p->carved;
	st->bytes = p->slab_bytes;
	st->cache_hits = allocs > p->misses ? allocs - p->misses : 0;
	st->slabs = p->nslabs;
	st->slabs_released = p->released;
	/* The exact counts just made are worth publishing too. */
	publish_counts_locked(p, allocs, frees);
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
		return _hs_fail(EINVAL, "hs_pool_stats_json: cannot format the name");
	n = snprintf(buf, len,
		     "{\"name\":%s,\"backend\":\"%s\",\"obj_size\":%llu,"
		     "\"stride\":%llu,\"in_use\":%llu,\"total\":%llu,"
		     "\"bytes\":%llu,\"allocs\":%llu,\"frees\":%llu,"
		     "\"cache_hits\":%llu,\"cache_hit_rate\":%.4f,"
		     "\"slabs\":%llu}",
		     name, hs_backend_name(_hs_os_backend()),
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
		return _hs_fail(EINVAL, "hs_pool_stats_json: cannot format");
	return n;
}
