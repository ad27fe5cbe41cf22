// SPDX-License-Identifier: GPL-2.0-only
/*
 * hugeslab: module entry - parameters, load and unload.
 *
 * hugeslab hands user space raw memory regions backed by huge pages through
 * /dev/hugeslab, with a reserve claimed at load, limits checked at request
 * time, and usage reported in debugfs.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string_helpers.h>

#include "hs_internal.h"

unsigned int hs_reserve_mb;
module_param_named(reserve_mb, hs_reserve_mb, uint, 0444);
MODULE_PARM_DESC(reserve_mb,
		 "MiB of 2 MiB huge pages claimed at load; requests within it never fail (default 0)");

unsigned int hs_max_mb;
module_param_named(max_mb, hs_max_mb, uint, 0644);
MODULE_PARM_DESC(max_mb,
		 "MiB all regions together may hold; 0 = no limit but the huge page pool (default 0)");

unsigned int hs_user_max_mb;
module_param_named(user_max_mb, hs_user_max_mb, uint, 0644);
MODULE_PARM_DESC(user_max_mb,
		 "MiB the regions of one user (who opened the file) may hold; files opened with CAP_IPC_LOCK are exempt; 0 = no limit (default 0)");

static int __init hs_init(void)
{
	int err;

	err = hs_regions_init();
	if (err)
		return err;
	err = hs_dev_init();
	if (err) {
		pr_err("%s: cannot register /dev/%s (%d)\n", HS_NAME, HS_NAME,
		       err);
		goto out_regions;
	}
	hs_debugfs_init();
	pr_info("%s: ready: reserve %u MiB, max %u MiB, per user %u MiB, 1 GiB pages %s\n",
		HS_NAME, hs_reserve_mb, hs_max_mb, hs_user_max_mb,
		str_yes_no(hs_tiers[HS_TIER_1G].mnt));
	return 0;

out_regions:
	hs_regions_exit();
	return err;
}

static void __exit hs_exit(void)
{
	hs_debugfs_exit();
	hs_dev_exit();
	hs_regions_exit();
}

module_init(hs_init);
module_exit(hs_exit);

MODULE_DESCRIPTION("Raw memory regions backed by huge pages for user-space allocators");
MODULE_AUTHOR("The hugeslab developers");
MODULE_LICENSE("GPL");
