// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: on the kmod backend, memory a pool gives back goes back to
 * the module - its regions are destroyed, so debugfs "regions", the
 * module's counters and the reserve all show it - and memory taken again
 * afterwards is fresh, populated regions (never a hole punched in one).
 */
#include <unistd.h>

#include "kselftest_harness.h"
#include "hugeslab.h"

#define REGIONS "/sys/kernel/debug/hugeslab/regions"

/* Bytes of the module's regions that @pid created; -1 on error. */
static long long regions_of(int pid)
{
	FILE *f = fopen(REGIONS, "re");
	unsigned long long bytes, total = 0;
	char buf[512];
	int id, rpid;

	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "%d %d %llu", &id, &rpid, &bytes) == 3 &&
		    rpid == pid)
			total += bytes;
	fclose(f);
	return (long long)total;
}

TEST(trimmed_memory_goes_back_to_the_module)
{
	enum { N = 600000 };	/* about 38 MiB of 64-byte objects */
	static void *v[N];
	hs_pool_t *p = hs_pool_create("trim_kmod", 64, NULL);
	long long peak, after;
	int i, round;

	ASSERT_EQ(HS_BACKEND_KMOD, hs_backend()) TH_LOG("%s", hs_backend_reason());
	ASSERT_NE(NULL, p);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < N; i++) {
			v[i] = hs_pool_alloc(p);
			ASSERT_NE(NULL, v[i]) TH_LOG("round %d: %s", round,
						     hs_last_error());
			memset(v[i], round + 1, 64);
		}
		peak = regions_of(getpid());
		ASSERT_GE(peak, (long long)N * 64);
		for (i = 0; i < N; i++)
			hs_pool_free(p, v[i]);
		ASSERT_GT(hs_pool_trim(p), 0);
		after = regions_of(getpid());
		/* What this thread's cache keeps needs a slab or two. */
		ASSERT_LE(after, 4 << 20)
			TH_LOG("round %d: %lld bytes of regions before the trim, %lld after",
			       round, peak, after);
	}
	hs_pool_destroy(p);
}

TEST_HARNESS_MAIN
