// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: what integrity lockdown does to the module's debugfs files.
 * Debian's 6.1 and 6.12 kernels behave the same: debugfs' lockdown check
 * lets a file be opened when its mode has no bits beyond 0444, it is
 * opened read-only and its fops have no ioctl or mmap; everything else is
 * EPERM, even for root. So root still reads stats, regions and pools
 * (0444) and fail_sites (0400), and what they say agrees with sysfs and
 * the query; fail_nth (0600) cannot be opened at all, not even to read;
 * no file can be opened for writing, and chmod is refused. Debugfs stays
 * closed to nobody (its root directory is 0700), lockdown or not.
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "hs_lockdown.h"

/* Open @name in the module's debugfs directory: 0, or -errno. */
static int dbg_open(const char *name, int flags)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), HS_DEBUGFS "/%s", name);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

FIXTURE(dbg) {
	int fd;
	struct hs_ld_snap base;
	struct hugeslab_create c;
};

FIXTURE_SETUP(dbg)
{
	HS_ASSERT_INTEGRITY();
	self->fd = hs_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("%s: %s: is hugeslab.ko loaded?", HUGESLAB_DEVICE,
		       strerror(errno));
	ASSERT_EQ(0, hs_ld_snap(&self->base));
	ASSERT_EQ(0, geteuid());
	ASSERT_EQ(0, hs_create(self->fd, 3 * HS_2M, &self->c));
}

FIXTURE_TEARDOWN_PARENT(dbg)
{
	HS_EXPECT_LD_BASELINE(&self->base);
}

TEST_F(dbg, root_reads_0444_files)
{
	static const char *const files[] = { "stats", "regions", "pools",
					     "fail_sites" };
	struct hugeslab_query q;
	struct hs_dbg_region r;
	struct hs_attrs a;
	char buf[4096];
	ssize_t n;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		EXPECT_EQ(0, dbg_open(files[i], O_RDONLY))
			TH_LOG("root cannot read %s under lockdown", files[i]);
	}

	n = hs_read_file(HS_DEBUGFS "/stats", buf, sizeof(buf));
	ASSERT_LT(0, n) TH_LOG("stats: %s", strerror((int)-n));
	EXPECT_EQ(0, strncmp(buf, "hugeslab stats ", 15));
	ASSERT_EQ(0, hs_query(self->fd, &q));
	hs_read_attrs(&a);
	EXPECT_EQ((long long)q.used_bytes, hs_field(buf, "used_bytes", ' '));
	EXPECT_EQ((long long)q.regions, hs_field(buf, "regions", ' '));
	EXPECT_EQ((long long)q.failed, hs_field(buf, "failed_requests", ' '));
	EXPECT_EQ((long long)q.reserve_bytes,
		  hs_field(buf, "reserved_bytes", ' '));
	EXPECT_EQ((long long)a.val[HS_A_PEAK], hs_field(buf, "peak_bytes", ' '));
	EXPECT_EQ((long long)a.val[HS_A_FREE], hs_field(buf, "free_bytes", ' '));

	/* The region is listed, with its size. */
	ASSERT_EQ(1, hs_dbg_find(self->c.id, &r));
	EXPECT_EQ(self->c.bytes, r.bytes);
	EXPECT_EQ(getpid(), r.pid);

	n = hs_read_file(HS_DEBUGFS "/pools", buf, sizeof(buf));
	ASSERT_LT(0, n);
	EXPECT_EQ(0, strncmp(buf, "hugeslab pools ", 15));
}

TEST_F(dbg, writable_file_refused_even_for_reading)
{
	EXPECT_EQ(-EPERM, dbg_open("fail_nth", O_RDONLY));
	EXPECT_EQ(-EPERM, dbg_open("fail_nth", O_WRONLY));
	EXPECT_EQ(-EPERM, dbg_open("fail_nth", O_RDWR));
}

TEST_F(dbg, no_writes_no_chmod)
{
	static const char *const files[] = { "stats", "regions", "pools",
					     "fail_sites" };
	struct stat st;
	size_t i;

	/* Root passes the permission check; lockdown says no. */
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		EXPECT_EQ(-EPERM, dbg_open(files[i], O_WRONLY))
			TH_LOG("%s", files[i]);
	}
	EXPECT_EQ(-1, chmod(HS_DEBUGFS "/stats", 0400));
	EXPECT_EQ(EPERM, errno);
	ASSERT_EQ(0, stat(HS_DEBUGFS "/stats", &st));
	EXPECT_EQ(0444, st.st_mode & 07777);
}

TEST_F(dbg, closed_to_nobody)
{
	pid_t pid;
	int status;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (hs_become_nobody())
			_exit(1);
		_exit(dbg_open("stats", O_RDONLY) == -EACCES ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("nobody could %s debugfs' stats",
		       WEXITSTATUS(status) == 1 ? "not become nobody to open" :
		       "open, or failed otherwise than EACCES on,");
}

TEST_HARNESS_MAIN
