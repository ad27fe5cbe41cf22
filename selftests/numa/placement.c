// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: NUMA placement of 2 MiB regions on a machine with (at least)
 * two nodes that each have free 2 MiB pages ("numa" VM profile). A region
 * asked for node N is on node N - by the ioctl's page_node and, checked
 * independently, by move_pages(2) and /proc/self/numa_maps - whatever the
 * caller's own policy or CPU. HUGESLAB_NODE_ANY follows the caller's memory
 * policy (MPOL_BIND to either node while running on the other node's CPUs;
 * MPOL_INTERLEAVE spreads, page_node -1), also when RLIMIT_FSIZE is below
 * the region size. A node without enough free pages gives ENOMEM and
 * leaves every node's pool as it was; an invalid node gives EINVAL, and so
 * does a node with no CPU online (it is populated from one of its CPUs).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>

#include "kselftest_harness.h"
#include "hs_numa.h"

#define REGION_PAGES	4

FIXTURE(numa) {
	int fd;
	cpu_set_t offline;	/* CPUs to bring back online */
	struct hs_numa_snap base;
};

FIXTURE_SETUP(numa)
{
	int n;

	CPU_ZERO(&self->offline);
	self->fd = hs_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("%s: %s: is hugeslab.ko loaded?", HUGESLAB_DEVICE,
		       strerror(errno));
	ASSERT_EQ(0, hs_numa_snap(&self->base))
		TH_LOG("%s/stats or the per-node hugepage counters unreadable",
		       HS_DEBUGFS);
	ASSERT_LE(2, self->base.nodes)
		TH_LOG("needs two NUMA nodes (tools/vm/run --numa 2)");
	for (n = 0; n < 2; n++) {
		ASSERT_LE(2 * REGION_PAGES, self->base.free2m[n])
			TH_LOG("node %d has %lld free 2 MiB pages; boot with hugepagesz=2M hugepages=0:64,1:64",
			       n, self->base.free2m[n]);
	}
}

FIXTURE_TEARDOWN_PARENT(numa)
{
	char path[96];
	int cpu, err;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &self->offline))
			continue;
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/online", cpu);
		err = hs_write_file(path, "1");
		/* (A log attached to EXPECT would show after any failure.) */
		if (err) {
			EXPECT_EQ(0, err)
				TH_LOG("cannot bring CPU %d back online: %s",
				       cpu, strerror(-err));
		}
	}
	HS_EXPECT_NUMA_BASELINE(&self->base);
}

/*
 * The region @c is on @node (-1: on more than one) according to the ioctl,
 * the kernel's page lookup and numa_maps; @counts (if not NULL) gets the
 * pages per node.
 */
static void check_placement(struct __test_metadata *_metadata, int fd,
			    const struct hugeslab_create *c, int node,
			    int counts[HS_MAX_NODES])
{
	int nodes[HS_MAX_NODES], mapped[HS_MAX_NODES], where, n;
	struct hs_dbg_region r;
	long page_kb;
	char *p;

	EXPECT_EQ(node, c->page_node);
	EXPECT_EQ(HS_2M, c->page_size);
	ASSERT_EQ(1, hs_dbg_find(c->id, &r));
	EXPECT_EQ(node, r.node);

	p = hs_map(fd, c);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	where = hs_pages_node(p, c->bytes, HS_2M, nodes);
	EXPECT_LE(-1, where) TH_LOG("move_pages: %s", strerror(-2 - where));
	EXPECT_EQ(node, where)
		TH_LOG("move_pages: pages on node0 %d node1 %d", nodes[0],
		       nodes[1]);
	ASSERT_EQ(0, hs_numa_maps(p, mapped, &page_kb));
	EXPECT_EQ((long)HS_KB_2M, page_kb);
	for (n = 0; n < HS_MAX_NODES; n++) {
		EXPECT_EQ(nodes[n], mapped[n])
			TH_LOG("node %d: move_pages %d, numa_maps N%d=%d", n,
			       nodes[n], n, mapped[n]);
	}
	if (node >= 0) {
		EXPECT_EQ((int)(c->bytes / HS_2M), mapped[node]);
	}
	if (counts)
		memcpy(counts, nodes, sizeof(nodes));
	EXPECT_EQ(0, munmap(p, c->bytes));
}

TEST_F(numa, node_request_lands_on_node)
{
	struct hugeslab_create c[2];
	int n;

	for (n = 0; n < 2; n++) {
		ASSERT_EQ(0, hs_create_node(self->fd, REGION_PAGES * HS_2M, n,
					    &c[n]));
	}
	/* Both at once, so neither took the other's place. */
	for (n = 0; n < 2; n++)
		check_placement(_metadata, self->fd, &c[n], n, NULL);
	for (n = 0; n < 2; n++) {
		EXPECT_EQ(self->base.free2m[n] - REGION_PAGES,
			  hs_hp(n, HS_KB_2M, "free_hugepages"));
	}
}

/* A node request is the module's choice, not the caller's policy's. */
TEST_F(numa, node_request_ignores_caller_policy)
{
	struct hugeslab_create c;
	int n;

	for (n = 0; n < 2; n++) {
		ASSERT_EQ(0, hs_run_on_node(n));
		ASSERT_EQ(0, hs_set_policy(MPOL_BIND, 1UL << n));
		ASSERT_EQ(0, hs_create_node(self->fd, REGION_PAGES * HS_2M,
					    1 - n, &c));
		ASSERT_EQ(0, hs_set_policy(MPOL_DEFAULT, 0));
		check_placement(_metadata, self->fd, &c, 1 - n, NULL);
		EXPECT_EQ(0, hs_destroy(self->fd, c.id));
	}
}

/*
 * Bound to node N while running on the other node's CPUs: a local-node
 * default would put the pages on the wrong node, the policy must win.
 */
TEST_F(numa, any_follows_mpol_bind)
{
	struct hugeslab_create c;
	int n;

	for (n = 1; n >= 0; n--) {
		ASSERT_EQ(0, hs_run_on_node(1 - n));
		ASSERT_EQ(0, hs_set_policy(MPOL_BIND, 1UL << n));
		ASSERT_EQ(0, hs_create(self->fd, REGION_PAGES * HS_2M, &c));
		ASSERT_EQ(0, hs_set_policy(MPOL_DEFAULT, 0));
		check_placement(_metadata, self->fd, &c, n, NULL);
		EXPECT_EQ(0, hs_destroy(self->fd, c.id));
	}
}

/*
 * An RLIMIT_FSIZE below the region size must neither raise SIGXFSZ nor
 * lose the caller's policy (the module fills the file by other means).
 */
TEST_F(numa, any_follows_mpol_bind_with_fsize_limit)
{
	struct rlimit rl = { .rlim_cur = HS_MIB, .rlim_max = RLIM_INFINITY };
	struct hugeslab_create c;
	int n;

	ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &rl));
	for (n = 1; n >= 0; n--) {
		ASSERT_EQ(0, hs_run_on_node(1 - n));
		ASSERT_EQ(0, hs_set_policy(MPOL_BIND, 1UL << n));
		ASSERT_EQ(0, hs_create(self->fd, REGION_PAGES * HS_2M, &c));
		ASSERT_EQ(0, hs_set_policy(MPOL_DEFAULT, 0));
		check_placement(_metadata, self->fd, &c, n, NULL);
		EXPECT_EQ(0, hs_destroy(self->fd, c.id));
	}
}

/* MPOL_BIND is a hard limit: no falling back to the other node. */
TEST_F(numa, any_bound_to_full_node_fails)
{
	struct hugeslab_create c;
	long long failed = hs_stat("failed_nomem");
	uint64_t pages = self->base.free2m[1] + 1;

	ASSERT_EQ(0, hs_run_on_node(0));
	ASSERT_EQ(0, hs_set_policy(MPOL_BIND, 1UL << 1));
	EXPECT_EQ(-ENOMEM, hs_create(self->fd, pages * HS_2M, &c));
	ASSERT_EQ(0, hs_set_policy(MPOL_DEFAULT, 0));
	EXPECT_EQ(failed + 1, hs_stat("failed_nomem"));
	/* Nothing held, nothing borrowed from node 0 (teardown checks all). */
	EXPECT_EQ(self->base.free2m[0], hs_hp(0, HS_KB_2M, "free_hugepages"));
}

TEST_F(numa, any_interleave_spreads)
{
	struct hugeslab_create c;
	int counts[HS_MAX_NODES];

	ASSERT_EQ(0, hs_set_policy(MPOL_INTERLEAVE, 3UL));
	ASSERT_EQ(0, hs_create(self->fd, REGION_PAGES * HS_2M, &c));
	ASSERT_EQ(0, hs_set_policy(MPOL_DEFAULT, 0));
	check_placement(_metadata, self->fd, &c, -1, counts);
	EXPECT_EQ(REGION_PAGES / 2, counts[0]);
	EXPECT_EQ(REGION_PAGES / 2, counts[1]);
}

/*
 * One page more than the node has free: ENOMEM, counted, and the pages the
 * attempt took (from this node, or lent by the other) all come back.
 */
TEST_F(numa, node_short_of_pages_fails)
{
	long long failed = hs_stat("failed_nomem");
	struct hugeslab_create c;
	int n;

	for (n = 0; n < 2; n++) {
		uint64_t pages = self->base.free2m[n] + 1;

		EXPECT_EQ(-ENOMEM, hs_create_node(self->fd, pages * HS_2M, n,
						  &c));
		EXPECT_EQ(failed + n + 1, hs_stat("failed_nomem"));
		EXPECT_EQ(self->base.free2m[0],
			  hs_hp(0, HS_KB_2M, "free_hugepages"));
		EXPECT_EQ(self->base.free2m[1],
			  hs_hp(1, HS_KB_2M, "free_hugepages"));
		EXPECT_EQ(self->base.mod.hp_rsvd, hs_meminfo("HugePages_Rsvd"));
		EXPECT_EQ(self->base.mod.used_bytes, hs_stat("used_bytes"));
	}
}

/*
 * A node request that cannot be met is refused before it takes anything:
 * neither node's free pages (nor the reserve, which lives in them) dip
 * while it is made, as they would if the region were filled from the other
 * node first and given back.
 */
static atomic_int watching;
static long long lowest[2];

static void *watch(void *arg)
{
	int n;

	(void)arg;
	while (atomic_load(&watching)) {
		for (n = 0; n < 2; n++) {
			long long f = hs_hp(n, HS_KB_2M, "free_hugepages");

			if (f >= 0 && f < lowest[n])
				lowest[n] = f;
		}
	}
	return NULL;
}

TEST_F(numa, node_short_of_pages_takes_nothing)
{
	struct hugeslab_create c;
	pthread_t tid;
	int n, i;

	for (n = 0; n < 2; n++) {
		uint64_t pages = self->base.free2m[n] + 1;

		lowest[0] = self->base.free2m[0];
		lowest[1] = self->base.free2m[1];
		atomic_store(&watching, 1);
		ASSERT_EQ(0, pthread_create(&tid, NULL, watch, NULL));
		for (i = 0; i < 5; i++) {
			EXPECT_EQ(-ENOMEM, hs_create_node(self->fd,
							  pages * HS_2M, n, &c));
		}
		atomic_store(&watching, 0);
		pthread_join(tid, NULL);
		EXPECT_EQ(self->base.free2m[0], lowest[0])
			TH_LOG("a request for node %d took pages of node 0", n);
		EXPECT_EQ(self->base.free2m[1], lowest[1])
			TH_LOG("a request for node %d took pages of node 1", n);
	}
}

/*
 * Node 0 almost full: its last pages can still be had, one more cannot
 * (and is not made up from node 1), and node 1 is unaffected.
 */
TEST_F(numa, node_nearly_full)
{
	uint64_t left = 2, fill = self->base.free2m[0] - left;
	struct hugeslab_create big, last, c;

	ASSERT_EQ(0, hs_create_node(self->fd, fill * HS_2M, 0, &big));
	EXPECT_EQ(0, big.page_node);
	EXPECT_EQ(-ENOMEM, hs_create_node(self->fd, (left + 1) * HS_2M, 0,
					  &c));
	EXPECT_EQ((long long)left, hs_hp(0, HS_KB_2M, "free_hugepages"));
	EXPECT_EQ(self->base.free2m[1], hs_hp(1, HS_KB_2M, "free_hugepages"));

	ASSERT_EQ(0, hs_create_node(self->fd, REGION_PAGES * HS_2M, 1, &c));
	check_placement(_metadata, self->fd, &c, 1, NULL);
	ASSERT_EQ(0, hs_create_node(self->fd, left * HS_2M, 0, &last));
	check_placement(_metadata, self->fd, &last, 0, NULL);
	EXPECT_EQ(0, hs_hp(0, HS_KB_2M, "free_hugepages"));
}

TEST_F(numa, invalid_node)
{
	const int bad[] = { 2, 3, 64, 1023, 1024, 4096, 1 << 30, INT32_MAX,
			    -2, -3, INT32_MIN };
	long long failed = hs_stat("failed_requests");
	struct hugeslab_create c;
	size_t i;

	/* The nodes this test calls invalid must not exist. */
	ASSERT_EQ(2, self->base.nodes)
		TH_LOG("written for a two-node machine");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, hs_create_node(self->fd, HS_2M, bad[i], &c))
			TH_LOG("node %d", bad[i]);
	}
	/* A bad argument is not a refused request. */
	EXPECT_EQ(failed, hs_stat("failed_requests"));
}

/*
 * A node request is populated from one of the node's CPUs (a module cannot
 * make a memory policy of its own), so a node whose CPUs are all offline,
 * or a memory-only node, is refused up front with EINVAL - not placed on
 * the wrong node, not a late ENOMEM - and nothing is counted as failed.
 * Node ANY still works, and the node works again once a CPU is back.
 */
TEST_F(numa, node_with_cpus_offline)
{
	struct hugeslab_create c;
	char path[96];
	cpu_set_t cpus;
	int cpu, n = 1;

	ASSERT_LT(0, hs_node_cpus(n, &cpus));
	ASSERT_EQ(0, hs_run_on_node(0));
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &cpus))
			continue;
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/online", cpu);
		ASSERT_EQ(0, hs_write_file(path, "0"))
			TH_LOG("cannot offline CPU %d", cpu);
		CPU_SET(cpu, &self->offline);
	}
	ASSERT_EQ(0, hs_node_cpus(n, &cpus))
		TH_LOG("node %d still lists online CPUs", n);
	ASSERT_EQ(-EINVAL, hs_create_node(self->fd, REGION_PAGES * HS_2M, n, &c))
		TH_LOG("node %d with its CPUs offline", n);
	ASSERT_EQ(0, hs_create_node(self->fd, REGION_PAGES * HS_2M,
				    HUGESLAB_NODE_ANY, &c));
	ASSERT_EQ(0, hs_destroy(self->fd, c.id));
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &self->offline))
			continue;
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/online", cpu);
		ASSERT_EQ(0, hs_write_file(path, "1"));
		CPU_CLR(cpu, &self->offline);
	}
	ASSERT_EQ(0, hs_create_node(self->fd, REGION_PAGES * HS_2M, n, &c))
		TH_LOG("node %d with a CPU back online", n);
	check_placement(_metadata, self->fd, &c, n, NULL);
}

TEST_HARNESS_MAIN
