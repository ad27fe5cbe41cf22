// SPDX-License-Identifier: MIT
/*
 * libhugeslab: the public region API - one backend mapping per region, for
 * callers that manage raw huge-page memory themselves. A region made
 * before a fork belongs to the parent: destroying it in the child only
 * forgets it (the child never had the memory).
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
	int node = -1, saved = _hs_err_begin();
	hs_region_t *r;

	if (opts) {
		if ((opts->flags & ~HS_REGION_NODE) ||
		    !_hs_zeroed(opts->reserved, 4)) {
			_hs_fail(EINVAL, "hs_region_create: unknown flags or non-zero reserved fields in opts");
			goto fail;
		}
		if (opts->flags & HS_REGION_NODE) {
			if (opts->node < 0) {
				_hs_fail(EINVAL, "hs_region_create: node %d is not a NUMA node",
					 opts->node);
				goto fail;
			}
			node = opts->node;
		}
	}
	if (!bytes || bytes > SIZE_MAX - HS_UNIT) {
		_hs_fail(EINVAL, "hs_region_create: size %zu is not usable", bytes);
		goto fail;
	}
	r = _hs_meta_alloc(sizeof(*r));
	if (!r) {
		_hs_fail(ENOMEM, "hs_region_create: out of memory for bookkeeping");
		goto fail;
	}
	if (_hs_os_map(HS_ALIGN_UP(bytes, HS_UNIT), HS_UNIT, node,
		       HS_MAP_POPULATE, &r->mem) < 0) {
		int err = errno;

		_hs_meta_free(r, sizeof(*r));
		errno = err;
		goto fail;
	}
	_hs_err_ok(saved);
	return r;
fail:
	_hs_err_failed();
	return NULL;
}

HS_EXPORT void hs_region_destroy(hs_region_t *r)
{
	int saved = errno;

	if (!r)
		return;
	_hs_os_unmap(&r->mem);
	_hs_meta_free(r, sizeof(*r));
	errno = saved;
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
