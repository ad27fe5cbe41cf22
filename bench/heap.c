// SPDX-License-Identifier: MIT
/*
 * hsbench: the allocator under test, and proof that it is the one the
 * result line names.
 *
 * A peer is loaded with LD_PRELOAD; if the preload did not take, the process
 * would silently measure glibc under the peer's name. So malloc mode looks at
 * what is mapped into the process and refuses a label that does not match.
 * Pool and cache modes check the hugeslab backend the same way.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* Which malloc this process runs on, from the libraries mapped into it. */
static const char *malloc_impl(void)
{
	static const char *const peers[] = { "jemalloc", "mimalloc", "tcmalloc" };
	const char *found = "glibc";
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	size_t i;

	if (!f) {
		perror("hsbench: /proc/self/maps");
		exit(2);
	}
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
			char lib[32];

			snprintf(lib, sizeof(lib), "/lib%s", peers[i]);
			if (strstr(line, lib))
				found = peers[i];
		}
	}
	fclose(f);
	return found;
}

void heap_init(struct heap *h, const char *mode, const char *label,
	       const char *backend, size_t size)
{
	static char impl[64];

	memset(h, 0, sizeof(*h));
	h->label = label;
	h->size = size;
	h->mode = HEAP_MALLOC;
	if (!strcmp(mode, "malloc")) {
		h->impl = malloc_impl();
		/* "glibc-thp" is glibc with a tunable: the prefix must match. */
		if (strncmp(label, h->impl, strlen(h->impl))) {
			fprintf(stderr, "hsbench: asked to measure %s but this process runs %s's malloc (LD_PRELOAD not applied?)\n",
				label, h->impl);
			exit(2);
		}
		return;
	}
	if (!strcmp(mode, "pool")) {
		h->mode = HEAP_POOL;
	} else if (!strcmp(mode, "cache")) {
		h->mode = HEAP_CACHE;
	} else {
		fprintf(stderr, "hsbench: --mode is malloc, pool or cache, not %s\n",
			mode);
		exit(2);
	}
	h->pool = hs_pool_create("hsbench", size, NULL);
	if (!h->pool) {
		fprintf(stderr, "hsbench: hs_pool_create: %s\n", hs_last_error());
		exit(2);
	}
	snprintf(impl, sizeof(impl), "hugeslab/%s", hs_backend_name(hs_backend()));
	h->impl = impl;
	if (backend && strcmp(backend, hs_backend_name(hs_backend()))) {
		fprintf(stderr, "hsbench: %s wants the %s backend but got %s: %s\n",
			label, backend, hs_backend_name(hs_backend()),
			hs_backend_reason());
		exit(2);
	}
	heap_thread(h);
}

void heap_thread(struct heap *h)
{
	if (h->mode != HEAP_CACHE)
		return;
	h->cache = hs_pool_cache(h->pool);
	if (!h->cache) {
		fprintf(stderr, "hsbench: hs_pool_cache: %s\n", hs_last_error());
		exit(2);
	}
}

void heap_oom(const struct heap *h)
{
	fprintf(stderr, "hsbench: %s: out of memory allocating %zu-byte objects%s%s\n",
		h->label, h->size, h->pool ? ": " : "",
		h->pool ? hs_last_error() : "");
	exit(3);
}
