// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: pages of a region that something else still holds stay
 * charged to the region's owner until they are really free. vmsplice()
 * puts references to region pages in a pipe; after munmap and destroy (or
 * close) the process no longer has the region, but the kernel still has
 * its pages, so the module keeps counting them: used_bytes, regions and
 * the opener's user_bytes do not drop, debugfs still lists the region
 * (unmapped), max_mb still counts it, free_bytes does not hand out the
 * reserve those pages took, and HugePages_Free stays lower by them. The
 * pipe still reads the region's data. Once the pipe is closed the region
 * is freed and everything is back where it was.
 */
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

#define REGION_BYTES	(2 * HS_2M)

FIXTURE(held) {
	int fd;
	long long saved_max_mb;
	struct hs_snap base;
};

FIXTURE_VARIANT(held) {
	bool close_file;	/* close the file instead of destroying */
};

FIXTURE_VARIANT_ADD(held, destroyed) {
	.close_file = false,
};

FIXTURE_VARIANT_ADD(held, file_closed) {
	.close_file = true,
};

FIXTURE_SETUP(held)
{
	self->saved_max_mb = -1;
	self->fd = hs_open();
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s (is hugeslab.ko loaded?)",
				      HUGESLAB_DEVICE, strerror(errno));
	ASSERT_EQ(0, hs_snap(&self->base))
		TH_LOG("%s/stats unreadable: debugfs not mounted?", HS_DEBUGFS);
	self->saved_max_mb = hs_param("max_mb");
	ASSERT_EQ(0, self->saved_max_mb);
}

FIXTURE_TEARDOWN_PARENT(held)
{
	char buf[32];

	if (self->saved_max_mb >= 0) {
		snprintf(buf, sizeof(buf), "%lld", self->saved_max_mb);
		EXPECT_EQ(0, hs_write_file(HS_PARAMS "/max_mb", buf));
	}
	HS_EXPECT_BASELINE(&self->base);
}

TEST_F(held, vmsplice_keeps_region_charged)
{
	long long free_bytes = hs_stat("free_bytes");
	struct hugeslab_create c, d;
	struct hugeslab_query q;
	struct hs_dbg_region r;
	struct iovec iov[2];
	struct hs_snap now;
	char buf[4096], max[32];
	int pipefd[2], fd2, i;
	char *p;

	ASSERT_LE(0, free_bytes);
	ASSERT_EQ(0, hs_create(self->fd, REGION_BYTES, &c));
	p = hs_map(self->fd, &c);
	ASSERT_NE(MAP_FAILED, p);
	hs_fill(p, REGION_BYTES, 51, 0);

	/* A reference to each huge page of the region goes into the pipe. */
	ASSERT_EQ(0, pipe(pipefd));
	for (i = 0; i < 2; i++) {
		iov[i].iov_base = p + i * HS_2M + 8192;
		iov[i].iov_len = 4096;
	}
	ASSERT_EQ(8192, vmsplice(pipefd[1], iov, 2, 0))
		TH_LOG("vmsplice: %s", strerror(errno));

	ASSERT_EQ(0, munmap(p, REGION_BYTES));
	/* Another file keeps the test's view once this one is closed. */
	fd2 = hs_open();
	ASSERT_LE(0, fd2);
	if (variant->close_file) {
		ASSERT_EQ(0, close(self->fd));
	} else {
		ASSERT_EQ(0, hs_destroy(self->fd, c.id));
	}

	/* The process has nothing left, the module still counts it all. */
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes + (long long)REGION_BYTES,
		  now.used_bytes);
	EXPECT_EQ(self->base.regions + 1, now.regions);
	EXPECT_EQ(self->base.hp_free - 2, now.hp_free);
	EXPECT_EQ(free_bytes - (long long)REGION_BYTES, hs_stat("free_bytes"))
		TH_LOG("free_bytes gives out reserve the held pages took");
	ASSERT_EQ(1, hs_dbg_find(c.id, &r)) TH_LOG("region %llu not listed",
						   (unsigned long long)c.id);
	EXPECT_FALSE(r.mapped);
	ASSERT_EQ(0, hs_query(fd2, &q));
	EXPECT_EQ((unsigned long long)REGION_BYTES, q.user_bytes);

	/* And max_mb counts it: only 2 MiB more fit under 6. */
	snprintf(max, sizeof(max), "%llu",
		 (unsigned long long)(now.used_bytes + HS_2M) >> 20);
	ASSERT_EQ(0, hs_write_file(HS_PARAMS "/max_mb", max));
	EXPECT_EQ(-EDQUOT, hs_create(fd2, REGION_BYTES, &d));
	ASSERT_EQ(0, hs_create(fd2, HS_2M, &d));
	ASSERT_EQ(0, hs_destroy(fd2, d.id));
	ASSERT_EQ(0, hs_write_file(HS_PARAMS "/max_mb", "0"));

	/* The pipe reads what the region held: its pages were not reused. */
	ASSERT_EQ(4096, read(pipefd[0], buf, sizeof(buf)));
	EXPECT_EQ(-1, hs_check(buf, sizeof(buf), 51, 8192));

	/* Still one page held: still charged, for the whole region. */
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes + (long long)REGION_BYTES,
		  now.used_bytes);
	EXPECT_EQ(1, hs_dbg_find(c.id, &r));

	/* Let go of the last one: the region goes, the pages come back. */
	ASSERT_EQ(0, close(pipefd[0]));
	ASSERT_EQ(0, close(pipefd[1]));
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS))
		TH_LOG("used %lld/%lld regions %lld/%lld free %lld/%lld",
		       now.used_bytes, self->base.used_bytes, now.regions,
		       self->base.regions, now.hp_free, self->base.hp_free);
	EXPECT_EQ(0, hs_wait_unlisted(c.id, HS_FREE_TIMEOUT_MS));
	EXPECT_EQ(free_bytes, hs_stat("free_bytes"));
	ASSERT_EQ(0, hs_query(fd2, &q));
	EXPECT_EQ(0ULL, q.user_bytes);
	close(fd2);
}

TEST_HARNESS_MAIN
