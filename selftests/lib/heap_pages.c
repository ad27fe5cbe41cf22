// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: where the heap's memory lives. Its first spans, slabs and
 * runs alike, come from its small arena on 4 KiB pages
 * (HUGESLAB_HEAP_SMALL_MB, 16 MiB), so a small program holds about what it
 * would under glibc; past that memory comes from the backend's huge pages;
 * the stats say how much is where. A run that grows out of its
 * place gives its old pages back at once rather than keeping them (on
 * 4 KiB pages, from 256 KiB: a smaller one's stay for the next run), a run
 * kept for reuse gives way when the heap needs fresh pages elsewhere, and
 * a huge page with nothing in it keeps its pages a trim interval, no more.
 * (Host with every fallback backend; VM with the module.)
 */

#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hs_lib.h"

#define SMALL_CAP	((size_t)16 << 20)

/*
 * On the backend's huge pages: 2 MiB pages for the module and hugetlb;
 * for THP, memory that asks for them (whether the kernel finds one is
 * its business); for the pages backend, plain pages that refuse THP.
 */
static bool on_huge_pages(const void *p)
{
	switch (hs_backend()) {
	case HS_BACKEND_KMOD:
	case HS_BACKEND_HUGETLB:
		return hs_kernel_page_kb(p) == 2048;
	case HS_BACKEND_THP:
		return hs_kernel_page_kb(p) == 4 && hs_vm_flag(p, "hg") == 1;
	default:
		return hs_kernel_page_kb(p) == 4 && hs_vm_flag(p, "nh") == 1;
	}
}

/* On 4 KiB pages that stay so under THP "always": the small arena. */
static bool on_small_pages(const void *p)
{
	return hs_kernel_page_kb(p) == 4 && hs_vm_flag(p, "nh") == 1;
}

TEST(a_small_heap_is_on_4k_pages_and_a_big_one_on_huge_pages)
{
	hs_backend_t b = hs_backend();
	struct hs_heap_stats st;
	enum { N = 24000 };
	void **v = calloc(N, sizeof(void *));
	void *big;
	int i;

	ASSERT_NE(NULL, v);
	ASSERT_NE(NULL, v[0] = hs_malloc(100));
	ASSERT_EQ(0, hs_heap_stats(&st));
	if (b == HS_BACKEND_PAGES) {
		/* Every page is small already: no arena of its own. */
		ASSERT_EQ(0, st.small_bytes);
	} else {
		ASSERT_GT(st.small_bytes, 0);
		ASSERT_EQ(st.bytes, st.small_bytes);
		ASSERT_TRUE(on_small_pages(v[0]));
	}

	/* 24 MiB of 1000-byte blocks: the small arena fills, then huge. */
	for (i = 1; i < N; i++)
		ASSERT_NE(NULL, v[i] = hs_malloc(1000));
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_LE(st.small_bytes, SMALL_CAP);
	ASSERT_GE(st.bytes - st.small_bytes, (size_t)2 << 20);
	ASSERT_EQ(0, st.fallback_bytes);
	ASSERT_TRUE(on_huge_pages(v[N - 1]));

	/* The small arena full: a run takes huge pages. */
	ASSERT_NE(NULL, big = hs_malloc(3 << 20));
	ASSERT_TRUE(on_huge_pages(big));
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_LE(st.small_bytes, SMALL_CAP);

	hs_free(big);
	for (i = 0; i < N; i++)
		hs_free(v[i]);
	free(v);
}

/* Read once, at the heap's first use: this test's process is fresh. */
TEST(heap_small_mb_zero_puts_the_whole_heap_on_huge_pages)
{
	struct hs_heap_stats st;
	void *p;

	ASSERT_EQ(0, setenv("HUGESLAB_HEAP_SMALL_MB", "0", 1));
	ASSERT_NE(NULL, p = hs_malloc(100));
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_GT(st.bytes, 0);
	ASSERT_EQ(0, st.small_bytes);
	ASSERT_TRUE(on_huge_pages(p));
	hs_free(p);
}

/*
 * Runs come from the small arena too, a few MiB as well as 200 KiB: in a
 * small program (ls -R growing its table of a big directory to 5 MiB) a
 * huge page's untouched rest would be resident for nothing. A run larger
 * than the room left takes huge pages.
 */
TEST(runs_in_a_small_heap_take_4k_pages_until_it_is_full)
{
	struct hs_heap_stats st, st2;
	void *p, *q, *r;

	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_NE(NULL, p = hs_malloc(200 << 10));
	ASSERT_NE(NULL, q = hs_malloc(6 << 20));
	ASSERT_EQ(0, hs_heap_stats(&st2));
	ASSERT_EQ(2, st2.large_blocks);
	ASSERT_TRUE(on_small_pages(p));
	ASSERT_TRUE(on_small_pages(q));
	if (hs_backend() == HS_BACKEND_PAGES) {
		ASSERT_EQ(0, st2.small_bytes);
	} else {
		ASSERT_GE(st2.small_bytes - st.small_bytes,
			  (200 << 10) + (6 << 20));
		/*
		 * 12 MiB more cannot fit in the 16 MiB with those: huge
		 * pages, and errno as it was (a full small arena is no
		 * error).
		 */
		errno = 0;
		ASSERT_NE(NULL, r = hs_malloc(12 << 20));
		ASSERT_EQ(0, errno);
		ASSERT_TRUE(on_huge_pages(r));
		ASSERT_EQ(0, hs_heap_stats(&st2));
		ASSERT_LE(st2.small_bytes, SMALL_CAP);
		hs_free(r);
	}
	hs_free(q);
	hs_free(p);
}

/* A block aligned to a huge page asks for one, small heap or not. */
TEST(a_block_aligned_to_a_huge_page_takes_huge_pages)
{
	void *p;

	ASSERT_NE(NULL, p = hs_aligned_alloc((size_t)2 << 20, (size_t)2 << 20));
	ASSERT_EQ(0, (uintptr_t)p % ((size_t)2 << 20));
	ASSERT_TRUE(on_huge_pages(p));
	hs_free(p);
}

/*
 * What is meant for 4 KiB pages - the small arena, the plain-pages
 * backend, the library's own metadata - says so to the kernel: with THP
 * "always", Debian's default, it would otherwise fault in 2 MiB pages and
 * a small program would hold some MiB more than under glibc. The THP
 * backend asks for huge pages, whatever the mode.
 */
TEST(memory_for_4k_pages_refuses_thp_and_the_thp_backend_asks_for_it)
{
	hs_backend_t b = hs_backend();
	hs_pool_t *pool;
	void *small, *big;

	ASSERT_NE(NULL, small = hs_malloc(100));
	ASSERT_NE(NULL, pool = hs_pool_create("thp-flags", 64, NULL));
	ASSERT_NE(NULL, big = hs_aligned_alloc(HS_2M, HS_2M));
	if (b != HS_BACKEND_KMOD && b != HS_BACKEND_HUGETLB)
		ASSERT_EQ(1, hs_vm_flag(small, "nh"));
	ASSERT_EQ(1, hs_vm_flag(pool, "nh"));	/* metadata */
	if (b == HS_BACKEND_THP) {
		ASSERT_EQ(1, hs_vm_flag(big, "hg"));
		ASSERT_EQ(0, hs_vm_flag(big, "nh"));
	} else if (b == HS_BACKEND_PAGES) {
		ASSERT_EQ(1, hs_vm_flag(big, "nh"));
	}
	hs_free(big);
	hs_pool_destroy(pool);
	hs_free(small);
}

/*
 * A buffer grown by realloc as vectors grow (half again each time), with
 * a run allocated after it each step so that it must move now and then:
 * the runs it left are given back, so the heap's large runs hold about
 * the buffer and the blockers, not every size the buffer had.
 */
TEST(a_run_that_grows_out_of_place_gives_its_old_pages_back)
{
	enum { STEPS = 16 };
	size_t n = 100 << 10, blockers = 0;
	struct hs_heap_stats st;
	void *blk[STEPS];
	unsigned char *p = hs_malloc(n), *q;
	int i, moves = 0;

	ASSERT_NE(NULL, p);
	memset(p, 0x5a, n);
	for (i = 0; i < STEPS; i++) {
		size_t m = n + n / 2;

		q = hs_realloc(p, m);
		ASSERT_NE(NULL, q);
		ASSERT_EQ(0x5a, q[n - 1]);
		memset(q + n, 0x5a, m - n);
		moves += q != p;
		p = q;
		n = m;
		ASSERT_NE(NULL, blk[i] = hs_malloc(80 << 10));
		blockers += hs_malloc_usable_size(blk[i]);
	}
	ASSERT_GE(moves, 3) TH_LOG("the test needs a buffer that moves");
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_EQ(STEPS + 1, st.large_blocks);
	/* The buffer's run may be a quarter over, and a page each. */
	ASSERT_LE(st.large_bytes, n + n / 4 + blockers + (STEPS + 1) * 4096)
		TH_LOG("runs hold %llu bytes for a %zu-byte buffer",
		       (unsigned long long)st.large_bytes, n);
	for (i = 0; i < STEPS; i++)
		hs_free(blk[i]);
	hs_free(p);
}

/* Free a run of @bytes, touched, and check the heap keeps it for reuse. */
static void keep_a_run(struct __test_metadata *_metadata, size_t bytes)
{
	struct hs_heap_stats st;
	void *a;

	ASSERT_NE(NULL, a = hs_malloc(bytes));
	memset(a, 1, bytes);
	hs_free(a);
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_EQ(0, st.large_blocks);
	ASSERT_GE(st.large_bytes, bytes) TH_LOG("the test needs a kept run");
}

/*
 * A run kept for reuse must not raise the peak: when the heap takes fresh
 * pages for a run it cannot serve, the kept one goes back (its pages are
 * there for the next growth) instead of sitting beside the new one.
 */
TEST(a_kept_run_gives_way_to_a_run_that_needs_fresh_pages)
{
	const size_t kept = (size_t)8 << 20, big = (size_t)16 << 20;
	struct hs_heap_stats st;
	void *b;

	keep_a_run(_metadata, kept);
	ASSERT_NE(NULL, b = hs_malloc(big));
	memset(b, 2, big);
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_EQ(1, st.large_blocks);
	ASSERT_LE(st.large_bytes, big + 4096)
		TH_LOG("runs hold %llu bytes for one of %zu: the kept run stayed",
		       (unsigned long long)st.large_bytes, big);
	hs_free(b);
}

/*
 * Keep a run of @kept bytes, then fill @n blocks of 2 KiB: the kept run
 * must have given way to the classes' growth. The last block's pages.
 */
static bool classes_grow_past_a_kept_run(struct __test_metadata *_metadata,
					 size_t kept, int n)
{
	struct hs_heap_stats st;
	void **blk = calloc(n, sizeof(*blk));
	bool small;
	int i;

	EXPECT_NE(NULL, blk);
	if (!blk)
		return false;
	keep_a_run(_metadata, kept);
	for (i = 0; i < n; i++) {
		EXPECT_NE(NULL, blk[i] = hs_malloc(2048));
		memset(blk[i], 3, 2048);
	}
	small = on_small_pages(blk[n - 1]);
	EXPECT_EQ(0, hs_heap_stats(&st));
	EXPECT_EQ(0, st.large_bytes)
		TH_LOG("%llu bytes of runs kept while the classes grew",
		       (unsigned long long)st.large_bytes);
	for (i = 0; i < n; i++)
		hs_free(blk[i]);
	free(blk);
	return small;
}

/* The same when the size classes grow: 24 MiB of 2 KiB blocks, more
 * than the small arena holds. */
TEST(a_kept_run_gives_way_to_size_classes_that_grow)
{
	classes_grow_past_a_kept_run(_metadata, (size_t)8 << 20, 12288);
}

/* And when they grow on the small arena's 4 KiB pages (4 MiB of them),
 * which fill a page at a time: a 2 MiB unit of them first taken is
 * growth too. */
TEST(a_kept_run_gives_way_to_size_classes_growing_on_4k_pages)
{
	ASSERT_TRUE(classes_grow_past_a_kept_run(_metadata, (size_t)3 << 20,
						 2048));
}

/*
 * A buffer grown from 70 to 236 KiB by realloc, with a run taken after
 * each step so that it moves now and then; then freed with the others.
 */
static void grow_a_buffer(struct __test_metadata *_metadata)
{
	enum { STEPS = 4 };
	size_t n = 70 << 10;
	unsigned char *p = hs_malloc(n), *q;
	void *blk[STEPS];
	int i;

	ASSERT_NE(NULL, p);
	memset(p, 0x5a, n);
	for (i = 0; i < STEPS; i++) {
		size_t m = n + n / 2;

		ASSERT_NE(NULL, blk[i] = hs_malloc(68 << 10));
		memset(blk[i], 1, 68 << 10);
		if (i == STEPS - 1)
			break;
		ASSERT_NE(NULL, q = hs_realloc(p, m));
		ASSERT_EQ(0x5a, q[n - 1]);
		memset(q + n, 0x5a, m - n);
		p = q;
		n = m;
	}
	for (i = 0; i < STEPS; i++)
		hs_free(blk[i]);
	hs_free(p);
}

/*
 * A kept run serves a smaller block before the arena's fresh pages do.
 * Each round here keeps its 236 KiB buffer, and the next round's buffer,
 * 105 KiB when it moves, was too small for it: the kept runs piled up
 * until their interval was over, and with them the process's pages (a
 * small program held 18 MiB where glibc held 1.7).
 */
TEST(kept_runs_serve_smaller_blocks_before_fresh_pages)
{
	enum { ROUNDS = 40 };
	struct hs_heap_stats st;
	int r;

	for (r = 0; r < ROUNDS; r++)
		grow_a_buffer(_metadata);
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_LE(st.large_bytes, (uint64_t)2 << 20)
		TH_LOG("%llu bytes of runs kept for a 236 KiB buffer",
		       (unsigned long long)st.large_bytes);
}

/*
 * A block a little bigger than the one freed before it takes its place
 * (as glibc merges a freed block with the free memory after it) instead
 * of fresh pages beside the kept runs: Python's bytearray(i * 100) for i
 * up to 5000 held 40 MiB of runs where glibc held 2.
 */
TEST(a_block_bigger_than_the_kept_runs_takes_their_place)
{
	enum { N = 400 };
	struct hs_heap_stats st;
	size_t n = 0;
	void *p;
	int i;

	for (i = 0; i < N; i++) {
		n = (70 << 10) + (size_t)i * 1000;
		ASSERT_NE(NULL, p = hs_malloc(n));
		memset(p, 1, n);
		hs_free(p);
	}
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_LE(st.large_bytes, 2 * n)
		TH_LOG("%llu bytes of runs kept for blocks of up to %zu",
		       (unsigned long long)st.large_bytes, n);
}

/* kB this process holds: resident 4 KiB pages and hugetlb pages. */
static long held_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "re");
	char line[128];
	long v, kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Rss: %ld", &v) == 1 ||
		    sscanf(line, "Private_Hugetlb: %ld", &v) == 1)
			kb += v;
	if (f)
		fclose(f);
	return kb;
}

/*
 * A huge page with nothing left in it keeps its pages a trim interval, so
 * a block taken again soon costs no fault and no zeroing; an interval
 * later the next block taken gives them back (the module's regions keep
 * theirs until the region goes). Plain pages go with the run.
 */
TEST(a_free_huge_page_keeps_its_pages_an_interval_then_goes_back)
{
	const size_t big = (size_t)8 << 20;
	long kb0, kb1, kb2;
	void *a;

	/*
	 * Long enough that a loaded machine's stall between the free and
	 * the look does not pass for the interval.
	 */
	ASSERT_EQ(0, setenv("HUGESLAB_TRIM_MS", "1500", 1));
	ASSERT_EQ(0, setenv("HUGESLAB_HEAP_TRIM_MS", "1", 1));
	/* Huge pages from the start, not the small arena's. */
	ASSERT_EQ(0, setenv("HUGESLAB_HEAP_SMALL_MB", "0", 1));
	ASSERT_NE(NULL, a = hs_malloc(big));
	ASSERT_TRUE(on_huge_pages(a));
	memset(a, 1, big);
	kb0 = held_kb();
	hs_free(a);
	/* Kept by the heap 1 ms, then its span goes back to the arena. */
	usleep(20000);
	hs_free(hs_malloc(100 << 10));
	kb1 = held_kb();
	if (hs_backend() == HS_BACKEND_PAGES) {
		/* No huge page to keep: a released run's pages go at once. */
		ASSERT_LE(kb1, kb0 - (long)(big >> 10) + 1024)
			TH_LOG("kept on plain pages: %ld -> %ld kB", kb0, kb1);
		return;
	}
	ASSERT_GE(kb1, kb0 - 1024) TH_LOG("gave back at once: %ld -> %ld kB", kb0, kb1);
	/* Taken again: the same pages, nothing new faulted in. */
	ASSERT_NE(NULL, a = hs_malloc(big));
	memset(a, 2, big);
	ASSERT_LE(held_kb(), kb1 + 1024);
	hs_free(a);
	usleep(20000);
	hs_free(hs_malloc(100 << 10));
	usleep(1600000);
	hs_free(hs_malloc(100 << 10));
	kb2 = held_kb();
	if (hs_backend() == HS_BACKEND_KMOD) {
		ASSERT_GE(kb2, kb1 - 1024);
	} else {
		ASSERT_LE(kb2, kb1 - (long)(big >> 10) + 1024)
			TH_LOG("kept after the interval: %ld -> %ld kB", kb1, kb2);
	}
}

/*
 * Freed memory kept for reuse must not add to a peak the process reaches
 * without the heap: once the process grows elsewhere (here an mmap the
 * heap does not see, as CPython's own arenas), a kept run and its free
 * huge pages go back by the next block taken, not seconds later. CPython
 * held 56 MiB of json.dumps' buffers so while json.loads grew 230 MiB.
 */
TEST(kept_memory_goes_back_when_the_process_grows_elsewhere)
{
	const size_t big = (size_t)24 << 20, other = (size_t)64 << 20;
	struct hs_heap_stats st;
	long kb1, kb2;
	void *a, *b;
	char *o;

	/* Huge pages from the start, not the small arena's. */
	ASSERT_EQ(0, setenv("HUGESLAB_HEAP_SMALL_MB", "0", 1));
	/* Kept for a minute: a stall must not pass for the growth. */
	ASSERT_EQ(0, setenv("HUGESLAB_HEAP_TRIM_MS", "60000", 1));
	ASSERT_EQ(0, setenv("HUGESLAB_TRIM_MS", "60000", 1));
	/* Taken first, freed later: nothing takes fresh pages after the
	 * run is kept, which would push it out for the heap's own growth. */
	ASSERT_NE(NULL, b = hs_malloc(100 << 10));
	ASSERT_NE(NULL, a = hs_malloc(big));
	memset(a, 1, big);
	hs_free(a);
	ASSERT_EQ(0, hs_heap_stats(&st));
	ASSERT_GE(st.large_bytes, big) TH_LOG("the test needs a kept run");
	kb1 = held_kb();
	o = mmap(NULL, other, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, o);
	memset(o, 2, other);
	/* The process's peak is looked at once a millisecond at most. */
	usleep(20000);
	hs_free(b);
	ASSERT_EQ(0, hs_heap_stats(&st));
	if (HS_UNDER_SANITIZER) {
		/* Its shadow of the heap's memory is most of the process's:
		 * the heap does not look (rss.c), and keeps the run. */
		ASSERT_GE(st.large_bytes, big);
		hs_heap_trim();
		ASSERT_EQ(0, munmap(o, other));
		return;
	}
	ASSERT_LT(st.large_bytes, big)
		TH_LOG("the run stayed kept: %llu bytes",
		       (unsigned long long)st.large_bytes);
	kb2 = held_kb();
	/* The module's regions keep their pages until the region goes. */
	if (hs_backend() != HS_BACKEND_KMOD)
		ASSERT_LE(kb2, kb1 + (long)((other - big) >> 10) + 4096)
			TH_LOG("held %ld kB, then %ld kB with %zu kB more elsewhere",
			       kb1, kb2, other >> 10);
	ASSERT_EQ(0, munmap(o, other));
}

/* @n blocks of @size bytes, written, into @blk. */
static void fill_blocks(struct __test_metadata *_metadata, void **blk,
			int n, size_t size)
{
	int i;

	for (i = 0; i < n; i++) {
		ASSERT_NE(NULL, blk[i] = hs_malloc(size));
		memset(blk[i], 4, size);
	}
}

static int cmp_page(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* The 4 KiB pages @n blocks of @size bytes are on, into @pages (room for
 * 2 * @n + @size / 4096 * @n), sorted; how many. */
static size_t pages_of(void **blk, int n, size_t size, uintptr_t *pages)
{
	size_t k = 0;
	uintptr_t pg;
	int i;

	for (i = 0; i < n; i++)
		for (pg = (uintptr_t)blk[i] >> 12;
		     pg <= ((uintptr_t)blk[i] + size - 1) >> 12; pg++)
			pages[k++] = pg;
	qsort(pages, k, sizeof(*pages), cmp_page);
	return k;
}

/*
 * A size class grows into the memory another freed, not beside it:
 * 8 MiB of 10000-byte blocks after 8 MiB of 1000-byte ones take no more
 * pages the first ones were not on than the heap grew. (Pages, not the
 * resident set, which a sanitizer's shadow would swamp.) Their class's
 * slabs are 40 pages; aligned to 32 pages each left a hole of 24 that a
 * slab of its own could not use, and the class took 4 MiB of fresh pages
 * for 1.3 MiB of growth.
 */
TEST(a_class_grows_into_the_memory_another_freed)
{
	const int n1 = 8 << 10, n2 = (8 << 20) / 10000;
	uintptr_t *old = calloc(2 * n1, sizeof(*old));
	uintptr_t *now = calloc(4 * n2, sizeof(*now));
	void **blk = calloc(n1, sizeof(*blk));
	struct hs_heap_stats peak1, peak2;
	size_t nold, nnow, i, fresh = 0;
	long grown_kb;

	ASSERT_TRUE(old && now && blk);
	fill_blocks(_metadata, blk, n1, 1000);
	ASSERT_EQ(0, hs_heap_stats(&peak1));
	nold = pages_of(blk, n1, 1000, old);
	for (i = 0; i < (size_t)n1; i++)
		hs_free(blk[i]);
	fill_blocks(_metadata, blk, n2, 10000);
	ASSERT_EQ(0, hs_heap_stats(&peak2));
	nnow = pages_of(blk, n2, 10000, now);
	for (i = 0; i < nnow; i++)
		if ((!i || now[i] != now[i - 1]) &&
		    !bsearch(&now[i], old, nold, sizeof(*old), cmp_page))
			fresh++;
	grown_kb = ((long)peak2.bytes - (long)peak1.bytes) / 1024;
	EXPECT_LE((long)fresh * 4, grown_kb + 1536)
		TH_LOG("%zu kB of fresh pages for %ld kB of growth",
		       fresh * 4, grown_kb);
	for (i = 0; i < (size_t)n2; i++)
		hs_free(blk[i]);
	free(blk);
	free(now);
	free(old);
}

/*
 * On 4 KiB pages (a small heap, or the plain-pages backend) a run that
 * grew out of its place gives its pages to the kernel at once: ls -R
 * growing its table to 5 MiB held the 2.6 MiB it left too (glibc moves
 * the pages with mremap).
 */
TEST(a_moved_run_on_4k_pages_leaves_no_pages_behind)
{
	const size_t n = (size_t)2 << 20;
	unsigned char *p, *q;
	void *blocker;

	ASSERT_NE(NULL, p = hs_malloc(n));
	ASSERT_EQ(0, (uintptr_t)p % 4096);
	memset(p, 0x5a, n);
	/* Taken right after it, so that it cannot grow in place. */
	ASSERT_NE(NULL, blocker = hs_malloc(n));
	memset(blocker, 1, 4096);
	ASSERT_TRUE(on_small_pages(p));
	ASSERT_EQ((long)(n / 4096), hs_resident_pages(p, n));
	ASSERT_NE(NULL, q = hs_realloc(p, 2 * n));
	ASSERT_NE(p, q) TH_LOG("the test needs a run that moves");
	ASSERT_EQ(0x5a, q[n - 1]);
	ASSERT_EQ(0, hs_resident_pages(p, n))
		TH_LOG("the old run kept its pages");
	hs_free(q);
	hs_free(blocker);
}

static long minor_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) ? -1 : ru.ru_minflt;
}

/*
 * A run under 256 KiB that moves keeps its 4 KiB pages for the next run
 * there instead of giving them to the kernel: a buffer growing by half
 * from 64 to 175 KiB, over and over, spent 40% of its time in the madvise
 * and in faulting the pages in again. From 256 KiB the pages go (the test
 * above).
 */
TEST(a_small_run_that_moves_leaves_its_pages_to_the_next)
{
	const size_t n = 100 << 10;
	unsigned char *p, *q, *r;
	long f0, faults;
	void *blocker;

	ASSERT_NE(NULL, p = hs_malloc(n));
	memset(p, 0x5a, n);
	ASSERT_NE(NULL, blocker = hs_malloc(n));
	memset(blocker, 1, 4096);
	ASSERT_TRUE(on_small_pages(p));
	ASSERT_NE(NULL, q = hs_realloc(p, 2 * n));
	ASSERT_NE(p, q) TH_LOG("the test needs a run that moves");
	ASSERT_EQ(0x5a, q[n - 1]);
	ASSERT_EQ((long)(n / 4096), hs_resident_pages(p, n))
		TH_LOG("the old run gave its pages to the kernel");
	/* The same size again: its pages are there, in the arena. */
	ASSERT_LE(0, f0 = minor_faults());
	ASSERT_NE(NULL, r = hs_malloc(n));
	memset(r, 1, n);
	faults = minor_faults() - f0;
	ASSERT_LT(faults, (long)(n / 4096 / 2))
		TH_LOG("a run of the same size faulted %ld of its %zu pages in",
		       faults, n / 4096);
	hs_free(r);
	hs_free(q);
	hs_free(blocker);
}

/*
 * On 4 KiB pages a run shrunk in place by realloc gives the pages after
 * its new end to the kernel, as glibc trims a shrunk mmap'd block: a
 * buffer cut from 4 MiB to 1 MiB must not keep 3 MiB resident until the
 * arena happens to reuse them.
 */
TEST(a_run_shrunk_in_place_gives_its_tail_pages_back)
{
	const size_t n = (size_t)4 << 20, m = (size_t)1 << 20;
	unsigned char *p, *q;

	ASSERT_NE(NULL, p = hs_malloc(n));
	memset(p, 0x5a, n);
	ASSERT_TRUE(on_small_pages(p));
	ASSERT_EQ((long)(m / 4096), hs_resident_pages(p + n - m, m));
	ASSERT_NE(NULL, q = hs_realloc(p, m));
	ASSERT_EQ(p, q) TH_LOG("the test needs a run shrunk in place");
	ASSERT_EQ(0x5a, q[m - 1]);
	ASSERT_EQ((long)(m / 4096), hs_resident_pages(q, m));
	ASSERT_EQ(0, hs_resident_pages(p + n - m, m));
	ASSERT_EQ(0, hs_resident_pages(p + m, m));
	hs_free(q);
}

/*
 * A big block holds the pages a program touches, not its size: sort
 * mallocs a buffer for its worst case (950 MB for a 14 MB file here) and
 * fills a corner; xz -9 mallocs 700 MB to compress 14 MB. Populated whole
 * on hugetlb they held 7 and 5 times what they did under glibc. Its huge
 * pages are reserved instead, so touching one cannot fail (SIGBUS) when
 * the pool runs dry; a pool without enough free pages to reserve gives
 * way to the next backend. (The module populates its regions whole, from
 * memory set aside when it was loaded.)
 */
TEST(a_big_block_holds_only_the_pages_it_touches)
{
	const size_t n = (size_t)256 << 20;
	unsigned char *p;
	long in;

	ASSERT_NE(NULL, p = hs_malloc(n));
	p[0] = 1;
	p[n / 2] = 2;
	p[n - 1] = 3;
	in = hs_resident_pages(p, n);
	ASSERT_GE(in, 3);
	/* (With the module, a block this big may also come from the next
	 * backend, by the module's limits.) */
	if (hs_backend() != HS_BACKEND_KMOD) {
		ASSERT_LE(in, 3 * 512 + 512)
			TH_LOG("%ld of %zu pages resident", in, n / 4096);
		ASSERT_TRUE(on_huge_pages(p));
	}
	ASSERT_EQ(2, p[n / 2]);
	hs_free(p);
}

/*
 * On hugetlb a big block's mapping reserves its huge pages (VmFlags
 * without "nr", MAP_NORESERVE), so no other process can take the pages it
 * may touch; the mapping goes with the block, and the reservation with
 * it. Other backends fault in plain or THP memory as it is touched. A
 * block that grows moves (nothing after it to grow into), one shrunk by a
 * quarter or more moves too, so the reservation follows its size.
 */
TEST(a_big_block_reserves_its_huge_pages_while_it_lives)
{
	const size_t n = (size_t)64 << 20;
	bool hugetlb = hs_backend() == HS_BACKEND_HUGETLB;
	unsigned char *p, *q, vec;

	ASSERT_NE(NULL, p = hs_malloc(n));
	if (hugetlb)
		ASSERT_EQ(0, hs_vm_flag(p, "nr"));
	memset(p, 0x3c, n);
	ASSERT_NE(NULL, q = hs_realloc(p, 2 * n));
	ASSERT_EQ(0x3c, q[n - 1]);
	ASSERT_EQ(0x3c, q[0]);
	q[2 * n - 1] = 1;
	if (hugetlb) {
		ASSERT_NE(p, q);
		/* The old block's mapping went with it. */
		ASSERT_EQ(-1, mincore(p, 4096, &vec));
		ASSERT_EQ(ENOMEM, errno);
	}
	/* Cut by an eighth: in place. By three quarters: moved. */
	ASSERT_EQ(q, hs_realloc(q, 2 * n - n / 4));
	ASSERT_NE(NULL, p = hs_realloc(q, n / 2));
	ASSERT_EQ(0x3c, p[n / 2 - 1]);
	if (hugetlb)
		ASSERT_NE(p, q);
	hs_free(p);
	hs_heap_trim();
	if (hugetlb) {
		ASSERT_EQ(-1, mincore(p, 4096, &vec));
		ASSERT_EQ(ENOMEM, errno);
	}
}

/* calloc of a big block: zero without being written, and zero reused. */
TEST(a_big_calloc_is_zero_without_being_written)
{
	const struct hs_alloc_fns hs = { hs_calloc, hs_malloc, hs_free };
	const char *why = hs_big_calloc_fault(&hs,
					      hs_backend() != HS_BACKEND_KMOD);

	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
}

TEST_HARNESS_MAIN
