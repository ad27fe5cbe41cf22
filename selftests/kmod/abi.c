// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the ioctl and mmap ABI of /dev/hugeslab - what query
 * reports, that unknown flag bits and non-zero padding are refused, that a
 * struct's size is its version (smaller and bigger structs, the zeroed-tail
 * rule), and the errno of every bad request. A refused request must leave
 * nothing behind.
 */
#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

FIXTURE(dev) {
	int fd;
	struct hs_snap base;
};

FIXTURE_SETUP(dev)
{
	self->fd = hs_open();
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: is hugeslab.ko loaded?",
		     HUGESLAB_DEVICE);
	ASSERT_LE(0, self->fd);
	if (hs_snap(&self->base))
		SKIP(return, "%s/stats unreadable: debugfs not mounted?",
		     HS_DEBUGFS);
}

/* Whatever a test did, once its process is gone nothing may be held. */
FIXTURE_TEARDOWN_PARENT(dev)
{
	HS_EXPECT_BASELINE(&self->base);
}

/* ---- query ----------------------------------------------------------- */

TEST_F(dev, query_reports_version_and_features)
{
	struct hugeslab_query q;

	ASSERT_EQ(0, hs_query(self->fd, &q));
	EXPECT_EQ(1U, q.abi_version);
	EXPECT_EQ(HUGESLAB_ABI_VERSION, (int)q.abi_version);
	EXPECT_EQ(HUGESLAB_FEAT_REGIONS, q.features & HUGESLAB_FEAT_REGIONS);
	EXPECT_EQ(HUGESLAB_FEAT_PIN, q.features & HUGESLAB_FEAT_PIN);
	EXPECT_NE(0ULL, q.page_sizes & HS_2M)
		TH_LOG("page_sizes 0x%llx lacks 2 MiB",
		       (unsigned long long)q.page_sizes);
	EXPECT_EQ(0U, q.flags);
	EXPECT_EQ(0U, q.pad);
	EXPECT_LE(1U, q.nr_nodes);
	/* A fresh open owns nothing. */
	EXPECT_EQ(0ULL, q.fd_bytes);
	EXPECT_EQ(0ULL, q.fd_regions);
}

TEST_F(dev, query_matches_params_and_debugfs)
{
	struct hugeslab_query q;

	ASSERT_EQ(0, hs_query(self->fd, &q));
	/* The reserve is whole 2 MiB pages: an odd reserve_mb rounds down. */
	EXPECT_EQ(((unsigned long long)hs_param("reserve_mb") << 20) & ~(HS_2M - 1),
		  q.reserve_bytes);
	EXPECT_EQ((unsigned long long)hs_param("max_mb") << 20, q.max_bytes);
	EXPECT_EQ(hs_stat("reserved_bytes"), (long long)q.reserve_bytes);
	EXPECT_EQ(hs_stat("max_bytes"), (long long)q.max_bytes);
	EXPECT_EQ(hs_stat("used_bytes"), (long long)q.used_bytes);
	EXPECT_EQ(hs_stat("regions"), (long long)q.regions);
	EXPECT_EQ(hs_stat("failed_requests"), (long long)q.failed);
	EXPECT_EQ(hs_stat("abi_version"), (long long)q.abi_version);
}

TEST_F(dev, query_counts_per_file_and_global)
{
	struct hugeslab_create c;
	struct hugeslab_query q;
	int other;

	ASSERT_EQ(0, hs_create(self->fd, 2 * HS_2M, &c));
	ASSERT_EQ(0, hs_query(self->fd, &q));
	EXPECT_EQ(2 * HS_2M, q.fd_bytes);
	EXPECT_EQ(1ULL, q.fd_regions);
	EXPECT_EQ(self->base.used_bytes + (long long)(2 * HS_2M),
		  (long long)q.used_bytes);
	EXPECT_EQ(self->base.regions + 1, (long long)q.regions);

	/* Another open sees the global totals but owns nothing. */
	other = hs_open();
	ASSERT_LE(0, other);
	ASSERT_EQ(0, hs_query(other, &q));
	EXPECT_EQ(0ULL, q.fd_bytes);
	EXPECT_EQ(0ULL, q.fd_regions);
	EXPECT_EQ(self->base.regions + 1, (long long)q.regions);
	close(other);

	ASSERT_EQ(0, hs_destroy(self->fd, c.id));
	ASSERT_EQ(0, hs_query(self->fd, &q));
	EXPECT_EQ(0ULL, q.fd_bytes);
	EXPECT_EQ(0ULL, q.fd_regions);
}

TEST_F(dev, query_unknown_flags)
{
	struct hugeslab_query q;
	int bit;

	for (bit = 0; bit < 32; bit++) {
		memset(&q, 0, sizeof(q));
		q.flags = 1U << bit;
		EXPECT_EQ(-1, ioctl(self->fd, HUGESLAB_IOC_QUERY, &q))
			TH_LOG("flag bit %d accepted", bit);
		EXPECT_EQ(EINVAL, errno);
	}
}

TEST_F(dev, query_nonzero_pad)
{
	struct hugeslab_query q;

	memset(&q, 0, sizeof(q));
	q.pad = 1;
	EXPECT_EQ(-1, ioctl(self->fd, HUGESLAB_IOC_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
	q.pad = 0x80000000U;
	EXPECT_EQ(-1, ioctl(self->fd, HUGESLAB_IOC_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * An older binary's smaller struct: accepted, and the kernel writes only
 * the bytes it was given - the guard bytes after them stay as they were.
 */
TEST_F(dev, query_smaller_struct)
{
	static const size_t sizes[] = { 8, 12, 16, 24,
		offsetof(struct hugeslab_query, nr_nodes) };
	struct hugeslab_query full;
	unsigned char buf[sizeof(full) + 32];
	unsigned int i;
	size_t j;

	ASSERT_EQ(0, hs_query(self->fd, &full));
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t size = sizes[i];
		struct hugeslab_query got;

		memset(buf, 0, size);
		memset(buf + size, 0xa5, sizeof(buf) - size);
		ASSERT_EQ(0, ioctl(self->fd, HS_IOC_QUERY_SZ(size), buf))
			TH_LOG("size %zu: %s", size, strerror(errno));
		for (j = size; j < sizeof(buf); j++) {
			ASSERT_EQ(0xa5, buf[j])
				TH_LOG("size %zu: byte %zu overwritten", size,
				       j);
		}
		memset(&got, 0, sizeof(got));
		memcpy(&got, buf, size);
		EXPECT_EQ(0U, got.flags);
		EXPECT_EQ(1U, got.abi_version);
		if (size >= 16) {
			EXPECT_EQ(full.features, got.features);
		}
		if (size >= 24) {
			EXPECT_EQ(full.page_sizes, got.page_sizes);
		}
	}
}

TEST_F(dev, query_too_small)
{
	struct hugeslab_query q;
	size_t size;

	for (size = 0; size < HUGESLAB_QUERY_SIZE_VER0; size++) {
		memset(&q, 0, sizeof(q));
		EXPECT_EQ(-1, ioctl(self->fd, HS_IOC_QUERY_SZ(size), &q))
			TH_LOG("size %zu accepted", size);
		EXPECT_EQ(EINVAL, errno);
	}
}

/* A newer binary's bigger struct: fine if the tail is zero. */
TEST_F(dev, query_bigger_struct_zero_tail)
{
	unsigned char buf[sizeof(struct hugeslab_query) + 16];
	struct hugeslab_query *q = (struct hugeslab_query *)buf;
	size_t j;

	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(0, ioctl(self->fd, HS_IOC_QUERY_SZ(sizeof(buf)), buf))
		TH_LOG("%s", strerror(errno));
	EXPECT_EQ(1U, q->abi_version);
	EXPECT_NE(0ULL, q->page_sizes & HS_2M);
	/* The kernel does not know the tail and must not write it. */
	for (j = sizeof(*q); j < sizeof(buf); j++) {
		EXPECT_EQ(0, buf[j]) TH_LOG("byte %zu written", j);
	}
}

TEST_F(dev, query_bigger_struct_nonzero_tail)
{
	unsigned char buf[sizeof(struct hugeslab_query) + 16];
	size_t pos;

	for (pos = sizeof(struct hugeslab_query); pos < sizeof(buf); pos++) {
		memset(buf, 0, sizeof(buf));
		buf[pos] = 1;
		EXPECT_EQ(-1, ioctl(self->fd, HS_IOC_QUERY_SZ(sizeof(buf)),
				    buf))
			TH_LOG("non-zero byte %zu accepted", pos);
		EXPECT_EQ(E2BIG, errno);
	}
}

/* ---- create ---------------------------------------------------------- */

TEST_F(dev, create_unknown_flags)
{
	struct hugeslab_create c;
	int bit;

	for (bit = 0; bit < 32; bit++) {
		if (HUGESLAB_CREATE_VALID & (1U << bit))
			continue;
		memset(&c, 0, sizeof(c));
		c.bytes = HS_2M;
		c.node = HUGESLAB_NODE_ANY;
		c.flags = 1U << bit;
		EXPECT_EQ(-1, ioctl(self->fd, HUGESLAB_IOC_CREATE, &c))
			TH_LOG("flag bit %d accepted", bit);
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(self->base.regions, hs_stat("regions"));
}

TEST_F(dev, create_nonzero_pad)
{
	struct hugeslab_create c;

	memset(&c, 0, sizeof(c));
	c.bytes = HS_2M;
	c.node = HUGESLAB_NODE_ANY;
	c.pad = 1;
	EXPECT_EQ(-1, ioctl(self->fd, HUGESLAB_IOC_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(self->base.regions, hs_stat("regions"));
}

TEST_F(dev, create_too_small)
{
	static const size_t sizes[] = { 0, 8, 16,
		HUGESLAB_CREATE_SIZE_VER0 - 8,
		HUGESLAB_CREATE_SIZE_VER0 - 1 };
	struct hugeslab_create c;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(&c, 0, sizeof(c));
		c.bytes = HS_2M;
		c.node = HUGESLAB_NODE_ANY;
		EXPECT_EQ(-1, ioctl(self->fd, HS_IOC_CREATE_SZ(sizes[i]), &c))
			TH_LOG("size %zu accepted", sizes[i]);
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(self->base.regions, hs_stat("regions"));
}

TEST_F(dev, create_bigger_struct)
{
	unsigned char buf[sizeof(struct hugeslab_create) + 8];
	struct hugeslab_create *c = (struct hugeslab_create *)buf;
	size_t j;

	memset(buf, 0, sizeof(buf));
	c->bytes = HS_2M;
	c->node = HUGESLAB_NODE_ANY;
	buf[sizeof(buf) - 1] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, HS_IOC_CREATE_SZ(sizeof(buf)), buf));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(self->base.regions, hs_stat("regions"));

	buf[sizeof(buf) - 1] = 0;
	ASSERT_EQ(0, ioctl(self->fd, HS_IOC_CREATE_SZ(sizeof(buf)), buf))
		TH_LOG("%s", strerror(errno));
	EXPECT_NE(0ULL, c->id);
	EXPECT_EQ(HS_2M, c->page_size);
	for (j = sizeof(*c); j < sizeof(buf); j++) {
		EXPECT_EQ(0, buf[j]) TH_LOG("byte %zu written", j);
	}
	EXPECT_EQ(0, hs_destroy(self->fd, c->id));
}

TEST_F(dev, create_bad_sizes)
{
	static const unsigned long long sizes[] = {
		0, 1, 4096, HS_MIB, HS_2M - 4096, HS_2M + 4096,
		3 * HS_MIB, 4 * HS_2M + HS_MIB, ~0ULL,
		~0ULL - HS_2M + 1,	/* 2 MiB multiple, beyond anything */
	};
	struct hugeslab_create c;
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		err = hs_create(self->fd, sizes[i], &c);
		/* The last one is a valid size that cannot be had. */
		if (i == ARRAY_SIZE(sizes) - 1) {
			EXPECT_TRUE(err == -EINVAL || err == -ENOMEM ||
				    err == -EDQUOT)
				TH_LOG("bytes 0x%llx: %d", sizes[i], err);
		} else {
			EXPECT_EQ(-EINVAL, err)
				TH_LOG("bytes 0x%llx", sizes[i]);
		}
	}
	EXPECT_EQ(self->base.regions, hs_stat("regions"));
	EXPECT_EQ(self->base.used_bytes, hs_stat("used_bytes"));
}

/* The lowest node number the machine does not have. */
static int absent_node(void)
{
	char path[64];
	struct stat st;
	int n;

	for (n = 0; n < 4096; n++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d",
			 n);
		if (stat(path, &st))
			return n;
	}
	return 4096;
}

TEST_F(dev, create_bad_node)
{
	const int nodes[] = { -2, -100, INT_MIN, INT_MAX, 1 << 20,
			      absent_node() };
	struct hugeslab_create c;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nodes); i++) {
		EXPECT_EQ(-EINVAL, hs_create_node(self->fd, HS_2M, nodes[i],
						  &c))
			TH_LOG("node %d", nodes[i]);
	}
	EXPECT_EQ(self->base.regions, hs_stat("regions"));
}

TEST_F(dev, create_on_node)
{
	struct hugeslab_create c;
	struct stat st;

	ASSERT_EQ(0, stat("/sys/devices/system/node/node0", &st));
	ASSERT_EQ(0, hs_create_node(self->fd, HS_2M, 0, &c));
	EXPECT_EQ(0, c.page_node);
	EXPECT_EQ(0, hs_destroy(self->fd, c.id));
}

TEST_F(dev, create_fills_out_fields)
{
	struct hugeslab_create a, b;

	ASSERT_EQ(0, hs_create(self->fd, HS_2M, &a));
	ASSERT_EQ(0, hs_create(self->fd, 2 * HS_2M, &b));
	EXPECT_NE(0ULL, a.id);
	EXPECT_NE(a.id, b.id);
	EXPECT_NE(a.offset, b.offset);
	EXPECT_EQ(0ULL, a.offset & (HS_2M - 1));
	EXPECT_EQ(0ULL, b.offset & (HS_2M - 1));
	EXPECT_EQ(HS_2M, a.page_size);
	EXPECT_EQ(HS_2M, b.page_size);
	EXPECT_EQ(HS_2M, a.bytes);
	EXPECT_EQ(2 * HS_2M, b.bytes);
	EXPECT_EQ(0U, a.pad);
	EXPECT_EQ(0, hs_destroy(self->fd, a.id));
	EXPECT_EQ(0, hs_destroy(self->fd, b.id));
}

/* ---- destroy --------------------------------------------------------- */

TEST_F(dev, destroy_unknown_flags_and_pad)
{
	struct hugeslab_create c;
	struct hugeslab_destroy d;
	int bit;

	ASSERT_EQ(0, hs_create(self->fd, HS_2M, &c));
	for (bit = 0; bit < 32; bit++) {
		memset(&d, 0, sizeof(d));
		d.id = c.id;
		d.flags = 1U << bit;
		EXPECT_EQ(-1, ioctl(self->fd, HUGESLAB_IOC_DESTROY, &d))
			TH_LOG("flag bit %d accepted", bit);
		EXPECT_EQ(EINVAL, errno);
	}
	memset(&d, 0, sizeof(d));
	d.id = c.id;
	d.pad = 1;
	EXPECT_EQ(-1, ioctl(self->fd, HUGESLAB_IOC_DESTROY, &d));
	EXPECT_EQ(EINVAL, errno);
	/* None of that destroyed it. */
	EXPECT_EQ(self->base.regions + 1, hs_stat("regions"));
	EXPECT_EQ(0, hs_destroy(self->fd, c.id));
}

TEST_F(dev, destroy_struct_sizes)
{
	unsigned char buf[sizeof(struct hugeslab_destroy) + 8];
	struct hugeslab_destroy *d = (struct hugeslab_destroy *)buf;
	struct hugeslab_create c;

	ASSERT_EQ(0, hs_create(self->fd, HS_2M, &c));
	memset(buf, 0, sizeof(buf));
	d->id = c.id;
	EXPECT_EQ(-1, ioctl(self->fd, HS_IOC_DESTROY_SZ(8), buf));
	EXPECT_EQ(EINVAL, errno);
	buf[sizeof(buf) - 1] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, HS_IOC_DESTROY_SZ(sizeof(buf)), buf));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(self->base.regions + 1, hs_stat("regions"));
	buf[sizeof(buf) - 1] = 0;
	EXPECT_EQ(0, ioctl(self->fd, HS_IOC_DESTROY_SZ(sizeof(buf)), buf))
		TH_LOG("%s", strerror(errno));
}

/*
 * A binary built against the first version of the ABI passes the first
 * version's sizes, whatever the module's structs have grown to since: the
 * module takes them (the fields it has since added read as zero) and
 * writes back no more than was passed.
 */
TEST_F(dev, first_version_sizes)
{
	unsigned char buf[HUGESLAB_CREATE_SIZE_VER0 + 64];
	struct hugeslab_create *c = (struct hugeslab_create *)buf;
	struct hugeslab_destroy *d = (struct hugeslab_destroy *)buf;
	unsigned long long id;
	size_t j;

	memset(buf, 0xa5, sizeof(buf));
	memset(buf, 0, HUGESLAB_CREATE_SIZE_VER0);
	c->bytes = HS_2M;
	c->node = HUGESLAB_NODE_ANY;
	ASSERT_EQ(0, ioctl(self->fd, HS_IOC_CREATE_SZ(HUGESLAB_CREATE_SIZE_VER0),
			   buf)) TH_LOG("create, %d bytes: %s",
					HUGESLAB_CREATE_SIZE_VER0,
					strerror(errno));
	id = c->id;
	EXPECT_NE(0ULL, id);
	EXPECT_EQ(HS_2M, c->page_size);
	EXPECT_EQ(id << 40, c->offset);
	for (j = HUGESLAB_CREATE_SIZE_VER0; j < sizeof(buf); j++) {
		EXPECT_EQ(0xa5, buf[j]) TH_LOG("byte %zu written", j);
	}

	memset(buf, 0, sizeof(buf));
	d->id = id;
	EXPECT_EQ(-1, ioctl(self->fd,
			    HS_IOC_DESTROY_SZ(HUGESLAB_DESTROY_SIZE_VER0 - 1),
			    buf));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, ioctl(self->fd,
			   HS_IOC_DESTROY_SZ(HUGESLAB_DESTROY_SIZE_VER0), buf))
		TH_LOG("destroy, %d bytes: %s", HUGESLAB_DESTROY_SIZE_VER0,
		       strerror(errno));
	EXPECT_EQ(self->base.regions, hs_stat("regions"));
}

TEST_F(dev, destroy_unknown_id)
{
	struct hugeslab_create c;
	int other;

	EXPECT_EQ(-ENOENT, hs_destroy(self->fd, 0));
	EXPECT_EQ(-ENOENT, hs_destroy(self->fd, 123456));
	EXPECT_EQ(-ENOENT, hs_destroy(self->fd, ~0ULL));

	/* A region is only reachable through the file that created it. */
	other = hs_open();
	ASSERT_LE(0, other);
	ASSERT_EQ(0, hs_create(other, HS_2M, &c));
	EXPECT_EQ(-ENOENT, hs_destroy(self->fd, c.id));
	EXPECT_EQ(0, hs_destroy(other, c.id));
	/* And only once. */
	EXPECT_EQ(-ENOENT, hs_destroy(other, c.id));
	close(other);
}

/* ---- unknown commands ------------------------------------------------ */

TEST_F(dev, unknown_ioctl)
{
	unsigned char buf[256];
	unsigned int nr;

	memset(buf, 0, sizeof(buf));
	for (nr = 0x03; nr < 0x10; nr++) {
		EXPECT_EQ(-1, ioctl(self->fd, HS_IOC_SIZED(nr,
				_IOC_READ | _IOC_WRITE, 64), buf))
			TH_LOG("nr 0x%x accepted", nr);
		EXPECT_EQ(ENOTTY, errno);
	}
	/* Known numbers with the wrong direction or the wrong magic. */
	EXPECT_EQ(-1, ioctl(self->fd, _IOR(HUGESLAB_IOC_MAGIC, 0x00,
					    struct hugeslab_query), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(HUGESLAB_IOC_MAGIC, 0x02,
					     struct hugeslab_destroy), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(HUGESLAB_IOC_MAGIC + 1, 0x00,
					     struct hugeslab_query), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, 0, buf));
	EXPECT_EQ(ENOTTY, errno);
	/* Not an ioctl that hands the file to something else. */
	EXPECT_EQ(-1, ioctl(self->fd, FIONREAD, buf));
	EXPECT_EQ(ENOTTY, errno);
}

/* ---- mmap ------------------------------------------------------------ */

static int map_errno(int fd, size_t len, int flags, unsigned long long off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);

	if (p != MAP_FAILED) {
		munmap(p, len);
		return 0;
	}
	return errno;
}

/*
 * A read-only open may query and map read-only, but not take or give back
 * memory: create and destroy need the file open for writing.
 */
TEST_F(dev, read_only_open)
{
	struct hugeslab_create c;
	struct hugeslab_destroy d = { 0 };
	struct hugeslab_query q;
	int ro = open(HUGESLAB_DEVICE, O_RDONLY | O_CLOEXEC);
	void *p;

	ASSERT_GE(ro, 0);
	ASSERT_EQ(0, hs_query(ro, &q));
	ASSERT_EQ(-EBADF, hs_create(ro, HS_2M, &c));
	d.id = 1;
	EXPECT_EQ(-1, ioctl(ro, HUGESLAB_IOC_DESTROY, &d));
	EXPECT_EQ(EBADF, errno);
	/* The stats area maps read-only and shared; not writable. */
	p = mmap(NULL, HUGESLAB_STATS_BYTES, PROT_READ, MAP_SHARED, ro,
		 HUGESLAB_STATS_OFFSET);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, HUGESLAB_STATS_BYTES,
				   PROT_READ | PROT_WRITE, MAP_SHARED, ro,
				   HUGESLAB_STATS_OFFSET));
	munmap(p, HUGESLAB_STATS_BYTES);
	close(ro);
}

/*
 * The stats area is the kernel's memory, not the mapping's: zapping the
 * mapping (MADV_DONTNEED) loses nothing and the next touch maps it again.
 */
TEST_F(dev, stats_area_survives_dontneed)
{
	struct hugeslab_pool_stat *st;

	st = mmap(NULL, HUGESLAB_STATS_BYTES, PROT_READ | PROT_WRITE,
		  MAP_SHARED, self->fd, HUGESLAB_STATS_OFFSET);
	ASSERT_NE(MAP_FAILED, st);
	st[0].obj_size = 4242;
	st[HUGESLAB_STATS_SLOTS - 1].total = 77;
	ASSERT_EQ(0, madvise(st, HUGESLAB_STATS_BYTES, MADV_DONTNEED));
	EXPECT_EQ(4242, st[0].obj_size);
	EXPECT_EQ(77, st[HUGESLAB_STATS_SLOTS - 1].total);
	st[0].obj_size = 0;
	st[HUGESLAB_STATS_SLOTS - 1].total = 0;
	munmap(st, HUGESLAB_STATS_BYTES);
}

TEST_F(dev, mmap_bad_requests)
{
	struct hugeslab_create c;
	int other;

	ASSERT_EQ(0, hs_create(self->fd, 2 * HS_2M, &c));

	/* An offset far past this region, that no create returned. */
	EXPECT_EQ(EINVAL, map_errno(self->fd, HS_2M, MAP_SHARED,
				    c.offset + (1000ULL << 40)));
	/* Not on a page boundary of the region. */
	EXPECT_EQ(EINVAL, map_errno(self->fd, HS_2M, MAP_SHARED,
				    c.offset + 4096));
	EXPECT_EQ(EINVAL, map_errno(self->fd, HS_2M, MAP_SHARED,
				    c.offset + HS_MIB));
	/* Lengths that are not whole 2 MiB pages. */
	EXPECT_EQ(EINVAL, map_errno(self->fd, 4096, MAP_SHARED, c.offset));
	EXPECT_EQ(EINVAL, map_errno(self->fd, HS_2M + 4096, MAP_SHARED,
				    c.offset));
	EXPECT_EQ(EINVAL, map_errno(self->fd, HS_2M - 4096, MAP_SHARED,
				    c.offset));
	/* Beyond the region's end. */
	EXPECT_EQ(EINVAL, map_errno(self->fd, 3 * HS_2M, MAP_SHARED,
				    c.offset));
	EXPECT_EQ(EINVAL, map_errno(self->fd, 2 * HS_2M, MAP_SHARED,
				    c.offset + HS_2M));
	EXPECT_EQ(EINVAL, map_errno(self->fd, HS_2M, MAP_SHARED,
				    c.offset + 2 * HS_2M));
	/* Private mappings would copy huge pages on write. */
	EXPECT_EQ(EINVAL, map_errno(self->fd, HS_2M, MAP_PRIVATE, c.offset));
	EXPECT_EQ(EINVAL, map_errno(self->fd, 2 * HS_2M, MAP_PRIVATE,
				    c.offset));

	/* Another open file cannot map this one's region. */
	other = hs_open();
	ASSERT_LE(0, other);
	EXPECT_EQ(EINVAL, map_errno(other, HS_2M, MAP_SHARED, c.offset));
	close(other);

	/* None of that left a mapping behind; the good request works. */
	EXPECT_EQ(0, map_errno(self->fd, 2 * HS_2M, MAP_SHARED, c.offset));
	EXPECT_EQ(0, hs_destroy(self->fd, c.id));
	/* A destroyed region cannot be mapped any more. */
	EXPECT_EQ(EINVAL, map_errno(self->fd, HS_2M, MAP_SHARED, c.offset));
}

TEST_HARNESS_MAIN
