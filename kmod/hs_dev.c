// SPDX-License-Identifier: GPL-2.0-only
/*
 * hugeslab: the /dev/hugeslab character device - open, ioctls, mmap.
 *
 * Each open file owns the regions created through it. mmap() at a region's
 * offset re-points the VMA at the region's hugetlbfs file and lets hugetlbfs
 * set it up, so the mapping is an ordinary shared hugetlb mapping: huge page
 * table entries, KernelPageSize in smaps, pinnable by GUP and io_uring.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "hs_compat.h"
#include "hs_internal.h"

static int hs_open(struct inode *inode, struct file *file)
{
	struct hs_ctx *ctx;

	ctx = hs_should_fail(HS_FAULT_CTX) ? NULL :
		kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	mutex_init(&ctx->lock);
	INIT_LIST_HEAD(&ctx->regions);
	INIT_LIST_HEAD(&ctx->snode);
	file->private_data = ctx;
	return 0;
}

static int hs_release(struct inode *inode, struct file *file)
{
	struct hs_ctx *ctx = file->private_data;

	hs_ctx_release(ctx);
	hs_stats_release(ctx);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
	return 0;
}

/* ---- ioctls ---------------------------------------------------------- */

static long hs_ioctl_query(struct hs_ctx *ctx, void __user *uarg, size_t usize)
{
	struct hugeslab_query q;
	struct hs_totals t;
	int err;

	if (usize < HUGESLAB_QUERY_SIZE_VER0)
		return -EINVAL;
	err = copy_struct_from_user(&q, sizeof(q), uarg, usize);
	if (err)
		return err;
	if (q.flags || q.pad)
		return -EINVAL;

	hs_reap();
	hs_totals(&t);
	memset(&q, 0, sizeof(q));
	q.abi_version = HUGESLAB_ABI_VERSION;
	q.features = HUGESLAB_FEAT_REGIONS | HUGESLAB_FEAT_NUMA |
		     HUGESLAB_FEAT_PIN | HUGESLAB_FEAT_1G |
		     HUGESLAB_FEAT_POOL_STATS | HUGESLAB_FEAT_USER_LIMIT;
	q.page_sizes = hs_page_sizes();
	q.reserve_bytes = t.reserve_bytes;
	q.max_bytes = t.max_bytes;
	q.used_bytes = t.used_bytes;
	q.regions = t.regions;
	q.failed = t.failed;
	mutex_lock(&ctx->lock);
	q.fd_bytes = ctx->bytes;
	q.fd_regions = ctx->count;
	mutex_unlock(&ctx->lock);
	q.nr_nodes = num_node_state(N_MEMORY);
	q.user_max_bytes = t.user_max_bytes;
	q.user_bytes = hs_user_bytes(current_uid());

	if (copy_to_user(uarg, &q, min(usize, sizeof(q))))
		return -EFAULT;
	return 0;
}

static long hs_ioctl_create(struct hs_ctx *ctx, void __user *uarg, size_t usize)
{
	struct hugeslab_create c;
	int err;

	if (usize < sizeof(c))
		return -EINVAL;
	err = copy_struct_from_user(&c, sizeof(c), uarg, usize);
	if (err)
		return err;
	if (c.flags & ~HUGESLAB_CREATE_VALID || c.pad)
		return -EINVAL;

	err = hs_region_create(ctx, &c);
	if (err)
		return err;
	if (copy_to_user(uarg, &c, sizeof(c))) {
		/* The caller cannot know the region: do not leave it behind. */
		hs_region_destroy(ctx, c.id);
		return -EFAULT;
	}
	return 0;
}

static long hs_ioctl_destroy(struct hs_ctx *ctx, void __user *uarg,
			     size_t usize)
{
	struct hugeslab_destroy d;
	int err;

	if (usize < sizeof(d))
		return -EINVAL;
	err = copy_struct_from_user(&d, sizeof(d), uarg, usize);
	if (err)
		return err;
	if (d.flags || d.pad)
		return -EINVAL;
	return hs_region_destroy(ctx, d.id);
}

/*
 * Commands are matched on type and number; the size field of the command is
 * the caller's struct size, i.e. its ABI version.
 */
static long hs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct hs_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;
	size_t usize = _IOC_SIZE(cmd);

	if (_IOC_TYPE(cmd) != HUGESLAB_IOC_MAGIC)
		return -ENOTTY;

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(HUGESLAB_IOC_QUERY):
		if (_IOC_DIR(cmd) != _IOC_DIR(HUGESLAB_IOC_QUERY))
			return -ENOTTY;
		return hs_ioctl_query(ctx, uarg, usize);
	case _IOC_NR(HUGESLAB_IOC_CREATE):
		if (_IOC_DIR(cmd) != _IOC_DIR(HUGESLAB_IOC_CREATE))
			return -ENOTTY;
		/* Taking memory is writing: a read-only open may only look. */
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return hs_ioctl_create(ctx, uarg, usize);
	case _IOC_NR(HUGESLAB_IOC_DESTROY):
		if (_IOC_DIR(cmd) != _IOC_DIR(HUGESLAB_IOC_DESTROY))
			return -ENOTTY;
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return hs_ioctl_destroy(ctx, uarg, usize);
	default:
		return -ENOTTY;
	}
}

/* ---- mapping --------------------------------------------------------- */

/* Split an mmap page offset into region id and byte offset in the region. */
static void hs_pgoff_split(unsigned long pgoff, u64 *id, u64 *off)
{
	*id = pgoff >> HS_PGOFF_SHIFT;
	*off = (u64)(pgoff & ((1UL << HS_PGOFF_SHIFT) - 1)) << PAGE_SHIFT;
}

/*
 * Look up the region that [pgoff, pgoff + len) of the device falls in and
 * check the range is whole pages inside it. Returns it with ctx->lock held.
 */
static struct hs_region *hs_map_lookup(struct hs_ctx *ctx, unsigned long pgoff,
				       u64 len, u64 *off)
{
	struct hs_region *r;
	u64 id, mask;

	hs_pgoff_split(pgoff, &id, off);
	mutex_lock(&ctx->lock);
	r = hs_ctx_find(ctx, id);
	if (!r)
		goto fail;
	mask = (1ULL << r->shift) - 1;
	if (!len || (*off & mask) || (len & mask) || *off + len > r->bytes)
		goto fail;
	return r;
fail:
	mutex_unlock(&ctx->lock);
	return NULL;
}

static unsigned long hs_get_unmapped_area(struct file *file, unsigned long addr,
					  unsigned long len, unsigned long pgoff,
					  unsigned long flags)
{
	struct hs_ctx *ctx = file->private_data;
	struct hs_region *r;
	struct file *rf;
	unsigned long ret;
	u64 off;

	if (pgoff >> HS_PGOFF_SHIFT == 0)	/* the stats area */
		return hs_mm_get_unmapped_area(NULL, addr, len, 0, flags);
	r = hs_map_lookup(ctx, pgoff, len, &off);
	if (!r)
		return -EINVAL;
	rf = get_file(r->file);
	mutex_unlock(&ctx->lock);

	/* hugetlbfs aligns the address to its page size. */
	ret = rf->f_op->get_unmapped_area(rf, addr, len, off >> PAGE_SHIFT,
					  flags);
	fput(rf);
	return ret;
}

static int hs_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct hs_ctx *ctx = file->private_data;
	struct hs_region *r;
	struct file *rf;
	u64 off;
	int err;

	/*
	 * A private mapping would copy huge pages on write and may SIGBUS.
	 * (VM_MAYSHARE: a read-only MAP_SHARED mapping has no VM_SHARED.)
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff >> HS_PGOFF_SHIFT == 0)
		return hs_stats_mmap(ctx, vma);

	r = hs_map_lookup(ctx, vma->vm_pgoff, vma->vm_end - vma->vm_start,
			  &off);
	if (!r)
		return -EINVAL;
	rf = r->file;

	/*
	 * Not inherited by fork: a child must not share the parent's memory
	 * by accident, and a hugetlb copy-on-write could SIGBUS.
	 */
	hs_vm_flags_set(vma, VM_DONTCOPY);
	vma->vm_pgoff = off >> PAGE_SHIFT;
	/* Takes a reference on rf, so the region stays while mapped. */
	vma_set_file(vma, rf);
	err = rf->f_op->mmap(rf, vma);
	mutex_unlock(&ctx->lock);
	return err;
}

static const struct file_operations hs_fops = {
	.owner			= THIS_MODULE,
	.open			= hs_open,
	.release		= hs_release,
	.unlocked_ioctl		= hs_ioctl,
	.compat_ioctl		= compat_ptr_ioctl,
	.mmap			= hs_mmap,
	.get_unmapped_area	= hs_get_unmapped_area,
	.llseek			= noop_llseek,
};

static struct miscdevice hs_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= HS_NAME,
	.fops	= &hs_fops,
	.mode	= 0600,
	.groups	= hs_sysfs_groups,
};

int hs_dev_init(void)
{
	return misc_register(&hs_miscdev);
}

void hs_dev_exit(void)
{
	misc_deregister(&hs_miscdev);
}
