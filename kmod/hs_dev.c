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

	/* A process can open the device many times: charge its cgroup. */
	ctx = hs_should_fail(HS_FAULT_CTX) ? NULL :
		kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;
	mutex_init(&ctx->lock);
	INIT_LIST_HEAD(&ctx->regions);
	INIT_LIST_HEAD(&ctx->partials);
	/* Whoever uses the file later, its opener is charged. */
	ctx->file = file;
	ctx->uid = hs_charged_uid(file->f_cred);
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

	hs_flush_releases();
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
	q.user_bytes = hs_user_bytes(ctx->uid);

	if (copy_to_user(uarg, &q, min(usize, sizeof(q))))
		return -EFAULT;
	return 0;
}

/*
 * A struct from any version of the ABI is accepted: a smaller one (an older
 * binary) reads as zero past its end and gets no more back than it passed,
 * a bigger one must be zero past ours (copy_struct_from_user()).
 */
static long hs_ioctl_create(struct hs_ctx *ctx, void __user *uarg, size_t usize)
{
	struct hugeslab_create c;
	struct hs_region *r;
	int err;

	BUILD_BUG_ON(sizeof(c) < HUGESLAB_CREATE_SIZE_VER0);
	if (usize < HUGESLAB_CREATE_SIZE_VER0)
		return -EINVAL;
	err = copy_struct_from_user(&c, sizeof(c), uarg, usize);
	if (err)
		return err;
	if (c.flags & ~HUGESLAB_CREATE_VALID || c.pad)
		return -EINVAL;

	err = hs_region_create(ctx, &c, &r);
	if (err)
		return err;
	if (copy_to_user(uarg, &c, min(usize, sizeof(c)))) {
		/* The caller cannot know the region: do not leave it behind. */
		hs_region_abandon(ctx, r);
		return -EFAULT;
	}
	hs_region_publish(ctx, r);
	return 0;
}

static long hs_ioctl_destroy(struct hs_ctx *ctx, void __user *uarg,
			     size_t usize)
{
	struct hugeslab_destroy d;
	int err;

	BUILD_BUG_ON(sizeof(d) < HUGESLAB_DESTROY_SIZE_VER0);
	if (usize < HUGESLAB_DESTROY_SIZE_VER0)
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

/* Whether an mmap page offset is the stats area's (below 4 GiB). */
static bool hs_is_stats(unsigned long pgoff)
{
	return ((u64)pgoff << PAGE_SHIFT) < BIT_ULL(HS_COMPAT_SHIFT);
}

/*
 * Look up the region that [pgoff, pgoff + len) of the device falls in - by
 * its id (id << 40) or its 32-bit slot (slot << 32) - and check the range
 * is whole pages inside it. Returns it with ctx->lock held.
 */
static struct hs_region *hs_map_lookup(struct hs_ctx *ctx, unsigned long pgoff,
				       u64 len, u64 *off)
{
	u64 pos = (u64)pgoff << PAGE_SHIFT, mask;
	struct hs_region *r;

	mutex_lock(&ctx->lock);
	if (pos >> HS_OFFSET_SHIFT) {
		r = hs_ctx_find(ctx, pos >> HS_OFFSET_SHIFT);
		*off = pos & (HS_REGION_MAX_BYTES - 1);
	} else {
		r = hs_ctx_find_slot(ctx, pos >> HS_COMPAT_SHIFT);
		*off = pos & (BIT_ULL(HS_COMPAT_SHIFT) - 1);
	}
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

/*
 * A region's VMAs keep hugetlb's operations, wrapped to count the VMAs in
 * the region's users (ipc/shm.c wraps them the same way): when the last
 * one goes, the region is released at once, not found later by polling.
 * Every VMA of a region is made here, or split or copied from one made
 * here (->open): its file is the region's, and nobody else may map it
 * (it is open write-only). hugetlbfs_file_mmap() sets hugetlb_vm_ops, which
 * is not exported: the first mapping tells its address.
 */
static const struct vm_operations_struct *hs_hugetlb_vm_ops;

static struct hs_region *hs_vma_region(struct vm_area_struct *vma)
{
	return vma->vm_file->private_data;
}

static vm_fault_t hs_vm_fault(struct vm_fault *vmf)
{
	return hs_hugetlb_vm_ops->fault(vmf);
}

static void hs_vm_open(struct vm_area_struct *vma)
{
	hs_region_get(hs_vma_region(vma));
	if (hs_hugetlb_vm_ops->open)
		hs_hugetlb_vm_ops->open(vma);
}

static void hs_vm_close(struct vm_area_struct *vma)
{
	struct hs_region *r = hs_vma_region(vma);

	if (hs_hugetlb_vm_ops->close)
		hs_hugetlb_vm_ops->close(vma);
	hs_region_put_vma(r);
}

static int hs_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	if (hs_hugetlb_vm_ops->may_split)
		return hs_hugetlb_vm_ops->may_split(vma, addr);
	return 0;
}

static unsigned long hs_vm_pagesize(struct vm_area_struct *vma)
{
	return hs_hugetlb_vm_ops->pagesize(vma);
}

static const struct vm_operations_struct hs_region_vm_ops = {
	.fault		= hs_vm_fault,
	.open		= hs_vm_open,
	.close		= hs_vm_close,
	.may_split	= hs_vm_may_split,
	.pagesize	= hs_vm_pagesize,
};

/* hugetlbfs set @vma up for @r: count it, and keep its operations. */
static int hs_vma_wrap(struct vm_area_struct *vma, struct hs_region *r)
{
	const struct vm_operations_struct *ops;

	ops = cmpxchg(&hs_hugetlb_vm_ops, NULL, vma->vm_ops);
	if (WARN_ON_ONCE(ops && ops != vma->vm_ops))
		return -EINVAL;
	hs_region_get(r);
	vma->vm_ops = &hs_region_vm_ops;
	return 0;
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

	if (hs_is_stats(pgoff))
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
	unsigned long mask;
	struct file *rf;
	u64 off;
	int err;

	/*
	 * A private mapping would copy huge pages on write and may SIGBUS.
	 * (VM_MAYSHARE: a read-only MAP_SHARED mapping has no VM_SHARED.)
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (hs_is_stats(vma->vm_pgoff))
		return hs_stats_mmap(ctx, vma);

	r = hs_map_lookup(ctx, vma->vm_pgoff, vma->vm_end - vma->vm_start,
			  &off);
	if (!r)
		return -EINVAL;
	/*
	 * get_unmapped_area() aligned the address to the page size of the
	 * region with this id then; the id may have been destroyed and reused
	 * for a region of another page size since. hugetlbfs trusts the
	 * address it is given (a 1 GiB mapping at a 2 MiB boundary would
	 * map a PUD past the VMA and BUG at unmap): check it here, against
	 * the region mapped, as device-dax does.
	 */
	mask = (1UL << r->shift) - 1;
	if ((vma->vm_start | vma->vm_end) & mask) {
		mutex_unlock(&ctx->lock);
		return -EINVAL;
	}
	rf = r->file;

	/*
	 * Not inherited by fork: a child must not share the parent's memory
	 * by accident, and a hugetlb copy-on-write could SIGBUS.
	 */
	hs_vm_flags_set(vma, VM_DONTCOPY);
	vma->vm_pgoff = off >> PAGE_SHIFT;
	vma_set_file(vma, rf);
	err = rf->f_op->mmap(rf, vma);
	if (!err)
		err = hs_vma_wrap(vma, r);
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
