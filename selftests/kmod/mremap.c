// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: mremap of region mappings. A region mapping is a shared
 * hugetlb mapping, so mremap follows hugetlb's rules, which the module
 * does not change; this test pins down what they are for a region:
 *
 *  - moving (MREMAP_MAYMOVE | MREMAP_FIXED) a whole mapping, or a 2 MiB-
 *    aligned part of it, to a 2 MiB-aligned address keeps the data and the
 *    2 MiB pages, takes no new pages, and leaves the old range unmapped; the
 *    region stays mapped and is freed when the moved mapping goes. Measured
 *    on Debian's 6.1 (6.1.0-56) and 6.12 (6.12.117): both move. Kernels that
 *    refused would fail with EINVAL and leave the mapping where it was; the
 *    table below says which behaviour each kernel must show.
 *  - a new address not 2 MiB-aligned: EINVAL, mapping intact (both).
 *  - growing, in place or moving, even where the region has more bytes
 *    behind the mapping: EINVAL, mapping intact (both kernels: hugetlb
 *    refuses expansion before looking at VM_DONTEXPAND).
 *  - shrinking by whole 2 MiB pages works and unmaps the tail, whose pages
 *    stay in the region.
 */
#include <sys/utsname.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

#define REGION_BYTES	(3 * HS_2M)

/* What mremap does to a hugetlb mapping, per kernel series, as measured. */
static const struct {
	int major, minor;
	bool moves;		/* MAYMOVE|FIXED to an aligned address works */
} measured[] = {
	{ 6, 1, true },
	{ 6, 12, true },
};

/*
 * Whether this kernel moves hugetlb mappings. A series not measured gets
 * what mainline has done since hugetlb mremap support (5.16), and says so.
 */
static bool kernel_moves(struct __test_metadata *_metadata)
{
	int major = 0, minor = 0;
	struct utsname u;
	unsigned int i;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return true;
	for (i = 0; i < sizeof(measured) / sizeof(measured[0]); i++)
		if (measured[i].major == major && measured[i].minor == minor)
			return measured[i].moves;
	TH_LOG("kernel %s not measured: expecting mainline's behaviour",
	       u.release);
	return major > 5 || (major == 5 && minor >= 16);
}

FIXTURE(remap) {
	int fd;
	struct hugeslab_create c;
	char *p;
	char *area;		/* room to move to, 2 MiB-aligned inside */
	char *at;
	struct hs_snap base;
};

#define AREA_BYTES	(8 * HS_2M)

FIXTURE_SETUP(remap)
{
	self->fd = hs_open();
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s (is hugeslab.ko loaded?)",
				      HUGESLAB_DEVICE, strerror(errno));
	ASSERT_EQ(0, hs_snap(&self->base))
		TH_LOG("%s/stats unreadable: debugfs not mounted?", HS_DEBUGFS);
	ASSERT_EQ(0, hs_create(self->fd, REGION_BYTES, &self->c));
	self->p = hs_map(self->fd, &self->c);
	ASSERT_NE(MAP_FAILED, self->p);
	hs_fill(self->p, REGION_BYTES, 71, 0);

	/* An address range nothing else will take, with an aligned start. */
	self->area = mmap(NULL, AREA_BYTES, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->area);
	self->at = (char *)(((unsigned long)self->area + HS_2M - 1) &
			    ~(HS_2M - 1));
}

FIXTURE_TEARDOWN_PARENT(remap)
{
	HS_EXPECT_BASELINE(&self->base);
}

/* The region's debugfs "mapped", or -1 if not listed. */
static int dbg_mapped(unsigned long long id)
{
	struct hs_dbg_region r;

	if (hs_dbg_find(id, &r) != 1)
		return -1;
	return r.mapped;
}

TEST_F(remap, move_whole_mapping)
{
	struct hs_snap before, now;
	struct hs_smaps s;
	char *q;

	ASSERT_EQ(0, hs_snap(&before));
	q = mremap(self->p, REGION_BYTES, REGION_BYTES,
		   MREMAP_MAYMOVE | MREMAP_FIXED, self->at);
	if (!kernel_moves(_metadata)) {
		ASSERT_EQ(MAP_FAILED, q);
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 71, 0));
		return;
	}
	ASSERT_EQ(self->at, q) TH_LOG("mremap: %s", strerror(errno));
	EXPECT_FALSE(hs_mapped_anywhere(self->p, REGION_BYTES));
	EXPECT_EQ(-1, hs_check(q, REGION_BYTES, 71, 0));
	ASSERT_EQ(0, hs_smaps_find(q, &s));
	EXPECT_EQ((unsigned long)q, s.start);
	EXPECT_EQ((unsigned long)q + REGION_BYTES, s.end);
	EXPECT_EQ(2048L, s.kernel_page_kb);
	hs_fill(q, REGION_BYTES, 72, 0);
	EXPECT_EQ(-1, hs_check(q, REGION_BYTES, 72, 0));

	/* Same pages, moved: none taken, none given back. */
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(before.hp_free, now.hp_free);
	EXPECT_EQ(before.used_bytes, now.used_bytes);
	EXPECT_EQ(1, dbg_mapped(self->c.id));

	/* Freed when the moved mapping goes. */
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
	EXPECT_EQ(1, dbg_mapped(self->c.id));
	ASSERT_EQ(0, munmap(q, REGION_BYTES));
	EXPECT_EQ(0, hs_wait_unlisted(self->c.id, HS_FREE_TIMEOUT_MS));
}

TEST_F(remap, move_aligned_part)
{
	char *mid = self->p + HS_2M, *q;

	q = mremap(mid, HS_2M, HS_2M, MREMAP_MAYMOVE | MREMAP_FIXED, self->at);
	if (!kernel_moves(_metadata)) {
		ASSERT_EQ(MAP_FAILED, q);
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 71, 0));
		return;
	}
	ASSERT_EQ(self->at, q) TH_LOG("mremap: %s", strerror(errno));
	EXPECT_FALSE(hs_mapped_anywhere(mid, HS_2M));
	EXPECT_EQ(-1, hs_check(q, HS_2M, 71, HS_2M));
	EXPECT_EQ(-1, hs_check(self->p, HS_2M, 71, 0));
	EXPECT_EQ(-1, hs_check(self->p + 2 * HS_2M, HS_2M, 71, 2 * HS_2M));
	/* Still the region's page: a write shows in a fresh mapping. */
	q[5] = 0x3c;
	mid = mmap(NULL, HS_2M, PROT_READ, MAP_SHARED, self->fd,
		   self->c.offset + HS_2M);
	ASSERT_NE(MAP_FAILED, mid);
	EXPECT_EQ(0x3c, mid[5]);
	ASSERT_EQ(0, munmap(mid, HS_2M));
	ASSERT_EQ(0, munmap(q, HS_2M));
	ASSERT_EQ(0, munmap(self->p, REGION_BYTES));
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
}

TEST_F(remap, move_to_unaligned_address)
{
	char *q;

	q = mremap(self->p, REGION_BYTES, REGION_BYTES,
		   MREMAP_MAYMOVE | MREMAP_FIXED, self->at + 4096);
	ASSERT_EQ(MAP_FAILED, q);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 71, 0));
	EXPECT_EQ(1, dbg_mapped(self->c.id));
	ASSERT_EQ(0, munmap(self->p, REGION_BYTES));
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
}

TEST_F(remap, grow_refused)
{
	static const struct {
		unsigned long old_len, new_len;
		int flags;
		bool fixed;
	} grow[] = {
		/* past the region's end */
		{ REGION_BYTES, REGION_BYTES + HS_2M, 0, false },
		{ REGION_BYTES, REGION_BYTES + HS_2M, MREMAP_MAYMOVE, false },
		{ REGION_BYTES, REGION_BYTES + HS_2M,
		  MREMAP_MAYMOVE | MREMAP_FIXED, true },
		/* a 2 MiB mapping of the 6 MiB region: room in the file */
		{ HS_2M, 2 * HS_2M, 0, false },
		{ HS_2M, 2 * HS_2M, MREMAP_MAYMOVE, false },
		{ HS_2M, HS_2M + 4096, 0, false },
	};
	struct hs_smaps s;
	unsigned int i;
	char *small, *q;

	small = mmap(NULL, HS_2M, PROT_READ | PROT_WRITE, MAP_SHARED,
		     self->fd, self->c.offset);
	ASSERT_NE(MAP_FAILED, small);

	for (i = 0; i < sizeof(grow) / sizeof(grow[0]); i++) {
		char *old = grow[i].old_len == HS_2M ? small : self->p;

		errno = 0;
		q = grow[i].fixed ?
			mremap(old, grow[i].old_len, grow[i].new_len,
			       grow[i].flags, self->at) :
			mremap(old, grow[i].old_len, grow[i].new_len,
			       grow[i].flags);
		EXPECT_EQ(MAP_FAILED, q) TH_LOG("grow %u worked", i);
		EXPECT_EQ(EINVAL, errno) TH_LOG("grow %u", i);
	}

	/* Both mappings as they were. */
	ASSERT_EQ(0, hs_smaps_find(self->p, &s));
	EXPECT_EQ((unsigned long)self->p, s.start);
	EXPECT_EQ((unsigned long)self->p + REGION_BYTES, s.end);
	ASSERT_EQ(0, hs_smaps_find(small, &s));
	EXPECT_EQ((unsigned long)small, s.start);
	EXPECT_EQ((unsigned long)small + HS_2M, s.end);
	EXPECT_EQ(-1, hs_check(self->p, REGION_BYTES, 71, 0));
	EXPECT_EQ(-1, hs_check(small, HS_2M, 71, 0));
	hs_fill(self->p, REGION_BYTES, 73, 0);
	EXPECT_EQ(-1, hs_check(small, HS_2M, 73, 0));

	ASSERT_EQ(0, munmap(small, HS_2M));
	ASSERT_EQ(0, munmap(self->p, REGION_BYTES));
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
}

TEST_F(remap, shrink)
{
	char *q;

	q = mremap(self->p, REGION_BYTES, HS_2M, 0);
	ASSERT_EQ(self->p, q) TH_LOG("mremap: %s", strerror(errno));
	EXPECT_FALSE(hs_mapped_anywhere(self->p + HS_2M, REGION_BYTES - HS_2M));
	EXPECT_EQ(-1, hs_check(self->p, HS_2M, 71, 0));
	EXPECT_EQ(1, dbg_mapped(self->c.id));

	/* The tail's pages are still the region's. */
	q = mmap(NULL, REGION_BYTES, PROT_READ, MAP_SHARED, self->fd,
		 self->c.offset);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(-1, hs_check(q, REGION_BYTES, 71, 0));
	ASSERT_EQ(0, munmap(q, REGION_BYTES));
	ASSERT_EQ(0, munmap(self->p, HS_2M));
	EXPECT_EQ(0, dbg_mapped(self->c.id));
	ASSERT_EQ(0, hs_destroy(self->fd, self->c.id));
}

TEST_HARNESS_MAIN
