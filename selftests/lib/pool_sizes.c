// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: slab sizes - a pool maps memory in proportion to what it
 * holds. A large object gets a slab of its own (one object mapped, one
 * constructed), and for every object size the memory a pool's slabs hold
 * beyond its objects stays a small fraction.
 */
#include "kselftest_harness.h"
#include "hs_lib.h"

static int ctors;

static int count_ctor(void *obj, void *arg)
{
	(void)obj;
	(void)arg;
	ctors++;
	return 0;
}

TEST(a_large_object_maps_and_constructs_only_itself)
{
	static const size_t sizes[] = { (size_t)64 << 20, (size_t)6 << 20,
					(size_t)1 << 20, 700 << 10 };
	struct hs_pool_opts o = { .ctor = count_ctor };
	struct hs_pool_stats st;
	size_t k;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		hs_pool_t *p = hs_pool_create("large", sizes[k], &o);
		void *a;

		ASSERT_NE(NULL, p);
		ctors = 0;
		a = hs_pool_alloc(p);
		ASSERT_NE(NULL, a) TH_LOG("%zu bytes: %s", sizes[k], hs_last_error());
		ASSERT_EQ(0, hs_pool_stats(p, &st));
		ASSERT_EQ(1, ctors) TH_LOG("%zu-byte objects", sizes[k]);
		ASSERT_EQ(1, st.total);
		/* At most what the object needs, rounded up a little. */
		ASSERT_LE(st.bytes, sizes[k] + sizes[k] / 8)
			TH_LOG("%zu-byte object: %llu bytes mapped", sizes[k],
			       (unsigned long long)st.bytes);
		memset(a, 1, sizes[k]);
		hs_pool_free(p, a);
		hs_pool_destroy(p);
	}
}

/*
 * A fixture only for its longer timeout: the harness's 30 s is too short
 * for the test below on the debug kernel under TCG (KASAN, lockdep).
 */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

/*
 * Fill a pool with objects of each size and compare the memory its slabs
 * hold with the objects in them: at most an eighth more, plus the one
 * slab still being filled.
 */
TEST_F_TIMEOUT(slow, slab_waste_is_bounded_for_every_size, 600)
{
	static const size_t sizes[] = { 8, 24, 100, 1000, 3000, 5000, 12345,
					40000, 70000, 100000, 300000,
					600000, 1100000, 1500000, 3000000 };
	enum { MAX = 4096 };
	void **v = calloc(MAX, sizeof(*v));
	struct hs_pool_stats st;
	size_t k;

	ASSERT_NE(NULL, v);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		hs_pool_t *p = hs_pool_create("waste", sizes[k], NULL);
		/* About 48 MiB of objects, at most MAX of them. */
		size_t n = ((size_t)48 << 20) / sizes[k], i;
		uint64_t slab_bytes, held;

		if (n > MAX)
			n = MAX;
		ASSERT_NE(NULL, p);
		for (i = 0; i < n; i++)
			ASSERT_NE(NULL, v[i] = hs_pool_alloc(p))
				TH_LOG("%zu: %s", sizes[k], hs_last_error());
		ASSERT_EQ(0, hs_pool_stats(p, &st));
		ASSERT_GT(st.slabs, 0);
		held = st.total * st.stride;
		/* The biggest slab, as an upper bound of the partial one. */
		slab_bytes = st.bytes / st.slabs * 2;
		ASSERT_LE(st.bytes, held + held / 8 + slab_bytes)
			TH_LOG("%zu-byte objects: %llu bytes for %llu objects (%llu slabs)",
			       sizes[k], (unsigned long long)st.bytes,
			       (unsigned long long)st.total,
			       (unsigned long long)st.slabs);
		for (i = 0; i < n; i++)
			hs_pool_free(p, v[i]);
		hs_pool_destroy(p);
	}
	free(v);
}

TEST_HARNESS_MAIN
