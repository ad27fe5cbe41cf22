// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the region layer on whatever backend the process gets - the
 * choice is reported, forced choices are honoured, regions are zeroed,
 * aligned, backed by the page size they claim, and not inherited by fork.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hs_lib.h"

TEST(backend_is_reported)
{
	hs_backend_t want = hs_expected_backend();
	hs_backend_t b = hs_backend();
	const char *name = hs_backend_name(b);

	ASSERT_NE(HS_BACKEND_NONE, b) TH_LOG("no backend: %s", hs_last_error());
	if (want != HS_BACKEND_NONE)
		ASSERT_EQ(want, b);
	/* The reason names the backend first. */
	ASSERT_EQ(0, strncmp(hs_backend_reason(), name, strlen(name)))
		TH_LOG("reason '%s' for %s", hs_backend_reason(), name);
	ASSERT_STREQ("kmod", hs_backend_name(HS_BACKEND_KMOD));
	ASSERT_STREQ("none", hs_backend_name((hs_backend_t)42));
}

TEST(region_is_zeroed_aligned_and_sized)
{
	hs_region_t *r = hs_region_create(3 << 20, NULL);
	unsigned char *p;
	size_t i, n, ps;
	long kb;

	ASSERT_NE(NULL, r) TH_LOG("%s", hs_last_error());
	p = hs_region_base(r);
	n = hs_region_size(r);
	ps = hs_region_page_size(r);
	ASSERT_EQ(4u << 20, n);		/* rounded up to 2 MiB */
	ASSERT_EQ(0, (uintptr_t)p % HS_2M);
	ASSERT_EQ(hs_backend(), hs_region_backend(r));
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, p[i]);
	memset(p, 0xa5, n);
	ASSERT_EQ(0xa5, p[n - 1]);

	kb = hs_kernel_page_kb(p);
	switch (hs_region_backend(r)) {
	case HS_BACKEND_KMOD:
	case HS_BACKEND_HUGETLB:
		ASSERT_EQ(HS_2M, ps);
		ASSERT_EQ(2048, kb);
		break;
	case HS_BACKEND_THP:
		ASSERT_EQ(HS_2M, ps);	/* asked for; THP is best effort */
		ASSERT_EQ(4, kb);
		break;
	default:
		ASSERT_EQ((size_t)sysconf(_SC_PAGESIZE), ps);
		ASSERT_EQ(4, kb);
		break;
	}
	hs_region_destroy(r);
}

TEST(region_bad_arguments)
{
	struct hs_region_opts o = { 0 };

	errno = 0;
	ASSERT_EQ(NULL, hs_region_create(0, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_NE(0, strlen(hs_last_error()));

	o.reserved[2] = 1;
	ASSERT_EQ(NULL, hs_region_create(HS_2M, &o));
	ASSERT_EQ(EINVAL, errno);

	memset(&o, 0, sizeof(o));
	o.flags = 1U << 7;
	ASSERT_EQ(NULL, hs_region_create(HS_2M, &o));
	ASSERT_EQ(EINVAL, errno);

	o.flags = HS_REGION_NODE;
	o.node = -3;
	ASSERT_EQ(NULL, hs_region_create(HS_2M, &o));
	ASSERT_EQ(EINVAL, errno);
}

TEST(region_on_node_0)
{
	struct hs_region_opts o = { .flags = HS_REGION_NODE, .node = 0 };
	hs_region_t *r = hs_region_create(HS_2M, &o);
	volatile char *p;

	ASSERT_NE(NULL, r) TH_LOG("%s", hs_last_error());
	p = hs_region_base(r);
	p[0] = 1;
	/* Every machine has a node 0; the module reports where pages are. */
	if (hs_region_backend(r) == HS_BACKEND_KMOD)
		ASSERT_EQ(0, hs_region_node(r));
	hs_region_destroy(r);
}

TEST(region_not_inherited_by_fork)
{
	hs_region_t *r = hs_region_create(HS_2M, NULL);
	unsigned char vec;
	char *p;
	pid_t pid;
	int st;

	ASSERT_NE(NULL, r);
	p = hs_region_base(r);
	p[0] = 7;
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* Not mapped in the child: mincore says ENOMEM. */
		_exit(mincore(p, 4096, &vec) == -1 && errno == ENOMEM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	/* The parent keeps its memory. */
	ASSERT_EQ(7, p[0]);
	p[1] = 8;
	hs_region_destroy(r);
}

TEST_HARNESS_MAIN
