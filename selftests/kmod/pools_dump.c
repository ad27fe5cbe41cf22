// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: debugfs "pools" when many files have full statistics areas.
 * 64 files publish 512 pools each, every name as long as it can be; while
 * a reader goes through the file 4 KiB at a time, another thread creates
 * and destroys regions. The file is produced a piece at a time: the reader
 * (alone in a memory cgroup) costs the kernel at most a few pages however
 * long the file is, every published pool is listed exactly once, and the
 * creates go on throughout (none waits for the dump).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

#define NFILES		64
#define SLOTS		HUGESLAB_STATS_SLOTS
/* Kernel memory the reader may cost, whatever the file's length. */
#define READER_MAX	(1 << 20)

/* Shared by the test process and the reader it forks. */
struct shared {
	atomic_int stop;
	atomic_long creates;
	atomic_long slowest_ms;
	int fd;
	long long peak;
	long lines, during;
};

static struct shared *sh;

static void *creator(void *arg)
{
	struct hugeslab_create c;
	long long t0, ms;

	(void)arg;
	while (!atomic_load(&sh->stop)) {
		t0 = hs_now_ms();
		if (hs_create(sh->fd, HS_2M, &c) || hs_destroy(sh->fd, c.id))
			break;
		ms = hs_now_ms() - t0;
		if (ms > atomic_load(&sh->slowest_ms))
			atomic_store(&sh->slowest_ms, ms);
		atomic_fetch_add(&sh->creates, 1);
	}
	return NULL;
}

/*
 * The reader, in a child alone in @group: reads the whole file in 4 KiB
 * pieces into a buffer that was touched before it joined the group, and
 * counts the lines naming pools of @pid. Exit status 0 if each of them was
 * there once; the peak of the group's memory goes to sh->peak.
 */
static int reader(const char *group, pid_t pid)
{
	size_t cap = 64 << 20, len = 0;
	static char seen[NFILES][SLOTS];
	char *buf, *line, *save = NULL;
	long before, mine = 0;
	ssize_t n;
	int fd;

	buf = mmap(NULL, cap, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	memset(seen, 0, sizeof(seen));
	fd = open(HS_DEBUGFS "/pools", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 2;
	if (hs_cgroup_enter(group, getpid()))
		return 3;
	before = atomic_load(&sh->creates);
	while ((n = read(fd, buf + len, 4096)) > 0) {
		len += n;
		if (len + 4096 > cap)
			return 4;
	}
	sh->during = atomic_load(&sh->creates) - before;
	sh->peak = hs_cgroup_value(group, "memory.peak");
	close(fd);
	if (n < 0)
		return 5;
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned int f, s;
		long lpid;

		if (sscanf(line, "%ld hs-%u-%u-", &lpid, &f, &s) != 3 ||
		    lpid != pid)
			continue;
		if (f >= NFILES || s >= SLOTS || seen[f][s]++)
			return 6;
		mine++;
	}
	sh->lines = mine;
	return mine == (long)NFILES * SLOTS ? 0 : 7;
}

TEST(many_full_areas_while_creating)
{
	static int fds[NFILES];
	char group[128], name[64];
	pthread_t tid;
	int i, s, status;
	pid_t pid;

	ASSERT_EQ(0, hs_cgroup_setup()) TH_LOG("cgroup v2 with memory: %s",
					       strerror(errno));
	snprintf(name, sizeof(name), "hs-pools-%d", getpid());
	ASSERT_EQ(0, hs_cgroup_make(name, group, sizeof(group)));
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);

	for (i = 0; i < NFILES; i++) {
		struct hugeslab_pool_stat *st;

		fds[i] = hs_open();
		ASSERT_LE(0, fds[i]);
		st = mmap(NULL, HUGESLAB_STATS_BYTES, PROT_READ | PROT_WRITE,
			  MAP_SHARED, fds[i], HUGESLAB_STATS_OFFSET);
		ASSERT_NE(MAP_FAILED, st);
		for (s = 0; s < SLOTS; s++) {
			/* 32 bytes, no NUL: the longest name there is. */
			char pname[40];
			int len = snprintf(pname, sizeof(pname), "hs-%u-%u-", i, s);

			memset(pname + len, 'y', sizeof(pname) - len);
			memcpy(st[s].name, pname, sizeof(st[s].name));
			st[s].obj_size = 1ULL << 40;
			st[s].total = ~0ULL;
			st[s].in_use = ~0ULL;
			st[s].bytes = ~0ULL;
			st[s].allocs = ~0ULL;
			st[s].frees = ~0ULL;
			st[s].cache_hits = ~0ULL;
			st[s].flags = HUGESLAB_POOL_LIVE;
		}
	}

	sh->fd = hs_open();
	ASSERT_LE(0, sh->fd);
	ASSERT_EQ(0, pthread_create(&tid, NULL, creator, NULL));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(reader(group, getppid()));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	atomic_store(&sh->stop, 1);
	pthread_join(tid, NULL);

	ksft_print_msg("reader: %ld lines, memory.peak %lld; %ld creates during the read, slowest %ld ms\n",
		       sh->lines, sh->peak, sh->during,
		       atomic_load(&sh->slowest_ms));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("reader failed at step %d (7: %ld of %d lines)",
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		       sh->lines, (int)(NFILES * SLOTS));
	EXPECT_LE(0, sh->peak);
	EXPECT_GT(READER_MAX, sh->peak)
		TH_LOG("reading the file cost the kernel %lld bytes", sh->peak);
	EXPECT_LT(0, sh->during) TH_LOG("no create ran during the read");
	for (i = 0; i < NFILES; i++)
		close(fds[i]);
	close(sh->fd);
	EXPECT_EQ(0, hs_cgroup_remove(group));
}

TEST_HARNESS_MAIN
