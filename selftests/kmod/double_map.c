// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: one region mapped twice (two mmaps of the same offset) by
 * one process. Defined behaviour: both mappings are the same memory - the
 * same physical pages, so a write through either is seen through the other
 * at once, and the second mapping takes no pages of its own. Unmapping one
 * leaves the other working; the region counts as mapped while either is
 * there, and keeps its data while not mapped at all. The mappings may have
 * different protections. A dup() of the file is the same open file and maps
 * the same region; another open of the device does not own it (EINVAL).
 */
#include "kselftest_harness.h"
#include "hs_kmod.h"

#define REGION_BYTES	(2 * HS_2M)

FIXTURE(twice) {
	int fd;
	struct hugeslab_create c;
	char *p1, *p2;
	struct hs_snap base;
};

FIXTURE_SETUP(twice)
{
	self->fd = hs_open();
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s (is hugeslab.ko loaded?)",
				      HUGESLAB_DEVICE, strerror(errno));
	ASSERT_EQ(0, hs_snap(&self->base))
		TH_LOG("%s/stats unreadable: debugfs not mounted?", HS_DEBUGFS);
	ASSERT_EQ(0, hs_create(self->fd, REGION_BYTES, &self->c));
	self->p1 = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, self->p1);
	self->p2 = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, self->p2);
	ASSERT_NE(self->p1, self->p2);
}

FIXTURE_TEARDOWN_PARENT(twice)
{
	HS_EXPECT_BASELINE(&self->base);
}

static int dbg_mapped(unsigned long long id)
{
	struct hs_dbg_region r;

	if (hs_dbg_find(id, &r) != 1)
		return -1;
	return r.mapped;
}

TEST_F(twice, same_memory)
{
	unsigned long long f1, f2;
	struct hs_snap now;
	unsigned int i;

	hs_fill(self->p1, REGION_BYTES, 101, 0);
	EXPECT_EQ(-1, hs_check(self->p2, REGION_BYTES, 101, 0));
	hs_fill(self->p2, REGION_BYTES, 102, 0);
	EXPECT_EQ(-1, hs_check(self->p1, REGION_BYTES, 102, 0));
	/* One store, seen at once through the other mapping. */
	for (i = 0; i < 64; i++) {
		((volatile char *)self->p1)[i * 4096 + 7] = (char)i;
		EXPECT_EQ((char)i, ((volatile char *)self->p2)[i * 4096 + 7]);
	}

	/* The same pages, and no more of them. */
	for (i = 0; i < REGION_BYTES / HS_2M; i++) {
		f1 = hs_pfn(self->p1 + i * HS_2M);
		f2 = hs_pfn(self->p2 + i * HS_2M);
		EXPECT_NE(0ULL, f1) TH_LOG("no frame numbers: not root?");
		EXPECT_EQ(f1, f2) TH_LOG("page %u", i);
	}
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.hp_free - (long long)(REGION_BYTES / HS_2M),
		  now.hp_free);
	EXPECT_EQ(self->base.used_bytes + (long long)REGION_BYTES,
		  now.used_bytes);
	EXPECT_EQ(self->base.regions + 1, now.regions);
}

TEST_F(twice, unmap_one_keeps_the_other)
{
	char *again;

	hs_fill(self->p1, REGION_BYTES, 103, 0);
	ASSERT_EQ(0, munmap(self->p1, REGION_BYTES));
	EXPECT_EQ(1, dbg_mapped(self->c.id));
	EXPECT_EQ(-1, hs_check(self->p2, REGION_BYTES, 103, 0));
	hs_fill(self->p2, REGION_BYTES, 104, 0);
	EXPECT_EQ(-1, hs_check(self->p2, REGION_BYTES, 104, 0));

	/* The other way round, with a third mapping made meanwhile. */
	again = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, again);
	EXPECT_EQ(-1, hs_check(again, REGION_BYTES, 104, 0));
	ASSERT_EQ(0, munmap(self->p2, REGION_BYTES));
	EXPECT_EQ(1, dbg_mapped(self->c.id));
	hs_fill(again, REGION_BYTES, 105, 0);
	ASSERT_EQ(0, munmap(again, REGION_BYTES));

	/* Not mapped, still owned, data kept. */
	EXPECT_EQ(0, dbg_mapped(self->c.id));
	again = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, again);
	EXPECT_EQ(-1, hs_check(again, REGION_BYTES, 105, 0));
	ASSERT_EQ(0, munmap(again, REGION_BYTES));
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
	EXPECT_EQ(-1, dbg_mapped(self->c.id));
}

TEST_F(twice, different_protections)
{
	char *ro;
	int sig, code;

	ro = mmap(NULL, REGION_BYTES, PROT_READ, MAP_SHARED, self->fd,
		  self->c.offset);
	ASSERT_NE(MAP_FAILED, ro);
	hs_fill(self->p1, REGION_BYTES, 106, 0);
	EXPECT_EQ(-1, hs_check(ro, REGION_BYTES, 106, 0));
	sig = hs_probe_write(ro + 64, 1, &code);
	EXPECT_EQ(SIGSEGV, sig);
	EXPECT_EQ(SEGV_ACCERR, code);
	EXPECT_EQ(-1, hs_check(self->p2, REGION_BYTES, 106, 0));
	ASSERT_EQ(0, munmap(ro, REGION_BYTES));
}

TEST_F(twice, dup_and_other_open)
{
	int dup_fd, other;
	char *q;

	dup_fd = dup(self->fd);
	ASSERT_LE(0, dup_fd);
	q = hs_map(dup_fd, &self->c);
	ASSERT_NE(MAP_FAILED, q);
	hs_fill(q, REGION_BYTES, 107, 0);
	EXPECT_EQ(-1, hs_check(self->p1, REGION_BYTES, 107, 0));
	/* Closing the dup closes nothing: the file is still open. */
	ASSERT_EQ(0, close(dup_fd));
	EXPECT_EQ(-1, hs_check(q, REGION_BYTES, 107, 0));
	ASSERT_EQ(0, munmap(q, REGION_BYTES));

	other = hs_open();
	ASSERT_LE(0, other);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, hs_map(other, &self->c));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-ENOENT, hs_destroy(other, self->c.id));
	ASSERT_EQ(0, close(other));
	EXPECT_EQ(1, dbg_mapped(self->c.id));
}

TEST_HARNESS_MAIN
