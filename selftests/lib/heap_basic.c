// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the heap's API on one thread - every function's edge cases
 * as their C/POSIX counterparts have them (malloc(0), calloc overflow,
 * realloc(NULL, n) and realloc(p, 0), ENOMEM, any power-of-two alignment,
 * free keeps errno), blocks that are distinct, writable and hold their
 * bytes across realloc, large blocks grown in place, foreign pointers left
 * alone, the heap's size classes visible as pools and in the stats, and
 * errno kept by every call that succeeds.
 */
#include <errno.h>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hs_lib.h"

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

TEST(malloc_zero_and_small)
{
	void *a = hs_malloc(0), *b = hs_malloc(0);

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_NE(a, b);
	ASSERT_EQ(0, (uintptr_t)a % 16);
	ASSERT_GE(hs_malloc_usable_size(a), 0);
	hs_free(a);
	hs_free(b);
	hs_free(NULL);
	ASSERT_EQ(0, hs_malloc_usable_size(NULL));
}

/* Every size up to a few KiB and some big ones: distinct, 16-byte aligned,
 * as big as asked, and holding what was written. */
TEST(sizes_are_distinct_aligned_and_hold_their_bytes)
{
	enum { N = 6000 };
	unsigned char **v = calloc(N, sizeof(*v));
	size_t *sz = calloc(N, sizeof(*sz));
	void **sorted = calloc(N, sizeof(*sorted));
	size_t i, j;

	ASSERT_NE(NULL, v);
	for (i = 0; i < N; i++) {
		sz[i] = i < 5000 ? i : ((size_t)1 << (10 + i % 12)) + i;
		v[i] = hs_malloc(sz[i]);
		ASSERT_NE(NULL, v[i]) TH_LOG("%zu bytes: %s", sz[i], hs_last_error());
		ASSERT_EQ(0, (uintptr_t)v[i] % 16);
		ASSERT_GE(hs_malloc_usable_size(v[i]), sz[i]);
		memset(v[i], (int)(i & 0xff), sz[i]);
		sorted[i] = v[i];
	}
	for (i = 0; i < N; i++)
		for (j = 0; j < sz[i]; j += 97)
			ASSERT_EQ(i & 0xff, v[i][j]);
	qsort(sorted, N, sizeof(*sorted), cmp_ptr);
	for (i = 1; i < N; i++)
		ASSERT_NE(sorted[i - 1], sorted[i]);
	for (i = 0; i < N; i++) {
		if (i % 2)
			hs_free_sized(v[i], sz[i]);
		else
			hs_free(v[i]);
	}
	free(v);
	free(sz);
	free(sorted);
}

/* The heap's classes hand out fresh blocks upwards too (see pool_basic). */
TEST(fresh_blocks_climb_through_memory)
{
	char *v[100];
	void *first = hs_malloc(1000);
	size_t sz = hs_malloc_usable_size(first);
	int i;

	hs_free(first);
	for (i = 0; i < 100; i++) {
		v[i] = hs_malloc(1000);
		ASSERT_NE(NULL, v[i]);
		if (i)
			ASSERT_LE(v[i - 1] + sz, v[i])
				TH_LOG("block %d at %p after %p", i, v[i], v[i - 1]);
	}
	for (i = 0; i < 100; i++)
		hs_free(v[i]);
}

/*
 * Every size up to the largest class gets the smallest class that holds
 * it: usable sizes only change just past a full class, and never waste
 * more than a fifth of a block beyond the 16-byte steps.
 */
TEST(every_size_gets_the_smallest_class_that_fits)
{
	size_t n, u, prev = 0;

	for (n = 1; n <= (64 << 10); n++) {
		void *p = hs_malloc(n);

		ASSERT_NE(NULL, p);
		u = hs_malloc_usable_size(p);
		hs_free(p);
		ASSERT_GE(u, n);
		if (u != prev && prev)
			ASSERT_EQ(prev, n - 1) TH_LOG("%zu bytes: a block of %zu, %zu before", n, u, prev);
		ASSERT_LE(u - n, u / 5 > 15 ? u / 5 : 15) TH_LOG("%zu bytes: a block of %zu", n, u);
		prev = u;
	}
}

TEST(calloc_zeroes_and_catches_overflow)
{
	unsigned char *p;
	size_t i, n;

	/* Reused memory too: dirty a block first, free it, calloc again. */
	for (n = 8; n <= (4 << 20); n *= 4) {
		p = hs_malloc(n);
		ASSERT_NE(NULL, p);
		memset(p, 0xee, n);
		hs_free(p);
		p = hs_calloc(n / 8, 8);
		ASSERT_NE(NULL, p);
		for (i = 0; i < n; i++)
			ASSERT_EQ(0, p[i]) TH_LOG("byte %zu of %zu", i, n);
		hs_free(p);
	}
	errno = 0;
	ASSERT_EQ(NULL, hs_calloc(SIZE_MAX / 2, 4));
	ASSERT_EQ(ENOMEM, errno);
	ASSERT_NE(NULL, p = hs_calloc(0, 100));
	hs_free(p);
}

TEST(too_big_is_enomem)
{
	errno = 0;
	ASSERT_EQ(NULL, hs_malloc(SIZE_MAX - 4096));
	ASSERT_EQ(ENOMEM, errno);
	ASSERT_STRNE("", hs_last_error());
	errno = 0;
	ASSERT_EQ(NULL, hs_malloc((size_t)1 << 60));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_EQ(NULL, hs_aligned_alloc(4096, SIZE_MAX - 100));
	ASSERT_EQ(ENOMEM, errno);
}

TEST(realloc_semantics)
{
	unsigned char *p, *q;
	size_t n, i;

	p = hs_realloc(NULL, 100);		/* realloc(NULL, n) = malloc(n) */
	ASSERT_NE(NULL, p);
	memset(p, 7, 100);
	/* Grow through every kind of block, then shrink back: the bytes
	 * that fit stay. */
	for (n = 150; n <= (24 << 20); n = n * 3 / 2) {
		q = hs_realloc(p, n);
		ASSERT_NE(NULL, q) TH_LOG("%zu: %s", n, hs_last_error());
		for (i = 0; i < 100; i += 9)
			ASSERT_EQ(7, q[i]);
		memset(q + 100, 9, n - 100);
		p = q;
	}
	for (; n > 100; n /= 3) {
		q = hs_realloc(p, n);
		ASSERT_NE(NULL, q);
		for (i = 0; i < 100; i += 9)
			ASSERT_EQ(7, q[i]);
		p = q;
	}
	/* realloc(p, 0) frees p and returns NULL, as glibc's does. */
	ASSERT_EQ(NULL, hs_realloc(p, 0));
	/* A failed realloc leaves the block as it was. */
	p = hs_malloc(64);
	memset(p, 3, 64);
	errno = 0;
	ASSERT_EQ(NULL, hs_realloc(p, SIZE_MAX - 8192));
	ASSERT_EQ(ENOMEM, errno);
	ASSERT_EQ(3, p[63]);
	hs_free(p);
}

/*
 * Every byte hs_malloc_usable_size() gives may be used, and hs_realloc()
 * keeps them all, as glibc's realloc keeps malloc_usable_size()'s: a
 * string buffer that grows into its slack (Redis's sds does) loses
 * nothing when its block moves. (A large block that moved kept only the
 * bytes first asked for.)
 */
TEST(realloc_keeps_every_usable_byte)
{
	static const size_t sizes[] = { 100, 70000, 100000, 1000000,
					5000000, 20000000 };
	unsigned char *p, *q, *blocker;
	size_t i, k, u;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = hs_malloc(sizes[i]);
		ASSERT_NE(NULL, p);
		u = hs_malloc_usable_size(p);
		memset(p, 0xab, u);
		/* Something right after it, so it moves. */
		blocker = hs_malloc(u);
		q = hs_realloc(p, u * 3 + 4096);
		ASSERT_NE(NULL, q);
		for (k = 0; k < u; k++)
			if (q[k] != 0xab)
				break;
		ASSERT_EQ(u, k) TH_LOG("%zu bytes (%zu usable): byte %zu lost",
				       sizes[i], u, k);
		hs_free(q);
		hs_free(blocker);
	}
}

/*
 * A large block followed by free chunks grows where it is. (Elsewhere than
 * on the kmod backend a big block's region has room after it, which costs
 * only address space; the module's regions are populated whole, so there
 * a block moves when it outgrows its region.)
 */
TEST(large_blocks_grow_and_shrink_in_place)
{
	unsigned char *p, *q;

	hs_heap_trim();
	p = hs_malloc(3 << 20);
	ASSERT_NE(NULL, p);
	memset(p, 5, 3 << 20);
	q = hs_realloc(p, 5 << 20);
	ASSERT_NE(NULL, q);
	if (hs_backend() != HS_BACKEND_KMOD)
		ASSERT_EQ(p, q) TH_LOG("a lone large block did not grow in place");
	ASSERT_EQ(5, q[(3 << 20) - 1]);
	memset(q, 6, 5 << 20);
	p = hs_realloc(q, (2 << 20) + 1);
	ASSERT_EQ(q, p);
	ASSERT_GE(hs_malloc_usable_size(p), (2 << 20) + 1);
	ASSERT_LT(hs_malloc_usable_size(p), 5 << 20);
	ASSERT_EQ(6, p[2 << 20]);
	hs_free(p);
}

TEST(aligned_alloc_any_power_of_two)
{
	size_t align, n;
	void *p;

	for (align = 1; align <= ((size_t)1 << 28); align <<= 1) {
		for (n = 0; n <= 5000; n += 2500) {
			p = hs_aligned_alloc(align, n);
			ASSERT_NE(NULL, p) TH_LOG("align %zu, %zu bytes: %s", align, n,
						  hs_last_error());
			ASSERT_EQ(0, (uintptr_t)p % align);
			ASSERT_GE(hs_malloc_usable_size(p), n);
			memset(p, 1, n);
			hs_free(p);
		}
	}
	errno = 0;
	ASSERT_EQ(NULL, hs_aligned_alloc(24, 10));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_EQ(NULL, hs_aligned_alloc(0, 10));
	ASSERT_EQ(EINVAL, errno);
}

TEST(free_keeps_errno)
{
	void *p = hs_malloc(100), *q = hs_malloc(10 << 20);

	errno = 1234;
	hs_free(p);
	hs_free(q);
	hs_free(NULL);
	ASSERT_EQ(1234, errno);
}

/*
 * A call that succeeds leaves errno as it was, as glibc's do, from the
 * first (which sets the library up and probes for the module) on: code
 * that tests errno after a call that allocates inside must not see the
 * library's own probing. Each step is a slow path of its own.
 */
#define KEEPS(call) do {						\
		errno = 4321;						\
		p = (call);						\
		ASSERT_NE(NULL, p) TH_LOG("%s: %s", #call, hs_last_error()); \
		ASSERT_EQ(4321, errno) TH_LOG("%s set errno", #call);	\
	} while (0)

TEST(success_keeps_errno)
{
	char *p, *q;

	KEEPS(hs_malloc(24));		/* the first: set-up */
	hs_free(p);
	KEEPS(hs_malloc(3000));		/* a class's first slab */
	hs_free(p);
	KEEPS(hs_calloc(1, 8 << 20));	/* a run of its own */
	KEEPS(hs_realloc(p, 40 << 20));	/* grown, in place or moved */
	KEEPS(hs_realloc(p, 1 << 20));	/* shrunk in place */
	q = p;
	KEEPS(hs_aligned_alloc(2 << 20, 100));
	hs_free(p);
	KEEPS(hs_aligned_alloc(256, 5000));
	hs_free(p);
	hs_free(q);
}

/* Pointers the heap never handed out are left alone. */
TEST(foreign_pointers_are_ignored)
{
	char stack[64], *m = malloc(64);
	unsigned char *q;

	strcpy(m, "from another allocator");
	hs_free(m);
	hs_free(stack);
	ASSERT_EQ(0, hs_malloc_usable_size(m));
	ASSERT_STREQ("from another allocator", m);
	/* realloc copies what it can see of it, and keeps it. */
	q = hs_realloc(m, 16);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, memcmp(q, "from another all", 16));
	ASSERT_STREQ("from another allocator", m);
	hs_free(q);
	free(m);
}

/* A pool's object handed to hs_free() goes back to its pool. */
TEST(hs_free_of_a_pool_object)
{
	hs_pool_t *p = hs_pool_create("heapfree", 48, NULL);
	struct hs_pool_stats st;
	void *o;

	ASSERT_NE(NULL, p);
	o = hs_pool_alloc(p);
	ASSERT_EQ(48, hs_malloc_usable_size(o));
	hs_free(o);
	ASSERT_EQ(0, hs_pool_stats(p, &st));
	ASSERT_EQ(0, st.in_use);
	hs_pool_destroy(p);
}

TEST(stats_and_trim)
{
	struct hs_heap_stats st;
	void *v[1000];
	int i;

	for (i = 0; i < 1000; i++)
		ASSERT_NE(NULL, v[i] = hs_malloc(100));
	v[0] = hs_realloc(v[0], 8 << 20);
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_GE(st.blocks, 1000);
	ASSERT_GE(st.in_use_bytes, 999 * 100 + (8 << 20));
	ASSERT_GE(st.bytes, st.in_use_bytes);
	ASSERT_EQ(1, st.large_blocks);
	ASSERT_GE(st.large_bytes, 8 << 20);
	ASSERT_GE(st.classes, 1);
	ASSERT_EQ(0, st.fallback_bytes);
	for (i = 0; i < 1000; i++)
		hs_free(v[i]);
	ASSERT_GT(hs_heap_trim(), 0);
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_EQ(0, st.large_blocks);
	ASSERT_EQ(0, st.large_bytes);
	/* Objects still in this thread's caches keep a little. */
	ASSERT_LE(st.bytes, 4 << 20);
	errno = 0;
	ASSERT_EQ(-1, hs_heap_stats(NULL));
	ASSERT_EQ(EINVAL, errno);
}

/*
 * Freed runs of pages are kept for reuse; a child does not get the
 * parent's regions, so it must start with none kept, and its large
 * allocations of the same sizes come from its own memory.
 */
TEST(child_starts_with_no_kept_runs)
{
	static const size_t sizes[] = { 40 << 10, 100 << 10, 300 << 10,
					900 << 10, 1500 << 10, 3 << 20 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	void *v[N];
	int i, st;
	pid_t pid;

	for (i = 0; i < N; i++) {
		v[i] = hs_malloc(sizes[i]);
		ASSERT_NE(NULL, v[i]);
		memset(v[i], 3, sizes[i]);
	}
	for (i = 0; i < N; i++)
		hs_free(v[i]);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		for (i = 0; i < N; i++) {
			v[i] = hs_malloc(sizes[i]);
			if (!v[i])
				_exit(1);
			memset(v[i], 4, sizes[i]);
		}
		for (i = 0; i < N; i++)
			hs_free(v[i]);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("child killed by signal %d",
					  WTERMSIG(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
}

TEST_HARNESS_MAIN
