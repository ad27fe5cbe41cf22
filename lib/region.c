// SPDX-License-Identifier: MIT
/*
 * libhugeslab: the public region API - one backend mapping per region, for
 * callers that manage raw huge-page memory themselves.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

struct hs_region {
	struct _hs_mem mem;
};

HS_EXPORT hs_region_t *hs_region_create(size_t bytes,
					const struct hs_region_opts *opts)
{
	int node = -1;
	hs_region_t *r;

	if (opts) {
		if ((opts->flags & ~HS_REGION_NODE) ||
		    !_hs_zeroed(opts->reserved, 4)) {
			_hs_fail(EINVAL, "hs_region_create: unknown flags or non-zero reserved fields in opts");
			return NULL;
		}
		if (opts->flags & HS_REGION_NODE) {
			if (opts->node < 0) {
				_hs_fail(EINVAL, "hs_region_create: node %d is not a NUMA node",
					 opts->node);
				return NULL;
			}
			node = opts->node;
		}
	}
	if (!bytes || bytes > SIZE_MAX - HS_UNIT) {
		_hs_fail(EINVAL, "hs_region_create: size %zu is not usable", bytes);
		return NULL;
	}
	r = _hs_meta_alloc(sizeof(*r));
	if (!r) {
		_hs_fail(ENOMEM, "hs_region_create: out of memory for bookkeeping");
		return NULL;
	}
	if (_hs_mem_map(HS_ALIGN_UP(bytes, HS_UNIT), node, &r->mem) < 0) {
		int err = errno;

		_hs_meta_free(r, sizeof(*r));
		errno = err;
		return NULL;
	}
	return r;
}

HS_EXPORT void hs_region_destroy(hs_region_t *r)
{
	if (!r)
		return;
	_hs_mem_unmap(&r->mem);
	_hs_meta_free(r, sizeof(*r));
}

HS_EXPORT void *hs_region_base(const hs_region_t *r)
{
	return r->mem.base;
}

HS_EXPORT size_t hs_region_size(const hs_region_t *r)
{
	return r->mem.bytes;
}

HS_EXPORT size_t hs_region_page_size(const hs_region_t *r)
{
	return r->mem.page_size;
}

HS_EXPORT hs_backend_t hs_region_backend(const hs_region_t *r)
{
	return r->mem.backend;
}

HS_EXPORT int hs_region_node(const hs_region_t *r)
{
	return r->mem.node;
}
