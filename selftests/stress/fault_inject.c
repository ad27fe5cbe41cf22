// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: every allocation site of the module fails cleanly. For
 * k = 1, 2, 3, ...: arm fail_nth with k, then run one whole sequence -
 * open, map the pool stats area and write to it, create a region, map it
 * and touch every page, destroy it while mapped, unmap, close. The k-th
 * site the sequence reaches fails: the operation that reached it must fail
 * with ENOMEM (never succeed, never another errno), and the module's
 * totals and the hugetlb pool must be back at baseline right after. The
 * loop ends with the first k the sequence gets through without consuming
 * the armed failure (fail_nth still > 0, then disarmed); by then every
 * site the sequence reaches has failed once, and fail_sites confirms how
 * many that is. Variants: the create populating in the caller's context
 * or (node 0) in a kernel thread, and the sequence run by a child that
 * _exit()s with everything still open, mapped and live.
 */
#include "kselftest_harness.h"
#include "hs_stress.h"

/*
 * The sites one sequence reaches: open (ctx), stats area, and create's
 * region, user, id, file and one per page populated (two). A new site
 * makes this grow; a site that can no longer fail makes the test fail, so
 * it is noticed.
 */
#define MIN_SITES	8
/* No sequence reaches this many sites: a runaway loop is a failure. */
#define MAX_K		64

enum step {
	STEP_DONE,
	STEP_OPEN,
	STEP_STATS,
	STEP_CREATE,
	STEP_MAP,
	STEP_DESTROY,
	STEP_NR,
};

static const char *const step_name[STEP_NR] = {
	"none", "open", "stats mmap", "create", "region mmap", "destroy",
};

/* A step failed with an errno other than ENOMEM (or the data was wrong). */
#define STEP_BAD	0x40

FIXTURE(fault) {
	struct hs_snap base;
	bool armed;
};

FIXTURE_VARIANT(fault) {
	int node;		/* of the create */
	bool in_child;		/* run by a child that _exit()s holding all */
};

FIXTURE_VARIANT_ADD(fault, caller_context) {
	.node = HUGESLAB_NODE_ANY,
};

FIXTURE_VARIANT_ADD(fault, kernel_thread) {
	.node = 0,
};

FIXTURE_VARIANT_ADD(fault, child_exits_holding) {
	.node = HUGESLAB_NODE_ANY,
	.in_child = true,
};

FIXTURE_SETUP(fault)
{
	int fd = hs_open();

	if (fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: is hugeslab.ko loaded?",
		     HUGESLAB_DEVICE);
	ASSERT_LE(0, fd);
	close(fd);
	if (hs_fail_nth() < 0)
		SKIP(return, "%s unreadable: debugfs not mounted?",
		     HS_FAIL_NTH);
	ASSERT_EQ(0, hs_fail_nth()) TH_LOG("fault injection already armed");
	ASSERT_EQ(0, hs_wait_idle(&self->base))
		TH_LOG("regions left by someone else: %lld bytes in %lld",
		       self->base.used_bytes, self->base.regions);
}

FIXTURE_TEARDOWN_PARENT(fault)
{
	/* Never leave a failure armed for whatever runs next. */
	EXPECT_EQ(0, hs_fail_arm(0));
	HS_EXPECT_BASELINE(&self->base);
}

/*
 * One sequence. Returns STEP_DONE, or the step that failed with ENOMEM,
 * or STEP_BAD | step if it failed otherwise. With @hold it returns after
 * touching, leaving the file open and the region live and mapped.
 */
static int sequence(int node, bool hold)
{
	struct hugeslab_create c;
	struct hugeslab_pool_stat *stats;
	char *p;
	int fd, err;

	fd = hs_open();
	if (fd < 0)
		return errno == ENOMEM ? STEP_OPEN : STEP_BAD | STEP_OPEN;

	stats = mmap(NULL, HUGESLAB_STATS_BYTES, PROT_READ | PROT_WRITE,
		     MAP_SHARED, fd, HUGESLAB_STATS_OFFSET);
	if (stats == MAP_FAILED) {
		err = errno;
		close(fd);
		return err == ENOMEM ? STEP_STATS : STEP_BAD | STEP_STATS;
	}
	stats[0].flags = HUGESLAB_POOL_LIVE;
	snprintf(stats[0].name, sizeof(stats[0].name), "fault-inject");
	stats[0].obj_size = 64;

	err = hs_create_node(fd, 2 * HS_2M, node, &c);
	if (err) {
		munmap(stats, HUGESLAB_STATS_BYTES);
		close(fd);
		return err == -ENOMEM ? STEP_CREATE : STEP_BAD | STEP_CREATE;
	}

	/* Mapping allocates nothing of ours: it must work. */
	p = hs_map(fd, &c);
	if (p == MAP_FAILED)
		return STEP_BAD | STEP_MAP;
	if (hs_check_zero(p, c.bytes) >= 0)
		return STEP_BAD | STEP_MAP;
	hs_fill(p, c.bytes, c.id, 0);
	if (hs_check(p, c.bytes, c.id, 0) >= 0)
		return STEP_BAD | STEP_MAP;
	if (hold)
		return STEP_DONE;

	if (hs_destroy(fd, c.id))
		return STEP_BAD | STEP_DESTROY;
	/* Destroyed but mapped: still there. */
	if (hs_check(p, c.bytes, c.id, 0) >= 0)
		return STEP_BAD | STEP_DESTROY;
	munmap(p, c.bytes);
	munmap(stats, HUGESLAB_STATS_BYTES);
	close(fd);
	return STEP_DONE;
}

static int child_sequence(void *arg)
{
	return sequence(*(int *)arg, true);
}

TEST_F_TIMEOUT(fault, every_site_fails_cleanly, 120)
{
	int failed_at[MAX_K + 1] = { 0 };
	long long counted[MAX_K + 1] = { 0 };
	long long sites0, sites, nth, nomem0;
	int node = variant->node;
	struct hs_snap now;
	int k, res;

	for (k = 1; k <= MAX_K; k++) {
		sites0 = hs_fail_sites();
		ASSERT_LE(0, sites0);
		nomem0 = hs_stat("failed_nomem");
		ASSERT_EQ(0, hs_fail_arm(k));
		if (variant->in_child)
			res = hs_in_child(child_sequence, &node);
		else
			res = sequence(node, false);
		nth = hs_fail_nth();
		sites = hs_fail_sites() - sites0;
		ASSERT_EQ(0, hs_fail_arm(0));

		ASSERT_FALSE(res & STEP_BAD)
			TH_LOG("k=%d: %s failed with something else than ENOMEM (or wrong data): result 0x%x",
			       k, step_name[res & ~STEP_BAD & 0xf], res);
		ASSERT_LT(res, STEP_NR) TH_LOG("k=%d: child ended %d", k, res);
		/* Whatever happened, nothing is left behind. */
		ASSERT_EQ(0, hs_wait_snap(&self->base, &now,
					  HS_FREE_TIMEOUT_MS))
			TH_LOG("k=%d (failed at %s): used %lld/%lld regions %lld/%lld free %lld/%lld rsvd %lld/%lld",
			       k, step_name[res], now.used_bytes,
			       self->base.used_bytes, now.regions,
			       self->base.regions, now.hp_free,
			       self->base.hp_free, now.hp_rsvd,
			       self->base.hp_rsvd);

		if (nth > 0) {
			/* Got through every site: k - 1 of them, no more. */
			ASSERT_EQ(STEP_DONE, res);
			ASSERT_EQ(1, nth)
				TH_LOG("k=%d: %lld sites short of the armed one",
				       k, nth);
			ASSERT_EQ(k - 1, sites)
				TH_LOG("fail_sites counted %lld sites, fail_nth %d",
				       sites, k - 1);
			break;
		}
		/* The armed failure was consumed: the caller must see it. */
		ASSERT_NE(STEP_DONE, res)
			TH_LOG("k=%d: a site failed but the sequence succeeded",
			       k);
		failed_at[k] = res;
		counted[k] = hs_stat("failed_nomem") - nomem0;
		/* At most this one refusal, and only as "no memory". */
		EXPECT_GE(1, counted[k]);
		EXPECT_LE(0, counted[k]);
	}
	ASSERT_GE(MAX_K, k) TH_LOG("the armed failure was always consumed");

	/* Which step each site is in; "+" if it counted in failed_nomem. */
	ksft_print_msg("%d sites, each failed once:", k - 1);
	for (res = 1; res < k; res++)
		printf(" %d:%s%s", res, step_name[failed_at[res]],
		       counted[res] ? "+" : "");
	printf("\n");
	EXPECT_LE(MIN_SITES, k - 1);
	/* The open, the stats area and the create each have their site. */
	EXPECT_EQ(STEP_OPEN, failed_at[1]);
	EXPECT_EQ(STEP_STATS, failed_at[2]);
	EXPECT_EQ(STEP_CREATE, failed_at[k - 1]);
}

TEST_HARNESS_MAIN
