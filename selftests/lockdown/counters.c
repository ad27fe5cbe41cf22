// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: under kernel lockdown=integrity ("lockdown" VM profile;
 * the kernel must say [integrity] in /sys/kernel/security/lockdown, else
 * every test fails loudly), the module's counters in
 * /sys/class/misc/hugeslab/ are world-readable (0444): the user nobody
 * (uid 65534), who can open neither /dev/hugeslab nor debugfs, reads every
 * one of them, and while regions exist (one of them destroyed but still
 * mapped, and after a refused request) they equal what the query ioctl
 * says, and they follow the regions going away.
 */
#include "kselftest_harness.h"
#include "hs_lockdown.h"

/* What nobody saw, written into memory shared with the parent. */
struct seen {
	int ok;			/* the child got as far as reading */
	uid_t euid;
	int dev_err;		/* opening /dev/hugeslab */
	int dbg_err;		/* opening debugfs' stats */
	struct hs_attrs attrs;
};

/* Read the counters as nobody, in a child. 0, or -errno. */
static int read_as_nobody(struct seen *seen)
{
	int status, fd;
	pid_t pid;

	memset(seen, 0, sizeof(*seen));
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		if (hs_become_nobody())
			_exit(1);
		seen->euid = geteuid();
		fd = open(HUGESLAB_DEVICE, O_RDWR | O_CLOEXEC);
		seen->dev_err = fd < 0 ? errno : 0;
		fd = open(HS_DEBUGFS "/stats", O_RDONLY | O_CLOEXEC);
		seen->dbg_err = fd < 0 ? errno : 0;
		hs_read_attrs(&seen->attrs);
		seen->ok = 1;
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) && seen->ok ? 0 :
		-ECHILD;
}

/* nobody's view equals the query's (root's) view, attribute by attribute. */
static void check_as_nobody(struct __test_metadata *_metadata, int fd,
			    struct seen *seen)
{
	struct hugeslab_query q, q2;
	struct hs_attrs root, want;
	int i;

	ASSERT_EQ(0, hs_query(fd, &q));
	/* peak_bytes is not in the query; root's reading stands in. */
	hs_read_attrs(&root);
	ASSERT_EQ(0, read_as_nobody(seen));
	ASSERT_EQ(0, hs_query(fd, &q2));
	/* Nothing changed meanwhile, or the comparison means nothing. */
	ASSERT_EQ(q.used_bytes, q2.used_bytes);
	ASSERT_EQ(q.regions, q2.regions);
	ASSERT_EQ(q.failed, q2.failed);

	EXPECT_EQ(HS_NOBODY, seen->euid);
	EXPECT_EQ(EACCES, seen->dev_err) TH_LOG("nobody opened %s",
						HUGESLAB_DEVICE);
	EXPECT_EQ(EACCES, seen->dbg_err) TH_LOG("nobody opened debugfs");

	hs_attrs_from_query(&q, root.val[HS_A_PEAK], &want);
	for (i = 0; i < HS_A_COUNT; i++) {
		EXPECT_EQ(0, seen->attrs.err[i])
			TH_LOG("nobody cannot read %s: %s", hs_attr_names[i],
			       strerror(-seen->attrs.err[i]));
		EXPECT_EQ(want.val[i], seen->attrs.val[i])
			TH_LOG("%s: sysfs %llu, query %llu", hs_attr_names[i],
			       seen->attrs.val[i], want.val[i]);
	}
	EXPECT_LE(q.used_bytes, seen->attrs.val[HS_A_PEAK]);
}

FIXTURE(counters) {
	int fd;
	struct hs_ld_snap base;
	struct seen *seen;
};

FIXTURE_SETUP(counters)
{
	HS_ASSERT_INTEGRITY();
	self->fd = hs_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("%s: %s: is hugeslab.ko loaded?", HUGESLAB_DEVICE,
		       strerror(errno));
	ASSERT_EQ(0, hs_ld_snap(&self->base));
	self->seen = mmap(NULL, sizeof(*self->seen), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->seen);
}

FIXTURE_TEARDOWN_PARENT(counters)
{
	HS_EXPECT_LD_BASELINE(&self->base);
}

/* On its own, so that a kernel without lockdown is one clear failure. */
TEST(lockdown_is_integrity)
{
	HS_ASSERT_INTEGRITY();
}

TEST_F(counters, world_readable)
{
	struct stat st;
	char path[128];
	int i;

	for (i = 0; i < HS_A_COUNT; i++) {
		snprintf(path, sizeof(path), HS_SYSFS_DEV "/%s",
			 hs_attr_names[i]);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s: %s", path,
						     strerror(errno));
		EXPECT_TRUE(S_ISREG(st.st_mode));
		EXPECT_EQ(0444, st.st_mode & 07777) TH_LOG("%s", path);
	}
}

TEST_F(counters, nobody_sees_what_the_query_says)
{
	const uint64_t sizes[] = { HS_2M, 4 * HS_2M, 2 * HS_2M };
	struct hugeslab_create c[3], big;
	long long failed = -1, pages;
	char *p;
	int i;

	check_as_nobody(_metadata, self->fd, self->seen);

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, hs_create(self->fd, sizes[i], &c[i]));
	}
	/* A detached region: destroyed, still mapped, still counted. */
	p = hs_map(self->fd, &c[1]);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	ASSERT_EQ(0, hs_destroy(self->fd, c[1].id));
	/* A refused request, so failed_requests is not just zero. */
	pages = hs_meminfo("HugePages_Free");
	ASSERT_LT(0, pages);
	failed = self->seen->attrs.val[HS_A_FAILED];
	EXPECT_EQ(-ENOMEM, hs_create(self->fd, (pages + 1) * HS_2M, &big));

	check_as_nobody(_metadata, self->fd, self->seen);
	EXPECT_EQ(self->base.regions + 3, self->seen->attrs.val[HS_A_REGIONS]);
	EXPECT_EQ(self->base.used + 7 * HS_2M,
		  self->seen->attrs.val[HS_A_USED]);
	EXPECT_EQ(failed + 1, (long long)self->seen->attrs.val[HS_A_FAILED]);

	/* Going away shows too: the detached one once unmapped. */
	ASSERT_EQ(0, hs_destroy(self->fd, c[0].id));
	ASSERT_EQ(0, hs_destroy(self->fd, c[2].id));
	ASSERT_EQ(0, munmap(p, sizes[1]));
	check_as_nobody(_metadata, self->fd, self->seen);
	EXPECT_EQ(self->base.regions, self->seen->attrs.val[HS_A_REGIONS]);
	EXPECT_EQ(self->base.used, self->seen->attrs.val[HS_A_USED]);
}

TEST_HARNESS_MAIN
