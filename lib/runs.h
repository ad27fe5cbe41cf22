/* SPDX-License-Identifier: MIT */
/*
 * libhugeslab: the heap's runs (runs.c), what heap.c asks of them. A
 * block above HS_CLASS_MAX is a run; its map tag is HS_TAG_LARGE and the
 * map's owner value, without the tag, is its struct _hs_run.
 */
#ifndef HS_RUNS_H
#define HS_RUNS_H

#include "internal.h"

struct _hs_run;

static inline struct _hs_run *_hs_run_of(uintptr_t owner)
{
	return (struct _hs_run *)(owner & ~HS_TAG_MASK);
}

/* A run of @n bytes aligned to @align (at least a page); *@zeroed (if
 * asked) whether its pages are fresh from the kernel. NULL + errno. */
void *_hs_run_alloc(size_t n, size_t align, bool *zeroed);
/* Free a run: kept for reuse a while if @keep, else back now. */
void _hs_run_free(struct _hs_run *r, bool keep);
size_t _hs_run_size(const struct _hs_run *r);	/* bytes asked for */
size_t _hs_run_usable(const struct _hs_run *r, const void *p);
/* Resize to @n > HS_CLASS_MAX bytes in place; false: it must move. */
bool _hs_run_resize(struct _hs_run *r, const void *p, size_t n);
/* After the heap took memory elsewhere: kept runs yield to the growth. */
void _hs_runs_yield(void);
void _hs_runs_stats(struct hs_heap_stats *st);
size_t _hs_runs_trim(void);

/* Bytes of runs from the fallback backend and in the small arena, for
 * the heap's "malloc-fallback" and "malloc-4k-pages" (read relaxed). */
extern uint64_t _hs_runs_fallback, _hs_runs_small;

void _hs_runs_fork_prepare(void);
void _hs_runs_fork_parent(void);
void _hs_runs_fork_child(void);

#endif /* HS_RUNS_H */
