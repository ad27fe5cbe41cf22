// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: region memory really is mapped with 2 MiB pages - the
 * mapping is 2 MiB aligned whatever address is hinted, smaps reports
 * KernelPageSize and MMUPageSize of 2048 kB and counts the memory as
 * hugetlb, and the mapping cannot be put at or split on a 4 KiB boundary.
 */
#include "kselftest_harness.h"
#include "hs_kmod.h"

FIXTURE(huge) {
	int fd;
	struct hugeslab_create c;
	char *p;
	struct hs_snap base;
};

FIXTURE_SETUP(huge)
{
	self->fd = hs_open();
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: is hugeslab.ko loaded?",
		     HUGESLAB_DEVICE);
	ASSERT_LE(0, self->fd);
	if (hs_snap(&self->base))
		SKIP(return, "%s/stats unreadable: debugfs not mounted?",
		     HS_DEBUGFS);
	ASSERT_EQ(0, hs_create(self->fd, 2 * HS_2M, &self->c));
	ASSERT_EQ(HS_2M, self->c.page_size);
}

FIXTURE_TEARDOWN_PARENT(huge)
{
	HS_EXPECT_BASELINE(&self->base);
}

TEST_F(huge, smaps_page_size)
{
	struct hs_smaps s;

	self->p = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, self->p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(0UL, (unsigned long)self->p & (HS_2M - 1))
		TH_LOG("mapped at %p", self->p);
	/* Touch both pages so they are in the page tables. */
	self->p[0] = 1;
	self->p[HS_2M] = 1;

	ASSERT_EQ(0, hs_smaps_find(self->p, &s));
	EXPECT_EQ((unsigned long)self->p, s.start);
	EXPECT_EQ((unsigned long)self->p + self->c.bytes, s.end);
	EXPECT_EQ(2048L, s.kernel_page_kb);
	EXPECT_EQ(2048L, s.mmu_page_kb);
	EXPECT_EQ('s', s.flags[3]) TH_LOG("VMA flags %s", s.flags);
	/* hugetlb memory is not in Rss but in the *_Hugetlb lines. */
	EXPECT_EQ((long)(self->c.bytes >> 10),
		  s.shared_hugetlb_kb + s.private_hugetlb_kb);
}

TEST_F(huge, aligned_despite_hint)
{
	char *hint;
	struct hs_smaps s;

	/* A free, 4 KiB-but-not-2 MiB aligned address as a hint. */
	hint = mmap(NULL, 4 * HS_2M, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, hint);
	ASSERT_EQ(0, munmap(hint, 4 * HS_2M));
	hint = (char *)(((unsigned long)hint + HS_2M - 1) & ~(HS_2M - 1)) +
	       4096;

	self->p = mmap(hint, self->c.bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED, self->fd, self->c.offset);
	ASSERT_NE(MAP_FAILED, self->p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(0UL, (unsigned long)self->p & (HS_2M - 1))
		TH_LOG("mapped at %p for hint %p", self->p, hint);
	self->p[4096] = 1;
	ASSERT_EQ(0, hs_smaps_find(self->p, &s));
	EXPECT_EQ(2048L, s.kernel_page_kb);
}

TEST_F(huge, partial_mapping_page_size)
{
	struct hs_smaps s;
	char *q;

	q = mmap(NULL, HS_2M, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 self->c.offset + HS_2M);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0UL, (unsigned long)q & (HS_2M - 1));
	q[0] = 1;
	ASSERT_EQ(0, hs_smaps_find(q, &s));
	EXPECT_EQ(2048L, s.kernel_page_kb);
	EXPECT_EQ(2048L, s.mmu_page_kb);
	EXPECT_EQ(2048L, s.size_kb);
	EXPECT_EQ(0, munmap(q, HS_2M));
}

TEST_F(huge, fixed_misaligned_refused)
{
	char *area, *at;

	/* Reserve room, then ask for a MAP_FIXED mapping 4 KiB off. */
	area = mmap(NULL, 4 * HS_2M, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	at = (char *)(((unsigned long)area + HS_2M - 1) & ~(HS_2M - 1));

	EXPECT_EQ(MAP_FAILED, mmap(at + 4096, self->c.bytes,
				   PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_FIXED, self->fd,
				   self->c.offset));
	EXPECT_EQ(EINVAL, errno);

	/* At an aligned address MAP_FIXED works. */
	self->p = mmap(at, self->c.bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, self->fd, self->c.offset);
	EXPECT_EQ(at, self->p) TH_LOG("mmap: %s", strerror(errno));
	if (self->p == at) {
		self->p[0] = 2;
		EXPECT_EQ(2, self->p[0]);
	}
	munmap(area, 4 * HS_2M);
}

TEST_F(huge, no_split_inside_a_page)
{
	struct hs_smaps s;

	self->p = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, self->p);
	hs_fill(self->p, self->c.bytes, 11, 0);

	/* Unmapping or protecting 4 KiB inside a 2 MiB page is refused. */
	EXPECT_EQ(-1, munmap(self->p + 4096, 4096));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mprotect(self->p + 4096, 4096, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, hs_check(self->p, self->c.bytes, 11, 0));

	/* On a 2 MiB boundary it splits, and the rest stays. */
	ASSERT_EQ(0, munmap(self->p + HS_2M, HS_2M));
	EXPECT_EQ(-1, hs_check(self->p, HS_2M, 11, 0));
	ASSERT_EQ(0, hs_smaps_find(self->p, &s));
	EXPECT_EQ(2048L, s.size_kb);
	EXPECT_EQ(2048L, s.kernel_page_kb);
	ASSERT_EQ(0, munmap(self->p, HS_2M));
}

TEST_HARNESS_MAIN
