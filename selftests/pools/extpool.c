// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: external pools (hs_extpool_*) on the kmod backend - the
 * counters a caller publishes for objects it manages itself appear in
 * debugfs "pools" under its pid and name exactly as given, each update
 * replaces them, destroying the handle removes the line, a handle made
 * before a fork lists nothing of the parent's from the child (and does
 * not touch the parent's line), and one made while the stats area is full
 * is listed by an update after a slot frees up.
 */
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hugeslab.h"
#include "uapi/hugeslab.h"

#define POOLS "/sys/kernel/debug/hugeslab/pools"

struct line {
	int pid;
	char name[64];
	unsigned long long obj_size, in_use, total, bytes, allocs, frees, hits;
};

/* The pools file's line for (@pid, @name); 1 found, 0 not, -1 error. */
static int find_pool(int pid, const char *name, struct line *out)
{
	FILE *f = fopen(POOLS, "re");
	char buf[512], comm[64];
	int found = 0;

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f) || strcmp(buf, "hugeslab pools 1\n")) {
		fclose(f);
		return -1;
	}
	while (fgets(buf, sizeof(buf), f)) {
		struct line l;

		if (buf[0] == '#')
			continue;
		if (sscanf(buf, "%d %63s %llu %llu %llu %llu %llu %llu %llu %63s",
			   &l.pid, l.name, &l.obj_size, &l.in_use, &l.total,
			   &l.bytes, &l.allocs, &l.frees, &l.hits, comm) != 10)
			continue;
		if (l.pid == pid && !strcmp(l.name, name)) {
			*out = l;
			found++;
		}
	}
	fclose(f);
	return found;
}

static struct hs_pool_stats counts(uint64_t size, uint64_t in_use,
				   uint64_t total, uint64_t allocs)
{
	struct hs_pool_stats st = {
		.obj_size = size, .in_use = in_use, .total = total,
		.bytes = total * size, .allocs = allocs,
		.frees = allocs - in_use, .cache_hits = allocs,
	};

	return st;
}

TEST(listed_as_published_and_removed)
{
	hs_extpool_t *ep = hs_extpool_create("ext_bufs");
	struct hs_pool_stats st = counts(65536, 3, 64, 10);
	struct line l;

	ASSERT_EQ(HS_BACKEND_KMOD, hs_backend()) TH_LOG("%s", hs_backend_reason());
	ASSERT_NE(NULL, ep) TH_LOG("%s", hs_last_error());
	/* Nothing until the first update. */
	ASSERT_EQ(0, find_pool(getpid(), "ext_bufs", &l));
	hs_extpool_update(ep, &st);
	ASSERT_EQ(1, find_pool(getpid(), "ext_bufs", &l));
	EXPECT_EQ(65536, l.obj_size);
	EXPECT_EQ(3, l.in_use);
	EXPECT_EQ(64, l.total);
	EXPECT_EQ(64ull * 65536, l.bytes);
	EXPECT_EQ(10, l.allocs);
	EXPECT_EQ(7, l.frees);
	EXPECT_EQ(10, l.hits);

	st = counts(65536, 0, 64, 12);
	hs_extpool_update(ep, &st);
	ASSERT_EQ(1, find_pool(getpid(), "ext_bufs", &l));
	EXPECT_EQ(0, l.in_use);
	EXPECT_EQ(12, l.allocs);
	hs_extpool_destroy(ep);
	ASSERT_EQ(0, find_pool(getpid(), "ext_bufs", &l));
}

TEST(a_fork_child_lists_its_own)
{
	hs_extpool_t *ep = hs_extpool_create("ext_fork");
	struct hs_pool_stats st = counts(4096, 5, 8, 5);
	struct line l;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, ep);
	hs_extpool_update(ep, &st);
	ASSERT_EQ(1, find_pool(getpid(), "ext_fork", &l));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct hs_pool_stats cst = counts(4096, 1, 8, 1);
		struct line cl;

		/* Not listed in the child until it updates. */
		if (find_pool(getpid(), "ext_fork", &cl) != 0)
			_exit(1);
		hs_extpool_update(ep, &cst);
		if (find_pool(getpid(), "ext_fork", &cl) != 1 || cl.in_use != 1)
			_exit(2);
		/* The parent's line is the parent's. */
		if (find_pool(getppid(), "ext_fork", &cl) != 1 || cl.in_use != 5)
			_exit(3);
		hs_extpool_destroy(ep);
		if (find_pool(getpid(), "ext_fork", &cl) != 0 ||
		    find_pool(getppid(), "ext_fork", &cl) != 1)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(1, find_pool(getpid(), "ext_fork", &l));
	EXPECT_EQ(5, l.in_use);
	hs_extpool_destroy(ep);
	ASSERT_EQ(0, find_pool(getpid(), "ext_fork", &l));
}

TEST(listed_once_a_slot_frees_up)
{
	enum { SLOTS = HUGESLAB_STATS_SLOTS };
	hs_extpool_t **fill = calloc(SLOTS, sizeof(*fill)), *late;
	struct hs_pool_stats st = counts(16, 1, 1, 1);
	struct line l;
	char name[32];
	int i;

	ASSERT_NE(NULL, fill);
	for (i = 0; i < SLOTS; i++) {
		snprintf(name, sizeof(name), "extfill%d", i);
		fill[i] = hs_extpool_create(name);
		ASSERT_NE(NULL, fill[i]);
		hs_extpool_update(fill[i], &st);
	}
	late = hs_extpool_create("ext_late");
	ASSERT_NE(NULL, late);
	hs_extpool_update(late, &st);	/* no slot: not listed, no error */
	ASSERT_EQ(0, find_pool(getpid(), "ext_late", &l));
	hs_extpool_destroy(fill[0]);
	hs_extpool_update(late, &st);
	ASSERT_EQ(1, find_pool(getpid(), "ext_late", &l));
	for (i = 1; i < SLOTS; i++)
		hs_extpool_destroy(fill[i]);
	hs_extpool_destroy(late);
	free(fill);
}

TEST_HARNESS_MAIN
