// SPDX-License-Identifier: GPL-2.0-only
/*
 * hugeslab: the pool stats area. A process maps HUGESLAB_STATS_BYTES at
 * HUGESLAB_STATS_OFFSET and writes its pools' counters there with plain
 * stores (nothing on its allocation fast path); debugfs "pools" shows every
 * process's pools from those areas. What user space wrote is untrusted:
 * names are cut at the field's end and sanitised, numbers clamped.
 */
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/vmalloc.h>

#include "hs_compat.h"
#include "hs_internal.h"

LIST_HEAD(hs_stat_ctxs);

/*
 * Pages are put in on fault rather than all at mmap, so that a range the
 * process zapped (MADV_DONTNEED) comes back on the next touch instead of
 * raising SIGBUS. The mapping holds the file, so ctx outlives it.
 */
static vm_fault_t hs_stats_fault(struct vm_fault *vmf)
{
	struct hs_ctx *ctx = vmf->vma->vm_private_data;
	struct page *page;

	if (vmf->pgoff >= HUGESLAB_STATS_BYTES >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	page = vmalloc_to_page((char *)ctx->stats + (vmf->pgoff << PAGE_SHIFT));
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct hs_stats_vm_ops = {
	.fault = hs_stats_fault,
};

int hs_stats_mmap(struct hs_ctx *ctx, struct vm_area_struct *vma)
{
	int err = 0;

	if (!(vma->vm_flags & VM_MAYSHARE) || vma->vm_pgoff ||
	    vma->vm_end - vma->vm_start != HUGESLAB_STATS_BYTES)
		return -EINVAL;

	mutex_lock(&ctx->lock);
	if (!ctx->stats) {
		ctx->stats = hs_should_fail(HS_FAULT_STATS) ? NULL :
			vmalloc_user(HUGESLAB_STATS_BYTES);
		if (!ctx->stats) {
			err = -ENOMEM;
			goto out;
		}
		ctx->pid = task_tgid_nr(current);
		get_task_comm(ctx->comm, current);
		mutex_lock(&hs_lock);
		list_add_tail(&ctx->snode, &hs_stat_ctxs);
		mutex_unlock(&hs_lock);
	}
	/* Like the regions: a child does not inherit it. */
	hs_vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_private_data = ctx;
	vma->vm_ops = &hs_stats_vm_ops;
out:
	mutex_unlock(&ctx->lock);
	return err;
}

/* The file is gone, and with it every mapping of the area. */
void hs_stats_release(struct hs_ctx *ctx)
{
	if (!ctx->stats)
		return;
	mutex_lock(&hs_lock);
	list_del(&ctx->snode);
	mutex_unlock(&hs_lock);
	vfree(ctx->stats);
	ctx->stats = NULL;
}

/* Print a name user space wrote: bounded, printable, one field. */
static void hs_put_name(struct seq_file *m, const char *src, size_t len)
{
	char name[HUGESLAB_POOL_NAME_LEN + 1];
	size_t i;

	for (i = 0; i < len && i < HUGESLAB_POOL_NAME_LEN; i++) {
		char c = READ_ONCE(src[i]);

		if (!c)
			break;
		name[i] = (c < 0x20 || c >= 0x7f) ? '?' : c;
	}
	name[i] = 0;
	if (!i)
		seq_putc(m, '-');
	else
		seq_escape(m, name, " \t\n\\");
}

static void hs_pool_line(struct seq_file *m, const struct hs_ctx *ctx,
			 const struct hugeslab_pool_stat *s)
{
	u64 obj_size = min_t(u64, READ_ONCE(s->obj_size), HS_REGION_MAX_BYTES);
	u64 total = READ_ONCE(s->total);
	u64 in_use = min(READ_ONCE(s->in_use), total);
	u64 bytes = READ_ONCE(s->bytes);
	u64 allocs = READ_ONCE(s->allocs);
	u64 frees = READ_ONCE(s->frees);
	u64 hits = min(READ_ONCE(s->cache_hits), allocs);

	seq_printf(m, "%d ", ctx->pid);
	hs_put_name(m, s->name, sizeof(s->name));
	seq_printf(m, " %llu %llu %llu %llu %llu %llu %llu ", obj_size, in_use,
		   total, bytes, allocs, frees, hits);
	seq_escape(m, ctx->comm, " \t\n\\");
	seq_putc(m, '\n');
}

void hs_pools_show(struct seq_file *m)
{
	struct hs_ctx *ctx;
	unsigned int i;

	mutex_lock(&hs_lock);
	list_for_each_entry(ctx, &hs_stat_ctxs, snode) {
		for (i = 0; i < HUGESLAB_STATS_SLOTS; i++) {
			const struct hugeslab_pool_stat *s = &ctx->stats[i];

			if (READ_ONCE(s->flags) & HUGESLAB_POOL_LIVE)
				hs_pool_line(m, ctx, s);
		}
	}
	mutex_unlock(&hs_lock);
}
