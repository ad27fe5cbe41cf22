// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: remap_file_pages(2) on a mapping of a region cannot reach
 * past the region. The call maps the file behind the mapping again, at
 * another offset, with the kernel's own mmap of that file: were the
 * region's file mappable that way, a process could map it beyond the
 * region's end and have huge pages put there - outside max_mb, user_max_mb
 * and the module's counters, and out of the module's reserve. The call
 * fails (EACCES: the region's file is not for mapping by anyone but the
 * module), inside the region as well as past it, and takes no page.
 */
#include "kselftest_harness.h"
#include "hs_kmod.h"

FIXTURE(rfp) {
	int fd;
	struct hs_snap base;
};

FIXTURE_SETUP(rfp)
{
	self->fd = hs_open();
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s (is hugeslab.ko loaded?)",
				      HUGESLAB_DEVICE, strerror(errno));
	ASSERT_EQ(0, hs_snap(&self->base));
}

FIXTURE_TEARDOWN_PARENT(rfp)
{
	HS_EXPECT_BASELINE(&self->base);
}

TEST_F(rfp, cannot_map_past_the_region)
{
	long long free0, rsvd0, used0 = hs_stat("used_bytes");
	static const unsigned long long past[] = { 2, 3, 64, 4096 };
	struct hugeslab_create c;
	unsigned int i;
	char *p;

	ASSERT_EQ(0, hs_create(self->fd, 2 * HS_2M, &c));
	p = hs_map(self->fd, &c);
	ASSERT_NE(MAP_FAILED, p);
	hs_fill(p, c.bytes, 61, 0);
	free0 = hs_meminfo("HugePages_Free");
	rsvd0 = hs_meminfo("HugePages_Rsvd");

	for (i = 0; i < ARRAY_SIZE(past); i++) {
		EXPECT_EQ(-1, remap_file_pages(p, HS_2M, 0,
					       past[i] * HS_2M / 4096, 0))
			TH_LOG("remapped to huge page %llu of a 2-page region",
			       past[i]);
		EXPECT_EQ(free0, hs_meminfo("HugePages_Free"));
		EXPECT_EQ(rsvd0, hs_meminfo("HugePages_Rsvd"));
	}
	/* Inside the region: refused as well, the mapping left alone. */
	EXPECT_EQ(-1, remap_file_pages(p, HS_2M, 0, HS_2M / 4096, 0));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, hs_check(p, c.bytes, 61, 0));
	EXPECT_EQ(used0 + (long long)c.bytes, hs_stat("used_bytes"));
	EXPECT_EQ(0, munmap(p, c.bytes));
	EXPECT_EQ(0, hs_destroy(self->fd, c.id));
}

TEST_HARNESS_MAIN
