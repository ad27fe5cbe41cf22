// SPDX-License-Identifier: GPL-2.0-only
/*
 * hugeslab: the pool stats area. A process maps HUGESLAB_STATS_BYTES at
 * HUGESLAB_STATS_OFFSET and writes its pools' counters there with plain
 * stores (nothing on its allocation fast path); debugfs "pools" shows every
 * process's pools from those areas. What user space wrote is untrusted:
 * names are cut at the field's end and sanitised, numbers clamped.
 */
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>

#include "hs_compat.h"
#include "hs_internal.h"

/*
 * Every file's stats area, by registration order. hs_stats_lock guards it
 * and the areas' lifetime; it is not hs_lock, so a reader of "pools" never
 * makes a create wait, and it is held for one seq_file buffer at a time.
 */
static DEFINE_MUTEX(hs_stats_lock);
static DEFINE_XARRAY_ALLOC(hs_stat_ctxs);

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
		/*
		 * 64 KiB per open file, as many as the process opens: charged
		 * to its memory cgroup. A failure is the caller's ENOMEM, not
		 * a warning in the kernel log.
		 */
		ctx->stats = hs_should_fail(HS_FAULT_STATS) ? NULL :
			__vmalloc(HUGESLAB_STATS_BYTES, GFP_KERNEL_ACCOUNT |
				  __GFP_ZERO | __GFP_NOWARN);
		if (!ctx->stats) {
			err = -ENOMEM;
			goto out;
		}
		ctx->pid = task_tgid_nr(current);
		get_task_comm(ctx->comm, current);
		mutex_lock(&hs_stats_lock);
		err = xa_alloc(&hs_stat_ctxs, &ctx->stat_id, ctx, xa_limit_31b,
			       GFP_KERNEL_ACCOUNT);
		mutex_unlock(&hs_stats_lock);
		if (err) {
			vfree(ctx->stats);
			ctx->stats = NULL;
			err = -ENOMEM;
			goto out;
		}
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
	mutex_lock(&hs_stats_lock);
	xa_erase(&hs_stat_ctxs, ctx->stat_id);
	mutex_unlock(&hs_stats_lock);
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
		hs_seq_put_name(m, name, i);
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
	hs_seq_put_name(m, ctx->comm, sizeof(ctx->comm));
	seq_putc(m, '\n');
}

/*
 * debugfs "pools", a line per live slot of every area: with 512 slots an
 * area, as many areas as files, it can be long, so it is made a buffer at
 * a time. A position past the header is (registration id << 9 | slot) + 1:
 * after a buffer, the next read starts from there, whatever came and went.
 */
#define HS_SLOT_BITS	9
#define HS_POOLS_VERSION	1

static struct hs_ctx *hs_pools_find(loff_t *pos)
{
	unsigned long id = (*pos - 1) >> HS_SLOT_BITS;
	unsigned int slot = (*pos - 1) & (HUGESLAB_STATS_SLOTS - 1);
	struct hs_ctx *ctx;

	BUILD_BUG_ON(HUGESLAB_STATS_SLOTS != 1 << HS_SLOT_BITS);
	lockdep_assert_held(&hs_stats_lock);
	xa_for_each_start(&hs_stat_ctxs, id, ctx, id) {
		for (; slot < HUGESLAB_STATS_SLOTS; slot++) {
			if (READ_ONCE(ctx->stats[slot].flags) &
			    HUGESLAB_POOL_LIVE) {
				*pos = ((loff_t)id << HS_SLOT_BITS | slot) + 1;
				return ctx;
			}
		}
		slot = 0;
		cond_resched();
	}
	return NULL;
}

static void *hs_pools_start(struct seq_file *m, loff_t *pos)
{
	mutex_lock(&hs_stats_lock);
	if (!*pos)
		return SEQ_START_TOKEN;
	return hs_pools_find(pos);
}

static void *hs_pools_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	return hs_pools_find(pos);
}

static void hs_pools_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&hs_stats_lock);
}

static int hs_pools_show(struct seq_file *m, void *v)
{
	const struct hs_ctx *ctx = v;

	if (v == SEQ_START_TOKEN) {
		seq_printf(m, "hugeslab pools %d\n", HS_POOLS_VERSION);
		seq_puts(m, "# pid name obj_size in_use total bytes allocs frees cache_hits comm\n");
		return 0;
	}
	hs_pool_line(m, ctx,
		     &ctx->stats[(m->index - 1) & (HUGESLAB_STATS_SLOTS - 1)]);
	return 0;
}

const struct seq_operations hs_pools_seq_ops = {
	.start	= hs_pools_start,
	.next	= hs_pools_next,
	.stop	= hs_pools_stop,
	.show	= hs_pools_show,
};
