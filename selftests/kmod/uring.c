// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: region memory can be pinned by io_uring - registering it as
 * fixed buffers succeeds, IORING_OP_READ_FIXED and WRITE_FIXED move real
 * data between it and a file in /tmp (across a 2 MiB page boundary), and
 * pages still registered after their region is destroyed and unmapped stay
 * counted for the region, are not handed to a new region, and are freed
 * with it once unregistered.
 */
#include <liburing.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

FIXTURE(uring) {
	int fd;
	int file;
	struct io_uring ring;
	struct hugeslab_create c;
	char *p;
	struct hs_snap base;
};

FIXTURE_SETUP(uring)
{
	char path[] = "/tmp/hs-uring-XXXXXX";
	int err;

	self->fd = hs_open();
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: is hugeslab.ko loaded?",
		     HUGESLAB_DEVICE);
	ASSERT_LE(0, self->fd);
	if (hs_snap(&self->base))
		SKIP(return, "%s/stats unreadable: debugfs not mounted?",
		     HS_DEBUGFS);

	ASSERT_EQ(0, hs_create(self->fd, 2 * HS_2M, &self->c));
	self->p = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, self->p);

	self->file = mkstemp(path);
	ASSERT_LE(0, self->file);
	unlink(path);

	err = io_uring_queue_init(8, &self->ring, 0);
	if (err == -ENOSYS)
		SKIP(return, "io_uring not available");
	ASSERT_EQ(0, err) TH_LOG("io_uring_queue_init: %s", strerror(-err));
}

/* The ring went with the test process; it unpins asynchronously. */
FIXTURE_TEARDOWN_PARENT(uring)
{
	HS_EXPECT_BASELINE(&self->base);
}

/* One fixed-buffer read or write; its result (bytes or -errno). */
static int rw_fixed(struct io_uring *ring, bool write, int fd, void *buf,
		    unsigned int len, off_t off, int index)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -EBUSY;
	if (write)
		io_uring_prep_write_fixed(sqe, fd, buf, len, off, index);
	else
		io_uring_prep_read_fixed(sqe, fd, buf, len, off, index);
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

TEST_F(uring, register_whole_region)
{
	struct iovec iov = { .iov_base = self->p, .iov_len = self->c.bytes };

	ASSERT_EQ(0, io_uring_register_buffers(&self->ring, &iov, 1));
	EXPECT_EQ(0, io_uring_unregister_buffers(&self->ring));
}

TEST_F(uring, register_each_page)
{
	struct iovec iov[2] = {
		{ .iov_base = self->p, .iov_len = HS_2M },
		{ .iov_base = self->p + HS_2M, .iov_len = HS_2M },
	};

	ASSERT_EQ(0, io_uring_register_buffers(&self->ring, iov, 2));
	EXPECT_EQ(0, io_uring_unregister_buffers(&self->ring));
}

/* From region memory to the file, across the page boundary. */
TEST_F(uring, write_fixed)
{
	struct iovec iov = { .iov_base = self->p, .iov_len = self->c.bytes };
	const unsigned int len = HS_2M;
	char *src = self->p + HS_2M - 4096;	/* across the page boundary */
	char *back;

	hs_fill(self->p, self->c.bytes, 21, 0);
	ASSERT_EQ(0, io_uring_register_buffers(&self->ring, &iov, 1));
	ASSERT_EQ((int)len, rw_fixed(&self->ring, true, self->file, src, len,
				     4096, 0));

	back = malloc(len);
	ASSERT_NE(NULL, back);
	ASSERT_EQ((ssize_t)len, pread(self->file, back, len, 4096));
	EXPECT_EQ(-1, hs_check(back, len, 21, HS_2M - 4096));
	free(back);
}

/* From the file into region memory, across the page boundary. */
TEST_F(uring, read_fixed)
{
	struct iovec iov = { .iov_base = self->p, .iov_len = self->c.bytes };
	const unsigned int len = HS_2M;
	char *dst = self->p + HS_2M - 4096;	/* across the page boundary */
	char *src;

	src = malloc(len);
	ASSERT_NE(NULL, src);
	hs_fill(src, len, 22, 0);
	ASSERT_EQ((ssize_t)len, pwrite(self->file, src, len, 0));
	free(src);

	ASSERT_EQ(0, io_uring_register_buffers(&self->ring, &iov, 1));
	ASSERT_EQ((int)len, rw_fixed(&self->ring, false, self->file, dst, len,
				     0, 0));
	EXPECT_EQ(-1, hs_check(dst, len, 22, 0));
	/* The bytes around it were not touched. */
	EXPECT_EQ(-1, hs_check_zero(self->p, HS_2M - 4096));
	EXPECT_EQ(-1, hs_check_zero(dst + len, self->c.bytes - HS_2M - len +
				    4096));
}

/*
 * Registered, then destroyed and unmapped: the process has nothing of the
 * region, but the ring does; the module still counts it, the pinned pages
 * keep their data and are not given to a new region until the ring lets go
 * of them, and then the region is freed.
 */
TEST_F(uring, pinned_pages_outlive_region)
{
	struct iovec iov = { .iov_base = self->p, .iov_len = self->c.bytes };
	const unsigned long long bytes = self->c.bytes;
	struct hugeslab_create fresh;
	char *buf, *q, *old = self->p;
	struct hs_snap now;

	hs_fill(old, bytes, 23, 0);
	ASSERT_EQ(0, io_uring_register_buffers(&self->ring, &iov, 1));
	ASSERT_EQ(0, munmap(old, bytes));
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
	/* The kernel holds its pages for the ring, and the module counts them. */
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.regions + 1, now.regions);
	EXPECT_EQ(self->base.used_bytes + (long long)bytes, now.used_bytes);
	EXPECT_EQ(self->base.hp_free - (long long)(bytes / HS_2M),
		  now.hp_free);

	/* New regions get other pages. */
	ASSERT_EQ(0, hs_create(self->fd, bytes, &fresh));
	q = hs_map(self->fd, &fresh);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(-1, hs_check_zero(q, bytes));
	memset(q, 0xee, bytes);

	/* The registered buffer still holds what was written before. */
	ASSERT_EQ((int)bytes, rw_fixed(&self->ring, true, self->file,
				       old, bytes, 0, 0));
	buf = malloc(bytes);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ((ssize_t)bytes, pread(self->file, buf, bytes, 0));
	EXPECT_EQ(-1, hs_check(buf, bytes, 23, 0));
	free(buf);
	ASSERT_EQ(0, munmap(q, bytes));
	ASSERT_EQ(0, hs_destroy(self->fd, fresh.id));

	/* Unregistering gives the pages back to the pool. */
	ASSERT_EQ(0, io_uring_unregister_buffers(&self->ring));
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS))
		TH_LOG("free pages %lld/%lld", now.hp_free,
		       self->base.hp_free);
}

TEST_HARNESS_MAIN
