// SPDX-License-Identifier: GPL-2.0-only
/*
 * hugeslab: fault injection for the selftests. Debian's kernels have no
 * failslab, so the module's own allocation sites ask hs_should_fail().
 *
 * /sys/kernel/debug/hugeslab/fail_nth (root only): write N to make the
 * N-th site reached from now fail once; reads the sites still to pass
 * before it (0: disarmed). Writing 0 disarms. fail_sites counts how many
 * sites have been reached, so a test can tell when an operation passed
 * every site without hitting the armed one.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>

#include "hs_internal.h"

static atomic_t hs_fail_nth = ATOMIC_INIT(0);
static atomic64_t hs_fail_sites = ATOMIC64_INIT(0);

bool hs_should_fail(enum hs_fault_site site)
{
	atomic64_inc(&hs_fail_sites);
	/* Disarmed: one read. Armed: count down, fail at 1 -> 0. */
	if (likely(!atomic_read(&hs_fail_nth)))
		return false;
	if (atomic_dec_if_positive(&hs_fail_nth) != 0)
		return false;
	pr_debug("hugeslab: injected failure at site %d\n", site);
	return true;
}

static int fail_nth_get(void *data, u64 *val)
{
	*val = atomic_read(&hs_fail_nth);
	return 0;
}

static int fail_nth_set(void *data, u64 val)
{
	if (val > INT_MAX)
		return -EINVAL;
	atomic_set(&hs_fail_nth, (int)val);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(fail_nth_fops, fail_nth_get, fail_nth_set, "%llu\n");

static int fail_sites_get(void *data, u64 *val)
{
	*val = atomic64_read(&hs_fail_sites);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(fail_sites_fops, fail_sites_get, NULL, "%llu\n");

void hs_fault_debugfs(struct dentry *dir)
{
	debugfs_create_file_unsafe("fail_nth", 0600, dir, NULL, &fail_nth_fops);
	debugfs_create_file_unsafe("fail_sites", 0400, dir, NULL,
				   &fail_sites_fops);
}
