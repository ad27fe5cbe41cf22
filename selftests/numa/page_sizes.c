// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the page sizes the module offers follow the kernel. The
 * query's page_sizes, the sysfs attribute and debugfs' stats agree; 2 MiB
 * is always there and 1 GiB exactly when the kernel has a 1 GiB pool
 * (/sys/kernel/mm/hugepages/hugepages-1048576kB, which needs a CPU with
 * pdpe1gb). Without one, HUGESLAB_FEAT_1G is still reported (the flag is
 * understood), HUGESLAB_CREATE_1G gives EOPNOTSUPP whatever the size or
 * node and is not counted as a failed request, and 2 MiB regions work.
 *
 * Both cases: the "numa" profile has 1 GiB pages; a VM booted with
 * clearcpuid=pdpe1gb has none.
 */
#include "kselftest_harness.h"
#include "hs_numa.h"

#define HS_SYSFS_DEV	"/sys/class/misc/hugeslab"

/* The sysfs attribute page_sizes ("0x..."), or 0. */
static uint64_t sysfs_page_sizes(void)
{
	char buf[64];

	if (hs_read_file(HS_SYSFS_DEV "/page_sizes", buf, sizeof(buf)) < 0)
		return 0;
	return strtoull(buf, NULL, 0);
}

/* The debugfs stats line page_sizes ("0x..."), or 0. */
static uint64_t debugfs_page_sizes(void)
{
	char buf[4096], *s;

	if (hs_read_file(HS_DEBUGFS "/stats", buf, sizeof(buf)) < 0)
		return 0;
	s = strstr(buf, "\npage_sizes ");
	return s ? strtoull(s + 12, NULL, 0) : 0;
}

/* Whatever the kernel has, the module says so and behaves accordingly. */
TEST(page_sizes_follow_the_kernel)
{
	long long failed;
	struct hugeslab_query q;
	struct hugeslab_create c;
	bool have = hs_hp_exists(HS_KB_1G);
	int fd;

	fd = hs_open();
	ASSERT_LE(0, fd) TH_LOG("%s: %s", HUGESLAB_DEVICE, strerror(errno));
	ASSERT_EQ(0, hs_query(fd, &q));
	EXPECT_TRUE(q.features & HUGESLAB_FEAT_1G);
	EXPECT_TRUE(q.page_sizes & HS_2M);
	TH_LOG("kernel %s 1 GiB pages; page_sizes 0x%llx", have ? "has" :
	       "has no", (unsigned long long)q.page_sizes);
	EXPECT_EQ(have, !!(q.page_sizes & HS_1G));
	EXPECT_EQ(q.page_sizes, sysfs_page_sizes());
	EXPECT_EQ(q.page_sizes, debugfs_page_sizes());
	if (have)
		return;

	/* No 1 GiB pool: refused as unsupported, whatever the size. */
	failed = hs_stat("failed_requests");
	EXPECT_EQ(-EOPNOTSUPP, hs_create_1g(fd, HS_1G, HUGESLAB_NODE_ANY, &c));
	EXPECT_EQ(-EOPNOTSUPP, hs_create_1g(fd, HS_2M, HUGESLAB_NODE_ANY, &c));
	EXPECT_EQ(-EOPNOTSUPP, hs_create_1g(fd, HS_1G, 0, &c));
	EXPECT_EQ(failed, hs_stat("failed_requests"));
	/* 2 MiB regions are unaffected. */
	ASSERT_EQ(0, hs_create(fd, HS_2M, &c));
	EXPECT_EQ(HS_2M, c.page_size);
	EXPECT_EQ(0, hs_destroy(fd, c.id));
	close(fd);
}

TEST_HARNESS_MAIN
