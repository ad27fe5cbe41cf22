// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: external pools (hs_extpool_*) on any backend - a bad name is
 * EINVAL with a message and no handle; off the kmod backend, where nothing
 * is listed, updates and destroy still work and change neither errno nor
 * the last error; NULL handles are ignored.
 */
#include <errno.h>

#include "kselftest_harness.h"
#include "hs_lib.h"

TEST(bad_names)
{
	char long_name[HS_POOL_NAME_MAX + 1];

	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	errno = 0;
	ASSERT_EQ(NULL, hs_extpool_create(NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(NULL, hs_extpool_create(""));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(NULL, hs_extpool_create(long_name));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_NE(NULL, strstr(hs_last_error(), "name"));
	/* The longest name that fits. */
	long_name[HS_POOL_NAME_MAX - 1] = '\0';
	hs_extpool_destroy(hs_extpool_create(long_name));
}

TEST(updates_never_fail)
{
	struct hs_pool_stats st = { .obj_size = 4096, .in_use = 1, .total = 2 };
	hs_extpool_t *ep = hs_extpool_create("ext_any");
	char before[256];
	int i;

	ASSERT_NE(NULL, ep) TH_LOG("%s", hs_last_error());
	snprintf(before, sizeof(before), "%s", hs_last_error());
	errno = 1234;
	for (i = 0; i < 1000; i++) {
		st.allocs = i;
		hs_extpool_update(ep, &st);
	}
	hs_extpool_update(ep, NULL);
	hs_extpool_update(NULL, &st);
	hs_extpool_destroy(ep);
	hs_extpool_destroy(NULL);
	ASSERT_EQ(1234, errno);
	ASSERT_STREQ(before, hs_last_error());
}

TEST_HARNESS_MAIN
