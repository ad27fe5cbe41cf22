// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: a program on the malloc drop-in (linked here) with the
 * module loaded takes its heap from /dev/hugeslab, and hsstat shows its
 * size classes as pools of its process - malloc-64, malloc-1024 and
 * malloc-large among them, with counts that match what it holds - and the
 * heap's regions in the module's regions list. (VM, main profile.)
 */
#include <stdlib.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../tools/hsstat_util.h"

/* Bytes of the module's regions this process made (debugfs "regions"). */
static long long my_regions(void)
{
	FILE *f = fopen("/sys/kernel/debug/hugeslab/regions", "re");
	unsigned long long id, bytes, total = 0;
	char line[512];
	int pid;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llu %d %llu", &id, &pid, &bytes) == 3 &&
		    pid == getpid())
			total += bytes;
	fclose(f);
	return (long long)total;
}

TEST(the_heap_is_the_modules_and_hsstat_shows_its_classes)
{
	enum { SMALL = 3000, MID = 600 };
	void **small = calloc(SMALL, sizeof(void *));
	void **mid = calloc(MID, sizeof(void *));
	const struct jval *p;
	/* 32 MiB of runs: more than the heap's first 16 MiB, which are
	 * plain pages; the rest is the module's. */
	enum { LARGE = 4 };
	void *large[LARGE];
	struct jval root;
	struct run run;
	int i;

	ASSERT_NE(NULL, small);
	for (i = 0; i < SMALL; i++)
		ASSERT_NE(NULL, small[i] = malloc(60));
	for (i = 0; i < MID; i++)
		ASSERT_NE(NULL, mid[i] = malloc(1000));
	for (i = 0; i < LARGE; i++)
		ASSERT_NE(NULL, large[i] = malloc(8 << 20));
	/* A free that goes past the cache publishes from the slow path. */
	free(malloc(60));
	ASSERT_GE(my_regions(), 15LL << 20) TH_LOG("the heap is not on /dev/hugeslab");

	ASSERT_EQ(0, run_hsstat(&run, NULL, NULL, "--once", "--json", NULL));
	ASSERT_EQ(0, run.status) TH_LOG("stderr: %s", run.err);
	ASSERT_EQ(0, jparse(run.out, &root)) TH_LOG("bad JSON: %s", run.out);
	p = json_pool(&root, getpid(), "malloc-64");
	ASSERT_NE(NULL, p) TH_LOG("%s", run.out);
	ASSERT_EQ(64ULL, json_u64(p, "obj_size"));
	/* Published from slow paths: within two magazines of the truth. */
	ASSERT_LE(json_u64(p, "in_use"), SMALL + 1);
	ASSERT_GE(json_u64(p, "in_use"), SMALL - 2 * 240);
	p = json_pool(&root, getpid(), "malloc-1024");
	ASSERT_NE(NULL, p) TH_LOG("%s", run.out);
	ASSERT_GE(json_u64(p, "in_use"), MID / 2);
	p = json_pool(&root, getpid(), "malloc-large");
	ASSERT_NE(NULL, p) TH_LOG("%s", run.out);
	ASSERT_EQ((unsigned long long)LARGE, json_u64(p, "in_use"));
	ASSERT_GE(json_u64(p, "bytes"), 32ULL << 20);
	jfree(&root);
	run_free(&run);

	for (i = 0; i < SMALL; i++)
		free(small[i]);
	for (i = 0; i < MID; i++)
		free(mid[i]);
	for (i = 0; i < LARGE; i++)
		free(large[i]);
	free(small);
	free(mid);
}

TEST_HARNESS_MAIN
