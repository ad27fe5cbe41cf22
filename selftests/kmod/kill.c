// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: a process killed with SIGKILL while holding regions leaves
 * nothing behind - whether its regions were mapped, only created, already
 * destroyed but still mapped, or pinned as io_uring fixed buffers. The
 * child reports readiness through a pipe (no sleeping); after the kill the
 * parent polls, with a bound, until debugfs lists none of the child's
 * regions and the totals and the hugetlb pool are back to baseline.
 */
#include <liburing.h>
#include <signal.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

#define NR_REGIONS	3

FIXTURE(kill) {
	struct hs_snap base;
};

FIXTURE_VARIANT(kill) {
	bool map;		/* mmap and touch every region */
	bool destroy;		/* destroy them, keeping the mappings */
	bool uring;		/* register the mappings as fixed buffers */
};

FIXTURE_VARIANT_ADD(kill, created) {
	.map = false,
};

FIXTURE_VARIANT_ADD(kill, mapped) {
	.map = true,
};

FIXTURE_VARIANT_ADD(kill, destroyed_but_mapped) {
	.map = true,
	.destroy = true,
};

FIXTURE_VARIANT_ADD(kill, uring_registered) {
	.map = true,
	.uring = true,
};

FIXTURE_VARIANT_ADD(kill, uring_registered_destroyed) {
	.map = true,
	.destroy = true,
	.uring = true,
};

FIXTURE_SETUP(kill)
{
	int fd = hs_open();

	if (fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: is hugeslab.ko loaded?",
		     HUGESLAB_DEVICE);
	ASSERT_LE(0, fd);
	close(fd);
	if (hs_snap(&self->base))
		SKIP(return, "%s/stats unreadable: debugfs not mounted?",
		     HS_DEBUGFS);
}

FIXTURE_TEARDOWN_PARENT(kill)
{
	HS_EXPECT_BASELINE(&self->base);
}

/*
 * The child: set everything up, write one status byte (0 = ready, else
 * the step that failed), then wait to be killed. It never exits by itself
 * while the parent lives: a read on a pipe nobody writes blocks forever.
 */
static void child(const FIXTURE_VARIANT(kill) *v, int ready, int block)
{
	static const unsigned long long sizes[NR_REGIONS] = {
		HS_2M, 2 * HS_2M, HS_2M,
	};
	struct iovec iov[NR_REGIONS];
	struct hugeslab_create c;
	struct io_uring ring;
	unsigned char status = 0;
	int fd, i;
	char *p;

	fd = hs_open();
	if (fd < 0) {
		status = 1;
		goto out;
	}
	for (i = 0; i < NR_REGIONS; i++) {
		if (hs_create(fd, sizes[i], &c)) {
			status = 2;
			goto out;
		}
		iov[i].iov_len = c.bytes;
		if (!v->map)
			continue;
		p = hs_map(fd, &c);
		if (p == MAP_FAILED) {
			status = 3;
			goto out;
		}
		hs_fill(p, c.bytes, i, 0);
		iov[i].iov_base = p;
		if (v->destroy && hs_destroy(fd, c.id)) {
			status = 4;
			goto out;
		}
	}
	if (v->uring) {
		if (io_uring_queue_init(4, &ring, 0)) {
			status = 5;
			goto out;
		}
		if (io_uring_register_buffers(&ring, iov, NR_REGIONS)) {
			status = 6;
			goto out;
		}
	}
out:
	if (write(ready, &status, 1) != 1)
		_exit(10);
	if (read(block, &status, 1) < 0)
		_exit(12);
	_exit(11);
}

TEST_F(kill, leaves_nothing)
{
	int ready[2], block[2], status;
	unsigned char st = 0xff;
	struct hs_snap now;
	pid_t pid;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(block));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(ready[0]);
		close(block[1]);
		child(variant, ready[1], block[0]);
	}
	close(ready[1]);
	close(block[0]);

	ASSERT_EQ(1, read(ready[0], &st, 1));
	EXPECT_EQ(0, st) TH_LOG("child failed at step %d", st);
	EXPECT_EQ(NR_REGIONS, hs_dbg_count_pid(pid));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.regions + NR_REGIONS, now.regions);
	EXPECT_EQ(self->base.used_bytes + (long long)(4 * HS_2M),
		  now.used_bytes);
	EXPECT_EQ(self->base.hp_free - 4, now.hp_free);

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("child status 0x%x", status);
	close(ready[0]);
	close(block[1]);

	/* The kernel tears the child down partly asynchronously. */
	HS_EXPECT_BASELINE(&self->base);
	EXPECT_EQ(0, hs_dbg_count_pid(pid));
}

TEST_HARNESS_MAIN
