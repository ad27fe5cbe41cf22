// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the edges of a pool's life - a destructor that frees into
 * its own pool while the pool is destroyed, a fork while another thread
 * destroys a pool, a fork child's pools and regions, errors that must not
 * outlive the call that made them, and a thread cache handle whose count
 * runs long or whose pool is gone.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hs_lib.h"

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* True if the @n pointers of @v are all different. */
static bool all_distinct(void **v, size_t n)
{
	size_t i;

	qsort(v, n, sizeof(*v), cmp_ptr);
	for (i = 1; i < n; i++)
		if (v[i] == v[i - 1])
			return false;
	return true;
}

/* ---- a destructor that frees into the pool being destroyed ------------- */

static hs_pool_t *dying;
static void *held_back;

static void free_held_back(void *obj, void *arg)
{
	(void)obj;
	(void)arg;
	if (held_back) {
		void *o = held_back;

		held_back = NULL;
		hs_pool_free(dying, o);
	}
}

TEST(dtor_that_frees_into_its_own_pool_during_destroy)
{
	struct hs_pool_opts o = { .dtor = free_held_back };
	enum { N = 20000 };
	void **v = calloc(N, sizeof(*v));
	hs_pool_t *next;
	int i, round;

	ASSERT_NE(NULL, v);
	for (round = 0; round < 3; round++) {
		dying = hs_pool_create("dying", 64, &o);
		ASSERT_NE(NULL, dying);
		for (i = 0; i < 100; i++)
			v[i] = hs_pool_alloc(dying);
		held_back = v[0];
		for (i = 1; i < 100; i++)
			hs_pool_free(dying, v[i]);
		/* The first destructor run frees held_back into the pool. */
		hs_pool_destroy(dying);
		ASSERT_EQ(NULL, held_back);

		/* A new pool (often at the old one's address and id) hands
		 * out only its own, distinct objects. */
		next = hs_pool_create("after", 64, NULL);
		ASSERT_NE(NULL, next);
		for (i = 0; i < N; i++) {
			v[i] = hs_pool_alloc(next);
			ASSERT_NE(NULL, v[i]) TH_LOG("%s", hs_last_error());
			memset(v[i], 0x5a, 64);
		}
		for (i = 0; i < N; i++)
			ASSERT_EQ(0x5a, ((unsigned char *)v[i])[0]);
		ASSERT_TRUE(all_distinct(v, N));
		for (i = 0; i < N; i++)
			hs_pool_free(next, v[i]);
		hs_pool_destroy(next);
	}
	free(v);
}

/*
 * A fixture only for its longer timeout: the harness's 30 s is too short
 * for the fork tests below on the debug kernel under TCG (KASAN, lockdep).
 */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

/* ---- fork while another thread destroys a pool ------------------------- */

static volatile int stop_destroyer;

/* Creates, fills and destroys pools as fast as it can. */
static void *destroyer(void *arg)
{
	void *v[300];
	int i;

	(void)arg;
	while (!__atomic_load_n(&stop_destroyer, __ATOMIC_RELAXED)) {
		hs_pool_t *p = hs_pool_create("churned", 48, NULL);

		if (!p)
			continue;
		for (i = 0; i < 300; i++)
			v[i] = hs_pool_alloc(p);
		for (i = 0; i < 300; i++)
			hs_pool_free(p, v[i]);
		hs_pool_destroy(p);
	}
	return NULL;
}

/* A fork child uses pools and bookkeeping hard enough to trip over any
 * pool the parent was half-way through freeing. */
static int child_uses_pools(void)
{
	void *v[2000];
	int round, i;

	for (round = 0; round < 4; round++) {
		hs_pool_t *p = hs_pool_create("child", 48 + 16 * round, NULL);

		if (!p)
			return 20;
		for (i = 0; i < 2000; i++) {
			v[i] = hs_pool_alloc(p);
			if (!v[i])
				return 21;
			memset(v[i], round, 48);
		}
		if (!all_distinct(v, 2000))
			return 22;
		for (i = 0; i < 2000; i++)
			hs_pool_free(p, v[i]);
		hs_pool_destroy(p);
	}
	return 0;
}

TEST_F_TIMEOUT(slow, fork_while_another_thread_destroys_pools, 600)
{
	pthread_t t;
	int i, st, bad = 0;
	pid_t pid;

	ASSERT_EQ(0, pthread_create(&t, NULL, destroyer, NULL));
	for (i = 0; i < 200; i++) {
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0)
			_exit(child_uses_pools());
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			TH_LOG("child %d: %s %d", i,
			       WIFEXITED(st) ? "exit" : "signal",
			       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			bad++;
		}
	}
	__atomic_store_n(&stop_destroyer, 1, __ATOMIC_RELAXED);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, bad);
}

/* ---- what a fork child inherits ---------------------------------------- */

/*
 * Objects went back to the slabs and the pool is taking free objects from
 * one of them when the process forks: the child's pool must start empty,
 * hand out only memory the child has, and reuse what it frees.
 */
TEST(fork_child_reuses_its_own_free_objects)
{
	enum { PER_SLAB = 2 << 20 >> 10, SLABS = 8, N = SLABS * PER_SLAB,
	       CHILD_N = 3 * PER_SLAB };
	hs_pool_t *p = hs_pool_create("takefork", 1024, NULL);
	void **v = calloc(N, sizeof(*v));
	struct hs_pool_stats st;
	int i, status;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, v);
	for (i = 0; i < N; i++)
		ASSERT_NE(NULL, v[i] = hs_pool_alloc(p));
	/*
	 * Keep objects live in every slab so none empties: one in 64 in the
	 * older slabs, one in two in the newest, which so has the fewest
	 * free objects. Free the rest and push them back into the slabs;
	 * taking objects out again then takes from the newest slab.
	 */
	for (i = 0; i < N; i++)
		if (i < N - PER_SLAB ? i % 64 : i % 2)
			hs_pool_free(p, v[i]);
	hs_pool_trim(p);
	for (i = 0; i < 500; i++)
		ASSERT_NE(NULL, hs_pool_alloc(p));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int rc = 0, round;

		for (round = 0; round < 3 && !rc; round++) {
			for (i = 0; i < CHILD_N; i++) {
				v[i] = hs_pool_alloc(p);
				if (!v[i]) {
					rc = 30;
					break;
				}
				/* Faults if it is the parent's memory. */
				memset(v[i], 0x77, 1024);
			}
			if (!rc && !all_distinct(v, CHILD_N))
				rc = 31;
			/* Free most, back into the slabs, then the rest. */
			for (i = 0; !rc && i < CHILD_N; i++)
				if (i % 64)
					hs_pool_free(p, v[i]);
			hs_pool_trim(p);
			for (i = 0; !rc && i < CHILD_N; i += 64)
				hs_pool_free(p, v[i]);
		}
		if (!rc && (hs_pool_stats(p, &st) || st.in_use))
			rc = 32;
		/* Memory went round three times: it was reused. */
		if (!rc && st.total > (uint64_t)CHILD_N + 2 * PER_SLAB)
			rc = 33;
		_exit(rc);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child killed by signal %d",
					      WTERMSIG(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	hs_pool_destroy(p);
	free(v);
}

/* Open descriptors of this process that name @path. */
static int fds_naming(const char *path)
{
	char link[64], target[256];
	int fd, n = 0;
	ssize_t len;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = 0;
		if (!strcmp(target, path))
			n++;
	}
	return n;
}

TEST_F_TIMEOUT(slow, fork_child_does_not_keep_the_device_open, 600)
{
	hs_pool_t *p = hs_pool_create("fdfork", 64, NULL);
	void *o;
	int st;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, o = hs_pool_alloc(p));
	/* The parent holds the device when it uses the module (for regions,
	 * or to publish its pools' counters), once. */
	if (hs_backend() == HS_BACKEND_KMOD)
		ASSERT_EQ(1, fds_naming("/dev/hugeslab"));
	ASSERT_LE(fds_naming("/dev/hugeslab"), 1);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)	/* No hugeslab call here: it must be closed already. */
		_exit(fds_naming("/dev/hugeslab"));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	hs_pool_free(p, o);
	hs_pool_destroy(p);
}

TEST(region_destroy_in_fork_child_leaves_the_child_memory_alone)
{
	hs_region_t *r = hs_region_create(HS_2M, NULL);
	int st;
	pid_t pid;

	ASSERT_NE(NULL, r) TH_LOG("%s", hs_last_error());
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* The parent's range is free here: the child maps its own. */
		char *base = hs_region_base(r);
		char *m = mmap(base, HS_2M, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			       -1, 0);

		if (m != base)
			_exit(40);
		memset(m, 0x42, HS_2M);
		hs_region_destroy(r);	/* the parent's region, not this */
		_exit(m[HS_2M - 1] == 0x42 ? 0 : 41);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("child killed by signal %d",
					  WTERMSIG(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	/* The parent's region is untouched and still its own. */
	memset(hs_region_base(r), 1, HS_2M);
	hs_region_destroy(r);
}

/* ---- errors belong to the call that failed ----------------------------- */

/* Bytes of address space this process has mapped (VmSize). */
static size_t vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	size_t kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb << 10;
}

TEST(a_success_leaves_no_error_behind)
{
	struct hs_pool_stats st;
	struct rlimit rl;
	hs_region_t *r;
	char msg[256];
	hs_pool_t *p;
	int i;

	/* A region far beyond memory fails and says why... */
	errno = 0;
	r = hs_region_create((size_t)1 << 62, NULL);
	ASSERT_EQ(NULL, r);
	ASSERT_NE(0, errno);
	ASSERT_STRNE("", hs_last_error());
	snprintf(msg, sizeof(msg), "%s", hs_last_error());
	/* ...and a small one then succeeds without touching either. */
	errno = 0;
	r = hs_region_create(HS_2M, NULL);
	ASSERT_NE(NULL, r) TH_LOG("%s", hs_last_error());
	ASSERT_EQ(0, errno);
	ASSERT_STREQ(msg, hs_last_error());
	hs_region_destroy(r);

	/*
	 * With little address space left, a pool's memory grows by smaller
	 * steps than it would like: the attempts that fail inside calls that
	 * succeed must leave no trace either.
	 */
	rl.rlim_cur = rl.rlim_max = vm_size() + (48 << 20);
	ASSERT_EQ(0, setrlimit(RLIMIT_AS, &rl));
	p = hs_pool_create("tight", 4096, NULL);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 10000; i++) {
		void *o;

		errno = 0;
		o = hs_pool_alloc(p);
		if (!o)
			break;
		ASSERT_EQ(0, errno) TH_LOG("object %d: errno %d after a success (%s)",
					   i, errno, hs_last_error());
		ASSERT_STREQ(msg, hs_last_error());
	}
	ASSERT_GT(i, 8000);	/* at least 32 MiB fitted */

	/* Bad arguments to stats: EINVAL and a message. */
	errno = 0;
	ASSERT_EQ(-1, hs_pool_stats(NULL, &st));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_STRNE(msg, hs_last_error());
}

/* Run a child with HUGESLAB_BACKEND=thp while THP is off: it must say so. */
TEST(forced_thp_backend_when_thp_is_never)
{
	static const char *thp = "/sys/kernel/mm/transparent_hugepage/enabled";
	char old[128] = "", *sel, *end;
	FILE *f = fopen(thp, "re");
	int st;
	pid_t pid;

	ASSERT_NE(NULL, f) TH_LOG("%s: %s", thp, strerror(errno));
	ASSERT_NE(NULL, fgets(old, sizeof(old), f));
	fclose(f);
	sel = strchr(old, '[');
	end = sel ? strchr(sel, ']') : NULL;
	ASSERT_NE(NULL, end);
	*end = 0;
	f = fopen(thp, "we");
	ASSERT_NE(NULL, f) TH_LOG("needs root to switch THP off: %s", strerror(errno));
	ASSERT_GT(fputs("never", f), 0);
	ASSERT_EQ(0, fclose(f));
	pid = fork();
	if (pid == 0) {
		setenv("HUGESLAB_BACKEND", "thp", 1);
		errno = EAGAIN;	/* something stale a probe might leave */
		if (hs_backend() != HS_BACKEND_NONE)
			_exit(50);
		if (errno != ENOTSUP)
			_exit(51);
		_exit(strstr(hs_last_error(), "THP") ? 0 : 52);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	f = fopen(thp, "we");
	if (f) {
		fputs(sel + 1, f);
		fclose(f);
	}
	ASSERT_GE(pid, 0);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
}

/* ---- the inline cache handle's edges ------------------------------------ */

TEST(cache_allocation_count_does_not_wrap)
{
	hs_pool_t *p = hs_pool_create("longrun", 32, NULL);
	struct hs_pool_stats st;
	hs_cache_t *c;
	bool checked;
	void *o;
	int i;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, c = hs_pool_cache(p));
	o = hs_cache_alloc(c);
	ASSERT_NE(NULL, o);
	hs_cache_free(c, o);
	/* Checker builds hand out a handle that always calls the library
	 * (its state stays 0): no count accumulates in it. */
	checked = c->state == 0;
	/*
	 * Days of a tight alloc/free loop, in one step: the count field of
	 * the state word (bits 16 and up) made almost full. Allocating on
	 * must not wrap it back to a small number.
	 */
	c->state += ((1ULL << 48) - 4 - (c->state >> HS_CACHE_COUNT_SHIFT))
		    << HS_CACHE_COUNT_SHIFT;
	for (i = 0; i < 100; i++) {
		o = hs_cache_alloc(c);
		ASSERT_NE(NULL, o);
		hs_cache_free(c, o);
	}
	ASSERT_EQ(0, hs_pool_stats(p, &st));
	if (checked) {
		ASSERT_EQ(101, st.allocs);
	} else {
		ASSERT_GE(st.allocs, (1ULL << 48) - 4 + 100 - 1);
	}
	ASSERT_EQ(0, st.in_use);
	hs_pool_destroy(p);
}

TEST(cache_handle_after_its_pool_is_destroyed)
{
	hs_pool_t *p = hs_pool_create("gone", 64, NULL), *q;
	hs_cache_t *c;
	void *o, *mine[64];
	int i;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, c = hs_pool_cache(p));
	o = hs_cache_alloc(c);
	ASSERT_NE(NULL, o);
	hs_cache_free(c, o);
	hs_pool_destroy(p);

	/* Using the handle now is a caller's bug: an error, not a crash. */
	errno = 0;
	ASSERT_EQ(NULL, hs_cache_alloc(c));
	ASSERT_NE(0, errno);
	ASSERT_STRNE("", hs_last_error());

	/* Nor does it serve a new pool that took the old one's id. */
	q = hs_pool_create("newcomer", 64, NULL);
	ASSERT_NE(NULL, q);
	for (i = 0; i < 64; i++)
		ASSERT_NE(NULL, mine[i] = hs_pool_alloc(q));
	ASSERT_EQ(NULL, hs_cache_alloc(c));
	for (i = 0; i < 64; i++)
		hs_pool_free(q, mine[i]);
	hs_pool_destroy(q);
}

TEST_HARNESS_MAIN
