// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: regions of 1 GiB pages (HUGESLAB_CREATE_1G) on a kernel that
 * has a pool of them ("numa" VM profile: hugepagesz=1G hugepages=2). A
 * 1 GiB region maps at a 1 GiB-aligned address (even when hinted
 * elsewhere), smaps and numa_maps show 1 GiB kernel pages, the ioctl's
 * page_node is where move_pages(2) finds the page, it is zeroed even when
 * its page held another region's data (sampled in every MiB, not every
 * byte, to keep TCG fast), and destroying it gives the page back to the
 * 1 GiB pool without touching the 2 MiB one. A size that is not a multiple
 * of 1 GiB is EINVAL, more pages than the pool has is ENOMEM (and returns
 * what the attempt took), and a node request is served from that node's
 * 1 GiB pages or refused. page_sizes.c covers what is advertised, and a
 * kernel without 1 GiB pages.
 */
#include "kselftest_harness.h"
#include "hs_numa.h"

/* Creating (clearing) and sampling 1 GiB is slow under TCG. */
#define GIGA_TIMEOUT	300

/*
 * The sampled windows of MiB @mib: its first and last words, and 512
 * bytes somewhere in between that move from one MiB to the next.
 */
#define SAMPLE_BYTES	512

static uint64_t sample_off(uint64_t mib)
{
	uint64_t words = (HS_MIB - 16 - SAMPLE_BYTES) / 8;

	return 8 + (mib * 0x9e3779b1ULL % words) * 8;
}

/* Offset of the first non-zero sampled byte, or -1. */
static int64_t check_zero_sampled(const char *p, uint64_t bytes)
{
	uint64_t mib, base;
	int64_t bad;

	for (mib = 0; mib < bytes / HS_MIB; mib++) {
		base = mib * HS_MIB;
		if (*(const volatile uint64_t *)(p + base))
			return base;
		bad = hs_check_zero(p + base + sample_off(mib), SAMPLE_BYTES);
		if (bad >= 0)
			return base + sample_off(mib) + bad;
		if (*(const volatile uint64_t *)(p + base + HS_MIB - 8))
			return base + HS_MIB - 8;
	}
	return -1;
}

static void fill_sampled(char *p, uint64_t bytes, uint64_t seed)
{
	uint64_t mib, base;

	for (mib = 0; mib < bytes / HS_MIB; mib++) {
		base = mib * HS_MIB;
		hs_fill(p + base, 8, seed, base);
		hs_fill(p + base + sample_off(mib), SAMPLE_BYTES, seed,
			base + sample_off(mib));
		hs_fill(p + base + HS_MIB - 8, 8, seed, base + HS_MIB - 8);
	}
}

static int64_t check_sampled(const char *p, uint64_t bytes, uint64_t seed)
{
	uint64_t mib, base;
	int64_t bad;

	for (mib = 0; mib < bytes / HS_MIB; mib++) {
		base = mib * HS_MIB;
		if (hs_check(p + base, 8, seed, base) >= 0)
			return base;
		bad = hs_check(p + base + sample_off(mib), SAMPLE_BYTES, seed,
			       base + sample_off(mib));
		if (bad >= 0)
			return base + sample_off(mib) + bad;
		if (hs_check(p + base + HS_MIB - 8, 8, seed,
			     base + HS_MIB - 8) >= 0)
			return base + HS_MIB - 8;
	}
	return -1;
}

/* Wait (bounded) until the 1 GiB pool has @free free pages; the count. */
static long long wait_free_1g(long long free)
{
	long long end = hs_now_ms() + HS_FREE_TIMEOUT_MS, now;

	for (;;) {
		now = hs_hp(-1, HS_KB_1G, "free_hugepages");
		if (now == free || hs_now_ms() > end)
			return now;
		usleep(10000);
	}
}

FIXTURE(giga) {
	int fd;
	struct hs_numa_snap base;
};

FIXTURE_SETUP(giga)
{
	self->fd = hs_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("%s: %s: is hugeslab.ko loaded?", HUGESLAB_DEVICE,
		       strerror(errno));
	ASSERT_EQ(0, hs_numa_snap(&self->base));
	ASSERT_TRUE(hs_hp_exists(HS_KB_1G))
		TH_LOG("this kernel has no 1 GiB pages (CPU without pdpe1gb?)");
	ASSERT_LE(1, self->base.free1g_all)
		TH_LOG("no free 1 GiB pages: boot with hugepagesz=1G hugepages=2 and enough memory per node for a free, aligned 1 GiB block (see 'HugeTLB: allocating' in dmesg)");
}

FIXTURE_TEARDOWN_PARENT(giga)
{
	HS_EXPECT_NUMA_BASELINE(&self->base);
}

TEST_F_TIMEOUT(giga, region_of_1g, GIGA_TIMEOUT)
{
	int nodes[HS_MAX_NODES], mapped[HS_MAX_NODES], where;
	struct hugeslab_create c;
	struct hs_smaps s;
	long page_kb;
	char *p;

	ASSERT_EQ(0, hs_create_1g(self->fd, HS_1G, HUGESLAB_NODE_ANY, &c));
	EXPECT_EQ(HS_1G, c.page_size);
	EXPECT_EQ(HS_1G, c.bytes);
	EXPECT_EQ(self->base.free1g_all - 1,
		  hs_hp(-1, HS_KB_1G, "free_hugepages"));
	/* The 2 MiB pool is not touched. */
	EXPECT_EQ(self->base.mod.hp_free, hs_meminfo("HugePages_Free"));

	p = hs_map(self->fd, &c);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(0UL, (unsigned long)p & (HS_1G - 1))
		TH_LOG("mapped at %p", p);
	EXPECT_EQ(-1, check_zero_sampled(p, c.bytes));

	ASSERT_EQ(0, hs_smaps_find(p, &s));
	EXPECT_EQ((unsigned long)p, s.start);
	EXPECT_EQ((unsigned long)p + HS_1G, s.end);
	EXPECT_EQ(1048576L, s.kernel_page_kb);
	EXPECT_EQ(1048576L, s.mmu_page_kb);
	EXPECT_EQ(1048576L, s.shared_hugetlb_kb + s.private_hugetlb_kb);

	/* Where the page is: the ioctl, move_pages and numa_maps agree. */
	where = hs_pages_node(p, c.bytes, HS_1G, nodes);
	EXPECT_EQ(c.page_node, where);
	ASSERT_EQ(0, hs_numa_maps(p, mapped, &page_kb));
	EXPECT_EQ((long)HS_KB_1G, page_kb);
	if (where >= 0) {
		EXPECT_EQ(1, mapped[where]);
	}

	fill_sampled(p, c.bytes, 7);
	EXPECT_EQ(-1, check_sampled(p, c.bytes, 7));

	/* Destroyed while mapped: freed at the unmap. */
	EXPECT_EQ(0, hs_destroy(self->fd, c.id));
	EXPECT_EQ(-1, check_sampled(p, c.bytes, 7));
	EXPECT_EQ(0, munmap(p, c.bytes));
	EXPECT_EQ(self->base.free1g_all, wait_free_1g(self->base.free1g_all));
	EXPECT_EQ(self->base.rsvd1g_all, hs_hp(-1, HS_KB_1G, "resv_hugepages"));
}

/* A page that held another region's data comes back zeroed. */
TEST_F_TIMEOUT(giga, reused_page_is_zeroed, GIGA_TIMEOUT)
{
	struct hugeslab_create c;
	char *p;
	int n;

	/*
	 * On each node with a free 1 GiB page: dirty a page, free it, and
	 * take a page of that node again - the one just freed (the free
	 * lists are LIFO), which must not show the old data.
	 */
	for (n = 0; n < self->base.nodes; n++) {
		if (self->base.free1g[n] < 1)
			continue;
		ASSERT_EQ(0, hs_create_1g(self->fd, HS_1G, n, &c));
		p = hs_map(self->fd, &c);
		ASSERT_NE(MAP_FAILED, p);
		fill_sampled(p, c.bytes, 100 + n);
		EXPECT_EQ(0, munmap(p, c.bytes));
		EXPECT_EQ(0, hs_destroy(self->fd, c.id));
		ASSERT_EQ(self->base.free1g_all,
			  wait_free_1g(self->base.free1g_all));

		ASSERT_EQ(0, hs_create_1g(self->fd, HS_1G, n, &c));
		p = hs_map(self->fd, &c);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(-1, check_zero_sampled(p, c.bytes))
			TH_LOG("node %d: stale data in a reused 1 GiB page", n);
		EXPECT_EQ(0, munmap(p, c.bytes));
		EXPECT_EQ(0, hs_destroy(self->fd, c.id));
		ASSERT_EQ(self->base.free1g_all,
			  wait_free_1g(self->base.free1g_all));
	}
}

TEST_F(giga, aligned_despite_hint)
{
	struct hugeslab_create c;
	char *hint, *p;

	ASSERT_EQ(0, hs_create_1g(self->fd, HS_1G, HUGESLAB_NODE_ANY, &c));
	/* A free address 2 MiB- but not 1 GiB-aligned, as a hint. */
	hint = mmap(NULL, 3 * HS_1G, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, hint);
	ASSERT_EQ(0, munmap(hint, 3 * HS_1G));
	hint = (char *)(((unsigned long)hint + HS_1G - 1) & ~(HS_1G - 1)) +
	       HS_2M;
	p = mmap(hint, c.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 c.offset);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(0UL, (unsigned long)p & (HS_1G - 1))
		TH_LOG("mapped at %p for hint %p", p, hint);
	/* A 1 GiB page cannot be mapped by halves. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, HS_1G / 2, PROT_READ, MAP_SHARED,
				   self->fd, c.offset));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, munmap(p, c.bytes));
}

TEST_F(giga, size_not_a_multiple_of_1g)
{
	const uint64_t bad[] = { 0, HS_2M, HS_1G - HS_2M, HS_1G + HS_2M,
				 HS_1G / 2 * 3, 2 * HS_1G + 4096 };
	long long failed = hs_stat("failed_requests");
	struct hugeslab_create c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, hs_create_1g(self->fd, bad[i],
						HUGESLAB_NODE_ANY, &c))
			TH_LOG("%llu bytes", (unsigned long long)bad[i]);
	}
	EXPECT_EQ(failed, hs_stat("failed_requests"));
}

TEST_F_TIMEOUT(giga, more_pages_than_exist, GIGA_TIMEOUT)
{
	long long failed = hs_stat("failed_nomem");
	uint64_t pages = self->base.nr1g_all + 1;
	struct hugeslab_create c;

	EXPECT_EQ(-ENOMEM, hs_create_1g(self->fd, pages * HS_1G,
					HUGESLAB_NODE_ANY, &c));
	EXPECT_EQ(failed + 1, hs_stat("failed_nomem"));
	/* What the attempt took came back; 2 MiB pages were not used. */
	EXPECT_EQ(self->base.free1g_all, wait_free_1g(self->base.free1g_all));
	EXPECT_EQ(self->base.rsvd1g_all, hs_hp(-1, HS_KB_1G, "resv_hugepages"));
	EXPECT_EQ(self->base.mod.hp_free, hs_meminfo("HugePages_Free"));
	EXPECT_EQ(self->base.mod.used_bytes, hs_stat("used_bytes"));

	/* All there is can still be had. */
	ASSERT_EQ(0, hs_create_1g(self->fd, self->base.free1g_all * HS_1G,
				  HUGESLAB_NODE_ANY, &c));
	EXPECT_EQ(0, hs_hp(-1, HS_KB_1G, "free_hugepages"));
	EXPECT_EQ(-ENOMEM, hs_create_1g(self->fd, HS_1G, HUGESLAB_NODE_ANY,
					&c));
}

/* A node request takes that node's 1 GiB pages, or fails. */
TEST_F_TIMEOUT(giga, node_request, GIGA_TIMEOUT)
{
	int n, where, nodes[HS_MAX_NODES];
	struct hugeslab_create c;
	char *p;

	for (n = 0; n < self->base.nodes; n++) {
		if (self->base.free1g[n] < 1) {
			EXPECT_EQ(-ENOMEM, hs_create_1g(self->fd, HS_1G, n, &c))
				TH_LOG("node %d has no free 1 GiB page", n);
			continue;
		}
		ASSERT_EQ(0, hs_create_1g(self->fd, HS_1G, n, &c))
			TH_LOG("node %d has %lld free 1 GiB pages", n,
			       self->base.free1g[n]);
		EXPECT_EQ(n, c.page_node);
		EXPECT_EQ(self->base.free1g[n] - 1,
			  hs_hp(n, HS_KB_1G, "free_hugepages"));
		p = hs_map(self->fd, &c);
		ASSERT_NE(MAP_FAILED, p);
		where = hs_pages_node(p, c.bytes, HS_1G, nodes);
		EXPECT_EQ(n, where);
		EXPECT_EQ(0, munmap(p, c.bytes));
		EXPECT_EQ(0, hs_destroy(self->fd, c.id));
		/* More than the node has: refused, nothing borrowed. */
		EXPECT_EQ(-ENOMEM,
			  hs_create_1g(self->fd,
				       (self->base.free1g[n] + 1) * HS_1G, n,
				       &c));
		EXPECT_EQ(self->base.free1g_all,
			  wait_free_1g(self->base.free1g_all));
	}
}

TEST_HARNESS_MAIN
