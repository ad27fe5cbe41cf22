/* SPDX-License-Identifier: MIT */
/*
 * libhugeslab: hooks that tell memory checkers about pool objects.
 *
 * ASan builds (-fsanitize=address) poison every object while it is free in
 * the pool and every byte of a slab not yet carved, so a use after free is
 * reported where it happens; freeing an object that is already free aborts
 * with a report. Valgrind builds (make VALGRIND=1) describe objects with
 * memcheck client requests: each pool is a memcheck memory pool and its
 * allocations are the pool's chunks, so memcheck reports use after free
 * and double free, and forgets the objects a destroyed pool still had out
 * (hugeslab(3): they are lost with it) before their memory is reused.
 * Other builds compile every hook to nothing.
 *
 * Objects keep their constructed state while free: the hooks only change
 * what the checker allows, never the bytes.
 */
#ifndef HS_DEBUG_H
#define HS_DEBUG_H

#include <stdio.h>
#include <stdlib.h>

#include "pool.h"

#ifdef HS_ASAN	/* (internal.h) */
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef HS_VALGRIND
#include <valgrind/memcheck.h>
#endif

/* A pool is made, or destroyed with what it still has out. */
static inline void _hs_dbg_pool_new(hs_pool_t *p)
{
	(void)p;
#ifdef HS_VALGRIND
	VALGRIND_CREATE_MEMPOOL(p, 0, 0);
#endif
}

static inline void _hs_dbg_pool_gone(hs_pool_t *p)
{
	(void)p;
#ifdef HS_VALGRIND
	VALGRIND_DESTROY_MEMPOOL(p);
#endif
}

/* A fresh slab: nothing in it may be touched until carved. */
static inline void _hs_dbg_span_new(hs_pool_t *p, void *base, size_t len)
{
	(void)p;
	(void)base;
	(void)len;
#ifdef HS_ASAN
	ASAN_POISON_MEMORY_REGION(base, len);
#endif
#ifdef HS_VALGRIND
	VALGRIND_MAKE_MEM_NOACCESS(base, len);
#endif
}

/* A slab's memory leaves the pool: whoever gets it next may touch it. */
static inline void _hs_dbg_span_gone(void *base, size_t len)
{
	(void)base;
	(void)len;
#ifdef HS_ASAN
	ASAN_UNPOISON_MEMORY_REGION(base, len);
#endif
#ifdef HS_VALGRIND
	VALGRIND_MAKE_MEM_UNDEFINED(base, len);
#endif
}

/* About to construct a carved object. */
static inline void _hs_dbg_carve(hs_pool_t *p, void *obj)
{
	(void)p;
	(void)obj;
#ifdef HS_ASAN
	ASAN_UNPOISON_MEMORY_REGION(obj, p->obj_size);
#endif
#ifdef HS_VALGRIND
	VALGRIND_MAKE_MEM_UNDEFINED(obj, p->obj_size);
#endif
}

/* A constructed object is free in the pool. */
static inline void _hs_dbg_enter(hs_pool_t *p, void *obj)
{
	(void)p;
	(void)obj;
#ifdef HS_ASAN
	ASAN_POISON_MEMORY_REGION(obj, p->obj_size);
#endif
#ifdef HS_VALGRIND
	VALGRIND_MAKE_MEM_NOACCESS(obj, p->obj_size);
#endif
}

/* The destructor is about to run on a free object. */
static inline void _hs_dbg_dtor(hs_pool_t *p, void *obj)
{
	(void)p;
	(void)obj;
#ifdef HS_ASAN
	ASAN_UNPOISON_MEMORY_REGION(obj, p->obj_size);
#endif
#ifdef HS_VALGRIND
	VALGRIND_MAKE_MEM_DEFINED(obj, p->obj_size);
#endif
}

/* hs_pool_alloc() hands @obj out. */
static inline void _hs_dbg_alloc(hs_pool_t *p, void *obj)
{
	(void)p;
	(void)obj;
#ifdef HS_ASAN
	ASAN_UNPOISON_MEMORY_REGION(obj, p->obj_size);
#endif
#ifdef HS_VALGRIND
	VALGRIND_MEMPOOL_ALLOC(p, obj, p->obj_size);
	/* Constructed state is defined; without a constructor it is not. */
	if (p->ctor)
		VALGRIND_MAKE_MEM_DEFINED(obj, p->obj_size);
#endif
}

/* hs_pool_free() takes @obj back. */
static inline void _hs_dbg_free(hs_pool_t *p, void *obj)
{
	(void)p;
	(void)obj;
#ifdef HS_ASAN
	if (__asan_address_is_poisoned(obj)) {
		fprintf(stderr,
			"hugeslab: double free (or free of a never allocated object) %p in pool '%s'\n",
			obj, p->name);
		__sanitizer_print_stack_trace();
		abort();
	}
	ASAN_POISON_MEMORY_REGION(obj, p->obj_size);
#endif
#ifdef HS_VALGRIND
	VALGRIND_MEMPOOL_FREE(p, obj);
#endif
}

#endif /* HS_DEBUG_H */
