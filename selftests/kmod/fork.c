// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: fork semantics. Region mappings are not inherited (the
 * module sets VM_DONTCOPY, so no hugetlb copy-on-write can SIGBUS a
 * child): in the child the address is unmapped. The parent keeps using its
 * memory. The open file is inherited like any other, so the child can map
 * the same region itself and then shares its memory with the parent.
 */
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

FIXTURE(forking) {
	int fd;
	struct hugeslab_create c;
	char *p;
	struct hs_snap base;
};

FIXTURE_SETUP(forking)
{
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
	hs_fill(self->p, self->c.bytes, 31, 0);
}

FIXTURE_TEARDOWN_PARENT(forking)
{
	HS_EXPECT_BASELINE(&self->base);
}

typedef FIXTURE_DATA(forking) fdata_t;

/* Run fn in a child; its exit status (0 = all checks held), or -1. */
static int in_child(int (*fn)(fdata_t *), fdata_t *self)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(self));
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 100 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Child: the parent's mapping is not here. */
static int child_has_no_mapping(fdata_t *self)
{
	unsigned char vec[2];

	if (hs_mapped_anywhere(self->p, self->c.bytes))
		return 1;
	if (msync(self->p, self->c.bytes, MS_ASYNC) != -1 || errno != ENOMEM)
		return 2;
	if (mincore(self->p, self->c.bytes, vec) != -1 || errno != ENOMEM)
		return 3;
	return 0;
}

TEST_F(forking, mapping_not_inherited)
{
	struct hs_smaps s;

	EXPECT_EQ(0, in_child(child_has_no_mapping, self))
		TH_LOG("1: listed in maps, 2: msync, 3: mincore worked");
	/* The parent's mapping is intact and still 2 MiB pages. */
	EXPECT_EQ(-1, hs_check(self->p, self->c.bytes, 31, 0));
	hs_fill(self->p, self->c.bytes, 32, 0);
	EXPECT_EQ(-1, hs_check(self->p, self->c.bytes, 32, 0));
	ASSERT_EQ(0, hs_smaps_find(self->p, &s));
	EXPECT_EQ(2048L, s.kernel_page_kb);
}

/* Child: map the region through the inherited file; shared with parent. */
static int child_maps_itself(fdata_t *self)
{
	char *q;

	if (hs_mapped_anywhere(self->p, self->c.bytes))
		return 1;
	q = hs_map(self->fd, &self->c);
	if (q == MAP_FAILED)
		return 2;
	if (hs_check(q, self->c.bytes, 31, 0) != -1)
		return 3;
	hs_fill(q, self->c.bytes, 33, 0);
	return munmap(q, self->c.bytes) ? 4 : 0;
}

TEST_F(forking, child_maps_region_through_inherited_file)
{
	struct hugeslab_query q;

	EXPECT_EQ(0, in_child(child_maps_itself, self))
		TH_LOG("1: inherited, 2: mmap failed, 3: other data, 4: munmap");
	/* What the child wrote is what the parent sees. */
	EXPECT_EQ(-1, hs_check(self->p, self->c.bytes, 33, 0));
	/* The child's exit did not take the region with it. */
	ASSERT_EQ(0, hs_query(self->fd, &q));
	EXPECT_EQ(1ULL, q.fd_regions);
	EXPECT_EQ(0, hs_destroy(self->fd, self->c.id));
}

/* Child: destroying the shared file's region from the child works too. */
static int child_destroys(fdata_t *self)
{
	return hs_destroy(self->fd, self->c.id) ? 1 : 0;
}

TEST_F(forking, child_destroy_keeps_parent_mapping)
{
	struct hs_dbg_region r;

	EXPECT_EQ(0, in_child(child_destroys, self));
	EXPECT_EQ(-ENOENT, hs_destroy(self->fd, self->c.id));
	/* Still mapped here, so still there. */
	EXPECT_EQ(-1, hs_check(self->p, self->c.bytes, 31, 0));
	ASSERT_EQ(1, hs_dbg_find(self->c.id, &r));
	EXPECT_TRUE(r.mapped);
}

/* Many forks while the parent keeps writing: no copy, no SIGBUS. */
TEST_F(forking, repeated_forks)
{
	int i;

	for (i = 0; i < 8; i++) {
		EXPECT_EQ(0, in_child(child_has_no_mapping, self))
			TH_LOG("fork %d", i);
		hs_fill(self->p, HS_2M, 40 + i, 0);
		EXPECT_EQ(-1, hs_check(self->p, HS_2M, 40 + i, 0));
	}
}

TEST_HARNESS_MAIN
