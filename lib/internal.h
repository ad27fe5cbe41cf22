/* SPDX-License-Identifier: MIT */
/*
 * libhugeslab internals shared across files. Everything here is hidden
 * (-fvisibility=hidden); cross-file names start with _hs_.
 */
#ifndef HS_INTERNAL_H
#define HS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hugeslab.h"

#define HS_EXPORT	__attribute__((visibility("default")))
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/* Region memory is handed to pools in units of one 2 MiB huge page. */
#define HS_UNIT_SHIFT	21
#define HS_UNIT		((size_t)1 << HS_UNIT_SHIFT)
#define HS_PAGE_4K	((size_t)4096)

#define HS_ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))

/* True if the @n words at @v are all zero (reserved fields of opts). */
static inline bool _hs_zeroed(const uint64_t *v, size_t n)
{
	while (n--)
		if (*v++)
			return false;
	return true;
}

/* ---- error.c: the per-thread "what to do" message ---------------------- */

/* Record a message for hs_last_error(), set errno to err, return -1. */
int _hs_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- meta.c: memory for the library's own bookkeeping ------------------ */

/* Zeroed, 16-byte aligned, never from region memory; NULL on failure. */
void *_hs_meta_alloc(size_t size);
void _hs_meta_free(void *p, size_t size);

/* ---- backend.c: raw memory from the kernel ----------------------------- */

/* One mapping from a backend. */
struct _hs_mem {
	void *base;
	size_t bytes;
	size_t page_size;
	int node;		/* -1 if spread or unknown */
	hs_backend_t backend;
	uint64_t kmod_id;	/* region id in hugeslab.ko */
};

/*
 * Map @bytes (a multiple of HS_UNIT) of zeroed memory aligned to HS_UNIT from
 * the process's backend, on @node if >= 0. 0, or -1 + errno + message.
 */
int _hs_mem_map(size_t bytes, int node, struct _hs_mem *mem);
void _hs_mem_unmap(struct _hs_mem *mem);
int _hs_mem_decommit(struct _hs_mem *mem, size_t off, size_t len);
int _hs_mem_commit(struct _hs_mem *mem, size_t off, size_t len);

/*
 * A slot of the module's pool stats area (uapi/hugeslab.h) for a pool to
 * publish its counters in, or NULL (not on the kmod backend, area full).
 */
struct hugeslab_pool_stat;
struct hugeslab_pool_stat *_hs_stats_slot_get(void);
void _hs_stats_slot_put(struct hugeslab_pool_stat *slot);

/* ---- arena.c: units of region memory for pools ------------------------- */

/* A run of contiguous units inside one region. */
struct _hs_span {
	uintptr_t base;
	size_t units;
	struct _hs_aregion *owner;
};

int _hs_span_alloc(size_t units, int node, struct _hs_span *span);
void _hs_span_free(struct _hs_span *span);
/* Unmap the empty regions kept for hysteresis. */
void _hs_arena_trim(void);

/* ---- fork.c: one lock order for pthread_atfork ------------------------- */

void _hs_fork_init(void);
void _hs_arena_fork_prepare(void);
void _hs_arena_fork_parent(void);
void _hs_arena_fork_child(void);
void _hs_pool_fork_prepare(void);
void _hs_pool_fork_parent(void);
void _hs_pool_fork_child(void);
void _hs_meta_fork_prepare(void);
void _hs_meta_fork_parent(void);
void _hs_meta_fork_child(void);
void _hs_backend_fork_prepare(void);
void _hs_backend_fork_parent(void);
void _hs_backend_fork_child(void);

#endif /* HS_INTERNAL_H */
