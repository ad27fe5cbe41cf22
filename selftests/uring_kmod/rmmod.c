// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: unloading hugeslab.ko while a process has a libhugeslab-
 * uring buffer set registered with its ring (fixed buffers and a buffer
 * ring, on the kmod backend). Defined behaviour:
 *
 *  - while the set exists, delete_module() fails with EWOULDBLOCK and
 *    `rmmod hugeslab` exits 1; the set's data and fixed I/O through it are
 *    unaffected, and it is listed in debugfs "pools";
 *  - hs_uring_bufs_destroy() unregisters and then gives the region back:
 *    while the process still runs, the module lists no region and no
 *    pool of it, its bytes are back, and no page stays pinned (VmPin 0,
 *    HugePages_Free back);
 *  - once the process has exited, the module unloads, and loads again with
 *    the same parameters;
 *  - a process killed with the set registered (no teardown at all) leaves
 *    nothing either: the module unloads once the kernel has reaped it.
 *
 * The module is left loaded as found (FIXTURE_TEARDOWN_PARENT reloads it
 * from /lib/modules/hugeslab.ko, or $HS_MODULE_KO). The test process
 * itself never opens /dev/hugeslab: only its children use the library.
 */
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hugeslab/uring.h"
#include "../kmod/hs_kmod.h"

#define MODULE_NAME	"hugeslab"
#define SYS_MODULE	"/sys/module/" MODULE_NAME
#define DEFAULT_KO	"/lib/modules/hugeslab.ko"
#define NBUF		8
#define BSZ		(1U << 20)

FIXTURE(urmmod) {
	char ko[256];
	char params[1024];
	long long reserve_mb;
	struct hs_snap base;
};

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

static int wait_path(const char *path, bool want)
{
	long long end = hs_now_ms() + HS_FREE_TIMEOUT_MS;

	while (exists(path) != want) {
		if (hs_now_ms() > end)
			return -1;
		usleep(10000);
	}
	return 0;
}

static long long refcnt(void)
{
	char buf[32];

	if (hs_read_file(SYS_MODULE "/refcnt", buf, sizeof(buf)) < 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

static int wait_refcnt(long long want)
{
	long long end = hs_now_ms() + HS_FREE_TIMEOUT_MS;

	for (;;) {
		(void)hs_stat("regions");	/* reaps unmapped regions */
		if (refcnt() == want)
			return 0;
		if (hs_now_ms() > end)
			return -1;
		usleep(10000);
	}
}

static int unload(void)
{
	return syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK) ? -errno : 0;
}

static int load(const char *ko, const char *params)
{
	int fd, err;

	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return err;
}

static int rmmod_cmd(void)
{
	int st;

	fflush(NULL);
	st = system("rmmod " MODULE_NAME " 2>/dev/null");
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int read_params(char *out, size_t size)
{
	struct dirent *d;
	size_t len = 0;
	DIR *dir = opendir(HS_PARAMS);

	if (!dir)
		return -1;
	out[0] = '\0';
	while ((d = readdir(dir))) {
		char path[512], val[128];
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), HS_PARAMS "/%s", d->d_name);
		n = hs_read_file(path, val, sizeof(val));
		if (n < 0)
			break;
		while (n > 0 && (val[n - 1] == '\n' || val[n - 1] == ' '))
			val[--n] = '\0';
		n = snprintf(out + len, size - len, "%s%s=%s", len ? " " : "",
			     d->d_name, val);
		if (n < 0 || (size_t)n >= size - len) {
			closedir(dir);
			return -1;
		}
		len += (size_t)n;
	}
	closedir(dir);
	return d ? -1 : 0;
}

/* Lines of debugfs "pools" for @pid named @name. */
static int pools_of(pid_t pid, const char *name)
{
	char line[512], n[64];
	int p, count = 0;
	FILE *f = fopen(HS_DEBUGFS "/pools", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %63s", &p, n) == 2 && p == pid && !strcmp(n, name))
			count++;
	fclose(f);
	return count;
}

/* A field of /proc/PID/status in kB, or -1. */
static long long status_kb(pid_t pid, const char *key)
{
	char path[64], buf[4096];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (hs_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	return hs_field(buf, key, ':');
}

FIXTURE_SETUP(urmmod)
{
	const char *ko = getenv("HS_MODULE_KO");

	ASSERT_TRUE(exists(SYS_MODULE)) TH_LOG("%s is not loaded", MODULE_NAME);
	snprintf(self->ko, sizeof(self->ko), "%s", ko ? ko : DEFAULT_KO);
	ASSERT_EQ(0, access(self->ko, R_OK))
		TH_LOG("%s: %s: the test loads the module again from it (set HS_MODULE_KO)",
		       self->ko, strerror(errno));
	ASSERT_EQ(0, read_params(self->params, sizeof(self->params)));
	self->reserve_mb = hs_param("reserve_mb");
	ASSERT_EQ(0, hs_snap(&self->base))
		TH_LOG("%s/stats unreadable: debugfs not mounted?", HS_DEBUGFS);
	ASSERT_EQ(0, wait_refcnt(0)) TH_LOG("%s is in use by something else",
					    MODULE_NAME);
}

FIXTURE_TEARDOWN_PARENT(urmmod)
{
	int err;

	if (!exists(SYS_MODULE)) {
		err = load(self->ko, self->params);
		EXPECT_EQ(0, err) TH_LOG("cannot load %s %s again: %s", self->ko,
					 self->params, strerror(-err));
		EXPECT_EQ(0, wait_path(HUGESLAB_DEVICE, true));
	}
	HS_EXPECT_BASELINE(&self->base);
}

/* One fixed read or write on @ring: its result. */
static int rw_fixed(struct io_uring *ring, bool write, int fd, void *buf,
		    unsigned int len, int index)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (write)
		io_uring_prep_write_fixed(sqe, fd, buf, len, 0, index);
	else
		io_uring_prep_read_fixed(sqe, fd, buf, len, 0, index);
	if (io_uring_submit(ring) != 1 || io_uring_wait_cqe(ring, &cqe))
		return -EIO;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/*
 * The holder: a set registered with a ring; one status byte after each
 * step (0 = fine), then it waits for the next "go".
 */
static void holder(int tell, int go)
{
	struct hs_uring_bufs_opts o = {
		.flags = HS_UBUF_FIXED | HS_UBUF_RING, .bgid = 4,
	};
	char path[] = "/tmp/hs-urmmod-XXXXXX";
	struct io_uring ring;
	hs_uring_bufs_t *s = NULL;
	unsigned char st = 0, c;
	int file = -1;
	char *b0 = NULL, *b1 = NULL;

	if (hs_backend() != HS_BACKEND_KMOD || io_uring_queue_init(8, &ring, 0))
		st = 1;
	else if (!(s = hs_uring_bufs_create(&ring, "urmmod_bufs", NBUF, BSZ, &o)))
		st = 2;
	else if ((file = mkstemp(path)) < 0)
		st = 3;
	if (!st) {
		unlink(path);
		b0 = hs_uring_bufs_buf(s, 0);
		b1 = hs_uring_bufs_buf(s, 1);
		hs_fill(b0, BSZ, 141, 0);
		if (rw_fixed(&ring, true, file, b0, BSZ, hs_uring_bufs_index(s, 0)) != (int)BSZ)
			st = 4;
	}
	if (write(tell, &st, 1) != 1 || st || read(go, &c, 1) != 1)
		_exit(10 + st);

	/* After the refused unload: the data, and I/O through the set. */
	if (hs_check(b0, BSZ, 141, 0) != -1)
		st = 5;
	else if (rw_fixed(&ring, false, file, b1, BSZ, hs_uring_bufs_index(s, 1)) != (int)BSZ ||
		 hs_check(b1, BSZ, 141, 0) != -1)
		st = 6;
	else if (hs_uring_bufs_destroy(s))
		st = 7;
	io_uring_queue_exit(&ring);
	close(file);
	if (write(tell, &st, 1) != 1 || st || read(go, &c, 1) != 1)
		_exit(20 + st);
	_exit(0);
}

static pid_t start_holder(int *tell, int *go)
{
	int t[2], g[2];
	unsigned char st = 0xff;
	pid_t pid;

	if (pipe(t) || pipe(g))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(t[0]);
		close(g[1]);
		holder(t[1], g[0]);
	}
	close(t[1]);
	close(g[0]);
	if (pid < 0 || read(t[0], &st, 1) != 1 || st) {
		fprintf(stderr, "holder failed at step %d\n", st);
		close(t[0]);
		close(g[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	*tell = t[0];
	*go = g[1];
	return pid;
}

TEST_F(urmmod, refused_while_registered_clean_after_teardown)
{
	struct hs_snap now;
	int tell, go, status;
	unsigned char st = 0xff;
	pid_t pid;

	pid = start_holder(&tell, &go);
	ASSERT_LT(0, pid);
	EXPECT_LE(1, refcnt());
	EXPECT_EQ(1, hs_dbg_count_pid(pid));
	EXPECT_EQ(1, pools_of(pid, "urmmod_bufs"));
	EXPECT_LE(NBUF * BSZ / 1024, status_kb(pid, "VmPin"));

	EXPECT_EQ(-EWOULDBLOCK, unload());
	EXPECT_EQ(1, rmmod_cmd());
	EXPECT_TRUE(exists(HUGESLAB_DEVICE));

	/* Data and I/O intact; then the set is torn down. */
	ASSERT_EQ(1, write(go, "g", 1));
	ASSERT_EQ(1, read(tell, &st, 1));
	ASSERT_EQ(0, st) TH_LOG("holder step %d failed", st);

	/* Still running, nothing of the set left in the module or pinned. */
	EXPECT_EQ(0, hs_dbg_count_pid(pid));
	EXPECT_EQ(0, pools_of(pid, "urmmod_bufs"));
	EXPECT_EQ(0, status_kb(pid, "VmPin"));
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS))
		TH_LOG("used %lld/%lld regions %lld/%lld free %lld/%lld",
		       now.used_bytes, self->base.used_bytes, now.regions,
		       self->base.regions, now.hp_free, self->base.hp_free);

	ASSERT_EQ(1, write(go, "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	/* Gone with the process: the module unloads, and loads again. */
	ASSERT_EQ(0, wait_refcnt(0)) TH_LOG("refcnt %lld", refcnt());
	ASSERT_EQ(0, unload());
	EXPECT_EQ(0, wait_path(HUGESLAB_DEVICE, false));
	EXPECT_EQ(self->base.hp_free, hs_meminfo("HugePages_Free"));
	EXPECT_EQ(self->base.hp_rsvd - self->reserve_mb / 2,
		  hs_meminfo("HugePages_Rsvd"));
	ASSERT_EQ(0, load(self->ko, self->params));
	ASSERT_EQ(0, wait_path(HUGESLAB_DEVICE, true));
	close(tell);
	close(go);
}

TEST_F(urmmod, killed_with_the_set_registered)
{
	int tell, go, status;
	pid_t pid;

	pid = start_holder(&tell, &go);
	ASSERT_LT(0, pid);
	EXPECT_EQ(-EWOULDBLOCK, unload());
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(tell);
	close(go);
	/* The kernel reaps the ring and the file on its own time. */
	ASSERT_EQ(0, wait_refcnt(0)) TH_LOG("refcnt %lld", refcnt());
	EXPECT_EQ(0, hs_dbg_count_pid(pid));
	EXPECT_EQ(0, pools_of(pid, "urmmod_bufs"));
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load(self->ko, self->params));
	ASSERT_EQ(0, wait_path(HUGESLAB_DEVICE, true));
}

TEST_HARNESS_MAIN
