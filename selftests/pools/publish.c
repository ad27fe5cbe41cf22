// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: pools the library makes on the kmod backend are visible
 * system-wide - debugfs "pools" lists each with the process's pid and
 * command, the pool's name, object size and counters that match
 * hs_pool_stats(); a destroyed pool, and every pool of a process that
 * exits, disappears from it.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hugeslab.h"
#include "uapi/hugeslab.h"

#define POOLS "/sys/kernel/debug/hugeslab/pools"

struct line {
	int pid;
	char name[64];
	unsigned long long obj_size, in_use, total, bytes, allocs, frees, hits;
	char comm[64];
};

/* The pools file's line for (@pid, @name); 1 found, 0 not, -1 error. */
static int find_pool(int pid, const char *name, struct line *out)
{
	FILE *f = fopen(POOLS, "re");
	char buf[512];
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
			   &l.bytes, &l.allocs, &l.frees, &l.hits, l.comm) != 10)
			continue;
		if (l.pid == pid && !strcmp(l.name, name)) {
			*out = l;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(pools_are_listed_with_their_counters)
{
	hs_pool_t *a = hs_pool_create("publish_a", 48, NULL);
	hs_pool_t *b = hs_pool_create("publish b", 1000, NULL);
	struct hs_pool_stats st;
	struct line l;
	void *v[3000];
	int i;

	ASSERT_EQ(HS_BACKEND_KMOD, hs_backend()) TH_LOG("%s", hs_backend_reason());
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	for (i = 0; i < 3000; i++)
		v[i] = hs_pool_alloc(a);
	for (i = 0; i < 1000; i++)
		hs_pool_free(a, v[i]);
	/* Reading the stats publishes them. */
	ASSERT_EQ(0, hs_pool_stats(a, &st));
	ASSERT_EQ(1, find_pool(getpid(), "publish_a", &l));
	ASSERT_EQ(48, l.obj_size);
	ASSERT_EQ(st.in_use, l.in_use);
	ASSERT_EQ(2000, l.in_use);
	ASSERT_EQ(st.total, l.total);
	ASSERT_EQ(st.bytes, l.bytes);
	ASSERT_EQ(st.allocs, l.allocs);
	ASSERT_EQ(st.frees, l.frees);
	ASSERT_LE(l.hits, l.allocs);
	ASSERT_STREQ("publish", l.comm);
	/* The name keeps its space, escaped as one field. */
	ASSERT_EQ(1, find_pool(getpid(), "publish\\040b", &l));
	ASSERT_EQ(1000, l.obj_size);
	ASSERT_EQ(0, l.in_use);

	hs_pool_destroy(b);
	ASSERT_EQ(0, find_pool(getpid(), "publish\\040b", &l));
	for (i = 1000; i < 3000; i++)
		hs_pool_free(a, v[i]);
	hs_pool_destroy(a);
	ASSERT_EQ(0, find_pool(getpid(), "publish_a", &l));
}

TEST(counters_follow_slow_path_activity)
{
	hs_pool_t *p = hs_pool_create("publish_live", 64, NULL);
	static void *v[100000];
	struct line l;
	int i;

	ASSERT_NE(NULL, p);
	/* No stats call: the pool publishes from its own slow paths. */
	for (i = 0; i < 100000; i++)
		v[i] = hs_pool_alloc(p);
	ASSERT_EQ(1, find_pool(getpid(), "publish_live", &l));
	/* Within a magazine or two of the truth, never above it. */
	ASSERT_LE(l.in_use, 100000);
	ASSERT_GE(l.in_use, 100000 - 2 * 128);
	ASSERT_GE(l.bytes, 100000ull * 64);
	for (i = 0; i < 100000; i++)
		hs_pool_free(p, v[i]);
	ASSERT_EQ(1, find_pool(getpid(), "publish_live", &l));
	ASSERT_LE(l.in_use, 2 * 128);
	hs_pool_destroy(p);
}

TEST(an_exiting_process_disappears)
{
	int ready[2], st;
	struct line l;
	double end;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		hs_pool_t *p = hs_pool_create("publish_child", 32, NULL);
		struct hs_pool_stats s;

		if (!p || !hs_pool_alloc(p) || hs_pool_stats(p, &s))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();	/* killed by the parent, never cleans up */
		_exit(2);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(1, find_pool(pid, "publish_child", &l));
	ASSERT_EQ(1, l.in_use);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	/* The file closes as the process dies; allow the kernel a moment. */
	end = now_s() + 10;
	while (find_pool(pid, "publish_child", &l) == 1 && now_s() < end)
		usleep(10000);
	ASSERT_EQ(0, find_pool(pid, "publish_child", &l));
}

TEST(pools_of_a_fork_child_are_its_own)
{
	hs_pool_t *p = hs_pool_create("publish_fork", 64, NULL);
	struct hs_pool_stats s;
	struct line l;
	int st;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, hs_pool_alloc(p));
	ASSERT_EQ(0, hs_pool_stats(p, &s));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		void *o = hs_pool_alloc(p);	/* fresh memory in the child */
		struct line cl;

		if (!o || hs_pool_stats(p, &s))
			_exit(1);
		/* Listed under the child's pid, with the child's counts. */
		if (find_pool(getpid(), "publish_fork", &cl) != 1 || cl.in_use != 1)
			_exit(2);
		/* And the parent's entry is untouched by the child. */
		if (find_pool(getppid(), "publish_fork", &cl) != 1 || cl.in_use != 1)
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	ASSERT_EQ(1, find_pool(getpid(), "publish_fork", &l));
	ASSERT_EQ(1, l.in_use);
	hs_pool_destroy(p);
}

/*
 * The module's stats area has HUGESLAB_STATS_SLOTS slots per process. A
 * pool made while all are taken is unlisted until one frees up, then its
 * next slow path lists it.
 */
TEST(a_pool_made_while_the_slots_are_full_is_listed_later)
{
	enum { SLOTS = HUGESLAB_STATS_SLOTS };
	hs_pool_t **filler = calloc(SLOTS, sizeof(*filler)), *late;
	static void *v[20000];
	struct line l;
	char name[32];
	int i;

	ASSERT_NE(NULL, filler);
	for (i = 0; i < SLOTS; i++) {
		snprintf(name, sizeof(name), "filler%d", i);
		filler[i] = hs_pool_create(name, 16, NULL);
		ASSERT_NE(NULL, filler[i]);
	}
	late = hs_pool_create("publish_late", 16, NULL);
	ASSERT_NE(NULL, late);
	ASSERT_EQ(0, find_pool(getpid(), "publish_late", &l));
	hs_pool_destroy(filler[0]);
	/* Slow-path traffic, no stats call: the pool lists itself. */
	for (i = 0; i < 20000; i++)
		v[i] = hs_pool_alloc(late);
	for (i = 0; i < 20000; i++)
		hs_pool_free(late, v[i]);
	ASSERT_EQ(1, find_pool(getpid(), "publish_late", &l));
	ASSERT_EQ(16, l.obj_size);
	for (i = 1; i < SLOTS; i++)
		hs_pool_destroy(filler[i]);
	hs_pool_destroy(late);
	free(filler);
}

TEST_HARNESS_MAIN
