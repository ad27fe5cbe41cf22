// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: region lifecycle - create, map, use, unmap, destroy, close,
 * and that the module's totals and the hugetlb pool return to where they
 * were. Covers destroy and close while still mapped (memory stays usable
 * and listed until munmap), zeroing of reused pages, independence of two
 * regions, and mapping part of a region at an offset.
 */
#include "kselftest_harness.h"
#include "hs_kmod.h"

FIXTURE(region) {
	int fd;
	struct hs_snap base;
};

FIXTURE_SETUP(region)
{
	self->fd = hs_open();
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: is hugeslab.ko loaded?",
		     HUGESLAB_DEVICE);
	ASSERT_LE(0, self->fd);
	if (hs_snap(&self->base))
		SKIP(return, "%s/stats unreadable: debugfs not mounted?",
		     HS_DEBUGFS);
}

FIXTURE_TEARDOWN_PARENT(region)
{
	HS_EXPECT_BASELINE(&self->base);
}

/* Wait until debugfs no longer lists @id: 0, or -1 on timeout. */
static int wait_unlisted(unsigned long long id)
{
	long long end = hs_now_ms() + HS_FREE_TIMEOUT_MS;
	struct hs_dbg_region r;

	while (hs_dbg_find(id, &r) != 0) {
		if (hs_now_ms() > end)
			return -1;
		usleep(10000);
	}
	return 0;
}

TEST_F(region, lifecycle)
{
	const unsigned long long bytes = 2 * HS_2M;
	struct hugeslab_create c;
	struct hugeslab_query q;
	struct hs_snap now;
	struct hs_dbg_region r;
	void *p;

	ASSERT_EQ(0, hs_create(self->fd, bytes, &c));
	EXPECT_EQ(bytes, c.bytes);
	EXPECT_EQ(HS_2M, c.page_size);

	/* Accounted at once, and populated at once: the pool's pages went. */
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes + (long long)bytes, now.used_bytes);
	EXPECT_EQ(self->base.regions + 1, now.regions);
	EXPECT_EQ(self->base.hp_free - (long long)(bytes / HS_2M), now.hp_free);
	ASSERT_EQ(0, hs_query(self->fd, &q));
	EXPECT_EQ(bytes, q.fd_bytes);
	EXPECT_EQ(1ULL, q.fd_regions);
	ASSERT_EQ(1, hs_dbg_find(c.id, &r));
	EXPECT_FALSE(r.mapped);

	p = hs_map(self->fd, &c);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(-1, hs_check_zero(p, bytes));
	hs_fill(p, bytes, 1, 0);
	EXPECT_EQ(-1, hs_check(p, bytes, 1, 0));
	ASSERT_EQ(1, hs_dbg_find(c.id, &r));
	EXPECT_TRUE(r.mapped);
	/* Faulting the memory in took nothing more from the pool. */
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.hp_free - (long long)(bytes / HS_2M), now.hp_free);

	ASSERT_EQ(0, munmap(p, bytes));
	ASSERT_EQ(1, hs_dbg_find(c.id, &r));
	EXPECT_FALSE(r.mapped);
	ASSERT_EQ(0, hs_destroy(self->fd, c.id));
	EXPECT_EQ(0, hs_dbg_find(c.id, &r));
	ASSERT_EQ(0, hs_query(self->fd, &q));
	EXPECT_EQ(0ULL, q.fd_bytes);
	EXPECT_EQ(0ULL, q.fd_regions);
	ASSERT_EQ(0, close(self->fd));
	HS_EXPECT_BASELINE(&self->base);
}

/* Pages a region gave back are zeroed before the next region gets them. */
TEST_F(region, reused_pages_are_zeroed)
{
	const unsigned long long bytes = 2 * HS_2M;
	struct hugeslab_create c;
	int round;
	void *p;

	for (round = 0; round < 3; round++) {
		ASSERT_EQ(0, hs_create(self->fd, bytes, &c));
		p = hs_map(self->fd, &c);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(-1, hs_check_zero(p, bytes))
			TH_LOG("round %d: stale data", round);
		memset(p, 0xff, bytes);
		ASSERT_EQ(0, munmap(p, bytes));
		ASSERT_EQ(0, hs_destroy(self->fd, c.id));
	}
}

TEST_F(region, destroy_while_mapped)
{
	const unsigned long long bytes = 2 * HS_2M;
	struct hugeslab_create c;
	struct hugeslab_query q;
	struct hs_dbg_region r;
	struct hs_snap now;
	void *p;

	ASSERT_EQ(0, hs_create(self->fd, bytes, &c));
	p = hs_map(self->fd, &c);
	ASSERT_NE(MAP_FAILED, p);
	hs_fill(p, bytes, 2, 0);

	ASSERT_EQ(0, hs_destroy(self->fd, c.id));
	/* Gone from the file, so not destroyable or mappable again... */
	EXPECT_EQ(-ENOENT, hs_destroy(self->fd, c.id));
	ASSERT_EQ(0, hs_query(self->fd, &q));
	EXPECT_EQ(0ULL, q.fd_regions);
	EXPECT_EQ(0ULL, q.fd_bytes);
	/* ...but the memory is still there, usable, held and listed. */
	EXPECT_EQ(-1, hs_check(p, bytes, 2, 0));
	hs_fill(p, bytes, 3, 0);
	EXPECT_EQ(-1, hs_check(p, bytes, 3, 0));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes + (long long)bytes, now.used_bytes);
	EXPECT_EQ(self->base.regions + 1, now.regions);
	ASSERT_EQ(1, hs_dbg_find(c.id, &r));
	EXPECT_TRUE(r.mapped);
	EXPECT_EQ((long)getpid(), r.pid);

	ASSERT_EQ(0, munmap(p, bytes));
	EXPECT_EQ(0, wait_unlisted(c.id));
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS));
}

TEST_F(region, close_while_mapped)
{
	const unsigned long long bytes = 3 * HS_2M;
	struct hugeslab_create c, c2;
	struct hs_dbg_region r;
	struct hs_snap now;
	void *p;

	ASSERT_EQ(0, hs_create(self->fd, bytes, &c));
	/* A second, unmapped region of the same file goes at close. */
	ASSERT_EQ(0, hs_create(self->fd, HS_2M, &c2));
	p = hs_map(self->fd, &c);
	ASSERT_NE(MAP_FAILED, p);
	hs_fill(p, bytes, 4, 0);

	ASSERT_EQ(0, close(self->fd));
	EXPECT_EQ(0, hs_dbg_find(c2.id, &r));
	EXPECT_EQ(-1, hs_check(p, bytes, 4, 0));
	hs_fill(p, bytes, 5, 0);
	EXPECT_EQ(-1, hs_check(p, bytes, 5, 0));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes + (long long)bytes, now.used_bytes);
	EXPECT_EQ(self->base.regions + 1, now.regions);
	ASSERT_EQ(1, hs_dbg_find(c.id, &r));
	EXPECT_TRUE(r.mapped);

	ASSERT_EQ(0, munmap(p, bytes));
	EXPECT_EQ(0, wait_unlisted(c.id));
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS));
}

/* Mapped twice, destroyed: freed only when the second mapping goes. */
TEST_F(region, destroy_with_two_mappings)
{
	struct hugeslab_create c;
	struct hs_dbg_region r;
	void *p1, *p2;

	ASSERT_EQ(0, hs_create(self->fd, HS_2M, &c));
	p1 = hs_map(self->fd, &c);
	ASSERT_NE(MAP_FAILED, p1);
	p2 = hs_map(self->fd, &c);
	ASSERT_NE(MAP_FAILED, p2);
	EXPECT_NE(p1, p2);
	hs_fill(p1, HS_2M, 6, 0);
	EXPECT_EQ(-1, hs_check(p2, HS_2M, 6, 0));
	ASSERT_EQ(0, hs_destroy(self->fd, c.id));

	ASSERT_EQ(0, munmap(p1, HS_2M));
	ASSERT_EQ(1, hs_dbg_find(c.id, &r));
	EXPECT_TRUE(r.mapped);
	EXPECT_EQ(-1, hs_check(p2, HS_2M, 6, 0));
	ASSERT_EQ(0, munmap(p2, HS_2M));
	EXPECT_EQ(0, wait_unlisted(c.id));
}

TEST_F(region, regions_are_independent)
{
	const unsigned long long bytes = 2 * HS_2M;
	struct hugeslab_create a, b;
	struct hs_snap now;
	void *pa, *pb;

	ASSERT_EQ(0, hs_create(self->fd, bytes, &a));
	ASSERT_EQ(0, hs_create(self->fd, bytes, &b));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes + 2 * (long long)bytes,
		  now.used_bytes);
	EXPECT_EQ(self->base.regions + 2, now.regions);
	EXPECT_EQ(self->base.hp_free - 2 * (long long)(bytes / HS_2M),
		  now.hp_free);

	pa = hs_map(self->fd, &a);
	ASSERT_NE(MAP_FAILED, pa);
	pb = hs_map(self->fd, &b);
	ASSERT_NE(MAP_FAILED, pb);
	EXPECT_EQ(-1, hs_check_zero(pb, bytes));
	hs_fill(pa, bytes, 7, 0);
	EXPECT_EQ(-1, hs_check_zero(pb, bytes));
	hs_fill(pb, bytes, 8, 0);
	EXPECT_EQ(-1, hs_check(pa, bytes, 7, 0));
	EXPECT_EQ(-1, hs_check(pb, bytes, 8, 0));

	/* Destroying one leaves the other alone. */
	ASSERT_EQ(0, munmap(pa, bytes));
	ASSERT_EQ(0, hs_destroy(self->fd, a.id));
	EXPECT_EQ(-1, hs_check(pb, bytes, 8, 0));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes + (long long)bytes, now.used_bytes);
	EXPECT_EQ(self->base.regions + 1, now.regions);
	ASSERT_EQ(0, munmap(pb, bytes));
	ASSERT_EQ(0, hs_destroy(self->fd, b.id));
}

/* Mapping the second 2 MiB of a 4 MiB region shows those bytes. */
TEST_F(region, partial_mapping_at_offset)
{
	const unsigned long long bytes = 2 * HS_2M;
	struct hugeslab_create c;
	char *whole, *second, *first;

	ASSERT_EQ(0, hs_create(self->fd, bytes, &c));
	whole = hs_map(self->fd, &c);
	ASSERT_NE(MAP_FAILED, whole);
	hs_fill(whole, bytes, 9, 0);

	second = mmap(NULL, HS_2M, PROT_READ | PROT_WRITE, MAP_SHARED,
		      self->fd, c.offset + HS_2M);
	ASSERT_NE(MAP_FAILED, second) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(-1, hs_check(second, HS_2M, 9, HS_2M));
	first = mmap(NULL, HS_2M, PROT_READ | PROT_WRITE, MAP_SHARED,
		     self->fd, c.offset);
	ASSERT_NE(MAP_FAILED, first);
	EXPECT_EQ(-1, hs_check(first, HS_2M, 9, 0));

	/* Shared both ways. */
	hs_fill(second, HS_2M, 10, 0);
	EXPECT_EQ(-1, hs_check(whole + HS_2M, HS_2M, 10, 0));
	EXPECT_EQ(-1, hs_check(first, HS_2M, 9, 0));
	whole[HS_2M + 17] = 0x5a;
	EXPECT_EQ(0x5a, second[17]);

	/* The whole mapping can go first; the partial ones keep working. */
	ASSERT_EQ(0, munmap(whole, bytes));
	EXPECT_EQ(0x5a, second[17]);
	ASSERT_EQ(0, munmap(first, HS_2M));
	ASSERT_EQ(0, munmap(second, HS_2M));
	ASSERT_EQ(0, hs_destroy(self->fd, c.id));
}

/* The whole reserve can be had, and given back, more than once. */
TEST_F(region, whole_reserve)
{
	struct hugeslab_create c;
	struct hugeslab_query q;
	int round;
	void *p;

	ASSERT_EQ(0, hs_query(self->fd, &q));
	ASSERT_NE(0ULL, q.reserve_bytes)
		TH_LOG("load the module with reserve_mb=N for this test");
	ASSERT_EQ(0ULL, q.used_bytes)
		TH_LOG("another user holds regions");
	for (round = 0; round < 2; round++) {
		ASSERT_EQ(0, hs_create(self->fd, q.reserve_bytes, &c));
		p = hs_map(self->fd, &c);
		ASSERT_NE(MAP_FAILED, p);
		/* One word per page: touching all of it costs seconds in TCG. */
		EXPECT_EQ(0ULL, *(volatile unsigned long long *)p);
		*(volatile unsigned long long *)((char *)p + q.reserve_bytes -
						 8) = 1;
		ASSERT_EQ(0, munmap(p, q.reserve_bytes));
		ASSERT_EQ(0, hs_destroy(self->fd, c.id));
	}
}

/*
 * A destroyed region still mapped is freed when its last mapping goes, by
 * that event, not by a timer or by someone reading the counters: timed
 * from munmap() to HugePages_Free rising again (nothing of the module is
 * read in between), the median of 15 tries is well under the quarter of a
 * second a polling reaper would take on average.
 */
static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

TEST_F(region, freed_when_last_mapping_goes)
{
	long long ms[15], free0, t0;
	struct hugeslab_create c;
	unsigned int i;
	char *p;

	for (i = 0; i < ARRAY_SIZE(ms); i++) {
		ASSERT_EQ(0, hs_create(self->fd, HS_2M, &c));
		p = hs_map(self->fd, &c);
		ASSERT_NE(MAP_FAILED, p);
		p[0] = 1;
		ASSERT_EQ(0, hs_destroy(self->fd, c.id));
		free0 = hs_meminfo("HugePages_Free");
		ASSERT_EQ(0, munmap(p, HS_2M));
		t0 = hs_now_ms();
		while (hs_meminfo("HugePages_Free") != free0 + 1) {
			ASSERT_GT(t0 + HS_FREE_TIMEOUT_MS, hs_now_ms());
			usleep(1000);
		}
		ms[i] = hs_now_ms() - t0;
	}
	qsort(ms, ARRAY_SIZE(ms), sizeof(ms[0]), cmp_ll);
	ksft_print_msg("munmap to free: %lld ms min, %lld median, %lld max\n",
		       ms[0], ms[ARRAY_SIZE(ms) / 2], ms[ARRAY_SIZE(ms) - 1]);
	EXPECT_GT(50, ms[ARRAY_SIZE(ms) / 2]);
}

TEST_HARNESS_MAIN
