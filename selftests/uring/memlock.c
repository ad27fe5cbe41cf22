// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: RLIMIT_MEMLOCK and fixed buffers, as a user without
 * CAP_IPC_LOCK (a child that takes another uid and loses its capabilities
 * after opening the backend) with a
 * 5 MiB limit - a set of three 2 MiB buffers, which the kernel charges
 * 6 MiB, is refused with ENOMEM and a message naming the limit, what the
 * set needed and what to raise, and leaves nothing behind: the process's
 * pinned, mlocked and hugetlb memory as before, and in the VM the module's
 * regions and bytes, the free huge pages and its pools listing as before,
 * checked by the parent while the child still lives. A set of two (4 MiB)
 * then succeeds, which it could not if the refused one (or any part of
 * it) were still charged, and after it is destroyed the user is charged
 * nothing for it (the same set can be made again). The 1 MiB to spare is
 * for what newer kernels charge for the ring itself.
 */
#include <grp.h>
#include <sys/fsuid.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hs_uring_test.h"

/* Nobody else's uids: the kernel charges per user, and a ring that exits
 * is uncharged a little later, so each test has its own. */
#define UID		54321
#define LIMIT		(5ULL << 20)
#define POOLS		"/sys/kernel/debug/hugeslab/pools"

/* Whether CAP_IPC_LOCK is in our effective set (CapEff in status). */
static bool cap_ipc_lock(void)
{
	char line[256];
	bool has = true;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7))
			has = (strtoull(line + 7, NULL, 16) >> 14) & 1;
	fclose(f);
	return has;
}

/* Lines of debugfs "pools" for @pid. */
static int pools_of(pid_t pid)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(POOLS, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && atoi(line) == pid)
			n++;
	fclose(f);
	return n;
}

enum { OK = 0, E_SETUP = 10, E_CAP, E_RING, E_ACCEPTED, E_ERRNO, E_MSG,
       E_LEAK, E_PIPE, E_FIT, E_PIN, E_AGAIN, E_FREED };

/* The child: report each step through @tell, wait for the parent's go. */
static int child(int tell, int go, unsigned int flags, uid_t uid)
{
	struct hs_uring_bufs_opts o = { .flags = flags, .bgid = 1 };
	struct rlimit rl = { LIMIT, LIMIT };
	struct hs_usnap base, now;
	struct io_uring ring;
	hs_uring_bufs_t *s;
	char c;

	/*
	 * Open the device (or choose the fallback) while still root: a fork
	 * child does not keep the parent's /dev/hugeslab file, and opens its
	 * own on its first region, which it keeps.
	 */
	if (hs_backend() == HS_BACKEND_NONE)
		return E_SETUP;
	hs_region_destroy(hs_region_create(2 << 20, NULL));
	/*
	 * Another user without CAP_IPC_LOCK: real and effective uid @uid
	 * (io_uring charges the real uid's user; the effective caps go).
	 * The file system uid stays root's, kept in the saved uid, so the
	 * checks can read /proc and debugfs wherever the tests run (in a
	 * chroot whose root directory only root may enter, too); it brings
	 * back only the file system capabilities, not CAP_IPC_LOCK.
	 */
	if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgroups(0, NULL) ||
	    setresgid(uid, uid, uid) || setresuid(uid, uid, 0))
		return E_SETUP;
	setfsuid(0);
	if (setfsuid((uid_t)-1) != 0)
		return E_SETUP;
	if (cap_ipc_lock())
		return E_CAP;
	/* io_uring looks at CAP_IPC_LOCK when the ring is made. */
	if (io_uring_queue_init(8, &ring, 0))
		return E_RING;
	hs_usnap(&base);
	s = hs_uring_bufs_create(&ring, "memlock", 3, 2 << 20, &o);
	if (s)
		return E_ACCEPTED;
	if (errno != ENOMEM) {
		fprintf(stderr, "errno %d: %s\n", errno, hs_uring_last_error());
		return E_ERRNO;
	}
	fprintf(stderr, "refused as expected: %s\n", hs_uring_last_error());
	if (!strstr(hs_uring_last_error(), "RLIMIT_MEMLOCK") ||
	    !strstr(hs_uring_last_error(), "6.0 MiB") ||
	    !strstr(hs_uring_last_error(), "5.0 MiB") ||
	    !strstr(hs_uring_last_error(), "CAP_IPC_LOCK"))
		return E_MSG;
	if (hs_usnap_wait(&base, &now, getpid())) {
		fprintf(stderr, "before: " HS_USNAP_FMT "\nafter:  " HS_USNAP_FMT "\n",
			HS_USNAP_ARGS(&base), HS_USNAP_ARGS(&now));
		return E_LEAK;
	}
	/* The parent looks at the module while we still live. */
	if (write(tell, "r", 1) != 1 || read(go, &c, 1) != 1)
		return E_PIPE;

	/* Within the limit only if nothing of the refused set is charged. */
	s = hs_uring_bufs_create(&ring, "memlock", 2, 2 << 20, &o);
	if (!s) {
		fprintf(stderr, "at the limit: %s\n", hs_uring_last_error());
		return E_FIT;
	}
	hs_usnap(&now);
	if (now.vm_pin_kb != base.vm_pin_kb + 4096)
		return E_PIN;
	if (hs_uring_bufs_destroy(s))
		return E_FREED;
	/* Uncharged on destroy: the same again fits. */
	s = hs_uring_bufs_create(&ring, "memlock", 2, 2 << 20, &o);
	if (!s)
		return E_AGAIN;
	if (hs_uring_bufs_destroy(s))
		return E_FREED;
	io_uring_queue_exit(&ring);
	if (hs_usnap_wait(&base, &now, getpid()))
		return E_LEAK;
	return OK;
}

static void run(struct __test_metadata *_metadata, unsigned int flags,
		uid_t uid)
{
	int tell[2], go[2], status;
	struct hs_usnap base, now;
	pid_t pid;
	char c;

	ASSERT_EQ(0, getuid()) TH_LOG("run as root: the test drops to uid %d", uid);
	ASSERT_NE(HS_BACKEND_NONE, hs_backend());
	hs_usnap(&base);
	ASSERT_EQ(0, pipe(tell));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(tell[0]);
		close(go[1]);
		_exit(child(tell[1], go[0], flags, uid));
	}
	close(tell[1]);
	close(go[0]);
	if (read(tell[0], &c, 1) == 1) {
		/* The refused set left nothing in the module or the pool. */
		hs_usnap(&now);
		EXPECT_TRUE(hs_usnap_same(&base, &now) || !base.global)
			TH_LOG("before: " HS_USNAP_FMT "; after: " HS_USNAP_FMT,
			       HS_USNAP_ARGS(&base), HS_USNAP_ARGS(&now));
		if (base.global) {
			EXPECT_EQ(0, pools_of(pid));
		}
		ASSERT_EQ(1, write(go[1], "g", 1));
	}
	close(go[1]);
	close(tell[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(OK, WEXITSTATUS(status));
}

TEST(fixed_buffers_over_the_limit)
{
	run(_metadata, HS_UBUF_FIXED, UID);
}

TEST(fixed_and_ring_over_the_limit)
{
	run(_metadata, HS_UBUF_FIXED | HS_UBUF_RING, UID + 1);
}

TEST_HARNESS_MAIN
