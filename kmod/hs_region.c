// SPDX-License-Identifier: GPL-2.0-only
/*
 * hugeslab: regions - the private hugetlbfs mounts, creating and freeing
 * regions, admission against limits, and the global counters.
 *
 * Memory comes from the kernel's hugetlb pool. The 2 MiB mount is made with
 * min_size=reserve_mb, so the reserve is taken from the pool at load and
 * requests inside it cannot fail. Every region is fully populated when it is
 * created, so a fault on region memory never allocates and never SIGBUSes.
 *
 * A region is freed when it is destroyed (or its file closed) and nothing
 * maps it any more. A mapping holds a reference on the region's file, so a
 * region still mapped at destroy time is "detached": it stays accounted and
 * listed until the reaper sees that our reference is the last one.
 */
#include <linux/capability.h>
#include <linux/cgroup.h>
#include <linux/cred.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/hugetlb.h>
#include <linux/idr.h>
#include <linux/kthread.h>
#include <linux/mempolicy.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/nodemask.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "hs_compat.h"
#include "hs_internal.h"

/* Guards hs_regions, region->ctx, hs_stat_ctxs, hs_users and the counters. */
DEFINE_MUTEX(hs_lock);
LIST_HEAD(hs_regions);
struct hs_tier hs_tiers[HS_TIER_COUNT];

static DEFINE_IDA(hs_ids);
static const struct cred *hs_cred;
static unsigned int hs_detached;	/* under hs_lock */

/* Global counters, under hs_lock. */
static u64 hs_used, hs_count, hs_peak, hs_created, hs_destroyed;
/*
 * The reserve in bytes (whole 2 MiB pages) and what 2 MiB regions use of
 * it: 1 GiB regions never come from the reserve.
 */
static u64 hs_reserve_bytes, hs_used_2m;
static u64 hs_failed_limit, hs_failed_nomem, hs_failed_other;

/*
 * Bytes each user's regions hold, under hs_lock; entries for users with
 * regions only.
 */
struct hs_user {
	struct hlist_node node;
	kuid_t uid;
	u64 bytes;
};

static DEFINE_HASHTABLE(hs_users, 6);

/* The hugetlbfs size= of the reserve mount: beyond any real pool. */
#define HS_MOUNT_MAX_BYTES	BIT_ULL(50)

static void hs_reap_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(hs_reap_work, hs_reap_work_fn);

/* ---- mounts ---------------------------------------------------------- */

/* Mount hugetlbfs with @pagesize pages, claiming @reserve bytes of them. */
static int hs_tier_mount(struct hs_tier *t, const char *pagesize, u64 reserve)
{
	struct file_system_type *fs;
	struct vfsmount *mnt;
	/* Mount options are parsed in place, so they must be writable. */
	char opts[80];

	fs = get_fs_type("hugetlbfs");
	if (!fs)
		return -ENODEV;
	/*
	 * min_size alone leaves the subpool's used-page count untracked, and
	 * then each allocation that fails past the minimum (pool empty) hands
	 * the subpool a reserved page the global pool never reserved: the
	 * reserve shrinks by a page per ENOMEM. A size= no request can reach
	 * makes the kernel count used pages, and limits nothing.
	 */
	if (reserve)
		snprintf(opts, sizeof(opts),
			 "pagesize=%s,size=%llu,min_size=%llu", pagesize,
			 HS_MOUNT_MAX_BYTES, reserve);
	else
		snprintf(opts, sizeof(opts), "pagesize=%s", pagesize);
	mnt = vfs_kern_mount(fs, SB_KERNMOUNT, HS_NAME, opts);
	module_put(fs->owner);
	if (IS_ERR(mnt))
		return PTR_ERR(mnt);
	t->mnt = mnt;
	t->shift = huge_page_shift(hstate_inode(d_inode(mnt->mnt_root)));
	return 0;
}

u64 hs_page_sizes(void)
{
	u64 sizes = 0;
	int i;

	for (i = 0; i < HS_TIER_COUNT; i++)
		if (hs_tiers[i].mnt)
			sizes |= 1ULL << hs_tiers[i].shift;
	return sizes;
}

/* ---- counters -------------------------------------------------------- */

void hs_totals(struct hs_totals *t)
{
	mutex_lock(&hs_lock);
	t->reserve_bytes = hs_reserve_bytes;
	t->reserve_free = hs_reserve_bytes > hs_used_2m ?
			  hs_reserve_bytes - hs_used_2m : 0;
	t->max_bytes = (u64)READ_ONCE(hs_max_mb) << 20;
	t->user_max_bytes = (u64)READ_ONCE(hs_user_max_mb) << 20;
	t->used_bytes = hs_used;
	t->regions = hs_count;
	t->failed_limit = hs_failed_limit;
	t->failed_nomem = hs_failed_nomem;
	t->failed = hs_failed_limit + hs_failed_nomem + hs_failed_other;
	t->peak_bytes = hs_peak;
	t->created = hs_created;
	t->destroyed = hs_destroyed;
	mutex_unlock(&hs_lock);
}

static struct hs_user *hs_user_find(kuid_t uid)
{
	struct hs_user *u;

	hash_for_each_possible(hs_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

u64 hs_user_bytes(kuid_t uid)
{
	struct hs_user *u;
	u64 bytes;

	mutex_lock(&hs_lock);
	u = hs_user_find(uid);
	bytes = u ? u->bytes : 0;
	mutex_unlock(&hs_lock);
	return bytes;
}

/*
 * Admit @bytes for @uid against max_mb and user_max_mb (which callers
 * with CAP_IPC_LOCK, like mlock's limit, do not count against). @spare is
 * a free hs_user for a user not seen yet; it is used or freed here.
 */
static int hs_charge(kuid_t uid, u64 bytes, unsigned int shift, bool exempt,
		     struct hs_user *spare)
{
	u64 max = (u64)READ_ONCE(hs_max_mb) << 20;
	u64 umax = (u64)READ_ONCE(hs_user_max_mb) << 20;
	struct hs_user *u;

	lockdep_assert_held(&hs_lock);
	u = hs_user_find(uid);
	if ((max && hs_used + bytes > max) ||
	    (umax && !exempt && (u ? u->bytes : 0) + bytes > umax)) {
		kfree(spare);
		hs_failed_limit++;
		return -EDQUOT;
	}
	if (!u) {
		u = spare;
		u->uid = uid;
		hash_add(hs_users, &u->node, __kuid_val(uid));
	} else {
		kfree(spare);
	}
	u->bytes += bytes;
	hs_used += bytes;
	if (shift == HS_2M_SHIFT)
		hs_used_2m += bytes;
	hs_peak = max(hs_peak, hs_used);
	return 0;
}

static void hs_uncharge(kuid_t uid, u64 bytes, unsigned int shift)
{
	struct hs_user *u;

	lockdep_assert_held(&hs_lock);
	hs_used -= bytes;
	if (shift == HS_2M_SHIFT)
		hs_used_2m -= bytes;
	u = hs_user_find(uid);
	if (WARN_ON_ONCE(!u))
		return;
	u->bytes -= bytes;
	if (!u->bytes) {
		hash_del(&u->node);
		kfree(u);
	}
}

/* ---- populating ------------------------------------------------------ */

/*
 * hugetlbfs allocates under the policy of the task that fills the file.
 * For a region on a given node that task is a kernel thread on the node's
 * CPUs, put into the caller's cgroups so the hugetlb controller still
 * charges the caller.
 */
struct hs_populate {
	struct file *file;
	u64 bytes;
	int node;
	struct task_struct *caller;
	struct mempolicy *mpol;		/* the caller's, for node ANY */
	struct completion done;
	int err;
};

/*
 * Node ANY in a thread (the caller's RLIMIT_FSIZE is too small): the thread
 * takes a reference on the caller's memory policy and uses it as its own,
 * so placement still follows the caller; do_exit() drops it.
 */
static void hs_take_policy(struct hs_populate *p)
{
#ifdef CONFIG_NUMA
	task_lock(current);
	p->mpol = current->mempolicy;
	mpol_get(p->mpol);
	task_unlock(current);
#endif
}

static void hs_use_policy(struct hs_populate *p)
{
#ifdef CONFIG_NUMA
	task_lock(current);
	current->mempolicy = p->mpol;
	task_unlock(current);
#endif
}

static int hs_populate_fn(void *arg)
{
	struct hs_populate *p = arg;
	int err;

	err = cgroup_attach_task_all(p->caller, current);
	if (!err && p->node != NUMA_NO_NODE)
		err = set_cpus_allowed_ptr(current, cpumask_of_node(p->node));
	/* Even on failure: do_exit() drops the reference. */
	if (p->node == NUMA_NO_NODE)
		hs_use_policy(p);
	if (!err)
		err = vfs_fallocate(p->file, 0, 0, p->bytes);
	p->err = err;
	complete(&p->done);
	return 0;
}

static int hs_populate_in_thread(struct file *file, u64 bytes, int node)
{
	struct hs_populate p = {
		.file = file, .bytes = bytes, .node = node, .caller = current,
	};
	struct task_struct *t;

	init_completion(&p.done);
	t = kthread_create_on_node(hs_populate_fn, &p, node, "hugeslab/%d",
				   node);
	if (IS_ERR(t))
		return PTR_ERR(t);
	/* Only once the thread exists: its exit drops the reference. */
	if (node == NUMA_NO_NODE)
		hs_take_policy(&p);
	wake_up_process(t);
	wait_for_completion(&p.done);
	return p.err;
}

static int hs_populate(struct file *file, u64 bytes, int node)
{
	const struct cred *old_cred;
	sigset_t block, old_mask;
	int err;

	/*
	 * Filling the file in the caller's context follows its memory policy
	 * and charges its cgroups. A node request, or an RLIMIT_FSIZE that
	 * would make fallocate raise SIGXFSZ, goes through a kernel thread.
	 */
	if (node != NUMA_NO_NODE || rlimit(RLIMIT_FSIZE) < bytes)
		return hs_populate_in_thread(file, bytes, node);

	/*
	 * hugetlbfs stops filling at any pending signal; a timer or SIGCHLD
	 * must not make a create fail, only SIGKILL may.
	 */
	sigfillset(&block);
	sigdelset(&block, SIGKILL);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	old_cred = override_creds(hs_cred);
	err = vfs_fallocate(file, 0, 0, bytes);
	revert_creds(old_cred);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return err;
}

/* The node all the file's pages are on, or NUMA_NO_NODE if several. */
static int hs_file_node(struct file *file, u64 bytes, unsigned int shift)
{
	unsigned int order = shift - PAGE_SHIFT;
	pgoff_t idx, n = bytes >> shift;
	int nid = NUMA_NO_NODE;

	for (idx = 0; idx < n; idx++) {
		int this = hs_hugepage_nid(file->f_mapping, idx, order);

		if (idx && this != nid)
			return NUMA_NO_NODE;
		nid = this;
	}
	return nid;
}

/* ---- regions --------------------------------------------------------- */

bool hs_region_mapped(const struct hs_region *r)
{
	return mapping_mapped(r->file->f_mapping);
}

static void hs_region_free_locked(struct hs_region *r)
{
	lockdep_assert_held(&hs_lock);
	list_del(&r->gnode);
	hs_uncharge(r->uid, r->bytes, r->shift);
	hs_count--;
	hs_destroyed++;
	fput(r->file);
	ida_free(&hs_ids, r->id);
	kfree(r);
	module_put(THIS_MODULE);
}

/*
 * Our reference is the last one when nothing maps the file: every VMA
 * holds one, taken in hs_mmap() while the region is still reachable.
 */
static bool hs_region_busy(const struct hs_region *r)
{
	return file_count(r->file) > 1;
}

static void hs_reap_locked(void)
{
	struct hs_region *r, *tmp;

	lockdep_assert_held(&hs_lock);
	if (!hs_detached)
		return;
	list_for_each_entry_safe(r, tmp, &hs_regions, gnode) {
		if (r->ctx || hs_region_busy(r))
			continue;
		hs_detached--;
		hs_region_free_locked(r);
	}
}

void hs_reap(void)
{
	mutex_lock(&hs_lock);
	hs_reap_locked();
	mutex_unlock(&hs_lock);
}

static void hs_reap_work_fn(struct work_struct *work)
{
	mutex_lock(&hs_lock);
	hs_reap_locked();
	if (hs_detached)
		schedule_delayed_work(&hs_reap_work, HZ / 4);
	mutex_unlock(&hs_lock);
}

/* The region has left its context: free it now or when unmapped. */
static void hs_region_detach(struct hs_region *r)
{
	mutex_lock(&hs_lock);
	r->ctx = NULL;
	if (hs_region_busy(r)) {
		hs_detached++;
		schedule_delayed_work(&hs_reap_work, HZ / 4);
	} else {
		hs_region_free_locked(r);
	}
	mutex_unlock(&hs_lock);
}

/*
 * A node request is populated from one of the node's CPUs (modules cannot
 * make a memory policy), so the node needs memory and an online CPU.
 */
static int hs_check_node(int node)
{
	if (node == HUGESLAB_NODE_ANY)
		return 0;
	if (node < 0 || node >= MAX_NUMNODES || !node_state(node, N_MEMORY) ||
	    !cpumask_intersects(cpumask_of_node(node), cpu_online_mask))
		return -EINVAL;
	return 0;
}

int hs_region_create(struct hs_ctx *ctx, struct hugeslab_create *req)
{
	struct hs_tier *t = &hs_tiers[req->flags & HUGESLAB_CREATE_1G ?
				      HS_TIER_1G : HS_TIER_2M];
	int node = req->node == HUGESLAB_NODE_ANY ? NUMA_NO_NODE : req->node;
	const struct cred *old_cred;
	struct hs_user *spare;
	kuid_t uid = current_uid();
	struct path root;
	struct hs_region *r;
	struct file *file;
	int err, id;

	if (!t->mnt)
		return -EOPNOTSUPP;
	if (!req->bytes || req->bytes > HS_REGION_MAX_BYTES ||
	    req->bytes & ((1ULL << t->shift) - 1))
		return -EINVAL;
	err = hs_check_node(req->node);
	if (err)
		return err;

	r = hs_should_fail(HS_FAULT_REGION) ? NULL :
		kzalloc(sizeof(*r), GFP_KERNEL);
	spare = hs_should_fail(HS_FAULT_USER) ? NULL :
		kzalloc(sizeof(*spare), GFP_KERNEL);
	if (!r || !spare) {
		err = -ENOMEM;
		goto out_free;
	}
	id = hs_should_fail(HS_FAULT_ID) ? -ENOMEM :
		ida_alloc_range(&hs_ids, 1, HS_REGION_MAX_ID, GFP_KERNEL);
	if (id < 0) {
		err = id == -ENOSPC ? -EMFILE : id;
		goto out_free;
	}

	mutex_lock(&hs_lock);
	hs_reap_locked();
	err = hs_charge(uid, req->bytes, t->shift, capable(CAP_IPC_LOCK),
			spare);
	spare = NULL;
	mutex_unlock(&hs_lock);
	if (err)
		goto out_id;

	root.mnt = t->mnt;
	root.dentry = t->mnt->mnt_root;
	/*
	 * The file is the module's: create it as the module. The tmpfile
	 * permission check on the mount's root uses the current creds, so
	 * a caller without CAP_DAC_OVERRIDE would get -EACCES.
	 */
	old_cred = override_creds(hs_cred);
	file = hs_should_fail(HS_FAULT_FILE) ? ERR_PTR(-ENOMEM) :
		hs_tmpfile_open(&root, 0600, O_RDWR | O_LARGEFILE, hs_cred);
	revert_creds(old_cred);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto out_uncharge;
	}
	err = hs_should_fail(HS_FAULT_POPULATE) ? -ENOMEM :
		hs_populate(file, req->bytes, node);
	if (err == -ENOSPC)
		err = -ENOMEM;	/* the pool is empty, not a quota */
	if (err)
		goto out_fput;
	r->node = hs_file_node(file, req->bytes, t->shift);
	if (node != NUMA_NO_NODE && r->node != node) {
		err = -ENOMEM;	/* no free huge pages on that node */
		goto out_fput;
	}

	r->file = file;
	r->ctx = ctx;
	r->id = id;
	r->bytes = req->bytes;
	r->shift = t->shift;
	r->uid = uid;
	r->pid = task_tgid_nr(current);
	get_task_comm(r->comm, current);
	__module_get(THIS_MODULE);	/* rmmod waits for the last region */

	req->id = r->id;
	req->offset = (u64)r->id << HS_OFFSET_SHIFT;
	req->page_size = 1ULL << r->shift;
	req->page_node = r->node;

	/*
	 * Global list first, the file's last: once on ctx->regions, another
	 * thread sharing the file can destroy the region by id, which takes
	 * it off hs_regions and frees it. So it must be there already, and
	 * r is not touched again here.
	 */
	mutex_lock(&hs_lock);
	list_add_tail(&r->gnode, &hs_regions);
	hs_count++;
	hs_created++;
	mutex_unlock(&hs_lock);

	mutex_lock(&ctx->lock);
	list_add_tail(&r->cnode, &ctx->regions);
	ctx->bytes += r->bytes;
	ctx->count++;
	mutex_unlock(&ctx->lock);
	return 0;

out_fput:
	fput(file);
out_uncharge:
	mutex_lock(&hs_lock);
	hs_uncharge(uid, req->bytes, t->shift);
	mutex_unlock(&hs_lock);
out_id:
	ida_free(&hs_ids, id);
out_free:
	kfree(spare);
	kfree(r);
	/* Refusals by a limit were counted when charging. */
	if (err != -EDQUOT) {
		mutex_lock(&hs_lock);
		if (err == -ENOMEM)
			hs_failed_nomem++;
		else
			hs_failed_other++;
		mutex_unlock(&hs_lock);
	}
	return err;
}

struct hs_region *hs_ctx_find(struct hs_ctx *ctx, u64 id)
{
	struct hs_region *r;

	lockdep_assert_held(&ctx->lock);
	list_for_each_entry(r, &ctx->regions, cnode)
		if (r->id == id)
			return r;
	return NULL;
}

static void hs_ctx_unlink(struct hs_ctx *ctx, struct hs_region *r)
{
	lockdep_assert_held(&ctx->lock);
	list_del(&r->cnode);
	ctx->bytes -= r->bytes;
	ctx->count--;
}

int hs_region_destroy(struct hs_ctx *ctx, u64 id)
{
	struct hs_region *r;

	mutex_lock(&ctx->lock);
	r = hs_ctx_find(ctx, id);
	if (r)
		hs_ctx_unlink(ctx, r);
	mutex_unlock(&ctx->lock);
	if (!r)
		return -ENOENT;
	hs_region_detach(r);
	return 0;
}

void hs_ctx_release(struct hs_ctx *ctx)
{
	struct hs_region *r;

	/*
	 * Last reference to the file: nobody else can reach ctx, but
	 * hs_ctx_unlink() asserts ctx->lock, so take it as destroy does
	 * (dropped before hs_region_detach() takes hs_lock).
	 */
	mutex_lock(&ctx->lock);
	while ((r = list_first_entry_or_null(&ctx->regions, struct hs_region,
					     cnode))) {
		hs_ctx_unlink(ctx, r);
		mutex_unlock(&ctx->lock);
		hs_region_detach(r);
		mutex_lock(&ctx->lock);
	}
	mutex_unlock(&ctx->lock);
}

/* ---- load and unload ------------------------------------------------- */

int hs_regions_init(void)
{
	/* hugetlbfs reserves whole pages. */
	u64 reserve = round_down((u64)hs_reserve_mb << 20, 1ULL << HS_2M_SHIFT);
	struct cred *cred;
	int err;

	cred = prepare_kernel_cred(&init_task);
	if (!cred)
		return -ENOMEM;
	hs_cred = cred;

	if (reserve != (u64)hs_reserve_mb << 20)
		pr_warn("%s: reserve_mb=%u is not whole 2 MiB pages: reserving %llu MiB\n",
			HS_NAME, hs_reserve_mb, reserve >> 20);
	hs_reserve_bytes = reserve;
	err = hs_tier_mount(&hs_tiers[HS_TIER_2M], "2M", reserve);
	if (err) {
		if (reserve && err == -ENOMEM)
			pr_err("%s: cannot reserve %u MiB of 2 MiB huge pages: not enough free in the pool (see HugePages_Free in /proc/meminfo); add pages with 'sysctl vm.nr_hugepages=N' or boot with hugepages=N, or load with a smaller reserve_mb\n",
			       HS_NAME, hs_reserve_mb);
		else
			pr_err("%s: cannot mount hugetlbfs with 2 MiB pages (%d); is CONFIG_HUGETLBFS enabled?\n",
			       HS_NAME, err);
		goto out_cred;
	}
	/* 1 GiB pages exist only where the CPU and kernel have them. */
	if (hs_tier_mount(&hs_tiers[HS_TIER_1G], "1G", 0))
		hs_tiers[HS_TIER_1G].mnt = NULL;
	return 0;

out_cred:
	put_cred(hs_cred);
	return err;
}

void hs_regions_exit(void)
{
	int i;

	/* Every region holds a module reference, so none is left here. */
	cancel_delayed_work_sync(&hs_reap_work);
	WARN_ON(!list_empty(&hs_regions));
	for (i = 0; i < HS_TIER_COUNT; i++)
		if (hs_tiers[i].mnt)
			kern_unmount(hs_tiers[i].mnt);
	put_cred(hs_cred);
	ida_destroy(&hs_ids);
}
