// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: fork semantics. Region mappings are not inherited (the
 * module sets VM_DONTCOPY, so no hugetlb copy-on-write can SIGBUS a
 * child): in the child the address is unmapped, and any access there is
 * SIGSEGV with SEGV_MAPERR, never SIGBUS, while the parent keeps writing
 * its memory. The open file is inherited like any other, so the child can
 * map the same region itself (deliberate sharing: each sees the other's
 * writes at once); it can also open the device afresh and create regions
 * of its own, which are freed when it exits. MADV_DOFORK on a mapping is
 * the other deliberate way to share it: the child then inherits it, shared
 * (still no copy, no SIGBUS).
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

/* One byte over a pipe, each way: "done, your turn". */
struct chan {
	int up[2];	/* child -> parent */
	int down[2];	/* parent -> child */
};

static int chan_open(struct chan *ch)
{
	return pipe(ch->up) || pipe(ch->down) ? -1 : 0;
}

/* Keep the ends this side uses. */
static void chan_side(struct chan *ch, bool child)
{
	close(child ? ch->up[0] : ch->up[1]);
	close(child ? ch->down[1] : ch->down[0]);
}

static int say(int fd)
{
	unsigned char b = 0;

	return write(fd, &b, 1) == 1 ? 0 : -1;
}

static int hear(int fd)
{
	unsigned char b;

	return read(fd, &b, 1) == 1 ? 0 : -1;
}

/* Wait for @pid: its exit status, or 100 + the signal that killed it. */
static int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 100 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/*
 * The child maps the region through the inherited file and writes the
 * first page; the parent sees it and writes the second, which the child
 * sees: shared both ways while both run.
 */
TEST_F(forking, child_maps_region_through_inherited_file)
{
	struct hugeslab_query q;
	struct chan ch;
	pid_t pid;

	ASSERT_EQ(0, chan_open(&ch));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *m;

		chan_side(&ch, true);
		if (hs_mapped_anywhere(self->p, self->c.bytes))
			_exit(1);
		m = hs_map(self->fd, &self->c);
		if (m == MAP_FAILED)
			_exit(2);
		if (hs_check(m, self->c.bytes, 31, 0) != -1)
			_exit(3);
		hs_fill(m, HS_2M, 33, 0);
		if (say(ch.up[1]) || hear(ch.down[0]))
			_exit(4);
		if (hs_check(m + HS_2M, HS_2M, 34, HS_2M) != -1)
			_exit(5);
		_exit(munmap(m, self->c.bytes) ? 6 : 0);
	}
	chan_side(&ch, false);
	EXPECT_EQ(0, hear(ch.up[0]));
	/* What the child wrote is what the parent sees. */
	EXPECT_EQ(-1, hs_check(self->p, HS_2M, 33, 0));
	hs_fill(self->p + HS_2M, HS_2M, 34, HS_2M);
	EXPECT_EQ(0, say(ch.down[1]));
	EXPECT_EQ(0, reap(pid))
		TH_LOG("1: inherited, 2: mmap failed, 3: other data, 4: pipe, 5: parent's write not seen, 6: munmap");
	/* The child's exit did not take the region with it. */
	EXPECT_EQ(-1, hs_check(self->p, HS_2M, 33, 0));
	EXPECT_EQ(-1, hs_check(self->p + HS_2M, HS_2M, 34, HS_2M));
	ASSERT_EQ(0, hs_query(self->fd, &q));
	EXPECT_EQ(1ULL, q.fd_regions);
	EXPECT_EQ(0, hs_destroy(self->fd, self->c.id));
}

/* In the child, an access at @a must be SIGSEGV for want of a mapping. */
static int probe_unmapped(char *a, bool write, int step)
{
	int code, sig;

	sig = write ? hs_probe_write(a, 1, &code) : hs_probe_read(a, &code);
	if (sig == SIGSEGV && code == SEGV_MAPERR)
		return 0;
	if (!sig)
		return step * 10 + 1;		/* it worked */
	if (sig == SIGBUS)
		return step * 10 + 2;
	return step * 10 + (sig == SIGSEGV ? 3 : 4);
}

/*
 * Both write after the fork: the parent to its region, the child to the
 * same addresses, where it has nothing. The child's stores fault with
 * SIGSEGV (caught, so the child can report them) and change nothing.
 */
TEST_F(forking, both_write_after_fork)
{
	struct chan ch;
	int ret;
	pid_t pid;

	ASSERT_EQ(0, chan_open(&ch));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *p = self->p;

		chan_side(&ch, true);
		if (hear(ch.down[0]))
			_exit(99);
		ret = probe_unmapped(p, true, 1);
		if (!ret)
			ret = probe_unmapped(p + HS_2M + 8, true, 2);
		if (!ret)
			ret = probe_unmapped(p + self->c.bytes - 1, true, 3);
		if (!ret)
			ret = probe_unmapped(p + 4096, false, 4);
		if (say(ch.up[1]))
			_exit(98);
		_exit(ret);
	}
	chan_side(&ch, false);
	hs_fill(self->p, self->c.bytes, 34, 0);
	EXPECT_EQ(0, say(ch.down[1]));
	/* Keep writing while the child tries. */
	hs_fill(self->p, self->c.bytes, 35, 0);
	EXPECT_EQ(0, hear(ch.up[0]));
	hs_fill(self->p + HS_2M, HS_2M, 36, HS_2M);
	ret = reap(pid);
	EXPECT_EQ(0, ret)
		TH_LOG("child access %d: %s", ret / 10,
		       ret % 10 == 1 ? "worked" : ret % 10 == 2 ? "SIGBUS" :
		       ret % 10 == 3 ? "SIGSEGV, not SEGV_MAPERR" :
		       "other signal or exit");
	EXPECT_EQ(-1, hs_check(self->p, HS_2M, 35, 0));
	EXPECT_EQ(-1, hs_check(self->p + HS_2M, HS_2M, 36, HS_2M));
}

/*
 * The child opens the device itself and makes a region of its own - at
 * the very address the parent's mapping has, which is free in the child.
 * The two do not alias; the child's region goes when the child exits.
 */
TEST_F(forking, child_creates_own_region)
{
	struct hs_snap now;
	struct chan ch;
	long long end;
	pid_t pid;

	ASSERT_EQ(0, chan_open(&ch));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct hugeslab_create c;
		struct hugeslab_query q;
		char *m;
		int fd;

		chan_side(&ch, true);
		fd = hs_open();
		if (fd < 0)
			_exit(1);
		if (hs_create(fd, HS_2M, &c))
			_exit(2);
		m = mmap(self->p, HS_2M, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED_NOREPLACE, fd, c.offset);
		if (m != self->p)
			_exit(3);
		if (hs_check_zero(m, HS_2M) != -1)
			_exit(4);
		hs_fill(m, HS_2M, 37, 0);
		if (hs_check(m, HS_2M, 37, 0) != -1)
			_exit(5);
		if (hs_query(fd, &q) || q.fd_regions != 1)
			_exit(6);
		/* The inherited file still has the parent's region. */
		if (hs_query(self->fd, &q) || q.fd_regions != 1)
			_exit(7);
		if (say(ch.up[1]) || hear(ch.down[0]))
			_exit(8);
		/* Exit holding it: exit must free it. */
		_exit(0);
	}
	chan_side(&ch, false);
	EXPECT_EQ(0, hear(ch.up[0]));
	EXPECT_EQ(1, hs_dbg_count_pid(pid));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.regions + 2, now.regions);
	EXPECT_EQ(-1, hs_check(self->p, self->c.bytes, 31, 0));
	hs_fill(self->p, self->c.bytes, 38, 0);
	EXPECT_EQ(0, say(ch.down[1]));
	EXPECT_EQ(0, reap(pid))
		TH_LOG("1: open, 2: create, 3: mmap, 4: not zeroed, 5: data, 6: own query, 7: inherited query, 8: pipe");
	EXPECT_EQ(-1, hs_check(self->p, self->c.bytes, 38, 0));

	end = hs_now_ms() + HS_FREE_TIMEOUT_MS;
	while (hs_dbg_count_pid(pid) != 0 && hs_now_ms() < end)
		usleep(10000);
	EXPECT_EQ(0, hs_dbg_count_pid(pid));
}

/* MADV_DOFORK undoes VM_DONTCOPY: the child shares the mapping. */
TEST_F(forking, madv_dofork_shares)
{
	struct hs_smaps s;
	pid_t pid;

	ASSERT_EQ(0, madvise(self->p, self->c.bytes, MADV_DOFORK));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (!hs_mapped_anywhere(self->p, self->c.bytes))
			_exit(1);
		if (hs_check(self->p, self->c.bytes, 31, 0) != -1)
			_exit(2);
		hs_fill(self->p + HS_2M, HS_2M, 39, HS_2M);
		_exit(0);
	}
	EXPECT_EQ(0, reap(pid)) TH_LOG("1: not inherited, 2: other data");
	EXPECT_EQ(-1, hs_check(self->p, HS_2M, 31, 0));
	EXPECT_EQ(-1, hs_check(self->p + HS_2M, HS_2M, 39, HS_2M));
	ASSERT_EQ(0, hs_smaps_find(self->p, &s));
	EXPECT_EQ(2048L, s.kernel_page_kb);
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
