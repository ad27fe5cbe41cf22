// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: O_DIRECT I/O through fixed buffers of a set - every buffer
 * is written to the disk with write_fixed at its index (each huge page
 * its own table entry), read back into other buffers with read_fixed, and
 * checked byte for byte, in both layouts (an iovec per huge page, one per
 * buffer) and through table slots shared with a second set; a buffer
 * crossing into the next huge page is refused by the kernel (EFAULT:
 * each entry covers its page's buffers only); a read lands in its buffer
 * and nowhere else. The target is $HS_URING_DISK (the VM's scratch virtio
 * disk, /dev/vda, from 16 MiB on), else a file in $TMPDIR; opening it
 * with O_DIRECT must work - nothing is skipped.
 */
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "hs_uring_test.h"

#define DISK_OFF	(16ULL << 20)	/* /dev/vda below this is kmod/odirect's */
#define SPAN		(16ULL << 20)	/* what this test may write */

FIXTURE(fixed_io) {
	struct io_uring ring;
	int fd;
	uint64_t off;		/* where on the target this test writes */
	char path[256];
	uint64_t seed;
	struct hs_usnap base;
};

FIXTURE_SETUP(fixed_io)
{
	const char *disk = getenv("HS_URING_DISK");
	const char *tmp = getenv("TMPDIR");
	struct stat st;
	uint64_t size = 0;

	ASSERT_EQ(0, io_uring_queue_init(64, &self->ring, 0));
	self->seed = (uint64_t)hs_ms() ^ ((uint64_t)getpid() << 32);
	if (disk && *disk) {
		snprintf(self->path, sizeof(self->path), "%s", disk);
		self->fd = open(disk, O_RDWR | O_DIRECT | O_CLOEXEC);
		ASSERT_LE(0, self->fd) TH_LOG("%s: %s", disk, strerror(errno));
		ASSERT_EQ(0, fstat(self->fd, &st));
		if (S_ISBLK(st.st_mode)) {
			ASSERT_EQ(0, ioctl(self->fd, BLKGETSIZE64, &size));
		} else {
			size = (uint64_t)st.st_size;
		}
		ASSERT_LE(DISK_OFF + SPAN, size)
			TH_LOG("%s: %llu bytes; the test writes %llu MiB from %llu MiB",
			       disk, (unsigned long long)size, SPAN >> 20,
			       DISK_OFF >> 20);
		self->off = DISK_OFF;
		self->path[0] = '\0';	/* nothing to remove */
	} else {
		snprintf(self->path, sizeof(self->path), "%s/hs-uring-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		self->fd = mkstemp(self->path);
		ASSERT_LE(0, self->fd);
		close(self->fd);
		/* O_DIRECT must work where the test writes; it is not skipped. */
		self->fd = open(self->path, O_RDWR | O_DIRECT | O_CLOEXEC);
		ASSERT_LE(0, self->fd) TH_LOG("%s: O_DIRECT: %s (set TMPDIR to a disk file system)",
					      self->path, strerror(errno));
		unlink(self->path);
		ASSERT_EQ(0, ftruncate(self->fd, (off_t)SPAN));
		self->off = 0;
	}
	hs_usnap(&self->base);
}

FIXTURE_TEARDOWN(fixed_io)
{
	struct hs_usnap now;

	close(self->fd);
	io_uring_queue_exit(&self->ring);
	EXPECT_EQ(0, hs_usnap_wait(&self->base, &now, getpid()))
		TH_LOG("before: " HS_USNAP_FMT "; after: " HS_USNAP_FMT,
		       HS_USNAP_ARGS(&self->base), HS_USNAP_ARGS(&now));
}

/* One fixed read or write of @len at @buf, file offset @off: the result. */
static int rw_fixed(struct io_uring *ring, bool write, int fd, void *buf,
		    unsigned int len, uint64_t off, int index)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	if (write)
		io_uring_prep_write_fixed(sqe, fd, buf, len, off, index);
	else
		io_uring_prep_read_fixed(sqe, fd, buf, len, off, index);
	ret = hs_next_cqe(ring, &cqe, HS_WAIT_MS);
	return ret ? ret : cqe.res;
}

/*
 * Write each buffer of @s (filled with its own pattern) at @base + i *
 * size, with write_fixed at its index; then read each back into buffer
 * (i + 1) % count with read_fixed and check it.
 */
static void round_trip(struct __test_metadata *_metadata,
		       FIXTURE_DATA(fixed_io) *self, hs_uring_bufs_t *s,
		       uint64_t base)
{
	unsigned int n = hs_uring_bufs_count(s), i;
	size_t size = hs_uring_bufs_size(s);
	uint64_t seed = self->seed++;

	ASSERT_LE(base + (uint64_t)n * size, self->off + SPAN);
	for (i = 0; i < n; i++) {
		void *b = hs_uring_bufs_buf(s, i);

		hs_pat_fill(b, size, seed, (uint64_t)i * size);
		ASSERT_EQ((int)size, rw_fixed(&self->ring, true, self->fd, b,
					      (unsigned int)size,
					      base + (uint64_t)i * size,
					      hs_uring_bufs_index(s, i)))
			TH_LOG("write_fixed of buffer %u", i);
	}
	for (i = 0; i < n; i++) {
		unsigned int j = (i + 1) % n;
		void *b = hs_uring_bufs_buf(s, j);

		memset(b, 0, size);
		ASSERT_EQ((int)size, rw_fixed(&self->ring, false, self->fd, b,
					      (unsigned int)size,
					      base + (uint64_t)i * size,
					      hs_uring_bufs_index(s, j)))
			TH_LOG("read_fixed into buffer %u", j);
		ASSERT_EQ(-1, hs_pat_check(b, size, seed, (uint64_t)i * size))
			TH_LOG("buffer %u, read back from %u's place", j, i);
	}
}

TEST_F(fixed_io, per_page_iovecs)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED };
	hs_uring_bufs_t *s;

	/* 12 KiB buffers: 170 a huge page, 3 pages' worth. */
	s = hs_uring_bufs_create(&self->ring, "fixed_page", 400, 12288, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	ASSERT_EQ(2, hs_uring_bufs_index(s, 399));
	round_trip(_metadata, self, s, self->off);
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

TEST_F(fixed_io, an_iovec_per_buffer)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED | HS_UBUF_IOV_EACH };
	hs_uring_bufs_t *s;

	s = hs_uring_bufs_create(&self->ring, "fixed_each", 96, 65536, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	round_trip(_metadata, self, s, self->off);
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

TEST_F(fixed_io, buffers_bigger_than_a_huge_page)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED };
	hs_uring_bufs_t *s;

	s = hs_uring_bufs_create(&self->ring, "fixed_big", 3, 3 << 20, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	round_trip(_metadata, self, s, self->off);
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

TEST_F(fixed_io, sets_in_shared_table_slots)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED | HS_UBUF_FIXED_SLOTS };
	hs_uring_bufs_t *a, *b;

	ASSERT_EQ(0, io_uring_register_buffers_sparse(&self->ring, 16));
	o.fixed_base = 3;
	a = hs_uring_bufs_create(&self->ring, "slot_a", 64, 32768, &o);
	ASSERT_NE(NULL, a) TH_LOG("%s", hs_uring_last_error());
	o.fixed_base = 4;
	b = hs_uring_bufs_create(&self->ring, "slot_b", 130, 16384, &o);
	ASSERT_NE(NULL, b) TH_LOG("%s", hs_uring_last_error());
	ASSERT_EQ(5, hs_uring_bufs_index(b, 129));
	round_trip(_metadata, self, a, self->off);
	round_trip(_metadata, self, b, self->off + (4ULL << 20));
	ASSERT_EQ(0, hs_uring_bufs_destroy(a));
	ASSERT_EQ(0, hs_uring_bufs_destroy(b));
	ASSERT_EQ(0, io_uring_unregister_buffers(&self->ring));
}

/*
 * Each table entry covers its own huge page's buffers: I/O that runs from
 * the last buffer of a page into the next page is outside the entry.
 */
TEST_F(fixed_io, io_stays_inside_the_entry)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED };
	hs_uring_bufs_t *s;
	char *last, *next;

	/* 1 MiB buffers: two a huge page, four in all. */
	s = hs_uring_bufs_create(&self->ring, "fixed_edge", 4, 1 << 20, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	last = hs_uring_bufs_buf(s, 1);
	next = hs_uring_bufs_buf(s, 2);
	ASSERT_EQ(last + (1 << 20), next);	/* adjacent, in two pages */
	ASSERT_EQ(-EFAULT, rw_fixed(&self->ring, false, self->fd, last,
				    2 << 20, self->off, hs_uring_bufs_index(s, 1)));
	/* A read into buffer 1 leaves buffers 0 and 2 as they were. */
	memset(hs_uring_bufs_buf(s, 0), 0x5a, 1 << 20);
	memset(next, 0xa5, 1 << 20);
	hs_pat_fill(last, 1 << 20, self->seed, 0);
	ASSERT_EQ(1 << 20, rw_fixed(&self->ring, true, self->fd, last, 1 << 20,
				    self->off, hs_uring_bufs_index(s, 1)));
	memset(last, 0, 1 << 20);
	ASSERT_EQ(1 << 20, rw_fixed(&self->ring, false, self->fd, last, 1 << 20,
				    self->off, hs_uring_bufs_index(s, 1)));
	ASSERT_EQ(-1, hs_pat_check(last, 1 << 20, self->seed, 0));
	ASSERT_EQ(0x5a, ((unsigned char *)hs_uring_bufs_buf(s, 0))[(1 << 20) - 1]);
	ASSERT_EQ(0xa5, (unsigned char)next[0]);
	/* Part of a buffer, at an offset inside it, is fine. */
	ASSERT_EQ(8192, rw_fixed(&self->ring, false, self->fd, last + 4096,
				 8192, self->off + 4096, hs_uring_bufs_index(s, 1)));
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

TEST_HARNESS_MAIN
