// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the admission limits against several users. The device is
 * 0600 root, so an unprivileged process here is a child that drops to
 * another uid (65534, 65533) without capabilities and opens a device node
 * of its own (made by the test, owned by that uid).
 * user_max_mb is per user, over all the user's files and processes, and
 * counts a region destroyed but still mapped until it is unmapped; a
 * request beyond it fails with EDQUOT and counts in failed_limit; the
 * query ioctl's user_bytes and user_max_bytes report it. Regions are
 * charged to the user who opened the file: a file passed to another user
 * over a socket still charges its opener, and every uid of a user
 * namespace charges the user that made it, whether through a file opened
 * before or one opened inside. A file opened with CAP_IPC_LOCK is exempt
 * from user_max_mb (its regions still count for uid 0), one opened
 * without it is not, and nobody is exempt from max_mb; the capability is
 * not even looked at while a request is within the limit. Users racing
 * for the last of their allowance never get more than it. The parameters
 * are restored afterwards.
 */
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "hs_stress.h"

#define NOBODY		65534
#define NOBODY2		65533

/* The device node @uid may open: /tmp/hs-dev-<uid>, owned by it. */
static void user_node(uid_t uid, char *path, size_t size)
{
	snprintf(path, size, "/tmp/hs-dev-%u", (unsigned int)uid);
}

static int make_user_node(uid_t uid)
{
	char path[64];

	user_node(uid, path, sizeof(path));
	return hs_dev_node(path, uid, uid, 0660);
}

static int open_user_node(uid_t uid)
{
	char path[64];

	user_node(uid, path, sizeof(path));
	return open(path, O_RDWR | O_CLOEXEC);
}

FIXTURE(ulimits) {
	struct hs_snap base;
	long long max_mb, user_max_mb;
	long long failed_limit, failed_nomem;
};

FIXTURE_SETUP(ulimits)
{
	int fd = hs_open();

	self->max_mb = self->user_max_mb = -1;
	if (fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: is hugeslab.ko loaded?",
		     HUGESLAB_DEVICE);
	ASSERT_LE(0, fd);
	close(fd);
	if (hs_snap(&self->base))
		SKIP(return, "%s/stats unreadable: debugfs not mounted?",
		     HS_DEBUGFS);
	ASSERT_EQ(0, hs_wait_idle(&self->base))
		TH_LOG("regions left by someone else: %lld bytes in %lld",
		       self->base.used_bytes, self->base.regions);
	ASSERT_EQ(0, geteuid()) TH_LOG("run as root");
	self->max_mb = hs_param("max_mb");
	self->user_max_mb = hs_param("user_max_mb");
	ASSERT_LE(0, self->max_mb);
	ASSERT_LE(0, self->user_max_mb);
	self->failed_limit = hs_stat("failed_limit");
	self->failed_nomem = hs_stat("failed_nomem");
	ASSERT_EQ(0, make_user_node(NOBODY));
	ASSERT_EQ(0, make_user_node(NOBODY2));
}

/* In the parent: whatever the test did, the limits are put back. */
FIXTURE_TEARDOWN_PARENT(ulimits)
{
	if (self->max_mb >= 0)
		EXPECT_EQ(0, hs_set_param("max_mb", self->max_mb));
	if (self->user_max_mb >= 0)
		EXPECT_EQ(0, hs_set_param("user_max_mb", self->user_max_mb));
	HS_EXPECT_BASELINE(&self->base);
}

/* Become @uid with no capabilities; the files already open stay usable. */
static int drop_to(uid_t uid)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		return -1;
	return 0;
}

/* Take CAP_IPC_LOCK out of the effective set, staying root. */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_IPC_LOCK / 32].effective &= ~(1U << (CAP_IPC_LOCK % 32));
	return syscall(SYS_capset, &h, d) ? -1 : 0;
}

static long long user_bytes(int fd)
{
	struct hugeslab_query q;

	return hs_query(fd, &q) ? -1 : (long long)q.user_bytes;
}

static long long user_max_bytes(int fd)
{
	struct hugeslab_query q;

	return hs_query(fd, &q) ? -1 : (long long)q.user_max_bytes;
}

/*
 * Run @fn as @uid in a child that dropped privileges and then opened two
 * files of the device; the child's exit status (0: every check held),
 * 128 + signal.
 */
struct as_user {
	uid_t uid;
	int (*fn)(int *fds, void *arg);
	void *arg;
};

static int as_user_child(void *p)
{
	struct as_user *u = p;
	int fds[2];

	if (drop_to(u->uid))
		return 91;
	fds[0] = open_user_node(u->uid);
	fds[1] = open_user_node(u->uid);
	if (fds[0] < 0 || fds[1] < 0)
		return 90;
	return u->fn(fds, u->arg);
}

static int run_as(uid_t uid, int (*fn)(int *, void *), void *arg)
{
	struct as_user u = { .uid = uid, .fn = fn, .arg = arg };

	return hs_in_child(as_user_child, &u);
}

/* ---- user_max_mb for an unprivileged user ---------------------------- */

/* Pipes for the child that holds its allowance while another user runs. */
struct holder {
	int rep, rel;
};

static int nobody_fills_allowance(int *fds, void *arg)
{
	struct holder *h = arg;
	struct hugeslab_create a, b, c;
	char *p;

	/* Without root the device does not open. */
	if (hs_open() >= 0 || errno != EACCES)
		return 1;
	if (user_max_bytes(fds[0]) != (long long)(8 * HS_MIB))
		return 2;
	if (user_bytes(fds[0]) != 0)
		return 3;
	/* Two files, one allowance. */
	if (hs_create(fds[0], 4 * HS_MIB, &a) || hs_create(fds[1], 4 * HS_MIB, &b))
		return 4;
	if (user_bytes(fds[0]) != (long long)(8 * HS_MIB) ||
	    user_bytes(fds[1]) != (long long)(8 * HS_MIB))
		return 5;
	if (hs_create(fds[1], HS_2M, &c) != -EDQUOT)	/* refusal 1 */
		return 6;
	/* Destroyed but mapped still counts... */
	p = hs_map(fds[0], &a);
	if (p == MAP_FAILED)
		return 7;
	p[0] = 1;
	if (hs_destroy(fds[0], a.id))
		return 8;
	if (hs_create(fds[0], HS_2M, &c) != -EDQUOT)	/* refusal 2 */
		return 9;
	if (user_bytes(fds[0]) != (long long)(8 * HS_MIB))
		return 10;
	/* ...until unmapped. */
	munmap(p, a.bytes);
	if (hs_create(fds[0], HS_2M, &c))
		return 11;
	if (user_bytes(fds[0]) != (long long)(6 * HS_MIB))
		return 12;
	if (hs_create(fds[0], 4 * HS_MIB, &c) != -EDQUOT)	/* refusal 3 */
		return 13;
	/* Hold 6 MiB while the other user runs. */
	if (hs_pipe_put(h->rep, 0) || hs_pipe_get(h->rel) < 0)
		return 14;
	if (user_bytes(fds[0]) != (long long)(6 * HS_MIB))
		return 15;
	return 0;
}

static int nobody2_has_own_allowance(int *fds, void *arg)
{
	struct hugeslab_create c;

	if (user_bytes(fds[0]) != 0)
		return 1;
	if (hs_create(fds[0], 8 * HS_MIB, &c))
		return 2;
	if (hs_create(fds[1], HS_2M, &c) != -EDQUOT)	/* refusal 4 */
		return 3;
	if (user_bytes(fds[1]) != (long long)(8 * HS_MIB))
		return 4;
	return 0;
}

static int holder_child(void *arg)
{
	return run_as(NOBODY, nobody_fills_allowance, arg);
}

TEST_F(ulimits, user_max_mb_per_user)
{
	int rep[2], rel[2], status, fd;
	struct holder h;
	pid_t pid;

	ASSERT_EQ(0, hs_set_param("max_mb", 0));
	ASSERT_EQ(0, hs_set_param("user_max_mb", 8));
	ASSERT_EQ(0, pipe(rep));
	ASSERT_EQ(0, pipe(rel));
	h.rep = rep[1];
	h.rel = rel[0];

	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(holder_child(&h));
	close(rep[1]);
	ASSERT_EQ(0, hs_pipe_get(rep[0])) {
		status = hs_wait(pid);
		TH_LOG("uid %d failed at check %d", NOBODY,
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	EXPECT_EQ(6 * HS_MIB, (unsigned long long)hs_stat("used_bytes"));
	EXPECT_EQ(self->failed_limit + 3, hs_stat("failed_limit"));

	/* Another user is not affected by the first one's use. */
	EXPECT_EQ(0, run_as(NOBODY2, nobody2_has_own_allowance, NULL));
	/* Root's own use is zero, whatever the others hold. */
	fd = hs_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, user_bytes(fd));
	close(fd);

	ASSERT_EQ(0, hs_pipe_put(rel[1], 0));
	status = hs_wait(pid);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("uid %d failed at check %d", NOBODY,
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	EXPECT_EQ(self->failed_limit + 4, hs_stat("failed_limit"));
	EXPECT_EQ(self->failed_nomem, hs_stat("failed_nomem"));
}

/* ---- root: CAP_IPC_LOCK exempts from user_max_mb, not from max_mb ---- */

static int root_without_ipc_lock(void *arg)
{
	long long *expect_user = arg;
	struct hugeslab_create c;
	int fd;

	/* The capability counts when the file is opened. */
	if (drop_ipc_lock())
		return 2;
	fd = hs_open();
	if (fd < 0)
		return 1;
	/* Still uid 0: root's regions count here too. */
	if (user_bytes(fd) != *expect_user)
		return 3;
	if (hs_create(fd, HS_2M, &c) != -EDQUOT)
		return 4;
	return 0;
}

static int root_without_ipc_lock_fits(void *arg)
{
	struct hugeslab_create c;
	int fd;

	if (drop_ipc_lock())
		return 2;
	fd = hs_open();
	if (fd < 0)
		return 1;
	if (hs_create(fd, 4 * HS_MIB, &c))
		return 3;
	if (hs_create(fd, HS_2M, &c) != -EDQUOT)
		return 4;
	return 0;
}

TEST_F(ulimits, cap_ipc_lock_exempt_from_user_max_mb)
{
	struct hugeslab_create c, d;
	long long held = 8 * HS_MIB;
	struct hugeslab_query q;
	int fd;

	ASSERT_EQ(0, hs_set_param("max_mb", 0));
	ASSERT_EQ(0, hs_set_param("user_max_mb", 4));
	fd = hs_open();
	ASSERT_LE(0, fd);
	/* Twice the per-user limit: fine with CAP_IPC_LOCK. */
	ASSERT_EQ(0, hs_create(fd, held, &c));
	ASSERT_EQ(0, hs_query(fd, &q));
	EXPECT_EQ((unsigned long long)held, q.user_bytes);
	EXPECT_EQ(4 * HS_MIB, q.user_max_bytes);
	EXPECT_EQ(self->failed_limit, hs_stat("failed_limit"));

	/* The same uid without the capability is over its limit already. */
	EXPECT_EQ(0, hs_in_child(root_without_ipc_lock, &held));
	EXPECT_EQ(self->failed_limit + 1, hs_stat("failed_limit"));
	ASSERT_EQ(0, hs_destroy(fd, c.id));
	EXPECT_EQ(0, hs_in_child(root_without_ipc_lock_fits, NULL));
	EXPECT_EQ(self->failed_limit + 2, hs_stat("failed_limit"));

	/* max_mb binds root too. */
	ASSERT_EQ(0, hs_set_param("max_mb", 6));
	ASSERT_EQ(0, hs_create(fd, 6 * HS_MIB, &c));
	EXPECT_EQ(-EDQUOT, hs_create(fd, HS_2M, &d));
	EXPECT_EQ(self->failed_limit + 3, hs_stat("failed_limit"));
	ASSERT_EQ(0, hs_query(fd, &q));
	EXPECT_EQ(6 * HS_MIB, q.max_bytes);
	close(fd);
	EXPECT_EQ(self->failed_nomem, hs_stat("failed_nomem"));
}

/* ---- max_mb against an unprivileged user and root together ----------- */

static int nobody_takes_8(int *fds, void *arg)
{
	struct holder *h = arg;
	struct hugeslab_create c;

	if (hs_create(fds[0], 8 * HS_MIB, &c))
		return 1;
	if (hs_pipe_put(h->rep, 0) || hs_pipe_get(h->rel) < 0)
		return 2;
	/* Root took the rest of max_mb: refused, though within our own. */
	if (hs_create(fds[0], HS_2M, &c) != -EDQUOT)
		return 3;
	return 0;
}

static int nobody_takes_8_child(void *arg)
{
	return run_as(NOBODY, nobody_takes_8, arg);
}

TEST_F(ulimits, max_mb_binds_everyone)
{
	int rep[2], rel[2], status, fd;
	struct hugeslab_create c;
	struct holder h;
	pid_t pid;

	ASSERT_EQ(0, hs_set_param("max_mb", 12));
	ASSERT_EQ(0, hs_set_param("user_max_mb", 16));
	ASSERT_EQ(0, pipe(rep));
	ASSERT_EQ(0, pipe(rel));
	h.rep = rep[1];
	h.rel = rel[0];
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(nobody_takes_8_child(&h));
	close(rep[1]);
	ASSERT_EQ(0, hs_pipe_get(rep[0]));

	fd = hs_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EDQUOT, hs_create(fd, 6 * HS_MIB, &c));
	ASSERT_EQ(0, hs_create(fd, 4 * HS_MIB, &c));
	EXPECT_EQ(-EDQUOT, hs_create(fd, HS_2M, &c));

	ASSERT_EQ(0, hs_pipe_put(rel[1], 0));
	status = hs_wait(pid);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("uid %d failed at check %d", NOBODY,
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	EXPECT_EQ(self->failed_limit + 3, hs_stat("failed_limit"));

	/* Lowering a limit below use keeps what is held, refuses more. */
	ASSERT_EQ(0, hs_set_param("max_mb", 2));
	EXPECT_EQ(-EDQUOT, hs_create(fd, HS_2M, &c));
	EXPECT_EQ(4 * HS_MIB, (unsigned long long)hs_stat("used_bytes"));
	ASSERT_EQ(0, hs_set_param("max_mb", 0));
	EXPECT_EQ(0, hs_create(fd, HS_2M, &c));
	close(fd);
}

/* ---- a race for the last of an allowance ----------------------------- */

#define RACERS	4

struct race {
	int go;			/* read end: the start */
	int *won;		/* shared: regions created, per racer */
	int idx;
	int rep, rel;
};

static int racer(int *fds, void *arg)
{
	struct race *r = arg;
	struct hugeslab_create c;
	int err, n = 0;

	if (hs_pipe_get(r->go) < 0)
		return 1;
	/* Two files in turn, until the allowance says no. */
	while (!(err = hs_create(fds[n & 1], HS_2M, &c)))
		n++;
	if (err != -EDQUOT)
		return 2;
	r->won[r->idx] = n;
	/* Hold them until every racer is done. */
	if (hs_pipe_put(r->rep, 0) || hs_pipe_get(r->rel) < 0)
		return 3;
	return 0;
}

static int racer_child(void *arg)
{
	return run_as(NOBODY, racer, arg);
}

TEST_F(ulimits, racing_users_never_exceed_allowance)
{
	int go[2], rep[2], rel[2], i, total = 0, status;
	pid_t pids[RACERS];
	struct race r;
	int *won;

	ASSERT_EQ(0, hs_set_param("max_mb", 0));
	ASSERT_EQ(0, hs_set_param("user_max_mb", 20));
	won = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, won);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(rep));
	ASSERT_EQ(0, pipe(rel));
	r.go = go[0];
	r.won = won;
	r.rep = rep[1];
	r.rel = rel[0];
	for (i = 0; i < RACERS; i++) {
		r.idx = i;
		fflush(NULL);
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0)
			_exit(racer_child(&r));
	}
	close(rep[1]);
	for (i = 0; i < RACERS; i++)
		ASSERT_EQ(0, hs_pipe_put(go[1], 0));
	for (i = 0; i < RACERS; i++) {
		unsigned char b;

		ASSERT_EQ(0, hs_pipe_read(rep[0], &b, 1, 60000))
			TH_LOG("a racer failed or hangs");
	}
	for (i = 0; i < RACERS; i++)
		total += won[i];
	ksft_print_msg("regions won: %d %d %d %d\n", won[0], won[1], won[2],
		       won[3]);
	/* Exactly the allowance, in 2 MiB pieces: no more, no less. */
	EXPECT_EQ(10, total);
	EXPECT_EQ(20 * HS_MIB, (unsigned long long)hs_stat("used_bytes"));
	EXPECT_EQ(self->failed_limit + RACERS, hs_stat("failed_limit"));
	for (i = 0; i < RACERS; i++)
		ASSERT_EQ(0, hs_pipe_put(rel[1], 0));
	for (i = 0; i < RACERS; i++) {
		status = hs_wait(pids[i]);
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
}

/* ---- who is charged: the opener -------------------------------------- */

#define PF_SUPERPRIV	0x00000100	/* used a capability: acct's ASU */

/*
 * A create with no per-user limit, or within it, looks at no capability:
 * the task is not marked as having used one (PF_SUPERPRIV, which process
 * accounting reports, and which audit would log).
 */
static int create_then_flags(void *arg)
{
	uint64_t bytes = *(uint64_t *)arg;
	struct hugeslab_create c;
	int fd = hs_open();

	if (fd < 0)
		return 1;
	if (hs_create(fd, bytes, &c))
		return 2;
	return hs_task_flags(getpid()) & PF_SUPERPRIV ? 3 : 0;
}

TEST_F(ulimits, no_capability_check_within_the_limit)
{
	uint64_t bytes = HS_2M;

	ASSERT_EQ(0, hs_set_param("user_max_mb", 0));
	EXPECT_EQ(0, hs_in_child(create_then_flags, &bytes))
		TH_LOG("3: capability checked with no limit");
	ASSERT_EQ(0, hs_set_param("user_max_mb", 8));
	bytes = 4 * HS_MIB;
	EXPECT_EQ(0, hs_in_child(create_then_flags, &bytes))
		TH_LOG("3: capability checked within the limit");
}

/* A file passed to another user still charges the user who opened it. */
struct passing {
	int sock;
	int step;
};

static int opener_sends(int *fds, void *arg)
{
	struct passing *p = arg;
	struct hugeslab_create c;
	char b;

	if (hs_create(fds[0], 4 * HS_MIB, &c))
		return 1;
	if (hs_send_fd(p->sock, fds[0], 0))
		return 2;
	/* Hold everything until the receiver is done. */
	if (read(p->sock, &b, 1) != 1)
		return 3;
	return 0;
}

static int receiver_creates(void *arg)
{
	struct passing *p = arg;
	struct hugeslab_create c;
	int fd, err;

	if (drop_to(NOBODY2))
		return 91;
	fd = hs_recv_fd(p->sock, 0);
	if (fd < 0)
		return 1;
	/* The opener's allowance: 4 MiB of its 8 are left. */
	if (user_bytes(fd) != (long long)(4 * HS_MIB))
		return 2;
	if (hs_create(fd, 4 * HS_MIB, &c))
		return 3;
	err = hs_create(fd, HS_2M, &c);
	if (err != -EDQUOT)
		return err ? 4 : 5;
	if (user_bytes(fd) != (long long)(8 * HS_MIB))
		return 6;
	/* The receiver's own allowance is untouched. */
	fd = open_user_node(NOBODY2);
	if (fd < 0 || user_bytes(fd) != 0)
		return 7;
	if (write(p->sock, "d", 1) != 1)
		return 8;
	return 0;
}

static int opener_child(void *arg)
{
	return run_as(NOBODY, opener_sends, arg);
}

TEST_F(ulimits, passed_file_charges_its_opener)
{
	struct passing a, b;
	int sv[2], status;
	pid_t pa;

	ASSERT_EQ(0, hs_set_param("max_mb", 0));
	ASSERT_EQ(0, hs_set_param("user_max_mb", 8));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	a.sock = sv[0];
	b.sock = sv[1];
	fflush(NULL);
	pa = fork();
	ASSERT_LE(0, pa);
	if (pa == 0)
		_exit(opener_child(&a));
	EXPECT_EQ(0, hs_in_child(receiver_creates, &b))
		TH_LOG("receiver failed at check (4/5: charged to itself)");
	close(sv[1]);
	status = hs_wait(pa);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("opener: %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	EXPECT_EQ(self->failed_limit + 1, hs_stat("failed_limit"));
	close(sv[0]);
}

/*
 * A user with a range of uids in a user namespace it made: the uids there
 * are all charged to the user that made it, whether they create through
 * the file it opened before, or open the device themselves.
 */
#define NS_BASE		100000	/* uid 0 of the namespace, outside */
#define NS_UIDS		16

#define UNPRIV_USERNS	"/proc/sys/kernel/unprivileged_userns_clone"

/* In the namespace, as uid @k: create through @fd, or through a new file. */
static int ns_uid_creates(int fd, unsigned int k, bool own_file)
{
	struct hugeslab_create c;
	int err;

	if (setresuid(k, k, k))
		return 100;
	if (own_file) {
		fd = open_user_node(NOBODY);
		if (fd < 0)
			return 101;
	}
	err = hs_create(fd, 4 * HS_MIB, &c);
	return err == 0 ? 0 : err == -EDQUOT ? 1 : 102;
}

static int ns_child(void *arg)
{
	int *pipes = arg, fd, i, status, made = 0, refused = 0;
	char b;
	pid_t pid;

	if (drop_to(NOBODY))
		return 91;
	fd = open_user_node(NOBODY);
	if (fd < 0)
		return 1;
	if (unshare(CLONE_NEWUSER))
		return 2;
	/* The test maps the namespace's uids now. */
	if (write(pipes[1], "u", 1) != 1 || read(pipes[2], &b, 1) != 1)
		return 3;
	/* uids 1, 2, 3 through the file, 4 and 5 with files of their own. */
	for (i = 1; i <= 5; i++) {
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return 4;
		if (pid == 0)
			_exit(ns_uid_creates(fd, i, i > 3));
		status = hs_wait(pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
			return 10 + i;
		if (WEXITSTATUS(status))
			refused++;
		else
			made++;
	}
	/* 8 MiB is the user's: two 4 MiB regions, whoever made them. */
	if (made != 2 || refused != 3)
		return 20 + made;
	if (user_bytes(fd) != (long long)(8 * HS_MIB))
		return 30;
	return 0;
}

TEST_F(ulimits, user_namespace_uids_charge_its_owner)
{
	char path[64], map[64];
	int to_test[2], to_child[2], pipes[3], status;
	long long unpriv = hs_read_ll(UNPRIV_USERNS);
	pid_t pid;
	char b;

	ASSERT_EQ(0, hs_set_param("max_mb", 0));
	ASSERT_EQ(0, hs_set_param("user_max_mb", 8));
	/* Debian's switch for user namespaces made without privilege. */
	if (unpriv == 0)
		ASSERT_EQ(0, hs_write_ll(UNPRIV_USERNS, 1));
	ASSERT_EQ(0, pipe(to_test));
	ASSERT_EQ(0, pipe(to_child));
	pipes[0] = to_test[0];
	pipes[1] = to_test[1];
	pipes[2] = to_child[0];
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(ns_child(pipes));
	ASSERT_EQ(1, read(to_test[0], &b, 1)) {
		status = hs_wait(pid);
		TH_LOG("child failed at %d",
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	/* As a subordinate uid range would: NS_UIDS uids from NS_BASE. */
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	snprintf(map, sizeof(map), "0 %d %d\n", NS_BASE, NS_UIDS);
	ASSERT_EQ(0, hs_write_file(path, map));
	ASSERT_EQ(1, write(to_child[1], "m", 1));
	status = hs_wait(pid);
	if (unpriv == 0)
		EXPECT_EQ(0, hs_write_ll(UNPRIV_USERNS, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child failed at %d (21/22: regions charged per uid)",
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	EXPECT_EQ(self->failed_limit + 3, hs_stat("failed_limit"));
}

TEST_HARNESS_MAIN
