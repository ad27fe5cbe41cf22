// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: buffer sets of libhugeslab-uring on the backend the process
 * gets - the layout (every buffer aligned, inside its memory, none sharing
 * a byte with another or straddling a huge page in the per-page layout),
 * the fixed-buffer index of each buffer, ids from addresses, the buffers
 * handed out and back (a double hand-back or an unknown id is refused and
 * changes nothing), the counters, sets in the caller's memory, several
 * sets sharing one ring's fixed-buffer table through slots, and every bad
 * argument refused with EINVAL and a message, leaving nothing registered,
 * pinned or mapped. The registrations themselves are checked by the
 * kernel's answers: VmPin while registered, EBUSY for a second table,
 * EEXIST for a taken group.
 */
#include <sys/mman.h>
#include <sys/utsname.h>

#include "kselftest_harness.h"
#include "hs_uring_test.h"

FIXTURE(bufs) {
	struct io_uring ring;
	struct hs_usnap base;
};

FIXTURE_SETUP(bufs)
{
	ASSERT_NE(HS_BACKEND_NONE, hs_backend()) TH_LOG("%s", hs_backend_reason());
	if (hs_expected_backend() != HS_BACKEND_NONE) {
		ASSERT_EQ(hs_expected_backend(), hs_backend());
	}
	ASSERT_EQ(0, io_uring_queue_init(64, &self->ring, 0));
	hs_usnap(&self->base);
}

FIXTURE_TEARDOWN(bufs)
{
	struct hs_usnap now;

	io_uring_queue_exit(&self->ring);
	EXPECT_EQ(0, hs_usnap_wait(&self->base, &now, getpid()))
		TH_LOG("before: " HS_USNAP_FMT, HS_USNAP_ARGS(&self->base));
	if (!hs_usnap_same(&self->base, &now))
		TH_LOG("after:  " HS_USNAP_FMT, HS_USNAP_ARGS(&now));
}

/* Check what a set says about each buffer against the layout's rules. */
static void check_layout(struct __test_metadata *_metadata, hs_uring_bufs_t *s,
			 unsigned int count, size_t size, size_t align,
			 bool per_page)
{
	struct hs_uring_bufs_stats st;
	uintptr_t prev_end = 0, b;
	unsigned int i;
	int last_idx = -1;

	ASSERT_EQ(0, hs_uring_bufs_stats(s, &st));
	ASSERT_EQ(count, hs_uring_bufs_count(s));
	ASSERT_EQ(size, hs_uring_bufs_size(s));
	for (i = 0; i < count; i++) {
		char *p = hs_uring_bufs_buf(s, i);

		ASSERT_NE(NULL, p);
		b = (uintptr_t)p;
		ASSERT_EQ(0, b % align) TH_LOG("buffer %u at %p", i, p);
		ASSERT_LE(prev_end, b) TH_LOG("buffer %u overlaps the one before", i);
		prev_end = b + size;
		if (per_page) {
			ASSERT_EQ(b / HS_2M, (b + size - 1) / HS_2M)
				TH_LOG("buffer %u straddles a huge page", i);
		}
		/* The id of any byte of it is its id; the byte after is not. */
		ASSERT_EQ((int)i, hs_uring_bufs_id(s, p));
		ASSERT_EQ((int)i, hs_uring_bufs_id(s, p + size - 1));
		if (i + 1 < count && (char *)hs_uring_bufs_buf(s, i + 1) != p + size) {
			ASSERT_EQ(-1, hs_uring_bufs_id(s, p + size));
		}
		/* Fixed indexes: one per huge page, or one per buffer. */
		if (st.fixed_iovecs) {
			int idx = hs_uring_bufs_index(s, i);

			ASSERT_LE(0, idx);
			ASSERT_LT((unsigned int)idx, st.fixed_iovecs);
			ASSERT_TRUE(idx == last_idx || idx == last_idx + 1);
			if (!per_page) {
				ASSERT_EQ((int)i, idx);
			}
			last_idx = idx;
		}
	}
	if (st.fixed_iovecs) {
		ASSERT_EQ(st.fixed_iovecs, (uint64_t)last_idx + 1);
	}
	ASSERT_EQ(NULL, hs_uring_bufs_buf(s, count));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, hs_uring_bufs_index(s, count));
	ASSERT_EQ(-1, hs_uring_bufs_id(s, (char *)hs_uring_bufs_buf(s, 0) - 1));
}

TEST_F(bufs, fixed_per_page_layout)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED };
	struct hs_uring_bufs_stats st;
	struct hs_usnap reg;
	hs_uring_bufs_t *s;

	/* 3000-byte buffers: 64-byte aligned, 697 in each huge page. */
	s = hs_uring_bufs_create(&self->ring, "layout", 1500, 3000, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	check_layout(_metadata, s, 1500, 3000, 64, true);
	ASSERT_EQ(0, hs_uring_bufs_stats(s, &st));
	EXPECT_EQ(3, st.fixed_iovecs);
	EXPECT_EQ(3008, st.stride);
	EXPECT_EQ(0, st.ring_entries);
	EXPECT_EQ(3 * HS_2M, st.bytes);
	EXPECT_EQ(hs_backend(), (hs_backend_t)st.backend);
	/* Registered: the kernel pins it (whole huge pages on 2 MiB pages). */
	hs_usnap(&reg);
	EXPECT_LT(self->base.vm_pin_kb, reg.vm_pin_kb);
	if (st.page_size == HS_2M && hs_backend() != HS_BACKEND_THP) {
		EXPECT_EQ(self->base.vm_pin_kb + 3 * 2048, reg.vm_pin_kb);
	}
	/* A ring has one fixed-buffer table. */
	errno = 0;
	ASSERT_EQ(NULL, hs_uring_bufs_create(&self->ring, "second", 4, 4096, &o));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_NE(NULL, strstr(hs_uring_last_error(), "HS_UBUF_FIXED_SLOTS"));
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

TEST_F(bufs, fixed_iovec_each_layout)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED | HS_UBUF_IOV_EACH };
	struct hs_uring_bufs_stats st;
	hs_uring_bufs_t *s;

	s = hs_uring_bufs_create(&self->ring, "each", 100, 65536, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	check_layout(_metadata, s, 100, 65536, 4096, false);
	ASSERT_EQ(0, hs_uring_bufs_stats(s, &st));
	EXPECT_EQ(100, st.fixed_iovecs);
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

TEST_F(bufs, big_buffers_get_an_iovec_each)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED };
	struct hs_uring_bufs_stats st;
	hs_uring_bufs_t *s;

	/* Bigger than a huge page: packed, an iovec each. */
	s = hs_uring_bufs_create(&self->ring, "big", 3, 3 << 20, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	check_layout(_metadata, s, 3, 3 << 20, 4096, false);
	ASSERT_EQ(0, hs_uring_bufs_stats(s, &st));
	EXPECT_EQ(3, st.fixed_iovecs);
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

TEST_F(bufs, hand_out_and_back)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED };
	struct hs_uring_bufs_stats st;
	hs_uring_bufs_t *s;
	int got[8], i;

	s = hs_uring_bufs_create(&self->ring, NULL, 8, 4096, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	for (i = 0; i < 8; i++) {
		got[i] = hs_uring_bufs_get(s);
		ASSERT_LE(0, got[i]);
		ASSERT_EQ(7 - i, (int)hs_uring_bufs_avail(s));
	}
	ASSERT_EQ(-1, hs_uring_bufs_get(s));
	ASSERT_EQ(ENOBUFS, errno);
	ASSERT_NE(NULL, strstr(hs_uring_last_error(), "hand one back"));
	/* All eight ids, each once. */
	for (i = 0; i < 8; i++) {
		int j;

		for (j = i + 1; j < 8; j++) {
			ASSERT_NE(got[i], got[j]);
		}
		ASSERT_GT(8, got[i]);
	}
	ASSERT_EQ(0, hs_uring_bufs_put(s, (unsigned int)got[3]));
	/* Twice, or an id that does not exist: refused, nothing changes. */
	ASSERT_EQ(-1, hs_uring_bufs_put(s, (unsigned int)got[3]));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_NE(NULL, strstr(hs_uring_last_error(), "twice"));
	ASSERT_EQ(-1, hs_uring_bufs_put(s, 8));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(1, hs_uring_bufs_avail(s));
	ASSERT_EQ(got[3], hs_uring_bufs_get(s));
	ASSERT_EQ(-1, hs_uring_bufs_get(s));
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, hs_uring_bufs_put(s, (unsigned int)got[i]));
	}
	ASSERT_EQ(0, hs_uring_bufs_stats(s, &st));
	EXPECT_EQ(0, st.in_use);
	EXPECT_EQ(8, st.avail);
	EXPECT_EQ(9, st.taken);
	EXPECT_EQ(9, st.returned);
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

TEST_F(bufs, a_ring_set_hands_out_through_completions_only)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_RING, .bgid = 7 };
	struct io_uring_cqe fake = { 0 };
	struct hs_uring_bufs_stats st;
	unsigned int bid = 99;
	hs_uring_bufs_t *s;

	s = hs_uring_bufs_create(&self->ring, "ringonly", 5, 1000, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	ASSERT_EQ(0, hs_uring_bufs_stats(s, &st));
	EXPECT_EQ(8, st.ring_entries);	/* a power of two */
	EXPECT_EQ(0, st.fixed_iovecs);
	EXPECT_EQ(7, hs_uring_bufs_group(s));
	EXPECT_EQ(5, hs_uring_bufs_avail(s));
	EXPECT_EQ(-1, hs_uring_bufs_index(s, 0));	/* not fixed */
	EXPECT_EQ(-1, hs_uring_bufs_get(s));
	EXPECT_EQ(EINVAL, errno);
	/* A buffer the kernel did not hand out cannot be handed back. */
	EXPECT_EQ(-1, hs_uring_bufs_put(s, 0));
	EXPECT_EQ(EINVAL, errno);
	/* Completions: with no buffer, ENOBUFS, an id out of range. */
	fake.res = 10;
	EXPECT_EQ(NULL, hs_uring_bufs_cqe(s, &fake, &bid));
	EXPECT_EQ(ENODATA, errno);
	fake.res = -ENOBUFS;
	EXPECT_EQ(NULL, hs_uring_bufs_cqe(s, &fake, &bid));
	EXPECT_EQ(ENOBUFS, errno);
	fake.res = 10;
	fake.flags = IORING_CQE_F_BUFFER | (6U << IORING_CQE_BUFFER_SHIFT);
	EXPECT_EQ(NULL, hs_uring_bufs_cqe(s, &fake, &bid));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(99, bid);
	/* The group is this set's now. */
	errno = 0;
	EXPECT_EQ(NULL, hs_uring_bufs_create(&self->ring, "samegroup", 2, 64, &o));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_NE(NULL, strstr(hs_uring_last_error(), "group 7"));
	ASSERT_EQ(0, hs_uring_bufs_stats(s, &st));
	EXPECT_EQ(1, st.enobufs);
	EXPECT_EQ(0, st.in_use);
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
	/* Unregistered: the group is free again. */
	s = hs_uring_bufs_create(&self->ring, "samegroup", 2, 64, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

/* Two sets and the caller's own buffer in one table, through slots. */
TEST_F(bufs, sets_share_a_table_through_slots)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED | HS_UBUF_FIXED_SLOTS };
	hs_uring_bufs_t *a, *b;
	int ret;

	/* No table yet: the message says what to do. */
	o.fixed_base = 0;
	errno = 0;
	ASSERT_EQ(NULL, hs_uring_bufs_create(&self->ring, "slots_a", 4, 4096, &o));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_NE(NULL, strstr(hs_uring_last_error(), "io_uring_register_buffers_sparse"));

	ASSERT_EQ(0, io_uring_register_buffers_sparse(&self->ring, 8));
	o.fixed_base = 1;
	a = hs_uring_bufs_create(&self->ring, "slots_a", 4, 4096, &o);
	ASSERT_NE(NULL, a) TH_LOG("%s", hs_uring_last_error());
	ASSERT_EQ(1, hs_uring_bufs_index(a, 3));
	o.fixed_base = 2;
	b = hs_uring_bufs_create(&self->ring, "slots_b", 700, 3000, &o);
	ASSERT_NE(NULL, b) TH_LOG("%s", hs_uring_last_error());
	ASSERT_EQ(2, hs_uring_bufs_index(b, 0));
	ASSERT_EQ(3, hs_uring_bufs_index(b, 699));
	/* Past the table's end: refused, and nothing of it stays. */
	o.fixed_base = 7;
	errno = 0;
	ASSERT_EQ(NULL, hs_uring_bufs_create(&self->ring, "slots_c", 2000, 3000, &o));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, hs_uring_bufs_destroy(a));
	ASSERT_EQ(0, hs_uring_bufs_destroy(b));
	/* The slots are empty again: a set fits there again. */
	o.fixed_base = 1;
	a = hs_uring_bufs_create(&self->ring, "slots_a", 1400, 3000, &o);
	ASSERT_NE(NULL, a) TH_LOG("%s", hs_uring_last_error());
	ASSERT_EQ(0, hs_uring_bufs_destroy(a));
	ret = io_uring_unregister_buffers(&self->ring);
	ASSERT_EQ(0, ret);
}

TEST_F(bufs, in_the_callers_memory)
{
	struct hs_uring_bufs_opts o = {
		.flags = HS_UBUF_FIXED | HS_UBUF_RING | HS_UBUF_MEM, .bgid = 1,
	};
	struct hs_uring_bufs_stats st;
	size_t need = hs_uring_bufs_bytes(40, 65536, &o);
	hs_uring_bufs_t *s;
	char *mem;

	ASSERT_LT(40u * 65536, need);
	mem = mmap(NULL, need + 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	/* Too small, or misaligned: refused. */
	o.mem = mem;
	o.mem_bytes = need - 1;
	ASSERT_EQ(NULL, hs_uring_bufs_create(&self->ring, "mem", 40, 65536, &o));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_NE(NULL, strstr(hs_uring_last_error(), "hs_uring_bufs_bytes"));
	o.mem = mem + 64;
	o.mem_bytes = need;
	ASSERT_EQ(NULL, hs_uring_bufs_create(&self->ring, "mem", 40, 65536, &o));
	ASSERT_EQ(EINVAL, errno);
	o.mem = mem;
	s = hs_uring_bufs_create(&self->ring, "mem", 40, 65536, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	ASSERT_EQ(mem, hs_uring_bufs_buf(s, 0));
	ASSERT_EQ(0, hs_uring_bufs_stats(s, &st));
	EXPECT_EQ(HS_BACKEND_NONE, (hs_backend_t)st.backend);
	EXPECT_EQ(need, st.bytes);
	/* The buffers went into the ring, which is in that memory. */
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
	ASSERT_EQ(0, munmap(mem, need + 4096));
}

TEST_F(bufs, bad_arguments)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED };
	struct {
		const char *what;
		unsigned int count;
		size_t size;
		struct hs_uring_bufs_opts o;
		const char *name;
	} bad[] = {
		{ "no buffers", 0, 4096, o, "x" },
		{ "empty buffers", 4, 0, o, "x" },
		{ "no flags", 4, 4096, { .flags = 0 }, "x" },
		{ "unknown flag", 4, 4096, { .flags = HS_UBUF_FIXED | (1U << 20) }, "x" },
		{ "reserved", 4, 4096, { .flags = HS_UBUF_FIXED, .reserved = { 0, 1 } }, "x" },
		{ "pad", 4, 4096, { .flags = HS_UBUF_RING, .pad = 1 }, "x" },
		{ "align", 4, 4096, { .flags = HS_UBUF_FIXED, .align = 3000 }, "x" },
		{ "align > 2M", 4, 4096, { .flags = HS_UBUF_FIXED, .align = 4 << 20 }, "x" },
		{ "ring too big", HS_UBUF_RING_MAX + 1, 64, { .flags = HS_UBUF_RING }, "x" },
		{ "ring buffer > 4G", 1, 1ULL << 32, { .flags = HS_UBUF_RING }, "x" },
		{ "fixed > 1G", 1, (1ULL << 30) + 1, o, "x" },
		{ "table too big", HS_UBUF_FIXED_MAX + 1, 64,
		  { .flags = HS_UBUF_FIXED | HS_UBUF_IOV_EACH }, "x" },
		{ "slots without fixed", 4, 64, { .flags = HS_UBUF_RING | HS_UBUF_FIXED_SLOTS }, "x" },
		{ "each without fixed", 4, 64, { .flags = HS_UBUF_RING | HS_UBUF_IOV_EACH }, "x" },
		{ "kernel ring without ring", 4, 64, { .flags = HS_UBUF_FIXED | HS_UBUF_RING_KERNEL }, "x" },
		{ "negative node", 4, 64, { .flags = HS_UBUF_FIXED | HS_UBUF_NODE, .node = -1 }, "x" },
		{ "mem without memory", 4, 64, { .flags = HS_UBUF_FIXED | HS_UBUF_MEM }, "x" },
		{ "empty name", 4, 64, o, "" },
		{ "long name", 4, 64, o, "0123456789012345678901234567890123" },
		{ "too big", 2, SIZE_MAX / 2, { .flags = HS_UBUF_RING }, "x" },
	};
	struct hs_usnap now;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ASSERT_EQ(NULL, hs_uring_bufs_create(&self->ring, bad[i].name,
						     bad[i].count, bad[i].size,
						     &bad[i].o))
			TH_LOG("%s: accepted", bad[i].what);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s: %s", bad[i].what,
						hs_uring_last_error());
		EXPECT_NE(0, strlen(hs_uring_last_error()));
	}
	errno = 0;
	ASSERT_EQ(NULL, hs_uring_bufs_create(NULL, "x", 4, 64, &o));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, hs_uring_bufs_bytes(0, 64, &o));
	EXPECT_EQ(EINVAL, errno);
	/* Nothing was mapped, pinned or registered on the way. */
	hs_usnap(&now);
	EXPECT_TRUE(hs_usnap_same(&self->base, &now))
		TH_LOG("after: " HS_USNAP_FMT, HS_USNAP_ARGS(&now));
	/* And the ring still takes a table of its own. */
	EXPECT_EQ(0, hs_uring_bufs_destroy(
			     hs_uring_bufs_create(&self->ring, "after", 4, 64, &o)));
	EXPECT_EQ(0, hs_uring_bufs_destroy(NULL));
}

/* A call that succeeds leaves errno and the last message alone. */
TEST_F(bufs, success_leaves_errno_and_message)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED | HS_UBUF_RING };
	hs_uring_bufs_t *s;

	ASSERT_EQ(NULL, hs_uring_bufs_create(&self->ring, "", 1, 1, &o));
	ASSERT_NE(NULL, strstr(hs_uring_last_error(), "name"));
	errno = 4321;
	s = hs_uring_bufs_create(&self->ring, "quiet", 4, 4096, &o);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(4321, errno);
	ASSERT_NE(NULL, strstr(hs_uring_last_error(), "name"));
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
	ASSERT_EQ(4321, errno);
	ASSERT_NE(0, hs_uring_features());
	ASSERT_EQ(4321, errno);
}

/*
 * The library never looks at the kernel's version; this test does, to
 * check that what the probe found is what each kernel is known to have:
 * Debian's 6.1 and 6.12 differ in kernel-allocated buffer rings (6.4).
 */
TEST(probe_agrees_with_the_kernel)
{
	unsigned int f = hs_uring_features(), major = 0, minor = 0, b;
	struct utsname u;

	ASSERT_EQ(0, uname(&u));
	ASSERT_EQ(2, sscanf(u.release, "%u.%u", &major, &minor));
	for (b = 1; b <= HS_UFEAT_SEND_ZC; b <<= 1)
		TH_LOG("%s: %s", hs_uring_feature_name(b), f & b ? "yes" : "no");
	ASSERT_STREQ("?", hs_uring_feature_name(1U << 20));
	/* Everything this project runs on is 6.1 or later. */
	ASSERT_LE(601, major * 100 + minor);
	EXPECT_TRUE(f & HS_UFEAT_FIXED);
	EXPECT_TRUE(f & HS_UFEAT_BUF_RING);
	EXPECT_TRUE(f & HS_UFEAT_RECV_MULTISHOT);
	EXPECT_TRUE(f & HS_UFEAT_ACCEPT_MULTISHOT);
	EXPECT_TRUE(f & HS_UFEAT_SEND_ZC);
	EXPECT_EQ(major * 100 + minor >= 604, !!(f & HS_UFEAT_BUF_RING_KERNEL))
		TH_LOG("kernel %s", u.release);
}

TEST_HARNESS_MAIN
