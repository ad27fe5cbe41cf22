// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: unloading the module. Defined behaviour:
 *
 *  - while any process has /dev/hugeslab open, or any region still exists
 *    (even one destroyed and closed but still mapped), the module is in use:
 *    delete_module() fails with EWOULDBLOCK (EAGAIN: what rmmod reports)
 *    and `rmmod hugeslab` exits 1; everything keeps working.
 *  - pages an io_uring ring still pins after their region was destroyed,
 *    unmapped and its file closed keep the region, counted, and so the
 *    module: it does not unload until the ring lets go of them, and then
 *    it does.
 *  - with nothing left, the module unloads: /dev/hugeslab, its debugfs
 *    directory and /sys/module/hugeslab disappear and the reserve goes back
 *    to the hugetlb pool; loaded again with the same parameters, it works.
 *
 * It unloads the module the other tests use, so it must leave it loaded as
 * it found it: the parameters are read from sysfs first, and the teardown
 * (which runs even after a failed assertion) loads it again if it is gone.
 * The module file is /lib/modules/hugeslab.ko (where tools/vm/run puts it),
 * or $HS_MODULE_KO.
 */
#include <dirent.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

#define MODULE_NAME	"hugeslab"
#define SYS_MODULE	"/sys/module/" MODULE_NAME
#define DEFAULT_KO	"/lib/modules/hugeslab.ko"
#define REGION_BYTES	(2 * HS_2M)

FIXTURE(rmmod) {
	char ko[256];
	char params[1024];	/* "name=value ..." as loaded */
	long long reserve_mb;
	struct hs_snap base;
};

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/* Poll until @path exists (@want) or not: 0, or -1 on timeout. */
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

/* Poll until the module's reference count is @want: 0, or -1. */
static int wait_refcnt(long long want)
{
	long long end = hs_now_ms() + HS_FREE_TIMEOUT_MS;

	for (;;) {
		/* Reading debugfs stats waits for releases under way. */
		(void)hs_stat("regions");
		if (refcnt() == want)
			return 0;
		if (hs_now_ms() > end)
			return -1;
		usleep(10000);
	}
}

/* delete_module as rmmod calls it: 0 or -errno. */
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

/* The parameters the module runs with, as "name=value ..."; -1 on error. */
static int read_params(char *out, size_t size)
{
	struct dirent *d;
	size_t len = 0;
	DIR *dir;

	dir = opendir(HS_PARAMS);
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
		len += n;
	}
	closedir(dir);
	return d ? -1 : 0;
}

FIXTURE_SETUP(rmmod)
{
	const char *ko = getenv("HS_MODULE_KO");

	ASSERT_TRUE(exists(SYS_MODULE))
		TH_LOG("%s is not loaded", MODULE_NAME);
	snprintf(self->ko, sizeof(self->ko), "%s", ko ? ko : DEFAULT_KO);
	ASSERT_EQ(0, access(self->ko, R_OK))
		TH_LOG("%s: %s: the test loads the module again from it (set HS_MODULE_KO)",
		       self->ko, strerror(errno));
	ASSERT_EQ(0, read_params(self->params, sizeof(self->params)))
		TH_LOG("cannot read %s", HS_PARAMS);
	self->reserve_mb = hs_param("reserve_mb");
	ASSERT_LE(0, self->reserve_mb);
	ASSERT_EQ(0, hs_snap(&self->base))
		TH_LOG("%s/stats unreadable: debugfs not mounted?", HS_DEBUGFS);
	/* Earlier tests' files may still be on their way to release. */
	ASSERT_EQ(0, wait_refcnt(0)) TH_LOG("%s is in use by something else",
					    MODULE_NAME);
}

/* Runs after the test process is gone, whatever happened to it. */
FIXTURE_TEARDOWN_PARENT(rmmod)
{
	int err;

	if (!exists(SYS_MODULE)) {
		err = load(self->ko, self->params);
		EXPECT_EQ(0, err) TH_LOG("cannot load %s %s again: %s",
					 self->ko, self->params,
					 strerror(-err));
		EXPECT_EQ(0, wait_path(HUGESLAB_DEVICE, true));
	}
	HS_EXPECT_BASELINE(&self->base);
}

/* `rmmod hugeslab`: its exit status, or -1. */
static int rmmod_cmd(void)
{
	int st;

	fflush(NULL);
	st = system("rmmod " MODULE_NAME);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A child that does @what, reports one status byte, and waits. */
enum holder { HOLD_OPEN, HOLD_DESTROYED_MAPPING };

static void holder(enum holder what, int ready, int go)
{
	struct hugeslab_create c;
	unsigned char st = 0;
	char *p = MAP_FAILED;
	int fd;

	fd = hs_open();
	if (fd < 0)
		st = 1;
	else if (what == HOLD_DESTROYED_MAPPING) {
		if (hs_create(fd, REGION_BYTES, &c))
			st = 2;
		else if ((p = hs_map(fd, &c)) == MAP_FAILED)
			st = 3;
		else {
			hs_fill(p, REGION_BYTES, 131, 0);
			if (hs_destroy(fd, c.id) || close(fd))
				st = 4;
		}
	}
	if (write(ready, &st, 1) != 1 || st)
		_exit(10 + st);
	if (read(go, &st, 1) != 1)
		_exit(20);
	/* Still all there after the refused unload. */
	if (p != MAP_FAILED && hs_check(p, REGION_BYTES, 131, 0) != -1)
		_exit(21);
	_exit(0);
}

/* Start a holder; its pid, or -1. *go is the pipe end that releases it. */
static pid_t start_holder(enum holder what, int *go)
{
	int ready[2], gop[2];
	unsigned char st = 0xff;
	pid_t pid;

	if (pipe(ready) || pipe(gop))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(gop[1]);
		holder(what, ready[1], gop[0]);
	}
	close(ready[1]);
	close(gop[0]);
	if (pid < 0 || read(ready[0], &st, 1) != 1 || st) {
		close(ready[0]);
		close(gop[1]);
		return -1;
	}
	close(ready[0]);
	*go = gop[1];
	return pid;
}

/* Release the holder; 0 if it exited cleanly. */
static int stop_holder(pid_t pid, int go)
{
	unsigned char b = 0;
	int status;

	if (write(go, &b, 1) != 1)
		return -1;
	close(go);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

TEST_F(rmmod, refused_while_open)
{
	struct hugeslab_create c;
	int go, fd;
	pid_t pid;

	pid = start_holder(HOLD_OPEN, &go);
	ASSERT_LT(0, pid);
	EXPECT_EQ(1, refcnt());

	EXPECT_EQ(-EWOULDBLOCK, unload());
	EXPECT_EQ(1, rmmod_cmd());
	EXPECT_TRUE(exists(SYS_MODULE));
	EXPECT_TRUE(exists(HUGESLAB_DEVICE));
	EXPECT_TRUE(exists(HS_DEBUGFS "/stats"));
	/* And it still works. */
	fd = hs_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, hs_create(fd, HS_2M, &c));
	EXPECT_EQ(0, close(fd));

	EXPECT_EQ(0, stop_holder(pid, go));
	EXPECT_EQ(0, wait_refcnt(0)) TH_LOG("refcnt %lld", refcnt());
}

TEST_F(rmmod, refused_while_destroyed_region_mapped)
{
	int go;
	pid_t pid;

	/* The holder's file is closed; only its mapping is left. */
	pid = start_holder(HOLD_DESTROYED_MAPPING, &go);
	ASSERT_LT(0, pid);
	EXPECT_EQ(1, refcnt());
	EXPECT_EQ(1, hs_dbg_count_pid(pid));
	EXPECT_EQ(self->base.regions + 1, hs_stat("regions"));

	EXPECT_EQ(-EWOULDBLOCK, unload());
	EXPECT_EQ(1, rmmod_cmd());
	EXPECT_TRUE(exists(HUGESLAB_DEVICE));

	EXPECT_EQ(0, stop_holder(pid, go)) TH_LOG("21: data changed");
	EXPECT_EQ(0, wait_refcnt(0)) TH_LOG("refcnt %lld", refcnt());
	EXPECT_EQ(0, hs_dbg_count_pid(pid));
}

TEST_F(rmmod, pinned_pages_hold_the_module)
{
	struct hugeslab_create c;
	struct io_uring ring;
	struct iovec iov;
	struct hs_snap now;
	int fd, err;
	char *p;

	fd = hs_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hs_create(fd, REGION_BYTES, &c));
	p = hs_map(fd, &c);
	ASSERT_NE(MAP_FAILED, p);
	hs_fill(p, REGION_BYTES, 132, 0);
	err = io_uring_queue_init(4, &ring, 0);
	ASSERT_EQ(0, err) TH_LOG("io_uring_queue_init: %s", strerror(-err));
	iov.iov_base = p;
	iov.iov_len = REGION_BYTES;
	ASSERT_EQ(0, io_uring_register_buffers(&ring, &iov, 1));
	ASSERT_EQ(0, munmap(p, REGION_BYTES));
	ASSERT_EQ(0, hs_destroy(fd, c.id));
	ASSERT_EQ(0, close(fd));

	/* The region lives on for the ring's pages, and holds the module. */
	EXPECT_EQ(1, refcnt());
	EXPECT_EQ(-EWOULDBLOCK, unload());
	EXPECT_TRUE(exists(HUGESLAB_DEVICE));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes + (long long)REGION_BYTES,
		  now.used_bytes);

	/* The ring goes: so does the region, and the module can go. */
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS))
		TH_LOG("free %lld/%lld rsvd %lld/%lld", now.hp_free,
		       self->base.hp_free, now.hp_rsvd, self->base.hp_rsvd);
	ASSERT_EQ(0, wait_refcnt(0)) TH_LOG("refcnt %lld", refcnt());
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load(self->ko, self->params));
	ASSERT_EQ(0, wait_path(HUGESLAB_DEVICE, true));
}

/*
 * A node request is filled by a kernel thread running module code; the
 * create returns when the thread says it is done. The thread must not be
 * in the module's code any more by then: unloading the module right after
 * (destroy, close, rmmod) must never pull it from under the thread. To
 * make the thread as late as it can be, busy threads keep the CPUs and the
 * filling thread is put to SCHED_IDLE as soon as it appears, so it is
 * preempted wherever it can be. Any oops fails the run.
 */
static atomic_int race_stop;

static void *busy(void *arg)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((int)(long)arg, &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (!atomic_load(&race_stop))
		;
	return NULL;
}

/* Put every "hugeslab/..." kernel thread there is to SCHED_IDLE. */
static void *demote(void *arg)
{
	struct sched_param sp = { 0 };
	char path[300], comm[64];
	struct dirent *d;
	DIR *dir;

	(void)arg;
	while (!atomic_load(&race_stop)) {
		dir = opendir("/proc");
		if (!dir)
			continue;
		while ((d = readdir(dir))) {
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
			if (hs_read_file(path, comm, sizeof(comm)) > 0 &&
			    !strncmp(comm, "hugeslab/", 9))
				sched_setscheduler(atoi(d->d_name), SCHED_IDLE,
						   &sp);
		}
		closedir(dir);
	}
	return NULL;
}

TEST_F_TIMEOUT(rmmod, unload_right_after_thread_filled_create, 300)
{
	pthread_t hogs[2], dem;
	struct hugeslab_create c;
	int i, fd, err;

	atomic_store(&race_stop, 0);
	ASSERT_EQ(0, pthread_create(&dem, NULL, demote, NULL));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&hogs[i], NULL, busy, (void *)(long)i));
	for (i = 0; i < 20; i++) {
		fd = hs_open();
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, hs_create_node(fd, REGION_BYTES, 0, &c));
		ASSERT_EQ(0, hs_destroy(fd, c.id));
		ASSERT_EQ(0, close(fd));
		ASSERT_EQ(0, wait_refcnt(0));
		err = unload();
		ASSERT_EQ(0, err) TH_LOG("unload: %s", strerror(-err));
		err = load(self->ko, self->params);
		ASSERT_EQ(0, err) TH_LOG("load: %s", strerror(-err));
		ASSERT_EQ(0, wait_path(HUGESLAB_DEVICE, true));
	}
	atomic_store(&race_stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(hogs[i], NULL);
	pthread_join(dem, NULL);
}

TEST_F(rmmod, unload_and_reload)
{
	struct hugeslab_create c;
	char params[1024];
	int fd, err;
	char *p;

	err = unload();
	ASSERT_EQ(0, err) TH_LOG("unload: %s", strerror(-err));
	EXPECT_FALSE(exists(SYS_MODULE));
	EXPECT_EQ(0, wait_path(HUGESLAB_DEVICE, false));
	EXPECT_FALSE(exists(HS_DEBUGFS));
	/* The reserve went back to the pool with the module. */
	EXPECT_EQ(self->base.hp_rsvd - self->reserve_mb / 2,
		  hs_meminfo("HugePages_Rsvd"));
	EXPECT_EQ(self->base.hp_free, hs_meminfo("HugePages_Free"));
	fd = hs_open();
	EXPECT_EQ(-1, fd);
	if (fd >= 0)
		close(fd);

	err = load(self->ko, self->params);
	ASSERT_EQ(0, err) TH_LOG("load %s %s: %s", self->ko, self->params,
				 strerror(-err));
	ASSERT_EQ(0, wait_path(HUGESLAB_DEVICE, true));
	EXPECT_TRUE(exists(HS_DEBUGFS "/stats"));
	ASSERT_EQ(0, read_params(params, sizeof(params)));
	EXPECT_STREQ(self->params, params);
	EXPECT_EQ(self->base.hp_rsvd, hs_meminfo("HugePages_Rsvd"));

	/* A fresh module, and a working one. */
	EXPECT_EQ(0, hs_stat("created"));
	fd = hs_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hs_create(fd, REGION_BYTES, &c));
	p = hs_map(fd, &c);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, hs_check_zero(p, REGION_BYTES));
	hs_fill(p, REGION_BYTES, 133, 0);
	EXPECT_EQ(-1, hs_check(p, REGION_BYTES, 133, 0));
	EXPECT_EQ(1, hs_stat("created"));
	ASSERT_EQ(0, munmap(p, REGION_BYTES));
	ASSERT_EQ(0, hs_destroy(fd, c.id));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(0, wait_refcnt(0));
}

TEST_HARNESS_MAIN
