// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: a process on the malloc drop-in that runs out of huge pages
 * goes on: when the hugetlb pool (or the module's reserve and limits) has
 * nothing left, the heap takes the next backend (THP, then plain pages),
 * every allocation succeeds and holds its bytes, and the heap's fallback
 * memory is visible: outside the hugetlb mappings in smaps, and (with the
 * module) as the "malloc-fallback" pool in debugfs.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define TWO_MB	((size_t)2 << 20)

static long meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = atol(line + strlen(key) + 1);
	if (f)
		fclose(f);
	return v;
}

/* kB of this process's memory in hugetlb mappings and elsewhere. */
static void smaps(long *huge_kb, long *other_kb)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "re");
	char line[128];
	long v;

	*huge_kb = *other_kb = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Private_Hugetlb: %ld", &v) == 1)
			*huge_kb += v;
		else if (sscanf(line, "Rss: %ld", &v) == 1)
			*other_kb += v;
	}
	if (f)
		fclose(f);
}

/* The module's stats line for this process's "malloc-fallback", or 0. */
static unsigned long long debugfs_fallback(void)
{
	FILE *f = fopen("/sys/kernel/debug/hugeslab/pools", "re");
	unsigned long long objsz, in_use, total, bytes = 0;
	char line[512], name[64];
	int pid;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %63s %llu %llu %llu %llu", &pid, name, &objsz,
			   &in_use, &total, &bytes) == 6 && pid == getpid() &&
		    !strcmp(name, "malloc-fallback"))
			break;
		else
			bytes = 0;
	if (f)
		fclose(f);
	return bytes;
}

#define MAX_MB	"/sys/module/hugeslab/parameters/max_mb"

/*
 * What the test changes outside itself - the module's limit, every free
 * huge page - is put back by the teardown, which the harness runs after a
 * failed assertion too: a later test must not inherit a full module.
 */
FIXTURE(exhaust) {
	char max_mb[32];		/* the limit to put back, if set */
	void *hog;
	size_t hog_bytes;
};

FIXTURE_SETUP(exhaust)
{
	self->max_mb[0] = 0;
	self->hog = MAP_FAILED;
	self->hog_bytes = 0;
}

FIXTURE_TEARDOWN(exhaust)
{
	FILE *f;

	if (self->max_mb[0] && (f = fopen(MAX_MB, "we"))) {
		fputs(self->max_mb, f);
		fclose(f);
	}
	if (self->hog != MAP_FAILED)
		munmap(self->hog, self->hog_bytes);
}

TEST_F(exhaust, running_out_of_huge_pages)
{
	const char *backend = getenv("HUGESLAB_BACKEND");
	bool hugetlb = backend && !strcmp(backend, "hugetlb");
	bool kmod = backend && !strcmp(backend, "kmod");
	/*
	 * 160 MiB of runs: past the heap's first 16 MiB (4 KiB pages) and
	 * the module's 4 MiB of room, at least 136 MiB from the fallback.
	 */
	enum { N = 64 };
	const size_t run = (size_t)5 << 20;
	const size_t big = (size_t)40 << 20;
	char max_mb[32] = "", *v[N], *b;
	long free_pages, used, huge0, huge1, other0, other1;
	FILE *f;
	int i;

	free(malloc(100));	/* the heap is set up, its backend chosen */
	if (hugetlb) {
		/* Take every free 2 MiB page: the heap has none left. */
		free_pages = meminfo("HugePages_Free");
		if (free_pages > 0) {
			self->hog_bytes = (size_t)free_pages * TWO_MB;
			self->hog = mmap(NULL, self->hog_bytes,
					 PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
					 -1, 0);
			ASSERT_NE(MAP_FAILED, self->hog);
			memset(self->hog, 1, self->hog_bytes);
		}
		ASSERT_EQ(0, meminfo("HugePages_Free"));
	}
	if (kmod) {
		/* A limit just above what the module holds now. */
		f = fopen(MAX_MB, "r+e");
		ASSERT_NE(NULL, f);
		ASSERT_NE(NULL, fgets(max_mb, sizeof(max_mb), f));
		fclose(f);
		f = fopen("/sys/class/misc/hugeslab/used_bytes", "re");
		ASSERT_NE(NULL, f);
		ASSERT_EQ(1, fscanf(f, "%ld", &used));
		fclose(f);
		memcpy(self->max_mb, max_mb, sizeof(max_mb));
		f = fopen(MAX_MB, "we");
		ASSERT_NE(NULL, f);
		fprintf(f, "%ld\n", (used >> 20) + 4);
		fclose(f);
	}
	smaps(&huge0, &other0);
	/* Blocks of every kind: all must succeed, and keep errno (the
	 * failed mappings behind them are the library's business). */
	errno = 4321;
	for (i = 0; i < N; i++) {
		size_t sz = i % 2 ? run : 1000;
		int k;

		v[i] = malloc(sz);
		ASSERT_NE(NULL, v[i]) TH_LOG("block %d", i);
		ASSERT_EQ(4321, errno) TH_LOG("block %d set errno", i);
		memset(v[i], i, sz);
		for (k = 0; k < 1000; k++)	/* small ones, many slabs */
			free(malloc(64 + k % 400));
	}
	/* A big block alone in its region (on hugetlb, its pages reserved
	 * when mapped) also comes from the next backend. */
	b = malloc(big);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(4321, errno);
	memset(b, 7, big);
	smaps(&huge1, &other1);
	for (i = 0; i < N; i++)
		ASSERT_EQ((char)i, v[i][999]);
	ASSERT_EQ(7, b[big - 1]);
	free(b);
	if (hugetlb || kmod) {
		/* It came from somewhere other than huge pages... */
		ASSERT_GE(other1 - other0, 120 << 10)
			TH_LOG("rss %ld -> %ld kB, hugetlb %ld -> %ld kB",
			       other0, other1, huge0, huge1);
		if (hugetlb)
			ASSERT_EQ(huge0, huge1);
	}
	if (kmod) {
		/* ...and the admin sees it. */
		ASSERT_GE(debugfs_fallback(), 80ULL << 20)
			TH_LOG("malloc-fallback holds %llu bytes",
			       debugfs_fallback());
	}
	for (i = 0; i < N; i++)
		free(v[i]);
}

TEST_HARNESS_MAIN
