// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: region memory registered as an io_uring fixed buffer
 * outlives the region's mapping and the open file. Defined behaviour:
 *
 *  - once the region is unmapped and destroyed (or its file closed), and
 *    the file closed, the process has nothing of it, but the ring's pin
 *    holds its pages (HugePages_Free stays lower by them), and the module
 *    keeps counting them for the region's user: still listed, unmapped,
 *    still in used_bytes and regions.
 *  - the pinned pages keep their data and are never handed to a new region
 *    (new regions are zeroed, on other page frames, and writing them does
 *    not change the buffer; I/O into the buffer does not change them).
 *  - WRITE_FIXED from the buffer writes the original data.
 *  - when the ring goes (io_uring_queue_exit), the region is freed and
 *    the pages return to the hugetlb pool; the unpinning is asynchronous,
 *    so it is polled for.
 */
#include <liburing.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

#define REGION_BYTES	(2 * HS_2M)
#define REGION_PAGES	((int)(REGION_BYTES / HS_2M))

FIXTURE(pinned) {
	int file;		/* scratch file for the ring's I/O */
	struct hs_snap base;
};

FIXTURE_VARIANT(pinned) {
	bool close_first;	/* close the file while still mapped */
};

/* munmap, destroy, close. */
FIXTURE_VARIANT_ADD(pinned, unmap_destroy_close) {
	.close_first = false,
};

/* close (which detaches the region), then munmap. */
FIXTURE_VARIANT_ADD(pinned, close_then_unmap) {
	.close_first = true,
};

FIXTURE_SETUP(pinned)
{
	char path[] = "/tmp/hs-pinned-XXXXXX";
	int fd;

	fd = hs_open();
	ASSERT_LE(0, fd) TH_LOG("%s: %s (is hugeslab.ko loaded?)",
				HUGESLAB_DEVICE, strerror(errno));
	close(fd);
	ASSERT_EQ(0, hs_snap(&self->base))
		TH_LOG("%s/stats unreadable: debugfs not mounted?", HS_DEBUGFS);
	self->file = mkstemp(path);
	ASSERT_LE(0, self->file);
	unlink(path);
}

FIXTURE_TEARDOWN_PARENT(pinned)
{
	HS_EXPECT_BASELINE(&self->base);
}

/* One fixed-buffer read or write; its result (bytes or -errno). */
static int rw_fixed(struct io_uring *ring, bool write, int fd, void *buf,
		    unsigned int len, off_t off)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -EBUSY;
	if (write)
		io_uring_prep_write_fixed(sqe, fd, buf, len, off, 0);
	else
		io_uring_prep_read_fixed(sqe, fd, buf, len, off, 0);
	ret = io_uring_submit(ring);
	if (ret != 1)
		return ret < 0 ? ret : -EIO;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* Poll until the module no longer has region @id and its totals are back. */
/* The module counts the pinned region: listed, unmapped, charged. */
static void check_still_counted(struct __test_metadata *_metadata,
				const struct hs_snap *base,
				unsigned long long id)
{
	struct hs_dbg_region r;
	struct hs_snap now;

	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(base->used_bytes + (long long)REGION_BYTES, now.used_bytes);
	EXPECT_EQ(base->regions + 1, now.regions);
	ASSERT_EQ(1, hs_dbg_find(id, &r)) TH_LOG("pinned region not listed");
	EXPECT_FALSE(r.mapped);
}

TEST_F(pinned, outlives_region_and_file)
{
	unsigned long long pfn[REGION_PAGES];
	struct hugeslab_create c, fresh[2];
	struct iovec iov;
	struct io_uring ring;
	struct hs_snap now;
	char *p, *q[2], *buf;
	int fd, fd2, i, j, err;

	fd = hs_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hs_create(fd, REGION_BYTES, &c));
	p = hs_map(fd, &c);
	ASSERT_NE(MAP_FAILED, p);
	hs_fill(p, REGION_BYTES, 111, 0);
	for (i = 0; i < REGION_PAGES; i++) {
		pfn[i] = hs_pfn(p + i * HS_2M);
		ASSERT_NE(0ULL, pfn[i]) TH_LOG("no frame numbers: not root?");
	}

	err = io_uring_queue_init(4, &ring, 0);
	ASSERT_EQ(0, err) TH_LOG("io_uring_queue_init: %s", strerror(-err));
	iov.iov_base = p;
	iov.iov_len = REGION_BYTES;
	ASSERT_EQ(0, io_uring_register_buffers(&ring, &iov, 1));

	if (variant->close_first) {
		ASSERT_EQ(0, close(fd));
		ASSERT_EQ(0, munmap(p, REGION_BYTES));
	} else {
		ASSERT_EQ(0, munmap(p, REGION_BYTES));
		ASSERT_EQ(0, hs_destroy(fd, c.id));
		ASSERT_EQ(0, close(fd));
	}

	/* The ring holds its pages: the module still counts them. */
	check_still_counted(_metadata, &self->base, c.id);
	EXPECT_EQ(self->base.hp_free - REGION_PAGES,
		  hs_meminfo("HugePages_Free"));

	/*
	 * New regions: the pool hands out the most recently freed pages
	 * first, so had the pinned ones been freed, these would get them.
	 */
	fd2 = hs_open();
	ASSERT_LE(0, fd2);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, hs_create(fd2, REGION_BYTES, &fresh[i]));
		q[i] = hs_map(fd2, &fresh[i]);
		ASSERT_NE(MAP_FAILED, q[i]);
		EXPECT_EQ(-1, hs_check_zero(q[i], REGION_BYTES))
			TH_LOG("new region %d not zeroed", i);
		for (j = 0; j < REGION_PAGES; j++) {
			unsigned long long f = hs_pfn(q[i] + j * HS_2M);
			int k;

			for (k = 0; k < REGION_PAGES; k++) {
				EXPECT_NE(pfn[k], f)
					TH_LOG("new region %d page %d is pinned page %d",
					       i, j, k);
			}
		}
		memset(q[i], 0xee, REGION_BYTES);
	}
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.hp_free - 3 * REGION_PAGES, now.hp_free);

	/* The buffer still holds what the region held. */
	ASSERT_EQ((int)REGION_BYTES, rw_fixed(&ring, true, self->file, p,
					 REGION_BYTES, 0));
	buf = malloc(REGION_BYTES);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ((ssize_t)REGION_BYTES, pread(self->file, buf, REGION_BYTES, 0));
	EXPECT_EQ(-1, hs_check(buf, REGION_BYTES, 111, 0));

	/* I/O into the buffer lands there and nowhere in the new regions. */
	hs_fill(buf, REGION_BYTES, 112, 0);
	ASSERT_EQ((ssize_t)REGION_BYTES, pwrite(self->file, buf, REGION_BYTES,
				       REGION_BYTES));
	ASSERT_EQ((int)REGION_BYTES, rw_fixed(&ring, false, self->file, p,
					 REGION_BYTES, REGION_BYTES));
	for (i = 0; i < 2; i++) {
		for (j = 0; j < (int)REGION_BYTES; j += 4096) {
			if ((unsigned char)q[i][j] != 0xee ||
			    (unsigned char)q[i][j + 4095] != 0xee)
				break;
		}
		EXPECT_EQ((int)REGION_BYTES, j)
			TH_LOG("new region %d changed at %d", i, j);
	}
	memset(buf, 0, REGION_BYTES);
	ASSERT_EQ((int)REGION_BYTES, rw_fixed(&ring, true, self->file, p,
					 REGION_BYTES, 2 * REGION_BYTES));
	ASSERT_EQ((ssize_t)REGION_BYTES, pread(self->file, buf, REGION_BYTES,
				      2 * REGION_BYTES));
	EXPECT_EQ(-1, hs_check(buf, REGION_BYTES, 112, 0));
	free(buf);

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, munmap(q[i], REGION_BYTES));
		ASSERT_EQ(0, hs_destroy(fd2, fresh[i].id));
	}
	ASSERT_EQ(0, close(fd2));

	/* Still pinned: the pool is short of exactly those pages. */
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.hp_free - REGION_PAGES, now.hp_free);
	check_still_counted(_metadata, &self->base, c.id);

	/* The ring goes: the region is freed, the pages come back. */
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, hs_wait_unlisted(c.id, HS_FREE_TIMEOUT_MS));
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS))
		TH_LOG("free pages %lld/%lld rsvd %lld/%lld", now.hp_free,
		       self->base.hp_free, now.hp_rsvd, self->base.hp_rsvd);
}

TEST_HARNESS_MAIN
