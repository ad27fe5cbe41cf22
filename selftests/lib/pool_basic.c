// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: pools on one thread - objects are distinct, usable, aligned
 * as asked, bad arguments are refused with EINVAL and a message, and the
 * counters (struct and JSON) follow what the test did.
 */
#include <errno.h>

#include "kselftest_harness.h"
#include "hs_lib.h"

#define N 5000

TEST(distinct_usable_objects)
{
	hs_pool_t *p = hs_pool_create("basic", 40, NULL);
	unsigned char **v = calloc(N, sizeof(*v));
	int i, j;

	ASSERT_NE(NULL, p) TH_LOG("%s", hs_last_error());
	ASSERT_STREQ("basic", hs_pool_name(p));
	ASSERT_EQ(40, hs_pool_obj_size(p));
	for (i = 0; i < N; i++) {
		v[i] = hs_pool_alloc(p);
		ASSERT_NE(NULL, v[i]) TH_LOG("%s", hs_last_error());
		ASSERT_EQ(0, (uintptr_t)v[i] % 8);
		memset(v[i], i & 0xff, 40);
	}
	/* No overlap: every object still holds its own byte. */
	for (i = 0; i < N; i++)
		for (j = 0; j < 40; j++)
			ASSERT_EQ(i & 0xff, v[i][j]);
	for (i = 0; i < N; i++)
		hs_pool_free(p, v[i]);
	hs_pool_free(p, NULL);
	hs_pool_destroy(p);
	free(v);
}

static int count_ctor(void *obj, void *arg)
{
	(void)obj;
	++*(int *)arg;
	return 0;
}

/*
 * A thread's fresh objects climb through memory, with or without a
 * constructor: a program walks what it allocated together in the order
 * it allocated it, and CPUs prefetch upwards.
 */
TEST(fresh_objects_climb_through_memory)
{
	int k, i, built = 0;

	for (k = 0; k < 2; k++) {
		struct hs_pool_opts o = { .ctor = k ? count_ctor : NULL,
					  .arg = &built };
		hs_pool_t *p = hs_pool_create("climb", 48, &o);
		char *v[200];

		ASSERT_NE(NULL, p) TH_LOG("%s", hs_last_error());
		for (i = 0; i < 200; i++) {
			v[i] = hs_pool_alloc(p);
			ASSERT_NE(NULL, v[i]) TH_LOG("%s", hs_last_error());
			if (i)
				ASSERT_LT(v[i - 1], v[i])
					TH_LOG("ctor %d: object %d at %p after %p",
					       k, i, v[i], v[i - 1]);
		}
		for (i = 0; i < 200; i++)
			hs_pool_free(p, v[i]);
		hs_pool_destroy(p);
	}
	ASSERT_LE(200, built);
}

TEST(alignment_is_honoured)
{
	static const size_t aligns[] = { 8, 16, 64, 256, 4096, 65536, 2 << 20 };
	size_t k;

	for (k = 0; k < sizeof(aligns) / sizeof(aligns[0]); k++) {
		struct hs_pool_opts o = { .align = aligns[k] };
		hs_pool_t *p = hs_pool_create("aligned", 24, &o);
		void *v[20];
		int i, n = aligns[k] >= (2 << 20) ? 3 : 20;

		ASSERT_NE(NULL, p) TH_LOG("align %zu: %s", aligns[k], hs_last_error());
		for (i = 0; i < n; i++) {
			v[i] = hs_pool_alloc(p);
			ASSERT_NE(NULL, v[i]) TH_LOG("%s", hs_last_error());
			ASSERT_EQ(0, (uintptr_t)v[i] % aligns[k]);
			memset(v[i], 1, 24);
		}
		for (i = 0; i < n; i++)
			hs_pool_free(p, v[i]);
		hs_pool_destroy(p);
	}
}

TEST(natural_alignment_by_default)
{
	hs_pool_t *p12 = hs_pool_create("twelve", 12, NULL);
	hs_pool_t *p64 = hs_pool_create("sixtyfour", 64, NULL);
	struct hs_pool_stats st;
	void *a, *b;

	ASSERT_NE(NULL, p12);
	ASSERT_NE(NULL, p64);
	ASSERT_EQ(0, hs_pool_stats(p12, &st));
	ASSERT_EQ(12, st.stride);	/* 4-byte aligned, packed */
	ASSERT_EQ(0, hs_pool_stats(p64, &st));
	ASSERT_EQ(64, st.stride);
	a = hs_pool_alloc(p64);
	b = hs_pool_alloc(p12);
	ASSERT_EQ(0, (uintptr_t)a % 16);
	ASSERT_EQ(0, (uintptr_t)b % 4);
	hs_pool_free(p64, a);
	hs_pool_free(p12, b);
	hs_pool_destroy(p12);
	hs_pool_destroy(p64);
}

TEST(bad_arguments)
{
	char name[HS_POOL_NAME_MAX + 1];
	struct hs_pool_opts o = { 0 };

	errno = 0;
	ASSERT_EQ(NULL, hs_pool_create(NULL, 8, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(NULL, hs_pool_create("", 8, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(NULL, hs_pool_create("zero", 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_NE(NULL, strstr(hs_last_error(), "zero"));

	memset(name, 'n', sizeof(name));
	name[HS_POOL_NAME_MAX] = 0;		/* one byte too long */
	ASSERT_EQ(NULL, hs_pool_create(name, 8, NULL));
	ASSERT_EQ(EINVAL, errno);
	name[HS_POOL_NAME_MAX - 1] = 0;		/* just fits */
	hs_pool_destroy(hs_pool_create(name, 8, NULL));

	o.align = 48;
	ASSERT_EQ(NULL, hs_pool_create("align", 8, &o));
	ASSERT_EQ(EINVAL, errno);
	o.align = 4 << 20;
	ASSERT_EQ(NULL, hs_pool_create("align", 8, &o));
	ASSERT_EQ(EINVAL, errno);
	o.align = 0;
	o.reserved[0] = 1;
	ASSERT_EQ(NULL, hs_pool_create("reserved", 8, &o));
	ASSERT_EQ(EINVAL, errno);
	o.reserved[0] = 0;
	o.flags = 1U << 9;
	ASSERT_EQ(NULL, hs_pool_create("flags", 8, &o));
	ASSERT_EQ(EINVAL, errno);
}

TEST(stats_follow_use)
{
	hs_pool_t *p = hs_pool_create("stats \"q\"", 100, NULL);
	struct hs_pool_stats st;
	void *v[300];
	char json[1024];
	int i, n;

	ASSERT_NE(NULL, p);
	for (i = 0; i < 300; i++)
		v[i] = hs_pool_alloc(p);
	ASSERT_EQ(0, hs_pool_stats(p, &st));
	ASSERT_EQ(300, st.in_use);
	ASSERT_EQ(300, st.allocs);
	ASSERT_EQ(0, st.frees);
	ASSERT_GE(st.total, 300);
	ASSERT_EQ(100, st.obj_size);
	/* A small pool holds little: a few small slabs (4 KiB, doubling),
	 * not a huge page. */
	ASSERT_GE(st.bytes, 300 * 100);
	ASSERT_LE(st.bytes, 128 << 10);
	ASSERT_GE(st.slabs, 1);
	ASSERT_LE(st.slabs, 4);
	ASSERT_LT(st.cache_hits, st.allocs);	/* the first ones missed */

	for (i = 0; i < 100; i++)
		hs_pool_free(p, v[i]);
	ASSERT_EQ(0, hs_pool_stats(p, &st));
	ASSERT_EQ(200, st.in_use);
	ASSERT_EQ(100, st.frees);

	n = hs_pool_stats_json(p, json, sizeof(json));
	ASSERT_GT(n, 0);
	ASSERT_LT(n, (int)sizeof(json));
	ASSERT_NE(NULL, strstr(json, "\"name\":\"stats \\\"q\\\"\""))
		TH_LOG("%s", json);
	ASSERT_NE(NULL, strstr(json, "\"in_use\":200")) TH_LOG("%s", json);
	ASSERT_NE(NULL, strstr(json, "\"backend\":\"")) TH_LOG("%s", json);
	/* Too small a buffer: the length needed, like snprintf. */
	ASSERT_EQ(n, hs_pool_stats_json(p, json, 8));

	for (i = 100; i < 300; i++)
		hs_pool_free(p, v[i]);
	ASSERT_EQ(0, hs_pool_stats(p, &st));
	ASSERT_EQ(0, st.in_use);
	hs_pool_destroy(p);
}

TEST(large_objects)
{
	hs_pool_t *p = hs_pool_create("large", 700 << 10, NULL);
	unsigned char *v[10];
	int i;

	ASSERT_NE(NULL, p);
	for (i = 0; i < 10; i++) {
		v[i] = hs_pool_alloc(p);
		ASSERT_NE(NULL, v[i]) TH_LOG("%s", hs_last_error());
		memset(v[i], i, 700 << 10);
	}
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(i, v[i][0]);
		ASSERT_EQ(i, v[i][(700 << 10) - 1]);
		hs_pool_free(p, v[i]);
	}
	hs_pool_destroy(p);
}

/*
 * Objects still allocated go with their pool (hugeslab(3)), and the memory
 * is reused by the next pool: under a checker build (VALGRIND=1) nothing
 * must be reported about the lost objects or the new ones on their place.
 */
TEST(destroy_with_objects_live_then_reuse_the_memory)
{
	int round, i;

	for (round = 0; round < 3; round++) {
		hs_pool_t *p = hs_pool_create("lost", 64 + 32 * round, NULL);
		char *v[500];

		ASSERT_NE(NULL, p) TH_LOG("%s", hs_last_error());
		for (i = 0; i < 500; i++) {
			v[i] = hs_pool_alloc(p);
			ASSERT_NE(NULL, v[i]) TH_LOG("%s", hs_last_error());
			memset(v[i], round, 64 + 32 * round);
		}
		/* Some freed, most not. */
		for (i = 0; i < 500; i += 3)
			hs_pool_free(p, v[i]);
		hs_pool_destroy(p);
	}
}

TEST(thread_cache_handle)
{
	hs_pool_t *p = hs_pool_create("handle", 32, NULL);
	struct hs_pool_stats st;
	hs_cache_t *c;
	void *v[1000];
	int i, round;

	ASSERT_NE(NULL, p);
	c = hs_pool_cache(p);
	ASSERT_NE(NULL, c);
	/* The same cache each time, for this thread. */
	ASSERT_EQ(c, hs_pool_cache(p));
	for (round = 0; round < 5; round++) {
		for (i = 0; i < 1000; i++) {
			v[i] = round % 2 ? hs_cache_alloc(c) : hs_pool_alloc(p);
			ASSERT_NE(NULL, v[i]);
			memset(v[i], i, 32);
		}
		for (i = 0; i < 1000; i++)
			ASSERT_EQ((unsigned char)i, ((unsigned char *)v[i])[31]);
		/* Either way of freeing goes to the same magazines. */
		for (i = 0; i < 1000; i++) {
			if (i % 2)
				hs_cache_free(c, v[i]);
			else
				hs_pool_free(p, v[i]);
		}
	}
	hs_cache_free(c, NULL);
	ASSERT_EQ(0, hs_pool_stats(p, &st));
	ASSERT_EQ(5000, st.allocs);
	ASSERT_EQ(5000, st.frees);
	ASSERT_EQ(0, st.in_use);
	hs_pool_destroy(p);
}

TEST_HARNESS_MAIN
