// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: O_DIRECT I/O on a block device straight from and into region
 * memory (the kernel pins the pages with GUP; no page cache copy). Needs a
 * scratch virtio disk as /dev/vda, which the "main" VM profile attaches
 * (tools/vm/run --disk FILE --kmod virtio_blk --kmod virtio_pci): without
 * it the test fails, it does not skip. The disk is overwritten, so the
 * test refuses a /dev/vda that is mounted, partitioned or claimed.
 *
 * Defined behaviour: a 4 MiB O_DIRECT write from one region and a read
 * into another give back the same bytes; buffers at odd 4 KiB offsets
 * across a 2 MiB page boundary work for reads and writes, and touch no
 * byte outside the buffer; a buffer spanning two regions' adjacent
 * mappings works too. Each run writes a new pattern, so old disk contents
 * cannot pass for new.
 */
#include <linux/fs.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

#define DISK		"/dev/vda"
#define BYTES		(2 * HS_2M)
#define DISK_NEEDED	(16ULL << 20)

FIXTURE(odirect) {
	int fd;
	int disk;
	struct hugeslab_create src_c, dst_c;
	char *src, *dst;
	uint64_t seed;
	struct hs_snap base;
};

/* Whether /proc/mounts or /proc/swaps names /dev/vda or a partition. */
static bool disk_in_use(void)
{
	static const char *const files[] = { "/proc/mounts", "/proc/swaps" };
	char buf[16384];
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (hs_read_file(files[i], buf, sizeof(buf)) >= 0 &&
		    strstr(buf, DISK))
			return true;
	return false;
}

FIXTURE_SETUP(odirect)
{
	unsigned long long size = 0;
	struct stat st;

	self->fd = hs_open();
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s (is hugeslab.ko loaded?)",
				      HUGESLAB_DEVICE, strerror(errno));
	ASSERT_EQ(0, hs_snap(&self->base))
		TH_LOG("%s/stats unreadable: debugfs not mounted?", HS_DEBUGFS);

	ASSERT_EQ(0, stat(DISK, &st))
		TH_LOG("%s: %s: the VM needs a scratch disk for O_DIRECT (the \"main\" profile: tools/vm/run --disk FILE --kmod virtio_blk --kmod virtio_pci)",
		       DISK, strerror(errno));
	ASSERT_TRUE(S_ISBLK(st.st_mode)) TH_LOG("%s is not a block device",
						DISK);
	ASSERT_FALSE(disk_in_use())
		TH_LOG("%s is mounted or swapped on: not a scratch disk", DISK);
	ASSERT_NE(0, access("/sys/block/vda/vda1", F_OK))
		TH_LOG("%s has partitions: not a scratch disk", DISK);
	/* O_EXCL: fails with EBUSY if anything holds the disk. */
	self->disk = open(DISK, O_RDWR | O_DIRECT | O_EXCL | O_CLOEXEC);
	ASSERT_LE(0, self->disk) TH_LOG("open %s O_DIRECT: %s", DISK,
					strerror(errno));
	ASSERT_EQ(0, ioctl(self->disk, BLKGETSIZE64, &size));
	ASSERT_LE(DISK_NEEDED, size) TH_LOG("%s: %llu bytes, need %llu", DISK,
					    size, DISK_NEEDED);

	ASSERT_EQ(0, hs_create(self->fd, BYTES, &self->src_c));
	ASSERT_EQ(0, hs_create(self->fd, BYTES, &self->dst_c));
	self->src = hs_map(self->fd, &self->src_c);
	ASSERT_NE(MAP_FAILED, self->src);
	self->dst = hs_map(self->fd, &self->dst_c);
	ASSERT_NE(MAP_FAILED, self->dst);
	self->seed = (uint64_t)getpid() << 32 ^ (uint64_t)hs_now_ms();
}

FIXTURE_TEARDOWN_PARENT(odirect)
{
	HS_EXPECT_BASELINE(&self->base);
}

TEST_F(odirect, write_then_read_4m)
{
	hs_fill(self->src, BYTES, self->seed, 0);
	ASSERT_EQ((ssize_t)BYTES, pwrite(self->disk, self->src, BYTES, 0))
		TH_LOG("pwrite: %s", strerror(errno));
	/* Something else in the destination, so a no-op read cannot pass. */
	hs_fill(self->dst, BYTES, ~self->seed, 0);
	ASSERT_EQ((ssize_t)BYTES, pread(self->disk, self->dst, BYTES, 0))
		TH_LOG("pread: %s", strerror(errno));
	EXPECT_EQ(-1, hs_check(self->dst, BYTES, self->seed, 0));
	/* The source is untouched by being written out. */
	EXPECT_EQ(-1, hs_check(self->src, BYTES, self->seed, 0));
}

/* Into an odd 4 KiB offset across the 2 MiB boundary, and out of one. */
TEST_F(odirect, across_page_boundary)
{
	const unsigned long off = HS_2M - 3 * 4096;	/* 4 KiB page 509 */
	const unsigned long len = 1 << 20;
	const off_t at = 4 << 20;			/* on the disk */

	hs_fill(self->src, BYTES, self->seed, 0);
	ASSERT_EQ((ssize_t)len, pwrite(self->disk, self->src, len, at));

	hs_fill(self->dst, BYTES, ~self->seed, 0);
	ASSERT_EQ((ssize_t)len, pread(self->disk, self->dst + off, len, at))
		TH_LOG("pread: %s", strerror(errno));
	EXPECT_EQ(-1, hs_check(self->dst + off, len, self->seed, 0));
	/* Not a byte outside the buffer. */
	EXPECT_EQ(-1, hs_check(self->dst, off, ~self->seed, 0));
	EXPECT_EQ(-1, hs_check(self->dst + off + len, BYTES - off - len,
			       ~self->seed, off + len));

	/* Written from the same odd offset, read back aligned. */
	ASSERT_EQ((ssize_t)len, pwrite(self->disk, self->src + off, len, at))
		TH_LOG("pwrite: %s", strerror(errno));
	ASSERT_EQ((ssize_t)len, pread(self->disk, self->dst, len, at));
	EXPECT_EQ(-1, hs_check(self->dst, len, self->seed, off));
}

/* A buffer over two regions' adjacent mappings: one I/O, two files. */
TEST_F(odirect, across_two_regions)
{
	/* 20 KiB before the end of the first region: 4 KiB page 1019. */
	const unsigned long off = BYTES - 5 * 4096, len = 1 << 20;
	const unsigned long head = BYTES - off;	/* bytes in the first */
	const off_t at = 8 << 20;
	char *area, *lo, *hi;

	hs_fill(self->src, BYTES, self->seed, 0);
	ASSERT_EQ((ssize_t)BYTES, pwrite(self->disk, self->src, BYTES, at));

	/* dst's region, then src's, back to back. */
	area = mmap(NULL, 3 * BYTES, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	lo = (char *)(((unsigned long)area + HS_2M - 1) & ~(HS_2M - 1));
	hi = lo + BYTES;
	ASSERT_EQ(lo, mmap(lo, BYTES, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_FIXED, self->fd,
			   self->dst_c.offset));
	ASSERT_EQ(hi, mmap(hi, BYTES, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_FIXED, self->fd,
			   self->src_c.offset));
	memset(lo, 0x5a, 2 * BYTES);

	ASSERT_EQ((ssize_t)len, pread(self->disk, lo + off, len, at))
		TH_LOG("pread: %s", strerror(errno));
	EXPECT_EQ(-1, hs_check(lo + off, len, self->seed, 0));
	EXPECT_EQ(0x5a, lo[off - 1]);
	EXPECT_EQ(0x5a, lo[off + len]);
	/* Through the regions' own mappings: each got its part. */
	EXPECT_EQ(-1, hs_check(self->dst + off, head, self->seed, 0));
	EXPECT_EQ(-1, hs_check(self->src, len - head, self->seed, head));
	ASSERT_EQ(0, munmap(area, 3 * BYTES));
}

TEST_HARNESS_MAIN
