// SPDX-License-Identifier: MIT
/*
 * hsbench: how much memory the process holds.
 *
 * VmRSS and VmHWM count ordinary pages (THP included) but not hugetlb pages,
 * which the kernel reports apart as HugetlbPages; an allocator on MAP_HUGETLB
 * would look free in VmRSS alone. AnonHugePages (smaps_rollup) says whether a
 * peer got transparent huge pages.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* Add the "Key: N kB" values of @path named in @keys to @vals. */
static void read_kib(const char *path, const char *const *keys,
		     uint64_t **vals, int n)
{
	char line[256];
	FILE *f = fopen(path, "r");
	int i;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < n; i++) {
			size_t len = strlen(keys[i]);
			unsigned long long v;

			if (!strncmp(line, keys[i], len) && line[len] == ':' &&
			    sscanf(line + len + 1, "%llu", &v) == 1)
				*vals[i] = v;
		}
	}
	fclose(f);
}

void bench_mem_sample(struct bench_mem *m)
{
	static const char *const status[] = { "VmRSS", "VmHWM", "HugetlbPages" };
	static const char *const rollup[] = { "AnonHugePages" };
	uint64_t *sv[] = { &m->rss_kib, &m->hwm_kib, &m->hugetlb_kib };
	uint64_t *rv[] = { &m->thp_kib };

	memset(m, 0, sizeof(*m));
	read_kib("/proc/self/status", status, sv, 3);
	read_kib("/proc/self/smaps_rollup", rollup, rv, 1);
}
