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
 * 512 MiB of populated small pages, which the kernel unmaps first, and the
 * mapping process runs in a cgroup whose CPU bandwidth (cpu.max) is 1 ms a
 * second, so the unmapping takes minutes. Once it is seen under way (the
 * process's resident memory drops), the test, sharing the file, destroys
 * the region of 2 MiB pages and creates one of 1 GiB pages, which gets
 * the same id; then it lifts the limit. The mmap must fail with EINVAL.
 * A plain MAP_FIXED of a 1 GiB region at a 2 MiB-aligned address is
 * EINVAL as well.
 */
#include <stdatomic.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hs_numa.h"

#define EXTRA_2M	512		/* pages for a 1 GiB region of 2 MiB */
#define POPULATED	(512 * HS_MIB)	/* what the MAP_FIXED unmaps first */
#define NR_PAGES	"/proc/sys/vm/nr_hugepages"
#define GROUP		"hs_id_reuse"
#define SLOW		"1000 1000000"	/* cpu.max: 1 ms of CPU a second */
#define FAST		"max 1000000"

/* Shared between the mapping process and the test. */
struct race {
	atomic_int mapping;		/* the mapper is about to call mmap */
	atomic_int mapped;		/* it returned: */
	long ret;			/* its result, or -errno */
	int misplaced;			/* a 1 GiB page mapping off 1 GiB */
	long long resident;		/* its pages before the mmap */
	unsigned long addr;		/* the MAP_FIXED address */
	uint64_t offset;		/* of the 2 MiB region */
	long long t_start, t_unmapping, t_swapped, t_mapped;	/* ms */
};

static struct race *rc;

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
	bool cpu_was_on;	/* the cpu controller, for child groups */
	char group[128];	/* the mapper's cgroup, once made */
};

FIXTURE_SETUP(reuse)
{
	char buf[256];
	int n;

	self->nr_pages = -1;
	ASSERT_EQ(0, hs_numa_snap(&self->base));
	ASSERT_TRUE(hs_hp_exists(HS_KB_1G));
	ASSERT_LE(1, self->base.free1g_all) TH_LOG("no free 1 GiB page");
	ASSERT_EQ(0, self->base.mod.regions) TH_LOG("regions left by others");
	for (n = 0; n < self->base.nodes; n++)
		self->node_pages[n] = hs_hp(n, HS_KB_2M, "nr_hugepages");
	self->nr_pages = hs_meminfo("HugePages_Total");
	self->cpu_was_on =
		hs_read_file(HS_CGROUP_ROOT "/cgroup.subtree_control", buf,
			     sizeof(buf)) > 0 && hs_word_in(buf, "cpu");
	ASSERT_EQ(0, hs_cgroup_setup_ctl("cpu"))
		TH_LOG("no cgroup cpu controller (CONFIG_CFS_BANDWIDTH)");
}

/* Each node's pool as it was (the kernel shrinks them in its own order). */
FIXTURE_TEARDOWN_PARENT(reuse)
{
	long long end = hs_now_ms() + HS_FREE_TIMEOUT_MS;
	char path[128], buf[32];
	bool done;
	int n;

	if (self->group[0]) {
		EXPECT_EQ(0, hs_cgroup_remove(self->group));
		if (!self->cpu_was_on)
			EXPECT_EQ(0, hs_write_file(HS_CGROUP_ROOT "/cgroup.subtree_control",
						   "-cpu"));
	}
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
	for (n = 0; !done && n < self->base.nodes; n++)
		TH_LOG("node %d: %lld pages of 2 MiB (%lld free, %lld surplus), was %lld; %lld reserved in all",
		       n, hs_hp(n, HS_KB_2M, "nr_hugepages"),
		       hs_hp(n, HS_KB_2M, "free_hugepages"),
		       hs_hp(n, HS_KB_2M, "surplus_hugepages"),
		       self->node_pages[n],
		       hs_hp(-1, HS_KB_2M, "resv_hugepages"));
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
 * The mapping process: populates what its MAP_FIXED replaces, with small
 * pages (not transparent huge ones) so that unmapping it is long, enters
 * the slow cgroup and maps the region. Its results go to *rc.
 */
static void mapper(int fd, const char *group)
{
	char *at = (char *)rc->addr;
	struct hs_smaps sm;
	void *p;

	if (mmap(at, HS_1G, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != at ||
	    madvise(at, HS_1G, MADV_NOHUGEPAGE))
		_exit(20);
	memset(at, 1, POPULATED);
	rc->resident = resident_pages(getpid());
	if (hs_cgroup_enter(group, getpid()))
		_exit(21);
	atomic_store(&rc->mapping, 1);
	p = mmap(at, HS_1G, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, rc->offset);
	rc->ret = p == MAP_FAILED ? -errno : (long)p;
	rc->t_mapped = hs_now_ms();
	atomic_store(&rc->mapped, 1);
	/* A 1 GiB page mapping must start on a 1 GiB boundary. */
	if (p != MAP_FAILED && (hs_smaps_find(p, &sm) ||
				(sm.kernel_page_kb == HS_KB_1G &&
				 (sm.start & (HS_1G - 1)))))
		rc->misplaced = 1;
	_exit(0);
}

/*
 * Waits until the mapper's unmapping is under way, destroys the 2 MiB
 * region, creates the 1 GiB one (which must get its id). 0 if the swap
 * happened while the mmap was held, 1 if the mmap was already done (try
 * again), higher if something failed.
 */
static int swap(int fd, pid_t pid, uint64_t id)
{
	struct hugeslab_create c;
	long long t0 = hs_now_ms();

	while (!atomic_load(&rc->mapping)) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 10;
		if (hs_now_ms() - t0 > 60000)
			return 11;
		usleep(1000);
	}
	/* Unmapping: get_unmapped_area is behind it, ->mmap ahead. */
	rc->t_start = hs_now_ms();
	while (resident_pages(pid) >
	       rc->resident - (long long)(HS_MIB / 4096)) {
		if (atomic_load(&rc->mapped))
			return 1;
		if (hs_now_ms() - rc->t_start > 120000)
			return 12;
		usleep(1000);
	}
	rc->t_unmapping = hs_now_ms();
	if (hs_destroy(fd, id))
		return 13;
	if (hs_create_1g(fd, HS_1G, HUGESLAB_NODE_ANY, &c))
		return 14;
	rc->t_swapped = hs_now_ms();
	if (c.id != id)
		return 15;
	return atomic_load(&rc->mapped) ? 1 : 0;
}

static int cpu_max(const char *group, const char *value)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/cpu.max", group);
	return hs_write_file(path, value);
}

TEST_F_TIMEOUT(reuse, id_reused_between_get_unmapped_area_and_mmap, 900)
{
	int fd, attempt, status = -1, swapped = -1;
	struct hugeslab_create c;
	char buf[32], *base;
	pid_t pid;

	snprintf(buf, sizeof(buf), "%lld", self->nr_pages + EXTRA_2M);
	ASSERT_EQ(0, hs_write_file(NR_PAGES, buf));
	ASSERT_EQ(self->nr_pages + EXTRA_2M, hs_meminfo("HugePages_Total"));
	ASSERT_EQ(0, hs_cgroup_make(GROUP, self->group, sizeof(self->group)));
	rc = mmap(NULL, sizeof(*rc), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rc);
	base = keep_range(3 * HS_1G);
	ASSERT_NE(NULL, base);

	for (attempt = 0; attempt < 3; attempt++) {
		fd = hs_open();
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, hs_create(fd, HS_1G, &c))
			TH_LOG("a 1 GiB region of 2 MiB pages: %s",
			       strerror(errno));
		memset(rc, 0, sizeof(*rc));
		rc->addr = (((uintptr_t)base + HS_1G - 1) &
			    ~(uintptr_t)(HS_1G - 1)) + HS_2M;
		rc->offset = c.offset;
		ASSERT_EQ(0, cpu_max(self->group, SLOW));

		fflush(NULL);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			mapper(fd, self->group);
		swapped = swap(fd, pid, c.id);
		/* Whatever happened, the mapper gets its CPU back. */
		EXPECT_EQ(0, cpu_max(self->group, FAST));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("mapper: status %#x", status);
		ksft_print_msg("attempt %d: swap %d, mmap %s; unmapping seen after %lld ms, swapped after %lld, mmap done after %lld\n",
			       attempt, swapped,
			       rc->ret < 0 ? strerror(-rc->ret) : "mapped",
			       rc->t_unmapping - rc->t_start,
			       rc->t_swapped - rc->t_start,
			       rc->t_mapped - rc->t_start);
		EXPECT_FALSE(rc->misplaced) TH_LOG("1 GiB hugetlb mapping off a 1 GiB boundary");
		close(fd);
		if (swapped != 1)
			break;
	}
	ASSERT_EQ(0, swapped) TH_LOG("swap failed (%d) or never held the mmap",
				     swapped);
	EXPECT_EQ(-EINVAL, rc->ret);
	munmap(base, 3 * HS_1G);
}

TEST_HARNESS_MAIN
