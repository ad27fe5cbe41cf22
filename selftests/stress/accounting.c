// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: where a region's memory shows, and that it stops showing
 * when the region is gone.
 *
 * - /proc/meminfo: HugePages_Free drops by the region's pages at create
 *   (it is populated then, not at first touch); pages inside the reserve
 *   come out of HugePages_Rsvd, pages beyond it from the unreserved rest.
 * - The mapping process: /proc/self/status HugetlbPages and smaps count a
 *   huge page once this process has it in its page tables (touched or
 *   MAP_POPULATE), not at mmap. smaps calls a page mapped by one process
 *   Private_Hugetlb even though the mapping is MAP_SHARED; with a second
 *   process mapping it, both see Shared_Hugetlb.
 * - The hugetlb cgroup (v2, mounted here if need be) of the task that
 *   creates the region: hugetlb.2MB.current rises by the region's size at
 *   create - also when the module populates from a kernel thread (a node
 *   request, a small RLIMIT_FSIZE), which it moves into the caller's
 *   cgroups - and falls back at destroy; with hugetlb.2MB.max below a
 *   request the create fails with ENOMEM, counts in failed_nomem, and
 *   leaves nothing charged or allocated.
 */
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/vfs.h>

#include "kselftest_harness.h"
#include "hs_stress.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CG_ROOT		"/sys/fs/cgroup"

/* HugetlbPages of /proc/self/status in kB, or -1. */
static long long status_hugetlb_kb(void)
{
	char buf[8192];

	if (hs_read_file("/proc/self/status", buf, sizeof(buf)) < 0)
		return -1;
	return hs_field(buf, "HugetlbPages", ':');
}

FIXTURE(acct) {
	struct hs_snap base;
	int fd;
	long long reserve_pages;
	/* cgroup state to undo (the fixture is shared with the parent) */
	bool mounted_cg, enabled_hugetlb;
	char cg[96];
};

FIXTURE_SETUP(acct)
{
	self->fd = hs_open();
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: is hugeslab.ko loaded?",
		     HUGESLAB_DEVICE);
	ASSERT_LE(0, self->fd);
	if (hs_snap(&self->base))
		SKIP(return, "%s/stats unreadable: debugfs not mounted?",
		     HS_DEBUGFS);
	ASSERT_EQ(0, hs_wait_idle(&self->base))
		TH_LOG("regions left by someone else: %lld bytes in %lld",
		       self->base.used_bytes, self->base.regions);
	self->reserve_pages = hs_param("reserve_mb") / 2;
	ASSERT_LE(3, self->reserve_pages) TH_LOG("load with reserve_mb >= 6");
}

FIXTURE_TEARDOWN_PARENT(acct)
{
	if (self->cg[0])
		EXPECT_EQ(0, rmdir(self->cg)) TH_LOG("rmdir %s: %s", self->cg,
						    strerror(errno));
	if (self->enabled_hugetlb)
		EXPECT_EQ(0, hs_write_file(CG_ROOT "/cgroup.subtree_control",
					   "-hugetlb"));
	if (self->mounted_cg)
		EXPECT_EQ(0, umount2(CG_ROOT, 0));
	HS_EXPECT_BASELINE(&self->base);
}

/* ---- /proc/meminfo --------------------------------------------------- */

TEST_F(acct, meminfo_counts_pages_at_create)
{
	long long total = hs_meminfo("HugePages_Total");
	long long rp = self->reserve_pages, more;
	struct hugeslab_create a, b;
	char *p;

	/* Inside the reserve: from the reserved pages. */
	ASSERT_EQ(0, hs_create(self->fd, 3 * HS_2M, &a));
	EXPECT_EQ(self->base.hp_free - 3, hs_meminfo("HugePages_Free"));
	EXPECT_EQ(self->base.hp_rsvd - 3, hs_meminfo("HugePages_Rsvd"));
	EXPECT_EQ(total, hs_meminfo("HugePages_Total"));
	/* Mapping and touching changes nothing more. */
	p = hs_map(self->fd, &a);
	ASSERT_NE(MAP_FAILED, p);
	hs_fill(p, a.bytes, 1, 0);
	EXPECT_EQ(self->base.hp_free - 3, hs_meminfo("HugePages_Free"));
	EXPECT_EQ(self->base.hp_rsvd - 3, hs_meminfo("HugePages_Rsvd"));

	/* Past the reserve: the rest of it, then unreserved free pages. */
	more = rp - 3 + 2;
	ASSERT_LE(more + 3, self->base.hp_free - (self->base.hp_rsvd - rp));
	ASSERT_EQ(0, hs_create(self->fd, more * HS_2M, &b));
	EXPECT_EQ(self->base.hp_free - 3 - more, hs_meminfo("HugePages_Free"));
	EXPECT_EQ(self->base.hp_rsvd - rp, hs_meminfo("HugePages_Rsvd"));

	/* Destroyed but mapped: still taken. */
	ASSERT_EQ(0, hs_destroy(self->fd, a.id));
	ASSERT_EQ(0, hs_destroy(self->fd, b.id));
	EXPECT_EQ(self->base.hp_free - 3, hs_meminfo("HugePages_Free"));
	EXPECT_EQ(self->base.hp_rsvd - 3, hs_meminfo("HugePages_Rsvd"));
	ASSERT_EQ(0, munmap(p, a.bytes));
	/* The teardown checks that all of it came back. */
}

/* ---- the mapping process: status and smaps --------------------------- */

struct sharer {
	int fd;
	struct hugeslab_create c;
	int rep, rel;
};

/* The second process: maps the same region through the inherited file. */
static int sharer_child(void *arg)
{
	struct sharer *s = arg;
	struct hs_smaps sm;
	char *p;

	p = hs_map(s->fd, &s->c);
	if (p == MAP_FAILED)
		return 1;
	if (hs_check(p, s->c.bytes, 7, 0) >= 0)
		return 2;
	if (hs_smaps_find(p, &sm))
		return 3;
	if (sm.shared_hugetlb_kb != (long)(s->c.bytes >> 10) ||
	    sm.private_hugetlb_kb)
		return 4;
	if (status_hugetlb_kb() != (long long)(s->c.bytes >> 10))
		return 5;
	if (hs_pipe_put(s->rep, 0) || hs_pipe_get(s->rel) < 0)
		return 6;
	return 0;
}

TEST_F(acct, process_counts_pages_it_maps)
{
	long long kb0 = status_hugetlb_kb(), bytes = 3 * HS_2M;
	struct hugeslab_create c;
	struct sharer s;
	struct hs_smaps sm;
	int rep[2], rel[2], status;
	char *p, *q, buf[64];
	pid_t pid;

	ASSERT_LE(0, kb0);
	ASSERT_EQ(0, hs_create(self->fd, bytes, &c));
	p = hs_map(self->fd, &c);
	ASSERT_NE(MAP_FAILED, p);
	/* Mapped, not touched: nothing in this process yet. */
	ASSERT_EQ(0, hs_smaps_find(p, &sm));
	EXPECT_EQ(0, sm.shared_hugetlb_kb + sm.private_hugetlb_kb);
	EXPECT_EQ(kb0, status_hugetlb_kb());

	/* One page touched, then all: one mapper, so "private". */
	p[HS_2M + 5] = 1;
	ASSERT_EQ(0, hs_smaps_find(p, &sm));
	EXPECT_EQ(2048, sm.private_hugetlb_kb);
	EXPECT_EQ(0, sm.shared_hugetlb_kb);
	EXPECT_EQ(kb0 + 2048, status_hugetlb_kb());
	hs_fill(p, bytes, 7, 0);
	ASSERT_EQ(0, hs_smaps_find(p, &sm));
	EXPECT_EQ(bytes >> 10, sm.private_hugetlb_kb);
	EXPECT_EQ(0, sm.shared_hugetlb_kb);
	EXPECT_EQ(kb0 + (bytes >> 10), status_hugetlb_kb());

	/* A second process maps it: both see it shared. */
	ASSERT_EQ(0, pipe(rep));
	ASSERT_EQ(0, pipe(rel));
	s.fd = self->fd;
	s.c = c;
	s.rep = rep[1];
	s.rel = rel[0];
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(sharer_child(&s));
	close(rep[1]);
	ASSERT_EQ(0, hs_pipe_get(rep[0])) {
		status = hs_wait(pid);
		TH_LOG("second process: %s",
		       hs_status_str(status, buf, sizeof(buf)));
	}
	ASSERT_EQ(0, hs_smaps_find(p, &sm));
	EXPECT_EQ(bytes >> 10, sm.shared_hugetlb_kb);
	EXPECT_EQ(0, sm.private_hugetlb_kb);
	EXPECT_EQ(kb0 + (bytes >> 10), status_hugetlb_kb());
	ASSERT_EQ(0, hs_pipe_put(rel[1], 0));
	status = hs_wait(pid);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("second process: %s",
		       hs_status_str(status, buf, sizeof(buf)));
	ASSERT_EQ(0, hs_smaps_find(p, &sm));
	EXPECT_EQ(bytes >> 10, sm.private_hugetlb_kb);

	/* MAP_POPULATE puts every page in the page tables at once. */
	q = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_POPULATE, self->fd, c.offset);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(kb0 + 2 * (bytes >> 10), status_hugetlb_kb());
	ASSERT_EQ(0, munmap(q, bytes));

	/* Unmapped: gone from the process, whether destroyed or not. */
	ASSERT_EQ(0, munmap(p, bytes));
	EXPECT_EQ(kb0, status_hugetlb_kb());
	ASSERT_EQ(0, hs_destroy(self->fd, c.id));
}

/* ---- the hugetlb cgroup ---------------------------------------------- */

/* What the child in the cgroup is told to do; it answers with an errno. */
enum cg_cmd {
	CG_CREATE = 'c',	/* 4 MiB, populated in the caller */
	CG_CREATE_NODE = 'n',	/* 4 MiB on node 0: a kernel thread populates */
	CG_CREATE_FSIZE = 'f',	/* 4 MiB with RLIMIT_FSIZE 1 MiB: ditto */
	CG_CREATE_2M = '2',	/* 2 MiB */
	CG_DESTROY = 'd',	/* destroy every region */
	CG_QUIT = 'q',
};

static void __attribute__((noreturn))
cg_child(const char *cg, int cmd_fd, int ans_fd)
{
	struct hugeslab_create c;
	uint64_t ids[16];
	int n = 0, fd, err, cmd;
	char path[160];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	if (hs_write_file(path, "0")) {
		hs_pipe_put(ans_fd, 200);
		_exit(1);
	}
	fd = hs_open();
	if (fd < 0) {
		hs_pipe_put(ans_fd, 201);
		_exit(1);
	}
	hs_pipe_put(ans_fd, 0);
	while ((cmd = hs_pipe_get(cmd_fd)) >= 0 && cmd != CG_QUIT) {
		struct rlimit old, small = { 1 << 20, 1 << 20 };

		switch (cmd) {
		case CG_CREATE:
			err = hs_create(fd, 2 * HS_2M, &c);
			break;
		case CG_CREATE_NODE:
			err = hs_create_node(fd, 2 * HS_2M, 0, &c);
			break;
		case CG_CREATE_FSIZE:
			getrlimit(RLIMIT_FSIZE, &old);
			small.rlim_max = old.rlim_max;
			setrlimit(RLIMIT_FSIZE, &small);
			err = hs_create(fd, 2 * HS_2M, &c);
			setrlimit(RLIMIT_FSIZE, &old);
			break;
		case CG_CREATE_2M:
			err = hs_create(fd, HS_2M, &c);
			break;
		case CG_DESTROY:
			err = 0;
			while (n && !err)
				err = hs_destroy(fd, ids[--n]);
			hs_pipe_put(ans_fd, -err);
			continue;
		default:
			err = -EINVAL;
		}
		if (!err && n < 16)
			ids[n++] = c.id;
		hs_pipe_put(ans_fd, -err);
	}
	_exit(0);
}

/* Send a command, return the child's errno (or -1 if it is gone). */
static int cg_do(int cmd_fd, int ans_fd, enum cg_cmd cmd)
{
	unsigned char b;

	if (hs_pipe_put(cmd_fd, cmd))
		return -1;
	if (hs_pipe_read(ans_fd, &b, 1, 60000))
		return -1;
	return b;
}

static long long cg_value(const char *cg, const char *file)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return hs_read_ll(path);
}

/* Mount cgroup2 and enable the hugetlb controller below the root. */
static int cg_setup(FIXTURE_DATA(acct) *self, char *why, size_t len)
{
	char buf[512];
	struct statfs sfs;

	if (statfs(CG_ROOT, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL)) {
			snprintf(why, len, "mount cgroup2 on %s: %s", CG_ROOT,
				 strerror(errno));
			return -1;
		}
		self->mounted_cg = true;
	}
	if (hs_read_file(CG_ROOT "/cgroup.controllers", buf, sizeof(buf)) < 0 ||
	    !strstr(buf, "hugetlb")) {
		snprintf(why, len, "no hugetlb controller in cgroup2 (%.100s)",
			 buf);
		return -1;
	}
	if (hs_read_file(CG_ROOT "/cgroup.subtree_control", buf,
			 sizeof(buf)) < 0)
		return -1;
	if (!strstr(buf, "hugetlb")) {
		if (hs_write_file(CG_ROOT "/cgroup.subtree_control",
				  "+hugetlb")) {
			snprintf(why, len, "cannot enable +hugetlb");
			return -1;
		}
		self->enabled_hugetlb = true;
	}
	snprintf(self->cg, sizeof(self->cg), CG_ROOT "/hs-stress-%d",
		 getpid());
	if (mkdir(self->cg, 0755)) {
		snprintf(why, len, "mkdir %s: %s", self->cg, strerror(errno));
		self->cg[0] = 0;
		return -1;
	}
	return 0;
}

TEST_F_TIMEOUT(acct, hugetlb_cgroup_of_the_creator, 120)
{
	const long long r4 = 2 * HS_2M;
	int cmd[2], ans[2], status;
	long long nomem, cur;
	struct hs_snap now = { 0 };
	char why[256] = "", path[160];
	pid_t pid;

	ASSERT_EQ(0, cg_setup(self, why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, cg_value(self->cg, "hugetlb.2MB.current"));
	ASSERT_EQ(0, pipe(cmd));
	ASSERT_EQ(0, pipe(ans));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		cg_child(self->cg, cmd[0], ans[1]);
	close(ans[1]);
	close(cmd[0]);
	ASSERT_EQ(0, hs_pipe_get(ans[0])) TH_LOG("child not in the cgroup");

	/* Populated in the caller's context: charged there. */
	ASSERT_EQ(0, cg_do(cmd[1], ans[0], CG_CREATE));
	EXPECT_EQ(r4, cg_value(self->cg, "hugetlb.2MB.current"));
	ksft_print_msg("after a 4 MiB create: current %lld, rsvd.current %lld\n",
		       cg_value(self->cg, "hugetlb.2MB.current"),
		       cg_value(self->cg, "hugetlb.2MB.rsvd.current"));
	ASSERT_EQ(0, cg_do(cmd[1], ans[0], CG_DESTROY));
	EXPECT_EQ(0, cg_value(self->cg, "hugetlb.2MB.current"));

	/* Populated by a kernel thread moved into the caller's cgroups. */
	cur = cg_value(self->cg, "hugetlb.2MB.current");
	ASSERT_EQ(0, cg_do(cmd[1], ans[0], CG_CREATE_NODE));
	EXPECT_EQ(cur + r4, cg_value(self->cg, "hugetlb.2MB.current"))
		TH_LOG("a node request was not charged to the caller's cgroup");
	ASSERT_EQ(0, cg_do(cmd[1], ans[0], CG_CREATE_FSIZE));
	EXPECT_EQ(cur + 2 * r4, cg_value(self->cg, "hugetlb.2MB.current"))
		TH_LOG("a create under RLIMIT_FSIZE was not charged to the caller's cgroup");
	ASSERT_EQ(0, cg_do(cmd[1], ans[0], CG_DESTROY));
	EXPECT_EQ(0, cg_value(self->cg, "hugetlb.2MB.current"));

	/* A limit below the request: ENOMEM, nothing left behind. */
	snprintf(path, sizeof(path), "%s/hugetlb.2MB.max", self->cg);
	ASSERT_EQ(0, hs_write_ll(path, HS_2M));
	nomem = hs_stat("failed_nomem");
	EXPECT_EQ(ENOMEM, cg_do(cmd[1], ans[0], CG_CREATE));
	EXPECT_EQ(nomem + 1, hs_stat("failed_nomem"));
	EXPECT_EQ(0, cg_value(self->cg, "hugetlb.2MB.current"));
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS))
		TH_LOG("free %lld/%lld rsvd %lld/%lld", now.hp_free,
		       self->base.hp_free, now.hp_rsvd, self->base.hp_rsvd);
	/* The kernel-thread paths are limited as well. */
	EXPECT_EQ(ENOMEM, cg_do(cmd[1], ans[0], CG_CREATE_NODE));
	EXPECT_EQ(ENOMEM, cg_do(cmd[1], ans[0], CG_CREATE_FSIZE));
	EXPECT_EQ(nomem + 3, hs_stat("failed_nomem"));
	/* Up to the limit is fine, one page more is not. */
	EXPECT_EQ(0, cg_do(cmd[1], ans[0], CG_CREATE_2M));
	EXPECT_EQ(HS_2M, cg_value(self->cg, "hugetlb.2MB.current"));
	EXPECT_EQ(ENOMEM, cg_do(cmd[1], ans[0], CG_CREATE_2M));
	/* Each refusal counts as a "max" event of the cgroup. */
	snprintf(path, sizeof(path), "%s/hugetlb.2MB.events", self->cg);
	ASSERT_LT(0, hs_read_file(path, why, sizeof(why)));
	EXPECT_EQ(4, hs_field(why, "max", ' '));
	ASSERT_EQ(0, cg_do(cmd[1], ans[0], CG_DESTROY));
	EXPECT_EQ(0, cg_value(self->cg, "hugetlb.2MB.current"));

	hs_pipe_put(cmd[1], CG_QUIT);
	status = hs_wait(pid);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
