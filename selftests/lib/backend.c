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

/* In a child, which chooses its backend afresh: 0 if @value gets @want. */
static int child_backend(const char *value, hs_backend_t want, int err,
			 const char *head, const char *tail)
{
	const char *r;
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		setenv("HUGESLAB_BACKEND", value, 1);
		if (hs_backend() != want)
			_exit(10);
		if (err && errno != err)
			_exit(11);
		r = hs_backend_reason();
		if (strncmp(r, head, strlen(head)))
			_exit(12);
		if (strlen(r) < strlen(tail) ||
		    strcmp(r + strlen(r) - strlen(tail), tail))
			_exit(13);
		if (err && strcmp(r, hs_last_error()))
			_exit(14);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/*
 * The reasons are put together without printf: a bad value is named, cut
 * short if long so the advice after it still shows; a forced one says so.
 */
TEST(backend_reason_names_the_variable_and_what_to_do)
{
	char bad[400] = "bogus";

	memset(bad + 5, 'x', sizeof(bad) - 6);
	ASSERT_EQ(0, child_backend("bogus", HS_BACKEND_NONE, EINVAL,
				   "HUGESLAB_BACKEND=bogus is unknown",
				   "use kmod, hugetlb, thp, pages or auto"));
	ASSERT_EQ(0, child_backend(bad, HS_BACKEND_NONE, EINVAL,
				   "HUGESLAB_BACKEND=bogusxxx",
				   "xxx is unknown: use kmod, hugetlb, thp, pages or auto"));
	ASSERT_EQ(0, child_backend("pages", HS_BACKEND_PAGES, 0,
				   "pages: forced by HUGESLAB_BACKEND",
				   "forced by HUGESLAB_BACKEND"));
}

TEST_HARNESS_MAIN
