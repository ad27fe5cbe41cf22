// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: fork - pool memory is not inherited, so the child starts with
 * empty pools and both keep working; a fork while other threads allocate
 * (and hold pool locks) never deadlocks the child.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hs_lib.h"

static hs_pool_t *pool;
static volatile int stop;

/* In the child: use the pool and check its memory is fresh. */
static int child_work(void **parent_objs, int n)
{
	struct hs_pool_stats st;
	unsigned char vec;
	void *v[2000];
	int i;

	/* The parent's objects are not mapped here. */
	for (i = 0; i < n; i++)
		if (mincore((void *)((uintptr_t)parent_objs[i] & ~4095UL), 4096,
			    &vec) == 0)
			return 10;
	if (hs_pool_stats(pool, &st) || st.in_use || st.total)
		return 11;
	for (i = 0; i < 2000; i++) {
		v[i] = hs_pool_alloc(pool);
		if (!v[i])
			return 12;
		memset(v[i], 0x33, 64);
	}
	for (i = 0; i < 2000; i++)
		hs_pool_free(pool, v[i]);
	if (hs_pool_stats(pool, &st) || st.in_use || st.allocs != 2000)
		return 13;
	return 0;
}

TEST(parent_and_child_keep_working)
{
	void *v[100];
	pid_t pid;
	int i, st;

	pool = hs_pool_create("forked", 64, NULL);
	ASSERT_NE(NULL, pool);
	for (i = 0; i < 100; i++) {
		v[i] = hs_pool_alloc(pool);
		memset(v[i], i, 64);
	}
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(child_work(v, 100));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	/* The parent's objects are intact and the pool still works. */
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(i, ((unsigned char *)v[i])[63]);
		hs_pool_free(pool, v[i]);
	}
	v[0] = hs_pool_alloc(pool);
	ASSERT_NE(NULL, v[0]);
	hs_pool_free(pool, v[0]);
	hs_pool_destroy(pool);
}

/* Churn that keeps the slow paths (and so the pool lock) busy. */
static void *churn(void *arg)
{
	void *v[700];
	int i;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < 700; i++)
			v[i] = hs_pool_alloc(pool);
		for (i = 0; i < 700; i++)
			hs_pool_free(pool, v[i]);
	}
	return NULL;
}

TEST(fork_while_threads_hold_locks)
{
	pthread_t t[2];
	int i, st;
	pid_t pid;

	pool = hs_pool_create("forklock", 32, NULL);
	ASSERT_NE(NULL, pool);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn, NULL));
	for (i = 0; i < 100; i++) {
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			/* Would hang here if a lock was inherited held. */
			void *o = hs_pool_alloc(pool);

			hs_pool_free(pool, o);
			_exit(o ? 0 : 1);
		}
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFEXITED(st));
		ASSERT_EQ(0, WEXITSTATUS(st));
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	hs_pool_destroy(pool);
}

TEST_HARNESS_MAIN
