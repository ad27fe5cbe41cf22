// SPDX-License-Identifier: GPL-2.0-only
/*
 * hugeslab: fault injection. The module's allocation sites ask
 * hs_should_fail(), which serves two interfaces:
 *
 *  - the kernel's framework, where the kernel has it
 *    (CONFIG_FAULT_INJECTION): the sites are a fault_attr, so a task's
 *    /proc/<tid>/fail-nth counts them along with failslab, fail_page_alloc
 *    and fail_usercopy, and /sys/kernel/debug/hugeslab/fail/ has the
 *    attribute's usual knobs (probability, interval, times, ...);
 *  - fail_nth and fail_sites in /sys/kernel/debug/hugeslab/ (root only),
 *    for the tests on kernels without it (Debian's): write N to fail_nth
 *    to make the N-th site reached from now fail once; it reads the sites
 *    still to pass before it (0: disarmed); writing 0 disarms. fail_sites
 *    counts the sites reached, so a test can tell when an operation passed
 *    every site without hitting the armed one.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/fault-inject.h>

#include "hs_internal.h"

static atomic_t hs_fail_nth = ATOMIC_INIT(0);
static atomic64_t hs_fail_sites = ATOMIC64_INIT(0);

#ifdef CONFIG_FAULT_INJECTION
static DECLARE_FAULT_ATTR(hs_fail_attr);
#endif

bool hs_should_fail(enum hs_fault_site site)
{
	atomic64_inc(&hs_fail_sites);
#ifdef CONFIG_FAULT_INJECTION
	if (should_fail(&hs_fail_attr, 1)) {
		pr_debug("hugeslab: injected failure at site %d\n", site);
		return true;
	}
#endif
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
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
	/* Errors only mean no knobs: the sites still count for fail-nth. */
	fault_create_debugfs_attr("fail", dir, &hs_fail_attr);
#endif
}
