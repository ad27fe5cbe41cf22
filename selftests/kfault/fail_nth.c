// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the kernel's fault injection on every path of the module
 * (a debug kernel: CONFIG_FAULT_INJECTION with FAILSLAB, FAIL_PAGE_ALLOC,
 * FAULT_INJECTION_USERCOPY). /proc/thread-self/fail-nth makes the n-th
 * fault site the thread reaches fail: a slab or page allocation, a copy
 * from or to user space, or one of the module's own sites, which are a
 * fault_attr of the kernel's framework (should_fail(), the attributes in
 * /sys/kernel/debug/hugeslab/fail/). For each operation - open, mapping
 * the statistics area, create, mapping a region, query, destroy, munmap,
 * close, reading each debugfs file - and n = 1, 2, ...: arm, run it,
 * disarm. Whatever the failed site, the operation succeeds or fails with
 * a clean errno, and once it is undone everything is back at baseline; the
 * walk ends at the first n the operation gets through without reaching.
 * The kernel log must stay clean (the VM runner fails on any splat). The
 * module's fault_attr also fails its sites on its own (probability 100,
 * times 1), for every task.
 */
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "../stress/hs_stress.h"

#define FAIL_ATTR	HS_DEBUGFS "/fail"
#define MAX_N		400

/* The kernel's fault attributes the walk uses, quiet and for all GFP. */
static const char *const quiet[] = {
	"/sys/kernel/debug/failslab/verbose",
	"/sys/kernel/debug/fail_page_alloc/verbose",
	"/sys/kernel/debug/fail_usercopy/verbose",
	FAIL_ATTR "/verbose",
};

static const char *const allow_all[] = {
	"/sys/kernel/debug/failslab/ignore-gfp-wait",
	"/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait",
	"/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem",
};

enum op {
	OP_OPEN, OP_STATS_MMAP, OP_CREATE, OP_MMAP, OP_QUERY, OP_DESTROY,
	OP_MUNMAP, OP_CLOSE, OP_READ_STATS, OP_READ_REGIONS, OP_READ_POOLS,
	OP_NR,
};

static const char *const op_name[OP_NR] = {
	"open", "stats mmap", "create", "region mmap", "query", "destroy",
	"munmap", "close", "read stats", "read regions", "read pools",
};

/* What an operation needs set up before it, and undone after. */
struct state {
	int fd;
	struct hugeslab_create c;
	bool created;
	char *map;
	void *stats;
};

static int nth_fd = -1;

static int arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(nth_fd, buf, len, 0) == len ? 0 : -1;
}

/*
 * After the operation: 1 if the armed site was reached (and failed), 0 if
 * the operation got through without reaching it; the count is cleared.
 * Reading the count is itself a copy to user space: if that is the site
 * it reaches, the read fails, and the operation did not reach it.
 */
static int injected(void)
{
	char buf[16] = "";
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);
	int hit = n > 0 && atoi(buf) == 0;

	arm(0);
	return hit;
}

static int prepare(enum op op, struct state *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->map = MAP_FAILED;
	s->stats = MAP_FAILED;
	if (op == OP_OPEN || op >= OP_READ_STATS)
		return 0;
	s->fd = hs_open();
	if (s->fd < 0)
		return -1;
	if (op == OP_STATS_MMAP || op == OP_CREATE || op == OP_QUERY)
		return 0;
	if (hs_create(s->fd, HS_2M, &s->c))
		return -1;
	s->created = true;
	if (op == OP_MMAP || op == OP_DESTROY || op == OP_CLOSE)
		return 0;
	s->map = hs_map(s->fd, &s->c);
	if (s->map == MAP_FAILED)
		return -1;
	s->map[0] = 1;
	if (hs_destroy(s->fd, s->c.id))
		return -1;
	s->created = false;
	return 0;
}

static void undo(struct state *s)
{
	if (s->map != MAP_FAILED)
		munmap(s->map, HS_2M);
	if (s->stats != MAP_FAILED)
		munmap(s->stats, HUGESLAB_STATS_BYTES);
	if (s->created)
		hs_destroy(s->fd, s->c.id);
	if (s->fd >= 0)
		close(s->fd);
}

static int read_all(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Run @op once: 0 or -errno. */
static int run(enum op op, struct state *s)
{
	struct hugeslab_query q;
	int err = 0;

	switch (op) {
	case OP_OPEN:
		s->fd = open(HUGESLAB_DEVICE, O_RDWR | O_CLOEXEC);
		err = s->fd < 0 ? -errno : 0;
		break;
	case OP_STATS_MMAP:
		s->stats = mmap(NULL, HUGESLAB_STATS_BYTES,
				PROT_READ | PROT_WRITE, MAP_SHARED, s->fd,
				HUGESLAB_STATS_OFFSET);
		err = s->stats == MAP_FAILED ? -errno : 0;
		break;
	case OP_CREATE:
		err = hs_create(s->fd, 2 * HS_2M, &s->c);
		s->created = !err;
		break;
	case OP_MMAP:
		s->map = hs_map(s->fd, &s->c);
		err = s->map == MAP_FAILED ? -errno : 0;
		break;
	case OP_QUERY:
		err = hs_query(s->fd, &q);
		break;
	case OP_DESTROY:
		err = hs_destroy(s->fd, s->c.id);
		s->created = !!err;
		break;
	case OP_MUNMAP:
		err = munmap(s->map, HS_2M) ? -errno : 0;
		if (!err)
			s->map = MAP_FAILED;
		break;
	case OP_CLOSE:
		/* Its regions go with it. */
		err = close(s->fd) ? -errno : 0;
		s->fd = -1;
		s->created = false;
		break;
	case OP_READ_STATS:
		err = read_all(HS_DEBUGFS "/stats");
		break;
	case OP_READ_REGIONS:
		err = read_all(HS_DEBUGFS "/regions");
		break;
	case OP_READ_POOLS:
		err = read_all(HS_DEBUGFS "/pools");
		break;
	case OP_NR:
		break;
	}
	return err;
}

FIXTURE(kfault) {
	struct hs_snap base;
};

FIXTURE_SETUP(kfault)
{
	unsigned int i;

	ASSERT_EQ(0, access("/proc/thread-self/fail-nth", W_OK))
		TH_LOG("this kernel has no fault injection (CONFIG_FAULT_INJECTION): it is for the debug kernel");
	for (i = 0; i < ARRAY_SIZE(quiet); i++) {
		ASSERT_EQ(0, hs_write_file(quiet[i], "0"))
			TH_LOG("%s: %s", quiet[i], strerror(errno));
	}
	for (i = 0; i < ARRAY_SIZE(allow_all); i++) {
		ASSERT_EQ(0, hs_write_file(allow_all[i], "N"))
			TH_LOG("%s: %s", allow_all[i], strerror(errno));
	}
	ASSERT_EQ(0, hs_wait_idle(&self->base));
}

FIXTURE_TEARDOWN_PARENT(kfault)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(allow_all); i++)
		hs_write_file(allow_all[i], "Y");
	HS_EXPECT_BASELINE(&self->base);
}

TEST_F_TIMEOUT(kfault, every_site_of_every_operation, 900)
{
	unsigned int n, total = 0, failed[OP_NR] = { 0 }, bad_site = 0;
	int bad_err = 0;
	struct hs_snap now;
	struct state s;
	enum op op;
	int err, hit;

	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, nth_fd);
	for (op = 0; op < OP_NR; op++) {
		for (n = 1; n <= MAX_N; n++) {
			ASSERT_EQ(0, prepare(op, &s))
				TH_LOG("%s: setting up: %s", op_name[op],
				       strerror(errno));
			ASSERT_EQ(0, arm(n));
			err = run(op, &s);
			hit = injected();
			undo(&s);
			if (err) {
				if (err != -ENOMEM && err != -EFAULT &&
				    err != -EAGAIN && err != -EINTR) {
					bad_site = n;
					bad_err = err;
				}
				failed[op]++;
			}
			ASSERT_EQ(0, hs_wait_snap(&self->base, &now,
						  HS_FREE_TIMEOUT_MS))
				TH_LOG("%s, site %u (%s): used %lld/%lld regions %lld/%lld free %lld/%lld",
				       op_name[op], n,
				       err ? strerror(-err) : "succeeded",
				       now.used_bytes, self->base.used_bytes,
				       now.regions, self->base.regions,
				       now.hp_free, self->base.hp_free);
			if (!hit) {
				/* Through it with the site still ahead. */
				EXPECT_EQ(0, err) TH_LOG("%s failed without a fault",
							 op_name[op]);
				break;
			}
		}
		EXPECT_GE(MAX_N, n) TH_LOG("%s: no end to its sites", op_name[op]);
		ksft_print_msg("%-13s %3u sites, %3u of them failed the call\n",
			       op_name[op], n - 1, failed[op]);
		EXPECT_EQ(0U, bad_site)
			TH_LOG("%s, site %u: %s", op_name[op], bad_site,
			       strerror(-bad_err));
		bad_site = 0;
		total += n - 1;
		/* Each operation goes through at least one site. */
		EXPECT_LT(1U, n) TH_LOG("%s reached no site", op_name[op]);
	}
	ksft_print_msg("%u sites in all\n", total);
	close(nth_fd);
}

/* The module's sites are a fault_attr of the kernel's own framework. */
TEST_F(kfault, module_fault_attr)
{
	struct hugeslab_create c;
	int fd;

	ASSERT_EQ(0, access(FAIL_ATTR "/probability", W_OK))
		TH_LOG("%s: the module's sites are not a fault_attr", FAIL_ATTR);
	ASSERT_EQ(0, hs_write_file(FAIL_ATTR "/interval", "1"));
	ASSERT_EQ(0, hs_write_file(FAIL_ATTR "/probability", "100"));
	ASSERT_EQ(0, hs_write_file(FAIL_ATTR "/times", "1"));
	/* The first site an open reaches is the module's context. */
	EXPECT_EQ(-1, hs_open());
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(0, hs_read_ll(FAIL_ATTR "/times"));
	fd = hs_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hs_write_file(FAIL_ATTR "/times", "1"));
	EXPECT_EQ(-ENOMEM, hs_create(fd, HS_2M, &c));
	ASSERT_EQ(0, hs_write_file(FAIL_ATTR "/probability", "0"));
	ASSERT_EQ(0, hs_create(fd, HS_2M, &c));
	close(fd);
}

TEST_HARNESS_MAIN
