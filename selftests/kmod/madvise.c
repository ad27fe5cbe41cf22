// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: madvise on region mappings. Defined behaviour (hugetlb's,
 * which the module does not change):
 *
 *  - MADV_DONTNEED drops this mapping's page table entries only: the pages
 *    are the region's (shared file pages), so the data is there again at
 *    the next touch, and no page goes back to the pool. The start must be
 *    2 MiB-aligned (else EINVAL, nothing dropped); the end is rounded down.
 *  - MADV_REMOVE punches a hole in the region: the range reads back zero.
 *    Whole 2 MiB pages in the range go back to the hugetlb pool at once
 *    (HugePages_Free rises by them), and since they were part of the
 *    module's reserve the pool keeps them reserved for it (HugePages_Rsvd
 *    rises as much); the next touch takes a zeroed page from that reserve
 *    and both counters return. Partial pages at the ends of the range are
 *    zeroed in place. The module's accounting does not move: used_bytes
 *    stays the region's size, which it still owns and can use.
 *    (A region beyond the reserve would take its new page from the free
 *    pool, and a touch while that is empty gets SIGBUS: programs should not
 *    MADV_REMOVE region memory they mean to use again.)
 */
#include "kselftest_harness.h"
#include "hs_kmod.h"

#define REGION_BYTES	(2 * HS_2M)
#define REGION_PAGES	((long long)(REGION_BYTES / HS_2M))

FIXTURE(adv) {
	int fd;
	struct hugeslab_create c;
	char *p;
	struct hs_snap base;
};

FIXTURE_SETUP(adv)
{
	self->fd = hs_open();
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s (is hugeslab.ko loaded?)",
				      HUGESLAB_DEVICE, strerror(errno));
	ASSERT_EQ(0, hs_snap(&self->base))
		TH_LOG("%s/stats unreadable: debugfs not mounted?", HS_DEBUGFS);
	ASSERT_EQ(0, hs_create(self->fd, REGION_BYTES, &self->c));
	self->p = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, self->p);
	hs_fill(self->p, REGION_BYTES, 91, 0);
}

FIXTURE_TEARDOWN_PARENT(adv)
{
	HS_EXPECT_BASELINE(&self->base);
}

/* kB of huge pages this process has mapped in the VMA at @addr, or -1. */
static long hugetlb_rss_kb(const void *addr)
{
	struct hs_smaps s;

	if (hs_smaps_find(addr, &s))
		return -1;
	/* Private_ or Shared_Hugetlb: by the page's map count, not the VMA. */
	return s.shared_hugetlb_kb + s.private_hugetlb_kb;
}

TEST_F(adv, dontneed_keeps_data)
{
	struct hs_snap before, now;

	ASSERT_EQ(0, hs_snap(&before));
	EXPECT_EQ(4096L, hugetlb_rss_kb(self->p));

	ASSERT_EQ(0, madvise(self->p, HS_2M, MADV_DONTNEED));
	/* The first page's entry is gone from this mapping... */
	EXPECT_EQ(2048L, hugetlb_rss_kb(self->p));
	/* ...but not from the region, nor back to the pool. */
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(before.hp_free, now.hp_free);
	EXPECT_EQ(before.hp_rsvd, now.hp_rsvd);
	EXPECT_EQ(before.used_bytes, now.used_bytes);

	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 91, 0));
	EXPECT_EQ(4096L, hugetlb_rss_kb(self->p));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(before.hp_free, now.hp_free);

	/* Not aligned: refused, nothing dropped. */
	EXPECT_EQ(-1, madvise(self->p + 4096, HS_2M, MADV_DONTNEED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(4096L, hugetlb_rss_kb(self->p));
	/* The end is rounded down: only whole pages go. */
	ASSERT_EQ(0, madvise(self->p, HS_2M + 4096, MADV_DONTNEED));
	EXPECT_EQ(2048L, hugetlb_rss_kb(self->p));
	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 91, 0));
}

TEST_F(adv, remove_whole_page)
{
	char *second = self->p + HS_2M;
	struct hs_snap before, now;
	struct hugeslab_query q;
	char *again;

	/* The reserve's behaviour is what is asserted: stay inside it. */
	ASSERT_EQ(0, hs_query(self->fd, &q));
	ASSERT_LE(q.used_bytes, q.reserve_bytes)
		TH_LOG("load the module with reserve_mb >= %llu for this test",
		       (unsigned long long)(q.used_bytes >> 20));

	ASSERT_EQ(0, hs_snap(&before));
	ASSERT_EQ(0, madvise(second, HS_2M, MADV_REMOVE))
		TH_LOG("MADV_REMOVE: %s", strerror(errno));

	/* The page went back to the pool, reserved for the module. */
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(before.hp_free + 1, now.hp_free);
	EXPECT_EQ(before.hp_rsvd + 1, now.hp_rsvd);
	/* The module still charges the whole region. */
	EXPECT_EQ(before.used_bytes, now.used_bytes);
	EXPECT_EQ(before.regions, now.regions);
	EXPECT_EQ(2048L, hugetlb_rss_kb(self->p));

	/* Reads back zero (the touch takes a page again); the rest is kept. */
	EXPECT_EQ(-1, hs_check_zero(second, HS_2M));
	EXPECT_EQ(-1, hs_check(self->p, HS_2M, 91, 0));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(before.hp_free, now.hp_free);
	EXPECT_EQ(before.hp_rsvd, now.hp_rsvd);

	/* The region works on: writes stick and show in a new mapping. */
	hs_fill(second, HS_2M, 92, HS_2M);
	again = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, again);
	EXPECT_EQ(-1, hs_check(again, HS_2M, 91, 0));
	EXPECT_EQ(-1, hs_check(again + HS_2M, HS_2M, 92, HS_2M));
	ASSERT_EQ(0, munmap(again, REGION_BYTES));

	ASSERT_EQ(0, munmap(self->p, REGION_BYTES));
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
}

/* Removed, then destroyed without a touch: all of it goes back. */
TEST_F(adv, remove_then_destroy)
{
	struct hs_snap now;

	ASSERT_EQ(0, madvise(self->p, REGION_BYTES, MADV_REMOVE));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.hp_free, now.hp_free);
	EXPECT_EQ(self->base.used_bytes + (long long)REGION_BYTES,
		  now.used_bytes);
	ASSERT_EQ(0, munmap(self->p, REGION_BYTES));
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS));
}

/* Partial pages: zeroed in place, nothing freed, the rest kept. */
TEST_F(adv, remove_partial_pages)
{
	const unsigned long start = HS_2M - 3 * 4096, len = 5 * 4096;
	struct hs_snap before, now;

	ASSERT_EQ(0, hs_snap(&before));
	ASSERT_EQ(0, madvise(self->p + start, len, MADV_REMOVE));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(before.hp_free, now.hp_free);
	EXPECT_EQ(before.hp_rsvd, now.hp_rsvd);
	EXPECT_EQ(-1, hs_check(self->p, start, 91, 0));
	EXPECT_EQ(-1, hs_check_zero(self->p + start, len));
	EXPECT_EQ(-1, hs_check(self->p + start + len,
			       REGION_BYTES - start - len, 91, start + len));
}

TEST_HARNESS_MAIN
