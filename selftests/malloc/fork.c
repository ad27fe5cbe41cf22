// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: fork() under the malloc drop-in, from a process whose other
 * threads are allocating and freeing: the child never deadlocks, malloc
 * works in it, and the parent's heap follows fork as glibc's does (the
 * child reads and writes its copy, the parent keeps its own) - except on
 * the kmod backend, whose regions a child never gets: there the child
 * starts a heap of its own and the parent's blocks are not mapped in it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

static volatile int stop;

static void *churn(void *arg)
{
	void *v[500];
	int i, n;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < 500; i++)
			v[i] = malloc((size_t)(i * 37) % 3000 + 1);
		for (i = 0; i < 500; i++)
			free(v[i]);
		n = rand() % 3;
		free(malloc((size_t)(2 + n) << 20));
	}
	return NULL;
}

static bool on_kmod(void)
{
	const char *b = getenv("HUGESLAB_BACKEND");

	return b && !strcmp(b, "kmod");
}

static bool mapped(const void *p)
{
	unsigned char vec;

	return !mincore((void *)((uintptr_t)p & ~4095UL), 4096, &vec);
}

/* In the child: use the heap, and the parent's blocks as allowed. */
static int child(char **blocks, int n)
{
	void *v[3000];
	int i;

	for (i = 0; i < n; i++) {
		if (on_kmod()) {
			if (mapped(blocks[i]))
				return 10;
			continue;
		}
		if (blocks[i][0] != (char)i || blocks[i][999] != (char)i)
			return 11;
		blocks[i][0] = 'c';	/* the child's copy */
		free(blocks[i]);
	}
	for (i = 0; i < 3000; i++) {
		v[i] = malloc((size_t)i + 1);
		if (!v[i])
			return 12;
		memset(v[i], 1, (size_t)i + 1);
	}
	for (i = 0; i < 3000; i++)
		free(v[i]);
	return 0;
}

/*
 * A fixture only for its longer timeout: the harness's 30 s is too short
 * for the test below on the debug kernel under TCG (KASAN, lockdep).
 */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

TEST_F_TIMEOUT(slow, fork_while_other_threads_allocate, 600)
{
	enum { N = 200 };
	char *blocks[N];
	pthread_t t[2];
	int i, k, st;
	pid_t pid;

	for (i = 0; i < N; i++) {
		blocks[i] = malloc(1000 + (size_t)i * 4000);
		memset(blocks[i], i, 1000);
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn, NULL));
	for (k = 0; k < 60; k++) {
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0)
			_exit(child(blocks, N));
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFEXITED(st)) TH_LOG("child killed by signal %d",
						  WTERMSIG(st));
		ASSERT_EQ(0, WEXITSTATUS(st)) TH_LOG("round %d", k);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	/* The parent's blocks are as they were. */
	for (i = 0; i < N; i++) {
		ASSERT_EQ((char)i, blocks[i][0]);
		free(blocks[i]);
	}
}

/*
 * A big block (a mapping of its own, on hugetlb with its pages reserved)
 * follows fork as the others do: the child reads what the parent wrote,
 * writes both the pages the parent touched and ones it never did, frees
 * it and takes another; the parent's copy is as it was.
 */
TEST(a_big_block_follows_fork)
{
	const size_t n = (size_t)48 << 20;
	unsigned char *p, *q;
	int st;
	pid_t pid;

	ASSERT_NE(NULL, p = malloc(n));
	memset(p, 0x6d, 1 << 20);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (on_kmod())
			_exit(mapped(p) ? 20 : 0);
		if (p[0] != 0x6d || p[(1 << 20) - 1] != 0x6d || p[n - 1])
			_exit(21);
		p[0] = 1;
		p[n - 1] = 2;
		free(p);
		q = malloc(n);
		if (!q)
			_exit(22);
		memset(q, 3, n);
		free(q);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("child killed by signal %d",
					  WTERMSIG(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	ASSERT_EQ(0x6d, p[0]);
	ASSERT_EQ(0, p[n - 1]);
	free(p);
}

/* Blocks of 20 to 64 KiB, whose caches hold 2 to 6: a slow path, where a
 * cache and its reserve trade objects, every few calls. */
static void *churn_big(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	void *v[16] = { 0 };
	int k;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		k = rand_r(&seed) % 16;
		free(v[k]);
		v[k] = malloc(((size_t)20 << 10) + (size_t)rand_r(&seed) % (44 << 10));
	}
	for (k = 0; k < 16; k++)
		free(v[k]);
	return NULL;
}

static int by_address(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* In the child: no two blocks overlap. */
static int child_blocks_apart(void)
{
	enum { M = 500 };
	static uintptr_t v[M];
	static size_t len[M];
	int i;

	for (i = 0; i < M; i++) {
		len[i] = ((size_t)20 << 10) + (size_t)(i * 997) % (44 << 10);
		v[i] = (uintptr_t)malloc(len[i]);
		if (!v[i])
			return 30;
	}
	qsort(v, M, sizeof(v[0]), by_address);
	for (i = 1; i < M; i++)
		if (v[i] - v[i - 1] < ((size_t)20 << 10))
			return 31;
	return 0;
}

#define HELD	10
static void *held_block[HELD];
static pthread_barrier_t cached, forked;

/* Frees its blocks into its caches and waits there, holding them. */
static void *hold_cached(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < HELD; i++)
		held_block[i] = malloc((size_t)24 << 10);
	for (i = 0; i < HELD; i++)
		free(held_block[i]);
	pthread_barrier_wait(&cached);
	pthread_barrier_wait(&forked);
	return NULL;
}

/*
 * Another thread's caches are its own, written without a lock: in the
 * child (where that thread does not exist) the copy of them may be from
 * the middle of an update, or from different moments for different pages,
 * since the thread runs on while fork() copies the address space. The
 * child leaves what they held alone, and so never hands it out.
 */
TEST(a_child_leaves_other_threads_cached_blocks_alone)
{
	pthread_t t;
	int st, i, k;
	pid_t pid;

	ASSERT_EQ(0, pthread_barrier_init(&cached, NULL, 2));
	ASSERT_EQ(0, pthread_barrier_init(&forked, NULL, 2));
	ASSERT_EQ(0, pthread_create(&t, NULL, hold_cached, NULL));
	pthread_barrier_wait(&cached);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* (On kmod the child has none of the parent's heap.) */
		if (on_kmod())
			_exit(mapped(held_block[0]) ? 42 : 0);
		for (i = 0; i < 200; i++) {
			void *p = malloc((size_t)24 << 10);

			if (!p)
				_exit(40);
			for (k = 0; k < HELD; k++)
				if (p == held_block[k])
					_exit(41);
		}
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	pthread_barrier_wait(&forked);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("child killed by signal %d",
					  WTERMSIG(st));
	EXPECT_EQ(0, WEXITSTATUS(st)) {
		TH_LOG("the child handed out a block another thread's cache held");
	}
}

/*
 * A fork can land while another thread's cache is halfway through trading
 * objects with its reserve, outside any lock: the child must not hand out
 * what the copy shows in both places. (What other threads' caches held is
 * theirs: the child, which has only the forking thread, may lose it but
 * never give a block out twice.) A race, caught now and then: the test
 * above checks the rule deterministically.
 */
TEST_F_TIMEOUT(slow, a_child_never_gets_a_block_twice, 600)
{
	enum { T = 8 };
	pthread_t t[T];
	int i, k, st;
	pid_t pid;

	for (i = 0; i < T; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn_big,
					    (void *)(uintptr_t)(i + 1)));
	/* (A few rounds on kmod, where the child's heap starts empty; a
	 * second or so each under TCG.) */
	for (k = 0; k < (on_kmod() ? 10 : 150); k++) {
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0)
			_exit(child_blocks_apart());
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFEXITED(st)) TH_LOG("child killed by signal %d",
						  WTERMSIG(st));
		ASSERT_EQ(0, WEXITSTATUS(st)) TH_LOG("round %d", k);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < T; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
}

TEST_HARNESS_MAIN
