// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: an mmap of a region is checked against the region it maps,
 * whatever was checked before. mmap() asks the module for an address
 * (get_unmapped_area, aligned to the page size of the region with that id)
 * and later sets the mapping up (->mmap, which looks the id up again).
 * Between the two the region can be destroyed and its id reused for a
 * region of 1 GiB pages; hugetlbfs trusts the address it is given, so
 * without a check of its own the module would make a 1 GiB hugetlb
 * mapping at an address aligned to 2 MiB only.
 *
 * The test holds an mmap between its steps: the mapping is MAP_FIXED over
 * 512 MiB of populated small pages, which it must unmap first, and the
 * mapping thread runs SCHED_IDLE on a CPU two busy threads keep for
 * themselves. Once the
 * unmapping is seen under way (the process's resident memory drops),
 * another process sharing the file destroys the region of 2 MiB pages
 * and creates one of 1 GiB pages, which gets the same id; then the busy
 * thread stops. The mmap must fail with EINVAL. A plain MAP_FIXED of a
 * 1 GiB region at a 2 MiB-aligned address is EINVAL as well.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hs_numa.h"

#define EXTRA_2M	512		/* pages for a 1 GiB region of 2 MiB */
#define POPULATED	(512 * HS_MIB)	/* what the MAP_FIXED unmaps first */
#define HOGS		2
#define NR_PAGES	"/proc/sys/vm/nr_hugepages"

/* Shared between the mapping process and the process that swaps regions. */
struct race {
	atomic_int hog_stop;
	atomic_int mapping;		/* the mmap thread is about to call mmap */
	atomic_int mapped;		/* it returned: */
	long ret;			/* its result, or -errno */
	unsigned long addr;		/* the MAP_FIXED address */
	uint64_t offset;		/* of the 2 MiB region */
	long long t_start, t_unmapping, t_swapped, t_mapped;	/* ms */
};

static struct race *rc;

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static void *hog(void *arg)
{
	(void)arg;
	pin(0);
	while (!atomic_load(&rc->hog_stop))
		;
	return NULL;
}

static void *mapper(void *arg)
{
	struct sched_param sp = { 0 };
	int fd = *(int *)arg;
	void *p;

	pin(0);
	sched_setscheduler(0, SCHED_IDLE, &sp);
	atomic_store(&rc->mapping, 1);
	p = mmap((void *)rc->addr, HS_1G, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, rc->offset);
	rc->ret = p == MAP_FAILED ? -errno : (long)p;
	rc->t_mapped = hs_now_ms();
	atomic_store(&rc->mapped, 1);
	return NULL;
}

static long long resident_pages(pid_t pid)
{
	char path[64], buf[256];
	long long size, res;

	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	if (hs_read_file(path, buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "%lld %lld", &size, &res) != 2)
		return -1;
	return res;
}

FIXTURE(reuse) {
	struct hs_numa_snap base;
	long long nr_pages;
	long long node_pages[HS_MAX_NODES];	/* 2 MiB pages per node */
};

FIXTURE_SETUP(reuse)
{
	int n;

	self->nr_pages = -1;
	ASSERT_EQ(0, hs_numa_snap(&self->base));
	ASSERT_TRUE(hs_hp_exists(HS_KB_1G));
	ASSERT_LE(1, self->base.free1g_all) TH_LOG("no free 1 GiB page");
	ASSERT_EQ(0, self->base.mod.regions) TH_LOG("regions left by others");
	for (n = 0; n < self->base.nodes; n++)
		self->node_pages[n] = hs_hp(n, HS_KB_2M, "nr_hugepages");
	self->nr_pages = hs_meminfo("HugePages_Total");
}

/* Each node's pool as it was (the kernel shrinks them in its own order). */
FIXTURE_TEARDOWN_PARENT(reuse)
{
	long long end = hs_now_ms() + HS_FREE_TIMEOUT_MS;
	char path[128], buf[32];
	bool done;
	int n;

	if (self->nr_pages < 0)
		return;
	do {
		done = true;
		for (n = 0; n < self->base.nodes; n++) {
			snprintf(path, sizeof(path),
				 "/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages",
				 n);
			snprintf(buf, sizeof(buf), "%lld", self->node_pages[n]);
			hs_write_file(path, buf);
			done &= hs_hp(n, HS_KB_2M, "nr_hugepages") ==
				self->node_pages[n];
		}
		if (!done)
			usleep(10000);
	} while (!done && hs_now_ms() < end);
	EXPECT_TRUE(done) TH_LOG("cannot give back the test's extra pages");
	HS_EXPECT_NUMA_BASELINE(&self->base);
}

/*
 * An address range of @len kept for the test (PROT_NONE), so nothing else
 * lands where it maps with MAP_FIXED: its start, or NULL.
 */
static char *keep_range(size_t len)
{
	char *p = mmap(NULL, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Give [at, at + len) back to the kept range. */
static int unkeep(char *at, size_t len)
{
	return mmap(at, len, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		    -1, 0) == at ? 0 : -1;
}

TEST_F(reuse, fixed_2m_aligned_refused_for_1g)
{
	struct hugeslab_create c;
	char *base, *at;
	int fd = hs_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hs_create_1g(fd, HS_1G, HUGESLAB_NODE_ANY, &c));
	base = keep_range(3 * HS_1G);
	ASSERT_NE(NULL, base);
	at = (char *)(((uintptr_t)base + HS_1G - 1) & ~(uintptr_t)(HS_1G - 1)) +
	     HS_2M;
	EXPECT_EQ(MAP_FAILED, mmap(at, HS_1G, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_FIXED, fd, c.offset));
	EXPECT_EQ(EINVAL, errno);
	/* At the 1 GiB boundary it maps. */
	at -= HS_2M;
	EXPECT_EQ(at, mmap(at, HS_1G, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_FIXED, fd, c.offset));
	EXPECT_EQ(0, munmap(base, 3 * HS_1G));
	EXPECT_EQ(0, hs_destroy(fd, c.id));
	close(fd);
}

/*
 * The process that swaps the regions: waits until the mapping thread's
 * unmapping is under way, destroys the 2 MiB region, creates the 1 GiB
 * one (which must get its id), lets the mapping thread go. Exit status 0
 * if the swap happened while the mmap was held, 1 if the mmap was already
 * done (try again), higher if something failed.
 */
static int swap(int fd, pid_t mapper_pid, uint64_t id, long long resident)
{
	struct hugeslab_create c;
	long long t0 = hs_now_ms();
	int held;

	pin(1);
	while (!atomic_load(&rc->mapping))
		if (hs_now_ms() - t0 > 60000)
			return 10;
	/* Unmapping: get_unmapped_area is behind it, ->mmap ahead. */
	rc->t_start = hs_now_ms();
	while (resident_pages(mapper_pid) > resident - (long long)(HS_MIB / 4096)) {
		if (atomic_load(&rc->mapped))
			return 2;
		if (hs_now_ms() - t0 > 120000)
			return 11;
	}
	rc->t_unmapping = hs_now_ms();
	if (hs_destroy(fd, id))
		return 12;
	if (hs_create_1g(fd, HS_1G, HUGESLAB_NODE_ANY, &c))
		return 13;
	rc->t_swapped = hs_now_ms();
	held = !atomic_load(&rc->mapped);
	if (c.id != id)
		return 14;
	return held ? 0 : 1;
}

static int swapper(int fd, pid_t mapper_pid, uint64_t id, long long resident)
{
	int ret = swap(fd, mapper_pid, id, resident);

	/* Whatever happened, the mapping thread gets its CPU back. */
	atomic_store(&rc->hog_stop, 1);
	return ret;
}

TEST_F_TIMEOUT(reuse, id_reused_between_get_unmapped_area_and_mmap, 900)
{
	char buf[32], *base, *at;
	struct hugeslab_create c;
	pthread_t hog_tid[HOGS], map_tid;
	int fd, attempt, status = -1, rc_swap = -1, h;
	long long resident;
	pid_t pid;

	snprintf(buf, sizeof(buf), "%lld", self->nr_pages + EXTRA_2M);
	ASSERT_EQ(0, hs_write_file(NR_PAGES, buf));
	ASSERT_EQ(self->nr_pages + EXTRA_2M, hs_meminfo("HugePages_Total"));
	rc = mmap(NULL, sizeof(*rc), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rc);
	base = keep_range(3 * HS_1G);
	ASSERT_NE(NULL, base);
	at = (char *)(((uintptr_t)base + HS_1G - 1) & ~(uintptr_t)(HS_1G - 1)) +
	     HS_2M;

	for (attempt = 0; attempt < 3; attempt++) {
		fd = hs_open();
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, hs_create(fd, HS_1G, &c))
			TH_LOG("a 1 GiB region of 2 MiB pages: %s",
			       strerror(errno));
		/*
		 * What the MAP_FIXED replaces, populated with small pages
		 * (not transparent huge ones) so that unmapping it is long.
		 */
		ASSERT_EQ(at, mmap(at, HS_1G, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
		ASSERT_EQ(0, madvise(at, HS_1G, MADV_NOHUGEPAGE));
		memset(at, 1, POPULATED);
		resident = resident_pages(getpid());
		memset(rc, 0, sizeof(*rc));
		rc->addr = (unsigned long)at;
		rc->offset = c.offset;

		fflush(NULL);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(swapper(fd, getppid(), c.id, resident));
		for (h = 0; h < HOGS; h++)
			ASSERT_EQ(0, pthread_create(&hog_tid[h], NULL, hog, NULL));
		ASSERT_EQ(0, pthread_create(&map_tid, NULL, mapper, &fd));
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		atomic_store(&rc->hog_stop, 1);
		pthread_join(map_tid, NULL);
		for (h = 0; h < HOGS; h++)
			pthread_join(hog_tid[h], NULL);
		rc_swap = WIFEXITED(status) ? WEXITSTATUS(status) : 100;
		ksft_print_msg("attempt %d: swapper %d, mmap %s; unmapping seen after %lld ms, swapped after %lld, mmap done after %lld\n",
			       attempt, rc_swap,
			       rc->ret < 0 ? strerror(-rc->ret) : "mapped",
			       rc->t_unmapping - rc->t_start,
			       rc->t_swapped - rc->t_start,
			       rc->t_mapped - rc->t_start);
		if (rc->ret >= 0) {
			struct hs_smaps sm;

			ASSERT_EQ(0, hs_smaps_find(at, &sm));
			/* A 1 GiB page mapping must start on a 1 GiB boundary. */
			EXPECT_FALSE(sm.kernel_page_kb == HS_KB_1G &&
				     (sm.start & (HS_1G - 1)))
				TH_LOG("1 GiB hugetlb mapping at %#lx", sm.start);
		}
		if (rc_swap != 1 && rc_swap != 2)
			break;
		/* The mmap was done before the swap: again. */
		ASSERT_EQ(0, unkeep(at, HS_1G));
		close(fd);
	}
	ASSERT_EQ(0, rc_swap) TH_LOG("swapper failed (%d) or never held the mmap",
				     rc_swap);
	EXPECT_EQ(-EINVAL, rc->ret);
	munmap(base, 3 * HS_1G);
	close(fd);
}

TEST_HARNESS_MAIN
