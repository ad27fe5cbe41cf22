// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the malloc drop-in (libhugeslab-malloc.so, linked here, as
 * a program may instead of LD_PRELOAD) replaces the whole family - malloc,
 * free, calloc, realloc, reallocarray, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc, malloc_usable_size - with glibc's semantics,
 * and C++-style new/delete through them; the plain libhugeslab does not.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../lib/hs_lib.h"

/* The shared object a function of the process comes from. */
static const char *origin(void *fn)
{
	Dl_info info;

	return dladdr(fn, &info) && info.dli_fname ? info.dli_fname : "?";
}

TEST(every_function_is_the_drop_ins)
{
	void *fns[] = { (void *)malloc, (void *)free, (void *)calloc,
			(void *)realloc, (void *)reallocarray,
			(void *)posix_memalign, (void *)aligned_alloc,
			(void *)memalign, (void *)valloc, (void *)pvalloc,
			(void *)malloc_usable_size };
	size_t i;

	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		const char *from = origin(fns[i]);

		ASSERT_NE(NULL, strstr(from, "libhugeslab-malloc"))
			TH_LOG("function %zu comes from %s", i, from);
	}
	/* And libc's own calls land there too (strdup allocates in libc). */
	{
		char *s = strdup("hugeslab");

		ASSERT_NE(NULL, s);
		ASSERT_EQ(16, malloc_usable_size(s));	/* a 16-byte class */
		free(s);
	}
}

/* Sizes and alignments the compiler cannot see, so it does not warn
 * about them. */
static volatile size_t huge = SIZE_MAX, eighth = SIZE_MAX / 8;
static volatile size_t align48 = 48, align100 = 100;

TEST(semantics)
{
	void *p, *q;
	int rc;

	p = malloc(0);
	ASSERT_NE(NULL, p);
	free(p);
	errno = 0;
	ASSERT_EQ(NULL, malloc(huge));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_EQ(NULL, calloc(eighth, 16));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_EQ(NULL, reallocarray(NULL, eighth, 16));
	ASSERT_EQ(ENOMEM, errno);
	p = reallocarray(NULL, 10, 10);
	ASSERT_NE(NULL, p);
	ASSERT_GE(malloc_usable_size(p), 100);
	ASSERT_EQ(NULL, realloc(p, 0));		/* frees, like glibc */
	ASSERT_EQ(0, malloc_usable_size(NULL));

	ASSERT_EQ(EINVAL, posix_memalign(&p, 3, 10));
	ASSERT_EQ(EINVAL, posix_memalign(&p, 4, 10));	/* < sizeof(void *) */
	rc = posix_memalign(&p, 1 << 16, 10);
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, (uintptr_t)p % (1 << 16));
	free(p);
	errno = 0;
	ASSERT_EQ(NULL, aligned_alloc(align48, 10));
	ASSERT_EQ(EINVAL, errno);
	p = aligned_alloc(256, 1000);
	ASSERT_EQ(0, (uintptr_t)p % 256);
	free(p);
	p = memalign(align100, 10);	/* rounded up to a power of two */
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, (uintptr_t)p % 128);
	free(p);
	p = valloc(10);
	ASSERT_EQ(0, (uintptr_t)p % sysconf(_SC_PAGESIZE));
	free(p);
	p = pvalloc(10);
	ASSERT_EQ(0, (uintptr_t)p % sysconf(_SC_PAGESIZE));
	ASSERT_GE(malloc_usable_size(p), (size_t)sysconf(_SC_PAGESIZE));
	free(p);

	/* realloc keeps the bytes, from small to large and back. */
	p = malloc(10);
	memcpy(p, "0123456789", 10);
	q = realloc(p, 5 << 20);
	ASSERT_EQ(0, memcmp(q, "0123456789", 10));
	p = realloc(q, 20);
	ASSERT_EQ(0, memcmp(p, "0123456789", 10));
	free(p);

	errno = 4321;
	free(malloc(100));
	free(malloc(8 << 20));
	free(NULL);
	ASSERT_EQ(4321, errno);
}

/* A moved block keeps every byte malloc_usable_size() gave, as glibc's. */
TEST(realloc_keeps_every_usable_byte)
{
	static const size_t sizes[] = { 70000, 1000000, 5000000, 20000000 };
	unsigned char *p, *q;
	size_t i, u, k;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = malloc(sizes[i]);
		ASSERT_NE(NULL, p);
		u = malloc_usable_size(p);
		memset(p, 0xab, u);
		q = realloc(p, 3 * u + 4096);
		ASSERT_NE(NULL, q);
		for (k = 0; k < u && q[k] == 0xab; k++)
			;
		ASSERT_EQ(u, k) TH_LOG("%zu bytes: byte %zu lost", sizes[i], k);
		free(q);
	}
}

/* calloc memory is zero even when reused. */
TEST(calloc_reuse_is_zero)
{
	unsigned char *p;
	int i, j;

	for (i = 0; i < 1000; i++) {
		p = malloc(200);
		memset(p, 0xab, 200);
		free(p);
		p = calloc(1, 200);
		for (j = 0; j < 200; j++)
			ASSERT_EQ(0, p[j]);
		free(p);
	}
}

/*
 * A big calloc is zero without being written: as under glibc, whose
 * mmap'd blocks come zero from the kernel, a program may calloc a big
 * table and use a corner of it (the module populates its regions whole,
 * so there the pages are in anyway). And reused, it is still zero.
 */
TEST(a_big_calloc_costs_only_what_is_used)
{
	const struct hs_alloc_fns libc = { calloc, malloc, free };
	const char *b = getenv("HUGESLAB_BACKEND");
	const char *why = hs_big_calloc_fault(&libc, !b || strcmp(b, "kmod"));
	void *p;

	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	/* A run of its own: page-aligned. */
	ASSERT_NE(NULL, p = calloc(1, (size_t)256 << 20));
	ASSERT_EQ(0, (uintptr_t)p % 4096);
	free(p);
}

/*
 * Calls that succeed keep errno, as glibc's do, from the very first (which
 * sets the library up and probes for the module): code that tests errno
 * after a libc call that allocates inside must not see the library's own
 * probing. The harness has long set the library up, so a fresh copy of
 * this program runs the calls from a constructor and exits with the
 * number of the first that changed errno.
 */
#define ERRNO_PROBE	"HS_TEST_ERRNO_PROBE"

static int probe_step(int step)
{
	void *p = NULL;

	errno = 4321;
	switch (step) {
	case 1: p = malloc(24); break;			/* the first call */
	case 2: p = malloc(3000); break;		/* a class's first slab */
	case 3: p = calloc(1, 8 << 20); break;		/* a run of its own */
	case 4: p = aligned_alloc(2 << 20, 100); break;
	case 5: p = memalign(256, 5000); break;
	case 6: p = valloc(100); break;
	case 7: p = pvalloc(100); break;
	case 8: p = strdup("hugeslab"); break;
	case 9: p = realloc(malloc(100), 40 << 20); break;
	case 10: if (posix_memalign(&p, 64, 100)) p = NULL; break;
	default: return -1;
	}
	return p && errno == 4321;	/* never freed: the probe exits */
}

static void __attribute__((constructor)) errno_probe(void)
{
	int step, ok;

	if (!getenv(ERRNO_PROBE))
		return;
	for (step = 1; (ok = probe_step(step)) >= 0; step++)
		if (!ok)
			_exit(step);
	_exit(0);
}

TEST(success_keeps_errno_from_the_first_call)
{
	int status = hs_run_fresh_copy(ERRNO_PROBE, NULL, NULL);

	ASSERT_TRUE(status >= 0 && WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("call %d of the probe changed errno (125: no exec)",
		       WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
