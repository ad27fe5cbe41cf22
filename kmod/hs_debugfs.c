// SPDX-License-Identifier: GPL-2.0-only
/*
 * hugeslab: /sys/kernel/debug/hugeslab/ - what the module holds, for admins
 * and hsstat. Each file starts with a "hugeslab <file> <version>" line; a
 * format change that could break a parser bumps the version.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "hs_internal.h"

#define HS_STATS_VERSION	1
#define HS_REGIONS_VERSION	1
#define HS_POOLS_VERSION	1

static struct dentry *hs_debugfs_dir;

static int stats_show(struct seq_file *m, void *v)
{
	struct hs_totals t;

	hs_reap();
	hs_totals(&t);
	seq_printf(m, "hugeslab stats %d\n", HS_STATS_VERSION);
	seq_printf(m, "abi_version %d\n", HUGESLAB_ABI_VERSION);
	seq_printf(m, "page_sizes 0x%llx\n", hs_page_sizes());
	seq_printf(m, "reserved_bytes %llu\n", t.reserve_bytes);
	seq_printf(m, "used_bytes %llu\n", t.used_bytes);
	/* What is left of the reserve: requests this big cannot fail. */
	seq_printf(m, "free_bytes %llu\n", t.reserve_free);
	seq_printf(m, "max_bytes %llu\n", t.max_bytes);
	seq_printf(m, "peak_bytes %llu\n", t.peak_bytes);
	seq_printf(m, "regions %llu\n", t.regions);
	seq_printf(m, "user_max_bytes %llu\n", t.user_max_bytes);
	seq_printf(m, "failed_requests %llu\n", t.failed);
	seq_printf(m, "failed_limit %llu\n", t.failed_limit);
	seq_printf(m, "failed_nomem %llu\n", t.failed_nomem);
	seq_printf(m, "created %llu\n", t.created);
	seq_printf(m, "destroyed %llu\n", t.destroyed);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static int regions_show(struct seq_file *m, void *v)
{
	struct hs_region *r;

	hs_reap();
	seq_printf(m, "hugeslab regions %d\n", HS_REGIONS_VERSION);
	seq_puts(m, "# id pid bytes page_size node mapped comm\n");
	mutex_lock(&hs_lock);
	list_for_each_entry(r, &hs_regions, gnode) {
		seq_printf(m, "%u %d %llu %llu %d %s ", r->id, r->pid,
			   r->bytes, 1ULL << r->shift, r->node,
			   hs_region_mapped(r) ? "yes" : "no");
		/* comm is chosen by the process: keep it one field. */
		seq_escape(m, r->comm, " \t\n\\");
		seq_putc(m, '\n');
	}
	mutex_unlock(&hs_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(regions);

static int pools_show(struct seq_file *m, void *v)
{
	seq_printf(m, "hugeslab pools %d\n", HS_POOLS_VERSION);
	seq_puts(m, "# pid name obj_size in_use total bytes allocs frees cache_hits comm\n");
	hs_pools_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pools);

void hs_debugfs_init(void)
{
	/* debugfs may be absent or locked down; the module works without. */
	hs_debugfs_dir = debugfs_create_dir(HS_NAME, NULL);
	debugfs_create_file("stats", 0444, hs_debugfs_dir, NULL, &stats_fops);
	debugfs_create_file("regions", 0444, hs_debugfs_dir, NULL,
			    &regions_fops);
	debugfs_create_file("pools", 0444, hs_debugfs_dir, NULL, &pools_fops);
	hs_fault_debugfs(hs_debugfs_dir);
}

void hs_debugfs_exit(void)
{
	debugfs_remove_recursive(hs_debugfs_dir);
}
