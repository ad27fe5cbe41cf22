// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: examples/uring_copy copies with O_DIRECT through hugeslab
 * fixed buffers - a file whose length is not a multiple of the block size
 * (its tail written whole, the copy cut to length), with many small
 * buffers and with a few big ones; a range into the middle of an existing
 * file, leaving the bytes around it alone; and on the VM's scratch disk
 * ($HS_URING_DISK, /dev/vda) a range of the device to another range of
 * it. Each copy is checked here too, byte for byte against the pattern
 * written, not only by the program's own comparison; bad usage and a
 * missing file are refused with exit status 2 and 1.
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "hs_run.h"

#define DISK_SRC	(32ULL << 20)	/* fixed_io.c uses 16..32 MiB */
#define DISK_DST	(48ULL << 20)
#define DISK_LEN	(8ULL << 20)

FIXTURE(copy) {
	char dir[256];
	char src[300], dst[300];
	uint64_t seed;
};

FIXTURE_SETUP(copy)
{
	const char *tmp = getenv("TMPDIR");

	ASSERT_NE(HS_BACKEND_NONE, hs_backend());
	snprintf(self->dir, sizeof(self->dir), "%s/hs-copy-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->src, sizeof(self->src), "%s/src", self->dir);
	snprintf(self->dst, sizeof(self->dst), "%s/dst", self->dir);
	self->seed = (uint64_t)hs_ms() + (uint64_t)getpid();
}

FIXTURE_TEARDOWN(copy)
{
	unlink(self->src);
	unlink(self->dst);
	rmdir(self->dir);
}

/* Write @len pattern bytes (seed, from position @pos) at @off of @path. */
static int put_pattern(const char *path, uint64_t off, uint64_t len,
		       uint64_t seed, uint64_t pos, int flags)
{
	size_t chunk = 1 << 20;
	char *buf;
	uint64_t done;
	int fd, ret = 0;

	if (posix_memalign((void **)&buf, 4096, chunk))
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
	if (fd < 0) {
		free(buf);
		return -1;
	}
	for (done = 0; done < len && !ret; done += chunk) {
		size_t n = len - done < chunk ? (size_t)(len - done) : chunk;

		hs_pat_fill(buf, n, seed, pos + done);
		if (pwrite(fd, buf, n, (off_t)(off + done)) != (ssize_t)n)
			ret = -1;
	}
	if (fsync(fd))
		ret = -1;
	close(fd);
	free(buf);
	return ret;
}

/* Check @len bytes at @off of @path against the pattern: -1 if all are
 * right, else the first wrong one's index (or -2: unreadable). */
static long long check_pattern(const char *path, uint64_t off, uint64_t len,
			       uint64_t seed, uint64_t pos, int flags)
{
	size_t chunk = 1 << 20;
	long long bad = -1, at;
	uint64_t done;
	char *buf;
	int fd;

	if (posix_memalign((void **)&buf, 4096, chunk))
		return -2;
	fd = open(path, O_RDONLY | O_CLOEXEC | flags);
	if (fd < 0) {
		free(buf);
		return -2;
	}
	for (done = 0; done < len && bad == -1; done += chunk) {
		size_t n = len - done < chunk ? (size_t)(len - done) : chunk;
		/* O_DIRECT reads whole blocks. */
		size_t io = (n + 4095) & ~(size_t)4095;

		if (pread(fd, buf, io, (off_t)(off + done)) < (ssize_t)n)
			bad = -2;
		else if ((at = hs_pat_check(buf, n, seed, pos + done)) >= 0)
			bad = (long long)done + at;
	}
	close(fd);
	free(buf);
	return bad;
}

static void copy_ok(struct __test_metadata *_metadata, const char *const *args)
{
	struct hs_proc p;

	ASSERT_EQ(0, hs_proc_run(&p, "uring_copy", args, 120000))
		TH_LOG("uring_copy: %s", p.buf);
	TH_LOG("%s", p.buf);
	ASSERT_NE(NULL, strstr(p.buf, "verified"));
}

TEST_F(copy, a_file_with_a_partial_last_block)
{
	const uint64_t len = (20ULL << 20) + 123;
	const char *const args[] = { self->src, self->dst, NULL };
	struct stat st;

	ASSERT_EQ(0, put_pattern(self->src, 0, len, self->seed, 0, O_TRUNC));
	copy_ok(_metadata, args);
	ASSERT_EQ(0, stat(self->dst, &st));
	ASSERT_EQ(len, (uint64_t)st.st_size);
	ASSERT_EQ(-1, check_pattern(self->dst, 0, len, self->seed, 0, 0));
}

TEST_F(copy, many_small_buffers)
{
	const uint64_t len = 3ULL << 20;
	const char *const args[] = { "--size", "4096", "--depth", "64",
				     self->src, self->dst, NULL };

	ASSERT_EQ(0, put_pattern(self->src, 0, len, self->seed, 0, O_TRUNC));
	copy_ok(_metadata, args);
	ASSERT_EQ(-1, check_pattern(self->dst, 0, len, self->seed, 0, 0));
}

TEST_F(copy, a_few_big_buffers)
{
	const uint64_t len = 24ULL << 20;
	const char *const args[] = { "--size", "4194304", "--depth", "2",
				     self->src, self->dst, NULL };

	ASSERT_EQ(0, put_pattern(self->src, 0, len, self->seed, 0, O_TRUNC));
	copy_ok(_metadata, args);
	ASSERT_EQ(-1, check_pattern(self->dst, 0, len, self->seed, 0, 0));
}

/* Bytes 1 MiB + 8 KiB .. of src to 2 MiB .. of dst; dst's others stay. */
TEST_F(copy, a_range_into_an_existing_file)
{
	const char *const args[] = {
		"--length", "1048576", "--src-offset", "1056768",
		"--dst-offset", "2097152", self->src, self->dst, NULL,
	};

	ASSERT_EQ(0, put_pattern(self->src, 0, 4 << 20, self->seed, 0, O_TRUNC));
	ASSERT_EQ(0, put_pattern(self->dst, 0, 4 << 20, self->seed + 1, 0, O_TRUNC));
	copy_ok(_metadata, args);
	ASSERT_EQ(-1, check_pattern(self->dst, 2 << 20, 1 << 20, self->seed, 1056768, 0));
	ASSERT_EQ(-1, check_pattern(self->dst, 0, 2 << 20, self->seed + 1, 0, 0));
	ASSERT_EQ(-1, check_pattern(self->dst, 3 << 20, 1 << 20, self->seed + 1, 3 << 20, 0));
}

/* On the VM's scratch disk: one range of the device to another. */
TEST_F(copy, between_ranges_of_a_block_device)
{
	const char *env = getenv("HS_URING_DISK");
	/* On the host: a file, the same way. */
	const char *disk = env && *env ? env : self->src;
	char len[32], src[32], dst[32];
	const char *const args[] = {
		"--length", len, "--src-offset", src, "--dst-offset", dst,
		disk, disk, NULL,
	};

	snprintf(len, sizeof(len), "%llu", DISK_LEN);
	snprintf(src, sizeof(src), "%llu", DISK_SRC);
	snprintf(dst, sizeof(dst), "%llu", DISK_DST);
	ASSERT_EQ(0, put_pattern(disk, DISK_SRC, DISK_LEN, self->seed, 0, O_DIRECT));
	/* Something else where the copy goes, so old bytes cannot pass. */
	ASSERT_EQ(0, put_pattern(disk, DISK_DST, DISK_LEN, self->seed + 7, 0, O_DIRECT));
	copy_ok(_metadata, args);
	ASSERT_EQ(-1, check_pattern(disk, DISK_DST, DISK_LEN, self->seed, 0, O_DIRECT));
}

TEST_F(copy, bad_usage_and_missing_files)
{
	const char *const no_dst[] = { self->src, NULL };
	const char *const odd[] = { "--size", "1000", self->src, self->dst, NULL };
	const char *const missing[] = { "/nonexistent/x", self->dst, NULL };
	struct hs_proc p;

	ASSERT_EQ(0, put_pattern(self->src, 0, 8192, self->seed, 0, O_TRUNC));
	EXPECT_EQ(2, hs_proc_run(&p, "uring_copy", no_dst, 30000));
	EXPECT_NE(NULL, strstr(p.buf, "usage"));
	EXPECT_EQ(2, hs_proc_run(&p, "uring_copy", odd, 30000));
	EXPECT_EQ(1, hs_proc_run(&p, "uring_copy", missing, 30000));
	EXPECT_NE(NULL, strstr(p.buf, "/nonexistent/x"));
}

TEST_HARNESS_MAIN
