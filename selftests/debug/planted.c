// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the library's checker support catches planted bugs - a use
 * after free and a double free of pool objects. Run from an ASan build
 * (the library poisons free objects; the bug runs in a child whose report
 * is read back) or from a VALGRIND=1 build under valgrind (memcheck counts
 * the errors). A plain build cannot catch them and says so.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/memcheck.h>

#include "kselftest_harness.h"
#include "hugeslab.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#else
#define ASAN_BUILD 0
#endif

struct obj {
	long state;
	char payload[56];
};

static int obj_ctor(void *o, void *arg)
{
	(void)arg;
	((struct obj *)o)->state = 42;
	return 0;
}

/* Run @bug in a child; return what it printed on stderr. */
static char *child_report(void (*bug)(void), int *status)
{
	static char buf[16384];
	int fds[2];
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(fds))
		return NULL;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		bug();
		_exit(0);	/* not caught: exits cleanly */
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	close(fds[0]);
	waitpid(pid, status, 0);
	return buf;
}

static volatile long sink;

static void use_after_free(void)
{
	hs_pool_t *p = hs_pool_create("uaf", sizeof(struct obj), NULL);
	struct obj *o = hs_pool_alloc(p);

	o->state = 1;
	hs_pool_free(p, o);
	sink = o->state;	/* the planted bug */
}

static void double_free(void)
{
	hs_pool_t *p = hs_pool_create("df", sizeof(struct obj), NULL);
	struct obj *o = hs_pool_alloc(p);

	hs_pool_free(p, o);
	hs_pool_free(p, o);	/* the planted bug */
}

static hs_cache_t *shared_cache;

static void *use_shared_cache(void *arg)
{
	void *o = hs_cache_alloc(shared_cache);	/* the planted bug */

	(void)arg;
	hs_cache_free(shared_cache, o);
	return NULL;
}

static void foreign_cache(void)
{
	hs_pool_t *p = hs_pool_create("foreign", sizeof(struct obj), NULL);
	pthread_t t;

	shared_cache = hs_pool_cache(p);
	hs_pool_free(p, hs_cache_alloc(shared_cache));
	pthread_create(&t, NULL, use_shared_cache, NULL);
	pthread_join(t, NULL);
}

static void mode_check(struct __test_metadata *_metadata)
{
	ASSERT_TRUE(ASAN_BUILD || RUNNING_ON_VALGRIND)
		TH_LOG("build with SANITIZE=-fsanitize=address, or run a VALGRIND=1 build under valgrind");
}

TEST(use_after_free_is_reported)
{
	mode_check(_metadata);
	if (ASAN_BUILD) {
		int st;
		char *out = child_report(use_after_free, &st);

		ASSERT_NE(NULL, out);
		ASSERT_FALSE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("%s", out);
		ASSERT_NE(NULL, strstr(out, "use-after-poison")) TH_LOG("%s", out);
	} else {
		unsigned int before = VALGRIND_COUNT_ERRORS;

		use_after_free();
		ASSERT_GT(VALGRIND_COUNT_ERRORS, before);
	}
}

TEST(double_free_is_reported)
{
	mode_check(_metadata);
	if (ASAN_BUILD) {
		int st;
		char *out = child_report(double_free, &st);

		ASSERT_NE(NULL, out);
		ASSERT_FALSE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("%s", out);
		ASSERT_NE(NULL, strstr(out, "hugeslab: double free")) TH_LOG("%s", out);
	} else {
		unsigned int before = VALGRIND_COUNT_ERRORS;

		double_free();
		ASSERT_GT(VALGRIND_COUNT_ERRORS, before);
	}
}

/* A thread cache handle belongs to the thread that got it. */
TEST(cache_used_by_another_thread_is_reported)
{
	int st;
	char *out;

	mode_check(_metadata);
	out = child_report(foreign_cache, &st);
	ASSERT_NE(NULL, out);
	ASSERT_FALSE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "used by a thread that does not own it"))
		TH_LOG("%s", out);
}

TEST(correct_use_is_not_reported)
{
	struct hs_pool_opts opts = { .ctor = obj_ctor };
	hs_pool_t *p = hs_pool_create("clean", sizeof(struct obj), &opts);
	unsigned int before = VALGRIND_COUNT_ERRORS;
	struct obj *v[1000];
	int i, round;

	mode_check(_metadata);
	ASSERT_NE(NULL, p);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 1000; i++) {
			v[i] = hs_pool_alloc(p);
			/* Constructed state is readable, also after reuse. */
			ASSERT_EQ(42, v[i]->state);
			memset(v[i]->payload, i, sizeof(v[i]->payload));
		}
		for (i = 0; i < 1000; i++)
			hs_pool_free(p, v[i]);
	}
	hs_pool_trim(p);
	hs_pool_destroy(p);
	ASSERT_EQ(before, VALGRIND_COUNT_ERRORS);
}

TEST_HARNESS_MAIN
