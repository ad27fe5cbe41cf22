// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: what a process makes the module allocate for it is charged
 * to its memory cgroup. A process in a cgroup of its own (v2, memory
 * controller) opens the device many times and maps the 64 KiB pool stats
 * area of each file: the group's memory.current grows by at least those
 * areas, so memory.max contains a process that opens files by the
 * thousand. The charge goes when the files are closed.
 */
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

#define NFILES	48

static int child(const char *group)
{
	static int fds[NFILES];
	long long before, after, closed;
	void *area;
	int i;

	if (hs_cgroup_enter(group, getpid()))
		return 1;
	before = hs_cgroup_value(group, "memory.current");
	if (before < 0)
		return 2;
	for (i = 0; i < NFILES; i++) {
		fds[i] = hs_open();
		if (fds[i] < 0)
			return 3;
		area = mmap(NULL, HUGESLAB_STATS_BYTES, PROT_READ | PROT_WRITE,
			    MAP_SHARED, fds[i], HUGESLAB_STATS_OFFSET);
		if (area == MAP_FAILED)
			return 4;
		/* The mapping goes; the area stays with the file. */
		munmap(area, HUGESLAB_STATS_BYTES);
	}
	after = hs_cgroup_value(group, "memory.current");
	printf("# memory.current: %lld before, %lld with %d files (+%lld, areas %d)\n",
	       before, after, NFILES, after - before,
	       NFILES * HUGESLAB_STATS_BYTES);
	if (after - before < (long long)NFILES * HUGESLAB_STATS_BYTES)
		return 5;
	for (i = 0; i < NFILES; i++)
		close(fds[i]);
	/* Files are released when the last reference goes: poll. */
	for (i = 0; i < 500; i++) {
		closed = hs_cgroup_value(group, "memory.current");
		if (closed - before < (long long)NFILES * HUGESLAB_STATS_BYTES / 2)
			return 0;
		usleep(10000);
	}
	printf("# memory.current still %lld after closing\n", closed);
	return 6;
}

TEST(contexts_and_stats_areas_are_charged)
{
	char group[128], name[64];
	int status;
	pid_t pid;

	ASSERT_EQ(0, hs_cgroup_setup()) TH_LOG("cgroup v2 with memory: %s",
					       strerror(errno));
	snprintf(name, sizeof(name), "hs-memcg-%d", getpid());
	ASSERT_EQ(0, hs_cgroup_make(name, group, sizeof(group)));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(child(group));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child failed at step %d (5: not charged)",
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	EXPECT_EQ(0, hs_cgroup_remove(group));
}

TEST_HARNESS_MAIN
