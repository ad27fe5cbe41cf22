/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the NUMA and 1 GiB page selftests: the hugetlb pool's
 * counters per page size and per node, where a mapping's pages really are
 * (move_pages(2) and /proc/self/numa_maps, both independent of what the
 * module says), memory policy and CPU affinity by raw syscalls (no libnuma
 * in the VM), and a baseline that covers every node and both page sizes.
 *
 * Like hs_kmod.h, everything returns a value for the test to assert on.
 */
#ifndef _HS_NUMA_H
#define _HS_NUMA_H

#include <linux/mempolicy.h>
#include <sched.h>
#include <sys/syscall.h>

#include "../kmod/hs_kmod.h"

#define HS_1G		(1ULL << 30)
#define HS_KB_2M	2048UL
#define HS_KB_1G	1048576UL
#define HS_MAX_NODES	8
#define HS_MAX_PAGES	4096

/* A region of 1 GiB pages: 0 or -errno. */
static inline int hs_create_1g(int fd, uint64_t bytes, int node,
			       struct hugeslab_create *c)
{
	memset(c, 0, sizeof(*c));
	c->bytes = bytes;
	c->flags = HUGESLAB_CREATE_1G;
	c->node = node;
	return ioctl(fd, HUGESLAB_IOC_CREATE, c) ? -errno : 0;
}

/* ---- the hugetlb pool ------------------------------------------------ */

/*
 * A counter of the pool of @kb-sized pages: globally (@node < 0, from
 * /sys/kernel/mm/hugepages) or of one node; -1 if the file is missing.
 * @name: nr_hugepages, free_hugepages, resv_hugepages (global only), ...
 */
static inline long long hs_hp(int node, unsigned long kb, const char *name)
{
	char path[160], buf[64];

	if (node < 0)
		snprintf(path, sizeof(path),
			 "/sys/kernel/mm/hugepages/hugepages-%lukB/%s", kb,
			 name);
	else
		snprintf(path, sizeof(path),
			 "/sys/devices/system/node/node%d/hugepages/hugepages-%lukB/%s",
			 node, kb, name);
	if (hs_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

/* Whether the kernel has a pool of @kb-sized pages at all. */
static inline bool hs_hp_exists(unsigned long kb)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%lukB",
		 kb);
	return access(path, F_OK) == 0;
}

/* How many nodes the system has: node0, node1, ... in sysfs. */
static inline int hs_nr_nodes(void)
{
	char path[64];
	int n;

	for (n = 0; n < HS_MAX_NODES; n++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d",
			 n);
		if (access(path, F_OK))
			break;
	}
	return n;
}

/*
 * Everything a NUMA test must give back: the module's totals (hs_snap)
 * and, for both page sizes, every node's free pages and the global free
 * and reserved pages.
 */
struct hs_numa_snap {
	struct hs_snap mod;
	int nodes;
	long long free2m[HS_MAX_NODES];
	long long free1g[HS_MAX_NODES];
	long long free1g_all, rsvd1g_all, nr1g_all;
};

static inline int hs_numa_snap(struct hs_numa_snap *s)
{
	int n;

	memset(s, 0, sizeof(*s));
	if (hs_snap(&s->mod))
		return -1;
	s->nodes = hs_nr_nodes();
	for (n = 0; n < s->nodes; n++) {
		s->free2m[n] = hs_hp(n, HS_KB_2M, "free_hugepages");
		/* -1 on both sides when the kernel has no 1 GiB pages. */
		s->free1g[n] = hs_hp(n, HS_KB_1G, "free_hugepages");
		if (s->free2m[n] < 0)
			return -1;
	}
	s->free1g_all = hs_hp(-1, HS_KB_1G, "free_hugepages");
	s->rsvd1g_all = hs_hp(-1, HS_KB_1G, "resv_hugepages");
	s->nr1g_all = hs_hp(-1, HS_KB_1G, "nr_hugepages");
	return 0;
}

static inline bool hs_numa_snap_same(const struct hs_numa_snap *a,
				     const struct hs_numa_snap *b)
{
	int n;

	if (!hs_snap_same(&a->mod, &b->mod) || a->nodes != b->nodes ||
	    a->free1g_all != b->free1g_all || a->rsvd1g_all != b->rsvd1g_all ||
	    a->nr1g_all != b->nr1g_all)
		return false;
	for (n = 0; n < a->nodes; n++)
		if (a->free2m[n] != b->free2m[n] || a->free1g[n] != b->free1g[n])
			return false;
	return true;
}

/* Poll (bounded) until the state equals @base; 0, or -1 on timeout. */
static inline int hs_numa_wait(const struct hs_numa_snap *base,
			       struct hs_numa_snap *now, int timeout_ms)
{
	long long end = hs_now_ms() + timeout_ms;

	for (;;) {
		if (!hs_numa_snap(now) && hs_numa_snap_same(base, now))
			return 0;
		if (hs_now_ms() > end)
			return -1;
		usleep(10000);
	}
}

/* "free 2M n0 64/64 n1 64/64 1G 2/2 rsvd 0/0 nr 2/2 used 0/0 ..." */
static inline void hs_numa_snap_str(const struct hs_numa_snap *now,
				    const struct hs_numa_snap *base, char *buf,
				    size_t len)
{
	size_t off;
	int n;

	off = snprintf(buf, len,
		       "used %lld/%lld regions %lld/%lld 2M free %lld/%lld rsvd %lld/%lld;",
		       now->mod.used_bytes, base->mod.used_bytes,
		       now->mod.regions, base->mod.regions, now->mod.hp_free,
		       base->mod.hp_free, now->mod.hp_rsvd, base->mod.hp_rsvd);
	for (n = 0; n < now->nodes && off < len; n++)
		off += snprintf(buf + off, len - off,
				" node%d 2M %lld/%lld 1G %lld/%lld;", n,
				now->free2m[n], base->free2m[n],
				now->free1g[n], base->free1g[n]);
	if (off < len)
		snprintf(buf + off, len - off,
			 " 1G free %lld/%lld rsvd %lld/%lld nr %lld/%lld",
			 now->free1g_all, base->free1g_all, now->rsvd1g_all,
			 base->rsvd1g_all, now->nr1g_all, base->nr1g_all);
}

/* For a FIXTURE_TEARDOWN_PARENT, like HS_EXPECT_BASELINE. */
#define HS_EXPECT_NUMA_BASELINE(base) do {				\
	struct hs_numa_snap __hs_now;					\
	char __hs_buf[1024];						\
									\
	if (hs_numa_wait(base, &__hs_now, HS_FREE_TIMEOUT_MS)) {	\
		hs_numa_snap_str(&__hs_now, base, __hs_buf,		\
				 sizeof(__hs_buf));			\
		EXPECT_EQ(0, 1)						\
			TH_LOG("not back to baseline (now/base): %s",	\
			       __hs_buf);				\
	}								\
} while (0)

/* ---- where pages are ------------------------------------------------- */

/*
 * Fault in every page of [p, p + bytes) (reading one byte per page), then
 * ask move_pages(2) where each is. The node all pages are on, -1 if they
 * are on several, or -2 - errno of the first page that could not be
 * located. @nodes (if not NULL) gets a count of pages per node.
 */
static inline int hs_pages_node(const void *p, uint64_t bytes,
				uint64_t page_size, int nodes[HS_MAX_NODES])
{
	static void *pages[HS_MAX_PAGES];
	static int status[HS_MAX_PAGES];
	const volatile char *c = p;
	uint64_t i, n = bytes / page_size;
	int node = -3;

	if (nodes)
		memset(nodes, 0, sizeof(int) * HS_MAX_NODES);
	if (n > HS_MAX_PAGES)
		return -2 - E2BIG;
	for (i = 0; i < n; i++) {
		pages[i] = (char *)p + i * page_size;
		(void)c[i * page_size];
		status[i] = -ENOENT;
	}
	if (syscall(SYS_move_pages, 0, (unsigned long)n, pages, NULL, status,
		    0))
		return -2 - errno;
	for (i = 0; i < n; i++) {
		if (status[i] < 0)
			return -2 + status[i];
		if (nodes && status[i] < HS_MAX_NODES)
			nodes[status[i]]++;
		if (node == -3)
			node = status[i];
		else if (node != status[i])
			node = -1;
	}
	return node;
}

/*
 * The numa_maps line of the mapping starting at @addr: per-node page
 * counts (N<n>=) into @nodes and kernelpagesize_kB. 0, or -1 if there is
 * no such mapping. numa_maps only counts pages that are mapped, so fault
 * them in first (hs_pages_node does).
 */
static inline int hs_numa_maps(const void *addr, int nodes[HS_MAX_NODES],
			       long *page_kb)
{
	unsigned long start;
	char line[1024], *tok, *save;
	bool found = false;
	FILE *f;

	memset(nodes, 0, sizeof(int) * HS_MAX_NODES);
	*page_kb = -1;
	f = fopen("/proc/self/numa_maps", "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx", &start) != 1 ||
		    start != (unsigned long)addr)
			continue;
		found = true;
		for (tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save)) {
			int n, count;

			if (sscanf(tok, "N%d=%d", &n, &count) == 2 && n >= 0 &&
			    n < HS_MAX_NODES)
				nodes[n] = count;
			else
				sscanf(tok, "kernelpagesize_kB=%ld", page_kb);
		}
	}
	fclose(f);
	return found ? 0 : -1;
}

/* ---- memory policy and CPUs ------------------------------------------ */

/* set_mempolicy(2) with a one-node mask, or MPOL_DEFAULT for @node < 0. */
static inline int hs_set_policy(int mode, unsigned long nodemask)
{
	if (mode == MPOL_DEFAULT)
		return syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0) ?
			-errno : 0;
	return syscall(SYS_set_mempolicy, mode, &nodemask,
		       sizeof(nodemask) * 8) ? -errno : 0;
}

/* The CPUs of @node (its sysfs cpulist) into @set: how many, or -1. */
static inline int hs_node_cpus(int node, cpu_set_t *set)
{
	char path[96], buf[256], *s;
	int count = 0;

	CPU_ZERO(set);
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist",
		 node);
	if (hs_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	for (s = buf; *s && *s != '\n';) {
		char *end;
		long lo = strtol(s, &end, 10), hi = lo, cpu;

		if (end == s)
			return -1;
		if (*end == '-') {
			s = end + 1;
			hi = strtol(s, &end, 10);
			if (end == s)
				return -1;
		}
		for (cpu = lo; cpu <= hi && cpu < CPU_SETSIZE; cpu++) {
			CPU_SET(cpu, set);
			count++;
		}
		s = *end == ',' ? end + 1 : end;
	}
	return count;
}

/* Run the calling thread on @node's CPUs only: 0 or -errno. */
static inline int hs_run_on_node(int node)
{
	cpu_set_t set;

	if (hs_node_cpus(node, &set) <= 0)
		return -ENODEV;
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

#endif /* _HS_NUMA_H */
