// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: a 32-bit program uses the device (this file is built with
 * -m32, statically, and runs on the 64-bit kernel's compat path). The
 * structures have the same layout as for 64-bit programs; query, create
 * and destroy work; and every region can be mapped. Region ids are global,
 * so while other processes hold regions a 32-bit program gets ids whose
 * 64-bit offsets (id << 40) lie past what mmap2's 32-bit page offset can
 * reach (16 TiB); the module hands 32-bit callers offsets it can pass.
 * Data written through one mapping of a region reads back through another,
 * and the pool statistics area maps too.
 */
#define _FILE_OFFSET_BITS 64

#include "kselftest_harness.h"
#include "../kmod/hs_kmod.h"

_Static_assert(sizeof(void *) == 4, "build this test with -m32");
_Static_assert(sizeof(struct hugeslab_query) == 104, "query layout");
_Static_assert(sizeof(struct hugeslab_create) == HUGESLAB_CREATE_SIZE_VER0,
	       "create layout");
_Static_assert(sizeof(struct hugeslab_destroy) == HUGESLAB_DESTROY_SIZE_VER0,
	       "destroy layout");
_Static_assert(sizeof(struct hugeslab_pool_stat) == 128, "pool stat layout");

/* Regions another file holds first, so ours get ids past 15. */
#define OTHERS		20
/* mmap2's reach: a 32-bit page offset of 4 KiB pages. */
#define MMAP2_LIMIT	(1ULL << 44)

TEST(regions_map_whatever_their_id)
{
	struct hugeslab_create others[OTHERS], c[2];
	struct hugeslab_query q;
	struct hugeslab_pool_stat *st;
	int fd, other, i;
	char *p, *p2, *whole;

	fd = hs_open();
	ASSERT_LE(0, fd) TH_LOG("%s: %s", HUGESLAB_DEVICE, strerror(errno));
	ASSERT_EQ(0, hs_query(fd, &q));
	EXPECT_EQ(HUGESLAB_ABI_VERSION, q.abi_version);

	other = hs_open();
	ASSERT_LE(0, other);
	for (i = 0; i < OTHERS; i++)
		ASSERT_EQ(0, hs_create(other, HS_2M, &others[i]));

	ASSERT_EQ(0, hs_create(fd, 2 * HS_2M, &c[0]));
	ASSERT_EQ(0, hs_create(fd, HS_2M, &c[1]));
	for (i = 0; i < 2; i++) {
		EXPECT_LT(OTHERS, c[i].id);
		EXPECT_GT(MMAP2_LIMIT, c[i].offset)
			TH_LOG("region %llu: offset %#llx out of a 32-bit program's reach",
			       (unsigned long long)c[i].id,
			       (unsigned long long)c[i].offset);
		EXPECT_EQ(0ULL, c[i].offset % 4096);
		EXPECT_EQ(HS_2M, c[i].page_size);
	}

	whole = mmap(NULL, c[0].bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		     (off_t)c[0].offset);
	ASSERT_TRUE(whole != MAP_FAILED) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(0U, (uintptr_t)whole % HS_2M);
	EXPECT_EQ(-1, hs_check_zero(whole, c[0].bytes));
	hs_fill(whole, c[0].bytes, 32, 0);
	/* The second page alone, through its own offset. */
	p2 = mmap(NULL, HS_2M, PROT_READ, MAP_SHARED, fd,
		  (off_t)(c[0].offset + HS_2M));
	ASSERT_TRUE(p2 != MAP_FAILED) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(-1, hs_check(p2, HS_2M, 32, HS_2M));

	p = mmap(NULL, c[1].bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)c[1].offset);
	ASSERT_TRUE(p != MAP_FAILED) TH_LOG("mmap: %s", strerror(errno));
	hs_fill(p, c[1].bytes, 33, 0);
	EXPECT_EQ(-1, hs_check(p, c[1].bytes, 33, 0));
	/* The regions do not overlap. */
	EXPECT_EQ(-1, hs_check(whole, c[0].bytes, 32, 0));

	st = mmap(NULL, HUGESLAB_STATS_BYTES, PROT_READ | PROT_WRITE,
		  MAP_SHARED, fd, HUGESLAB_STATS_OFFSET);
	ASSERT_TRUE(st != MAP_FAILED);
	st[0].obj_size = 32;

	ASSERT_EQ(0, hs_query(fd, &q));
	EXPECT_EQ(3 * HS_2M, q.fd_bytes);
	EXPECT_EQ(2ULL, q.fd_regions);
	munmap(p2, HS_2M);
	munmap(whole, c[0].bytes);
	munmap(p, c[1].bytes);
	EXPECT_EQ(0, hs_destroy(fd, c[0].id));
	EXPECT_EQ(0, hs_destroy(fd, c[1].id));
	EXPECT_EQ(-ENOENT, hs_destroy(fd, c[1].id));
	close(other);
	close(fd);
}

TEST_HARNESS_MAIN
