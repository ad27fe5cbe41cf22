// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: mprotect of region mappings. Defined behaviour:
 *
 *  - PROT_READ: reads work, a write raises SIGSEGV with SEGV_ACCERR (never
 *    SIGBUS) and changes nothing; a process that does not catch it dies of
 *    SIGSEGV.
 *  - PROT_NONE: reads and writes both raise SIGSEGV (SEGV_ACCERR).
 *  - restoring PROT_READ | PROT_WRITE works, the data is what it was, and
 *    no page is copied or added (shared mapping: no copy-on-write).
 *  - a 2 MiB-aligned part can be protected on its own; the rest keeps its
 *    protection; a range that would split a 2 MiB page is refused (EINVAL).
 */
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

#define REGION_BYTES	(2 * HS_2M)

FIXTURE(prot) {
	int fd;
	struct hugeslab_create c;
	char *p;
	struct hs_snap base;
};

FIXTURE_SETUP(prot)
{
	self->fd = hs_open();
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s (is hugeslab.ko loaded?)",
				      HUGESLAB_DEVICE, strerror(errno));
	ASSERT_EQ(0, hs_snap(&self->base))
		TH_LOG("%s/stats unreadable: debugfs not mounted?", HS_DEBUGFS);
	ASSERT_EQ(0, hs_create(self->fd, REGION_BYTES, &self->c));
	self->p = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, self->p);
	hs_fill(self->p, REGION_BYTES, 81, 0);
}

FIXTURE_TEARDOWN_PARENT(prot)
{
	HS_EXPECT_BASELINE(&self->base);
}

/* Expect a probe to have raised SIGSEGV for lack of permission. */
#define EXPECT_ACCERR(sig, code, what) do {				\
	EXPECT_EQ(SIGSEGV, sig) TH_LOG("%s: signal %d", what, sig);	\
	EXPECT_EQ(SEGV_ACCERR, code) TH_LOG("%s: si_code %d", what, code); \
} while (0)

TEST_F(prot, read_only)
{
	char *a = self->p + HS_2M + 40;	/* second page */
	struct hs_snap before, now;
	int sig, code;

	ASSERT_EQ(0, hs_snap(&before));
	ASSERT_EQ(0, mprotect(self->p, REGION_BYTES, PROT_READ));
	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 81, 0));
	EXPECT_EQ(0, hs_probe_read(a, &code));

	sig = hs_probe_write(self->p, 1, &code);
	EXPECT_ACCERR(sig, code, "write at start");
	sig = hs_probe_write(a, 1, &code);
	EXPECT_ACCERR(sig, code, "write in page 2");
	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 81, 0));

	ASSERT_EQ(0, mprotect(self->p, REGION_BYTES, PROT_READ | PROT_WRITE));
	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 81, 0));
	EXPECT_EQ(0, hs_probe_write(a, 1, &code));
	hs_fill(self->p, REGION_BYTES, 82, 0);
	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 82, 0));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(before.hp_free, now.hp_free);
	EXPECT_EQ(before.used_bytes, now.used_bytes);
}

/*
 * Uncaught: a child maps the region read-only through the inherited file
 * (region mappings are not inherited), reads, then writes; it must die of
 * SIGSEGV, not SIGBUS, and the write must not land.
 */
TEST_F(prot, read_only_write_kills_child)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		volatile char *q = mmap(NULL, REGION_BYTES, PROT_READ,
					MAP_SHARED, self->fd, self->c.offset);

		if (q == MAP_FAILED)
			_exit(1);
		if (hs_check((const void *)q, REGION_BYTES, 81, 0) != -1)
			_exit(2);
		q[HS_2M + 8] = 0x11;
		_exit(3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status))
		TH_LOG("child exited %d (1 mmap, 2 data, 3 write worked)",
		       WEXITSTATUS(status));
	if (WIFSIGNALED(status)) {
		EXPECT_EQ(SIGSEGV, WTERMSIG(status));
	}
	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 81, 0));
}

TEST_F(prot, none)
{
	int sig, code;

	ASSERT_EQ(0, mprotect(self->p, REGION_BYTES, PROT_NONE));
	sig = hs_probe_read(self->p, &code);
	EXPECT_ACCERR(sig, code, "read");
	sig = hs_probe_read(self->p + REGION_BYTES - 1, &code);
	EXPECT_ACCERR(sig, code, "read at end");
	sig = hs_probe_write(self->p + HS_2M, 1, &code);
	EXPECT_ACCERR(sig, code, "write");

	ASSERT_EQ(0, mprotect(self->p, REGION_BYTES, PROT_READ | PROT_WRITE));
	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 81, 0));
	hs_fill(self->p, REGION_BYTES, 83, 0);
	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 83, 0));
}

TEST_F(prot, aligned_part)
{
	struct hs_smaps s;
	int sig, code;

	ASSERT_EQ(0, mprotect(self->p + HS_2M, HS_2M, PROT_READ));
	ASSERT_EQ(0, hs_smaps_find(self->p + HS_2M, &s));
	EXPECT_EQ((unsigned long)self->p + HS_2M, s.start);
	EXPECT_STREQ("r--s", s.flags);
	ASSERT_EQ(0, hs_smaps_find(self->p, &s));
	EXPECT_STREQ("rw-s", s.flags);

	EXPECT_EQ(0, hs_probe_write(self->p + 8, 1, &code));
	sig = hs_probe_write(self->p + HS_2M + 8, 1, &code);
	EXPECT_ACCERR(sig, code, "write to read-only half");

	/* Not inside a page. */
	EXPECT_EQ(-1, mprotect(self->p + 4096, HS_2M, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, hs_probe_write(self->p + 4096, 2, &code));

	ASSERT_EQ(0, mprotect(self->p, REGION_BYTES, PROT_READ | PROT_WRITE));
	EXPECT_EQ(0, hs_probe_write(self->p + HS_2M + 8, 3, &code));
	EXPECT_EQ(1, self->p[8]);
	EXPECT_EQ(2, self->p[4096]);
	EXPECT_EQ(3, self->p[HS_2M + 8]);
}

TEST_HARNESS_MAIN
