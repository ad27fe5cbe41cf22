// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: admission limits. max_mb can be changed at runtime and a
 * request beyond it fails with EDQUOT; a request the hugetlb pool cannot
 * satisfy fails with ENOMEM; the reserve taken at load still satisfies
 * requests when someone else has emptied the pool. Every refusal counts in
 * failed_requests and leaves the totals and the pool as they were.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

#define MAX_MB_PATH HS_PARAMS "/max_mb"

FIXTURE(limits) {
	int fd;
	long long saved_max_mb;
	struct hs_snap base;
};

FIXTURE_SETUP(limits)
{
	self->saved_max_mb = -1;
	self->fd = hs_open();
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: is hugeslab.ko loaded?",
		     HUGESLAB_DEVICE);
	ASSERT_LE(0, self->fd);
	if (hs_snap(&self->base))
		SKIP(return, "%s/stats unreadable: debugfs not mounted?",
		     HS_DEBUGFS);
	self->saved_max_mb = hs_param("max_mb");
	ASSERT_LE(0, self->saved_max_mb);
}

/*
 * Runs in the parent, so max_mb is restored even if the test process died.
 * The test's files and mappings went with it.
 */
FIXTURE_TEARDOWN_PARENT(limits)
{
	char buf[32];

	if (self->saved_max_mb >= 0) {
		snprintf(buf, sizeof(buf), "%lld", self->saved_max_mb);
		EXPECT_EQ(0, hs_write_file(MAX_MB_PATH, buf));
	}
	HS_EXPECT_BASELINE(&self->base);
}

static int set_max_mb(unsigned long long mb)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", mb);
	return hs_write_file(MAX_MB_PATH, buf);
}

TEST_F(limits, max_mb_is_enforced)
{
	const unsigned long long max_mb = 6;	/* three 2 MiB pages */
	struct hugeslab_create a, b, refused;
	struct hugeslab_query q;
	struct hs_snap before, now;

	ASSERT_EQ(0ULL, (unsigned long long)self->base.used_bytes)
		TH_LOG("another user holds regions");
	ASSERT_EQ(0, set_max_mb(max_mb));
	EXPECT_EQ((long long)max_mb, hs_param("max_mb"));
	ASSERT_EQ(0, hs_query(self->fd, &q));
	EXPECT_EQ(max_mb << 20, q.max_bytes);
	EXPECT_EQ((long long)(max_mb << 20), hs_stat("max_bytes"));

	/* Up to the limit is fine... */
	ASSERT_EQ(0, hs_create(self->fd, 2 * HS_2M, &a));
	ASSERT_EQ(0, hs_snap(&before));

	/* ...one page more is not, and the refusal changes nothing else. */
	EXPECT_EQ(-EDQUOT, hs_create(self->fd, 2 * HS_2M, &refused));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(before.failed + 1, now.failed);
	EXPECT_EQ(before.used_bytes, now.used_bytes);
	EXPECT_EQ(before.regions, now.regions);
	EXPECT_EQ(before.hp_free, now.hp_free);
	EXPECT_EQ(before.hp_rsvd, now.hp_rsvd);
	ASSERT_EQ(0, hs_query(self->fd, &q));
	EXPECT_EQ((unsigned long long)now.failed, q.failed);
	EXPECT_EQ(2 * HS_2M, q.fd_bytes);
	EXPECT_EQ(1ULL, q.fd_regions);

	/* Exactly filling it is fine. */
	ASSERT_EQ(0, hs_create(self->fd, HS_2M, &b));
	EXPECT_EQ(-EDQUOT, hs_create(self->fd, HS_2M, &refused));
	EXPECT_EQ(before.failed + 2, hs_stat("failed_requests"));
	ASSERT_EQ(0, hs_destroy(self->fd, b.id));

	/* Lowering the limit below use refuses new requests, keeps old. */
	ASSERT_EQ(0, set_max_mb(2));
	EXPECT_EQ(-EDQUOT, hs_create(self->fd, HS_2M, &refused));
	ASSERT_EQ(0, hs_destroy(self->fd, a.id));
	ASSERT_EQ(0, hs_create(self->fd, HS_2M, &b));
	ASSERT_EQ(0, hs_destroy(self->fd, b.id));

	/* 0 means no limit. */
	ASSERT_EQ(0, set_max_mb(0));
	ASSERT_EQ(0, hs_query(self->fd, &q));
	EXPECT_EQ(0ULL, q.max_bytes);
	ASSERT_EQ(0, hs_create(self->fd, 4 * HS_2M, &a));
	ASSERT_EQ(0, hs_destroy(self->fd, a.id));
}

TEST_F(limits, single_request_over_max_mb)
{
	struct hugeslab_create c;

	ASSERT_EQ(0, set_max_mb(4));
	EXPECT_EQ(-EDQUOT, hs_create(self->fd, 3 * HS_2M, &c));
	EXPECT_EQ(self->base.failed + 1, hs_stat("failed_requests"));
	EXPECT_EQ(self->base.used_bytes, hs_stat("used_bytes"));
	EXPECT_EQ(self->base.regions, hs_stat("regions"));
	/* An invalid request is refused before the limit and not counted. */
	EXPECT_EQ(-EINVAL, hs_create(self->fd, 4096, &c));
	EXPECT_EQ(self->base.failed + 1, hs_stat("failed_requests"));
}

/* max_mb only takes numbers. */
TEST_F(limits, max_mb_rejects_garbage)
{
	EXPECT_NE(0, hs_write_file(MAX_MB_PATH, "lots"));
	EXPECT_NE(0, hs_write_file(MAX_MB_PATH, "-1"));
	EXPECT_EQ(self->saved_max_mb, hs_param("max_mb"));
}

TEST_F(limits, more_than_the_pool)
{
	long long total = hs_meminfo("HugePages_Total");
	struct hugeslab_create c;
	struct hs_snap now;

	ASSERT_LT(0, total);
	ASSERT_EQ(0, set_max_mb(0));
	/* More pages than the pool has at all: cannot be had. */
	EXPECT_EQ(-ENOMEM, hs_create(self->fd, (total + 1) * HS_2M, &c));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.failed + 1, now.failed);
	EXPECT_EQ(self->base.used_bytes, now.used_bytes);
	EXPECT_EQ(self->base.regions, now.regions);
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS))
		TH_LOG("free pages %lld/%lld rsvd %lld/%lld", now.hp_free,
		       self->base.hp_free, now.hp_rsvd, self->base.hp_rsvd);

	/* And the pool is usable afterwards. */
	ASSERT_EQ(0, hs_create(self->fd, HS_2M, &c));
	ASSERT_EQ(0, hs_destroy(self->fd, c.id));
}

/*
 * A request the pool cannot have fails for lack of pages without ever
 * counting: peak_bytes and used_bytes never see it, and while such
 * requests keep failing, others that fit go through, even with max_mb just
 * above the doomed request (which a request counted before it has its
 * pages would fill).
 */
static atomic_int doomed_done;

static void *doomed(void *arg)
{
	struct hugeslab_create c;
	int fd = *(int *)arg, i, bad = 0;

	for (i = 0; i < 5; i++)
		bad += hs_create(fd, 1ULL << 40, &c) != -ENOMEM;
	atomic_store(&doomed_done, 1);
	return (void *)(long)bad;
}

TEST_F_TIMEOUT(limits, failed_request_takes_nothing, 300)
{
	long long peak = hs_stat("peak_bytes");
	long long nomem = hs_stat("failed_nomem");
	struct hugeslab_create c;
	int fd2, refused = 0, made = 0, last = 0;
	pthread_t tid;
	void *bad;

	ASSERT_LE(0, peak);
	ASSERT_EQ(0, set_max_mb(0));
	EXPECT_EQ(-ENOMEM, hs_create(self->fd, 1ULL << 40, &c));
	EXPECT_EQ(peak, hs_stat("peak_bytes"));
	EXPECT_EQ(self->base.used_bytes, hs_stat("used_bytes"));
	EXPECT_EQ(nomem + 1, hs_stat("failed_nomem"));

	/* 1 TiB + 4 MiB: room for the doomed request and one small one. */
	ASSERT_EQ(0, set_max_mb((1ULL << 20) + 4));
	fd2 = hs_open();
	ASSERT_LE(0, fd2);
	atomic_store(&doomed_done, 0);
	ASSERT_EQ(0, pthread_create(&tid, NULL, doomed, &fd2));
	while (!atomic_load(&doomed_done)) {
		int err = hs_create(self->fd, 4 * HS_MIB, &c);

		if (!err) {
			made++;
			ASSERT_EQ(0, hs_destroy(self->fd, c.id));
		} else {
			refused++;
			last = err;
		}
	}
	pthread_join(tid, &bad);
	ksft_print_msg("small requests while 1 TiB ones failed: %d made, %d refused\n",
		       made, refused);
	EXPECT_EQ(0, (long)bad) TH_LOG("a 1 TiB request did not fail with ENOMEM");
	EXPECT_EQ(0, refused) TH_LOG("failing requests held admission or pages (last: %s)",
				     strerror(-last));
	EXPECT_GT(1LL << 40, hs_stat("peak_bytes"));
	close(fd2);
}

/*
 * The reserve is claimed at load: with every other free huge page taken
 * by someone else, requests inside the reserve still succeed and one page
 * beyond it fails with ENOMEM. A request that failed for lack of pages
 * before must not have eaten into the reserve.
 */
TEST_F(limits, reserve_survives_empty_pool)
{
	long long total = hs_meminfo("HugePages_Total");
	struct hugeslab_create c, d;
	struct hugeslab_query q;
	struct hs_snap now;
	long long others;
	void *hog = MAP_FAILED;
	char *p;

	ASSERT_EQ(0, set_max_mb(0));
	ASSERT_EQ(0, hs_query(self->fd, &q));
	ASSERT_NE(0ULL, q.reserve_bytes)
		TH_LOG("load the module with reserve_mb=N for this test");
	ASSERT_EQ(0ULL, q.used_bytes) TH_LOG("another user holds regions");

	/* Fail once for lack of pages, then make sure nothing moved. */
	ASSERT_EQ(-ENOMEM, hs_create(self->fd, (total + 1) * HS_2M, &d));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.hp_rsvd, now.hp_rsvd)
		TH_LOG("the failed request changed HugePages_Rsvd");
	EXPECT_EQ(self->base.hp_free, now.hp_free);

	/* Free pages not promised to anyone: take them all. */
	others = now.hp_free - now.hp_rsvd;
	ASSERT_LE(0, others);
	if (others) {
		hog = mmap(NULL, others * HS_2M, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			   MAP_POPULATE, -1, 0);
		ASSERT_NE(MAP_FAILED, hog) TH_LOG("hog %lld pages: %s",
						  others, strerror(errno));
	}
	/* Nothing is left for anyone but reservations. */
	EXPECT_EQ(hs_meminfo("HugePages_Free"), hs_meminfo("HugePages_Rsvd"));

	ASSERT_EQ(0, hs_create(self->fd, q.reserve_bytes, &c))
		TH_LOG("the reserve did not hold");
	p = hs_map(self->fd, &c);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	p[q.reserve_bytes - 1] = 1;
	EXPECT_EQ(-ENOMEM, hs_create(self->fd, HS_2M, &d));
	EXPECT_EQ(self->base.failed + 2, hs_stat("failed_requests"));

	/* Given back, the reserve is whole again. */
	ASSERT_EQ(0, munmap(p, q.reserve_bytes));
	ASSERT_EQ(0, hs_destroy(self->fd, c.id));
	ASSERT_EQ(0, hs_create(self->fd, q.reserve_bytes, &c));
	ASSERT_EQ(0, hs_destroy(self->fd, c.id));
	if (hog != MAP_FAILED)
		munmap(hog, others * HS_2M);
}

TEST_HARNESS_MAIN
