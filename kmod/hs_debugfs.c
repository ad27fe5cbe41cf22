// SPDX-License-Identifier: GPL-2.0-only
/*
 * hugeslab: /sys/kernel/debug/hugeslab/ - what the module holds, for admins
 * and hsstat. Each file starts with a "hugeslab <file> <version>" line; a
 * format change that could break a parser bumps the version.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/string_helpers.h>

#include "hs_internal.h"

#define HS_STATS_VERSION	1
#define HS_REGIONS_VERSION	1

static struct dentry *hs_debugfs_dir;

/*
 * A name a process chose (its command, a pool's name) as one field that is
 * safe to print: every byte that is not printable ASCII, the blank and the
 * backslash are written as \ooo, which hsstat decodes. A process names
 * itself with any bytes (prctl(PR_SET_NAME)): a carriage return or an
 * escape sequence must not reach an admin's terminal, and nothing may
 * split a line or a field for a parser. At most @len bytes, up to a NUL.
 */
void hs_seq_put_name(struct seq_file *m, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < len && name[i]; i++) {
		unsigned char c = name[i];

		if (c <= ' ' || c >= 0x7f || c == '\\')
			seq_printf(m, "\\%03o", c);
		else
			seq_putc(m, c);
	}
}

static int stats_show(struct seq_file *m, void *v)
{
	struct hs_totals t;

	hs_flush_releases();
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

/*
 * "regions", a line per region: as many as the pool has pages for, so it
 * is made a buffer at a time, hs_lock held for one buffer (creates wait no
 * longer than that). The position past the header is the region's id.
 */
static void *regions_find(loff_t *pos)
{
	unsigned long id = *pos;
	struct hs_region *r = hs_region_from(&id);

	if (r)
		*pos = id;
	return r;
}

static void *regions_start(struct seq_file *m, loff_t *pos)
{
	mutex_lock(&hs_lock);
	if (!*pos)
		return SEQ_START_TOKEN;
	return regions_find(pos);
}

static void *regions_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	return regions_find(pos);
}

static void regions_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&hs_lock);
}

static int regions_show(struct seq_file *m, void *v)
{
	const struct hs_region *r = v;

	if (v == SEQ_START_TOKEN) {
		seq_printf(m, "hugeslab regions %d\n", HS_REGIONS_VERSION);
		seq_puts(m, "# id pid bytes page_size node mapped comm\n");
		return 0;
	}
	seq_printf(m, "%u %d %llu %llu %d %s ", r->id, r->pid, r->bytes,
		   1ULL << r->shift, r->node,
		   str_yes_no(hs_region_mapped(r)));
	hs_seq_put_name(m, r->comm, sizeof(r->comm));
	seq_putc(m, '\n');
	return 0;
}

static const struct seq_operations regions_seq_ops = {
	.start	= regions_start,
	.next	= regions_next,
	.stop	= regions_stop,
	.show	= regions_show,
};

static int regions_open(struct inode *inode, struct file *file)
{
	/* Regions being released as this is opened are not listed. */
	hs_flush_releases();
	return seq_open(file, &regions_seq_ops);
}

static const struct file_operations regions_fops = {
	.owner		= THIS_MODULE,
	.open		= regions_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= seq_release,
};

static int pools_open(struct inode *inode, struct file *file)
{
	return seq_open(file, &hs_pools_seq_ops);
}

static const struct file_operations pools_fops = {
	.owner		= THIS_MODULE,
	.open		= pools_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= seq_release,
};

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
