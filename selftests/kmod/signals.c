// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: what interrupts a create, and what does not. A create takes
 * every huge page the module can get (with extra pages in the pool, so it
 * lasts); the test waits until it is under way, then:
 *
 *  - SIGSTOP, then SIGCONT: the process stops (another of its threads
 *    takes the signal and stops the group), and the create still returns
 *    0 with the whole region (the call is restarted where it stopped);
 *    also when the module's kernel thread fills the region (a request
 *    for a node).
 *  - SIGSTOP and SIGCONT sent in quick succession, many times: a stop
 *    undone before the create notices it must not leak the restart
 *    (ERESTARTNOINTR, 513) to user space.
 *  - the process's cgroup is frozen, then thawed: the same.
 *  - an io_uring completion arrives for the process (task work): the same.
 *  - SIGKILL: the process dies at once, taking no more pages on the way,
 *    also when the kernel thread fills the region; nothing is left.
 *
 * Only SIGKILL may end a create early; EINTR is never seen otherwise.
 */
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

/* Pages added to the pool for the test, so a create takes a while. */
#define EXTRA_PAGES	256
/* Pages a create must have taken before the test interrupts it. */
#define UNDER_WAY	8

enum how { STOP, STOP_BURST, FREEZE, URING, KILL };

FIXTURE(sig) {
	struct hs_snap base;
	long long nr_pages;	/* vm.nr_hugepages before the test */
};

FIXTURE_VARIANT(sig) {
	enum how how;
	int node;		/* of the create: a node means the thread */
};

FIXTURE_VARIANT_ADD(sig, stop_and_continue) {
	.how = STOP, .node = HUGESLAB_NODE_ANY,
};

FIXTURE_VARIANT_ADD(sig, stop_and_continue_thread) {
	.how = STOP, .node = 0,
};

FIXTURE_VARIANT_ADD(sig, stop_and_continue_burst) {
	.how = STOP_BURST, .node = HUGESLAB_NODE_ANY,
};

FIXTURE_VARIANT_ADD(sig, cgroup_freeze_and_thaw) {
	.how = FREEZE, .node = HUGESLAB_NODE_ANY,
};

FIXTURE_VARIANT_ADD(sig, uring_task_work) {
	.how = URING, .node = HUGESLAB_NODE_ANY,
};

FIXTURE_VARIANT_ADD(sig, kill) {
	.how = KILL, .node = HUGESLAB_NODE_ANY,
};

FIXTURE_VARIANT_ADD(sig, kill_thread) {
	.how = KILL, .node = 0,
};

#define NR_PAGES "/proc/sys/vm/nr_hugepages"

FIXTURE_SETUP(sig)
{
	int fd = hs_open();

	self->nr_pages = -1;
	ASSERT_LE(0, fd) TH_LOG("%s: %s (is hugeslab.ko loaded?)",
				HUGESLAB_DEVICE, strerror(errno));
	close(fd);
	ASSERT_EQ(0, hs_snap(&self->base));
	self->nr_pages = hs_meminfo("HugePages_Total");
	ASSERT_LT(0, self->nr_pages);
}

FIXTURE_TEARDOWN_PARENT(sig)
{
	char buf[32];

	/* The extra pages go once the test's are freed: retry until then. */
	if (self->nr_pages >= 0) {
		long long end = hs_now_ms() + HS_FREE_TIMEOUT_MS;

		snprintf(buf, sizeof(buf), "%lld", self->nr_pages);
		while (hs_write_file(NR_PAGES, buf) ||
		       hs_meminfo("HugePages_Total") != self->nr_pages) {
			if (hs_now_ms() > end)
				break;
			usleep(10000);
		}
		EXPECT_EQ(self->nr_pages, hs_meminfo("HugePages_Total"));
	}
	HS_EXPECT_BASELINE(&self->base);
}

struct child_args {
	int node;
	uint64_t bytes;
	int report;		/* write end: the create's result */
	int hold;		/* read end: exit when it closes */
	enum how how;
	int uring_pipe;		/* read end the ring waits on */
};

/* A second thread, as servers have: it can take a stop signal. */
static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int child(struct child_args *a)
{
	struct io_uring ring;
	struct hugeslab_create c;
	pthread_t tid;
	char byte;
	int fd, err;

	if (pthread_create(&tid, NULL, sleeper, NULL))
		return 6;
	fd = hs_open();
	if (fd < 0)
		return 1;
	if (a->how == URING) {
		struct io_uring_sqe *sqe;

		if (io_uring_queue_init(4, &ring, 0))
			return 2;
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, a->uring_pipe, &byte, 1, 0);
		if (io_uring_submit(&ring) != 1)
			return 3;
	}
	err = hs_create_node(fd, a->bytes, a->node, &c);
	if (write(a->report, &err, sizeof(err)) != sizeof(err))
		return 4;
	/* Hold the region until the test has looked at it. */
	if (read(a->hold, &byte, 1) < 0)
		return 5;
	return 0;
}

/* The create's result from the child within @ms: 0 or -errno; 1: none. */
static int result(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int err;

	if (poll(&p, 1, ms) != 1 || read(fd, &err, sizeof(err)) != sizeof(err))
		return 1;
	return err;
}

TEST_F_TIMEOUT(sig, create_is_interrupted_only_by_sigkill, 300)
{
	long long start_free, free_now, min_free, t0, took;
	int report[2], hold[2], upipe[2], status, err;
	char group[128], name[64], buf[32];
	struct child_args a = { .node = variant->node, .how = variant->how };
	uint64_t pages;
	pid_t pid;

	/* More pages, so the create takes long enough to interrupt. */
	snprintf(buf, sizeof(buf), "%lld", self->nr_pages + EXTRA_PAGES);
	ASSERT_EQ(0, hs_write_file(NR_PAGES, buf));
	ASSERT_EQ(self->nr_pages + EXTRA_PAGES, hs_meminfo("HugePages_Total"))
		TH_LOG("the kernel found no room for %d more huge pages",
		       EXTRA_PAGES);
	/* Everything the module can have: the rest of its reserve and the
	 * pages nobody reserved. */
	pages = hs_meminfo("HugePages_Free") - hs_meminfo("HugePages_Rsvd") +
		hs_stat("free_bytes") / HS_2M;
	ASSERT_LT(4 * UNDER_WAY, pages);
	a.bytes = pages * HS_2M;

	if (variant->how == FREEZE) {
		ASSERT_EQ(0, hs_cgroup_setup());
		snprintf(name, sizeof(name), "hs-freeze-%d", getpid());
		ASSERT_EQ(0, hs_cgroup_make(name, group, sizeof(group)));
	}
	ASSERT_EQ(0, pipe(report));
	ASSERT_EQ(0, pipe(hold));
	ASSERT_EQ(0, pipe(upipe));
	a.report = report[1];
	a.hold = hold[0];
	a.uring_pipe = upipe[0];
	start_free = hs_meminfo("HugePages_Free");
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(report[0]);
		close(hold[1]);
		_exit(child(&a));
	}
	close(report[1]);
	close(hold[0]);
	if (variant->how == FREEZE)
		ASSERT_EQ(0, hs_cgroup_enter(group, pid));

	/* Under way: it has taken some pages, and is not done. */
	t0 = hs_now_ms();
	do {
		free_now = hs_meminfo("HugePages_Free");
		ASSERT_GT(t0 + 60000, hs_now_ms())
			TH_LOG("the create never got under way");
	} while (start_free - free_now < UNDER_WAY);

	switch (variant->how) {
	case STOP:
		ASSERT_EQ(0, kill(pid, SIGSTOP));
		ASSERT_EQ(pid, waitpid(pid, &status, WUNTRACED));
		ASSERT_TRUE(WIFSTOPPED(status));
		/* Still inside the create when it stopped? */
		err = result(report[0], 0);
		ASSERT_EQ(1, err) TH_LOG("the create ended (%d) before the stop: make it bigger",
					 err);
		ASSERT_EQ(0, kill(pid, SIGCONT));
		break;
	case STOP_BURST: {
		int i;

		for (i = 0; i < 500; i++) {
			ASSERT_EQ(0, kill(pid, SIGSTOP));
			ASSERT_EQ(0, kill(pid, SIGCONT));
		}
		break;
	}
	case FREEZE: {
		char ev[256];

		ASSERT_EQ(0, hs_write_file(strcat(strcpy(ev, group),
						  "/cgroup.freeze"), "1"));
		t0 = hs_now_ms();
		for (;;) {
			char path[200];

			snprintf(path, sizeof(path), "%s/cgroup.events", group);
			ASSERT_LT(0, hs_read_file(path, ev, sizeof(ev)));
			if (strstr(ev, "frozen 1"))
				break;
			ASSERT_GT(t0 + 60000, hs_now_ms())
				TH_LOG("the group never froze");
			usleep(1000);
		}
		err = result(report[0], 0);
		ASSERT_EQ(1, err) TH_LOG("the create ended (%d) before the freeze: make it bigger",
					 err);
		snprintf(ev, sizeof(ev), "%s/cgroup.freeze", group);
		ASSERT_EQ(0, hs_write_file(ev, "0"));
		break;
	}
	case URING:
		/* The ring's read completes: task work for the child. */
		ASSERT_EQ(1, write(upipe[1], "x", 1));
		break;
	case KILL:
		ASSERT_EQ(0, kill(pid, SIGKILL));
		free_now = min_free = hs_meminfo("HugePages_Free");
		t0 = hs_now_ms();
		while (waitpid(pid, &status, WNOHANG) == 0) {
			long long f = hs_meminfo("HugePages_Free");

			if (f < min_free)
				min_free = f;
			ASSERT_GT(t0 + 120000, hs_now_ms());
		}
		took = hs_now_ms() - t0;
		ksft_print_msg("killed with %lld of %llu pages taken: %lld more taken after, gone in %lld ms\n",
			       start_free - free_now,
			       (unsigned long long)pages, free_now - min_free,
			       took);
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		/* A page or two in flight, not the rest of the region. */
		EXPECT_GE(4, free_now - min_free)
			TH_LOG("the create went on after SIGKILL");
		close(report[0]);
		close(hold[1]);
		close(upipe[0]);
		close(upipe[1]);
		return;
	}

	/* Not interrupted: the whole region. */
	err = result(report[0], 120000);
	EXPECT_EQ(0, err) TH_LOG("the create failed: %s", strerror(-err));
	if (!err)
		EXPECT_EQ(start_free - (long long)pages,
			  hs_meminfo("HugePages_Free"));
	close(hold[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child: %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	close(report[0]);
	close(upipe[0]);
	close(upipe[1]);
	if (variant->how == FREEZE)
		EXPECT_EQ(0, hs_cgroup_remove(group));
}

TEST_HARNESS_MAIN
