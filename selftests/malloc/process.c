// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: what real processes do to a malloc replacement - allocate
 * before main() and in thread-exit destructors, free pointers it never
 * handed out (from glibc's own malloc), start and end many threads that
 * allocate and free each other's blocks, dlopen and dlclose libraries -
 * and it keeps working, never crashing.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "kselftest_harness.h"

/* glibc's own allocator, still in the process under the drop-in. */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);

/* What a constructor found, in static memory: each test runs in a fork
 * child of the harness, which on the kmod backend has none of the heap. */
static int early_ok;

static void __attribute__((constructor)) before_main(void)
{
	char *p = malloc(100), *q;

	if (!p)
		return;
	strcpy(p, "allocated before main");
	q = realloc(p, 5000);
	early_ok = q && !strcmp(q, "allocated before main") &&
		   malloc_usable_size(q) >= 5000;
	free(q);
}

TEST(allocation_before_main)
{
	ASSERT_TRUE(early_ok);
}

/* free() called through a pointer the compiler cannot see through: it
 * would (rightly, for a real allocator) flag the block's use after it. */
static void (*volatile free_of)(void *) = free;
static void *(*volatile realloc_of)(void *, size_t) = realloc;

TEST(foreign_pointers_are_left_alone)
{
	char *g = __libc_malloc(64), *q;

	ASSERT_NE(NULL, g);
	strcpy(g, "glibc's block");
	free_of(g);			/* not ours: ignored, never a crash */
	ASSERT_STREQ("glibc's block", g);
	ASSERT_EQ(0, malloc_usable_size(g));
	q = realloc_of(g, 100);		/* copied into one of ours */
	ASSERT_NE(NULL, q);
	ASSERT_STREQ("glibc's block", q);
	free(q);
	__libc_free(g);
}

static volatile double round_off = 1.0;

static pthread_key_t key;

static void key_dtor(void *v)
{
	/* Runs as a thread exits, possibly after the library's own. */
	void *p = malloc(300);

	free(v);
	free(p);
}

#define THREADS	64
#define PER	2000

static void *volatile slots[THREADS][PER];

static void *worker(void *arg)
{
	long id = (long)arg, i;

	pthread_setspecific(key, malloc(50));
	for (i = 0; i < PER; i++) {
		slots[id][i] = malloc((size_t)(i % 700) + 1);
		memset(slots[id][i], (int)id, (size_t)(i % 700) + 1);
	}
	/* Free the previous thread's blocks: cross-thread frees. */
	if (id) {
		for (i = 0; i < PER; i++) {
			unsigned char *b = slots[id - 1][i];

			if (b[0] != (unsigned char)(id - 1))
				return (void *)1;
			free(b);
			slots[id - 1][i] = NULL;
		}
	}
	return NULL;
}

TEST(threads_start_end_and_free_each_others_blocks)
{
	pthread_t t;
	void *rc;
	long i, j;

	ASSERT_EQ(0, pthread_key_create(&key, key_dtor));
	/* In sequence, so thread i frees thread i-1's blocks after it
	 * exited: blocks outlive the thread that made them. */
	for (i = 0; i < THREADS; i++) {
		ASSERT_EQ(0, pthread_create(&t, NULL, worker, (void *)i));
		ASSERT_EQ(0, pthread_join(t, &rc));
		ASSERT_EQ(NULL, rc);
	}
	for (j = 0; j < PER; j++)
		free(slots[THREADS - 1][j]);
}

TEST(dlopen_and_dlclose)
{
	int round;

	/* libm is a dependency of this test (see selftests.mk), so it is
	 * there in the VM too; dlopen takes another reference. */
	ASSERT_EQ(1.0, cos(0.0 * round_off));
	for (round = 0; round < 50; round++) {
		void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
		double (*cosine)(double);
		void *sym;

		ASSERT_NE(NULL, h) TH_LOG("%s", dlerror());
		sym = dlsym(h, "cos");
		ASSERT_NE(NULL, sym);
		cosine = (double (*)(double))sym;
		ASSERT_EQ(1.0, cosine(0.0));
		ASSERT_EQ(NULL, dlopen("libdoes-not-exist.so", RTLD_NOW));
		ASSERT_NE(NULL, dlerror());	/* dlerror allocates */
		ASSERT_EQ(0, dlclose(h));
	}
}

TEST_HARNESS_MAIN
