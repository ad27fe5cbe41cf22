// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: partial munmap of a region mapping. The behaviour defined
 * here (the module leaves it to hugetlbfs, which backs every mapping):
 *
 *  - munmap of a 2 MiB-aligned part (start and length multiples of 2 MiB)
 *    works; the parts left keep their data and stay usable, and the pages
 *    of the unmapped part stay in the region (mapping it again shows them).
 *  - munmap that would split a 2 MiB page (start or end inside one) fails
 *    with EINVAL and unmaps nothing: every byte stays mapped with its data.
 *    (6.1 and 6.12 may already have split the VMA at an aligned start when
 *    they refuse the end: still all mapped, but as two VMAs, so a later
 *    mremap of the whole range fails with EFAULT. Not asserted: kernel
 *    internals the module does not control.)
 *  - the region counts as mapped (debugfs mapped=yes) until its last part
 *    is unmapped; unmapping never frees memory of a live region, and a
 *    destroyed region is freed when its last part goes.
 */
#include "kselftest_harness.h"
#include "hs_kmod.h"

#define REGION_BYTES	(3 * HS_2M)

FIXTURE(unmap) {
	int fd;
	struct hugeslab_create c;
	char *p;
	struct hs_snap base;
};

FIXTURE_SETUP(unmap)
{
	self->fd = hs_open();
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s (is hugeslab.ko loaded?)",
				      HUGESLAB_DEVICE, strerror(errno));
	ASSERT_EQ(0, hs_snap(&self->base))
		TH_LOG("%s/stats unreadable: debugfs not mounted?", HS_DEBUGFS);
	ASSERT_EQ(0, hs_create(self->fd, REGION_BYTES, &self->c));
	self->p = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, self->p) TH_LOG("mmap: %s", strerror(errno));
	hs_fill(self->p, REGION_BYTES, 61, 0);
}

FIXTURE_TEARDOWN_PARENT(unmap)
{
	HS_EXPECT_BASELINE(&self->base);
}

/* The region's entry in debugfs says it is mapped (1), not (0), or -1. */
static int dbg_mapped(unsigned long long id)
{
	struct hs_dbg_region r;

	if (hs_dbg_find(id, &r) != 1)
		return -1;
	return r.mapped;
}

TEST_F(unmap, middle_part)
{
	char *first = self->p, *mid = self->p + HS_2M, *last = self->p + 2 * HS_2M;
	struct hs_smaps s;
	struct hs_snap now;
	char *again;

	ASSERT_EQ(0, munmap(mid, HS_2M)) TH_LOG("munmap: %s", strerror(errno));
	EXPECT_FALSE(hs_mapped_anywhere(mid, HS_2M));

	/* Two VMAs of one 2 MiB page each, with their data. */
	ASSERT_EQ(0, hs_smaps_find(first, &s));
	EXPECT_EQ((unsigned long)first, s.start);
	EXPECT_EQ((unsigned long)first + HS_2M, s.end);
	EXPECT_EQ(2048L, s.kernel_page_kb);
	ASSERT_EQ(0, hs_smaps_find(last, &s));
	EXPECT_EQ((unsigned long)last, s.start);
	EXPECT_EQ((unsigned long)last + HS_2M, s.end);
	EXPECT_EQ(2048L, s.kernel_page_kb);
	EXPECT_EQ(-1, hs_check(first, HS_2M, 61, 0));
	EXPECT_EQ(-1, hs_check(last, HS_2M, 61, 2 * HS_2M));

	/* Both still writable. */
	hs_fill(first, HS_2M, 62, 0);
	hs_fill(last, HS_2M, 63, 0);
	EXPECT_EQ(-1, hs_check(first, HS_2M, 62, 0));
	EXPECT_EQ(-1, hs_check(last, HS_2M, 63, 0));

	/* Nothing was freed: the region and its pages are all still held. */
	EXPECT_EQ(1, dbg_mapped(self->c.id));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes + (long long)REGION_BYTES,
		  now.used_bytes);
	EXPECT_EQ(self->base.hp_free - (long long)(REGION_BYTES / HS_2M),
		  now.hp_free);

	/* The middle page kept its data: map it back into the hole. */
	again = mmap(mid, HS_2M, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_FIXED_NOREPLACE, self->fd,
		     self->c.offset + HS_2M);
	ASSERT_EQ(mid, again) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(-1, hs_check(mid, HS_2M, 61, HS_2M));

	ASSERT_EQ(0, munmap(self->p, REGION_BYTES));
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
}

TEST_F(unmap, unaligned_refused)
{
	static const struct {
		unsigned long start, len;
	} bad[] = {
		{ HS_2M, HS_2M - 4096 },	/* ends inside page 1 */
		{ HS_2M, HS_2M + 4096 },	/* ends inside page 2 */
		{ HS_2M + 4096, HS_2M - 4096 },	/* starts inside page 1 */
		{ 4096, 2 * HS_2M },		/* both inside */
		{ 0, 4096 },			/* 4 KiB at the start */
		{ 2 * HS_2M, HS_2M - 4096 },	/* last page, short */
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, munmap(self->p + bad[i].start, bad[i].len))
			TH_LOG("munmap(+%#lx, %#lx) worked", bad[i].start,
			       bad[i].len);
		EXPECT_EQ(EINVAL, errno) TH_LOG("munmap(+%#lx, %#lx)",
						bad[i].start, bad[i].len);
	}

	/* Nothing went: every page is mapped, readable and writable. */
	for (i = 0; i < REGION_BYTES / HS_2M; i++) {
		EXPECT_TRUE(hs_mapped_anywhere(self->p + i * HS_2M, HS_2M))
			TH_LOG("page %u unmapped", i);
	}
	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 61, 0));
	hs_fill(self->p, REGION_BYTES, 64, 0);
	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 64, 0));
	EXPECT_EQ(1, dbg_mapped(self->c.id));

	ASSERT_EQ(0, munmap(self->p, REGION_BYTES));
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
}

/* Not destroyed: mapped until the last part goes, then kept, unmapped. */
TEST_F(unmap, mapped_until_last_part)
{
	struct hs_snap now;
	char *q;

	ASSERT_EQ(0, munmap(self->p + HS_2M, HS_2M));
	EXPECT_EQ(1, dbg_mapped(self->c.id));
	ASSERT_EQ(0, munmap(self->p, HS_2M));
	EXPECT_EQ(1, dbg_mapped(self->c.id));
	EXPECT_EQ(-1, hs_check(self->p + 2 * HS_2M, HS_2M, 61, 2 * HS_2M));
	ASSERT_EQ(0, munmap(self->p + 2 * HS_2M, HS_2M));
	EXPECT_EQ(0, dbg_mapped(self->c.id));

	/* The file still owns it, whole, with its data. */
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes + (long long)REGION_BYTES,
		  now.used_bytes);
	EXPECT_EQ(self->base.regions + 1, now.regions);
	q = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(-1, hs_check(q, REGION_BYTES, 61, 0));
	ASSERT_EQ(0, munmap(q, REGION_BYTES));

	/* Destroyed while unmapped: gone at once. */
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
	EXPECT_EQ(-1, dbg_mapped(self->c.id));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes, now.used_bytes);
}

/* Destroyed early: held while any part is mapped, freed with the last. */
TEST_F(unmap, destroyed_freed_with_last_part)
{
	struct hs_snap now;

	ASSERT_EQ(0, munmap(self->p + HS_2M, HS_2M));
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
	EXPECT_EQ(1, dbg_mapped(self->c.id));

	ASSERT_EQ(0, munmap(self->p, HS_2M));
	/* One part left: still listed, mapped, accounted, and usable. */
	EXPECT_EQ(1, dbg_mapped(self->c.id));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes + (long long)REGION_BYTES,
		  now.used_bytes);
	EXPECT_EQ(self->base.regions + 1, now.regions);
	EXPECT_EQ(self->base.hp_free - (long long)(REGION_BYTES / HS_2M),
		  now.hp_free);
	EXPECT_EQ(-1, hs_check(self->p + 2 * HS_2M, HS_2M, 61, 2 * HS_2M));
	hs_fill(self->p + 2 * HS_2M, HS_2M, 65, 0);
	EXPECT_EQ(-1, hs_check(self->p + 2 * HS_2M, HS_2M, 65, 0));

	ASSERT_EQ(0, munmap(self->p + 2 * HS_2M, HS_2M));
	EXPECT_EQ(0, hs_wait_unlisted(self->c.id, HS_FREE_TIMEOUT_MS));
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS))
		TH_LOG("used %lld/%lld free pages %lld/%lld", now.used_bytes,
		       self->base.used_bytes, now.hp_free, self->base.hp_free);
}

TEST_HARNESS_MAIN
