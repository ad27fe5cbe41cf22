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
 * A region is freed when it is destroyed (or its file closed), nothing maps
 * it any more, and nothing else holds its pages. Its file and every VMA
 * mapping it count as users (hs_dev.c wraps hugetlb's VMA operations to
 * know): the last to go releases the region there and then. Until the
 * pages are really free - a pipe (vmsplice), a pin (io_uring, O_DIRECT)
 * may hold them long after - the region stays listed and charged to its
 * user, its limits and the reserve.
 */
#include <linux/bitmap.h>
#include <linux/capability.h>
#include <linux/cgroup.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/freezer.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/hugetlb.h>
#include <linux/kthread.h>
#include <linux/mempolicy.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/nodemask.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/seqlock.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "hs_compat.h"
#include "hs_internal.h"

/*
 * Guards hs_users, the counters (which change inside hs_seq too, so that
 * hs_totals() needs no lock) and which regions hs_regions lists.
 */
DEFINE_MUTEX(hs_lock);
static seqcount_mutex_t hs_seq = SEQCNT_MUTEX_ZERO(hs_seq, &hs_lock);
struct hs_tier hs_tiers[HS_TIER_COUNT];

/*
 * Regions by id, the id allocator too: an entry from the id's allocation
 * (not listed yet) to the region's free, erased under hs_lock.
 */
static DEFINE_XARRAY_ALLOC1(hs_regions);
static const struct cred *hs_cred;
/* Releases regions: punching their files needs locks a VMA close holds. */
static struct workqueue_struct *hs_wq;

/*
 * Global counters, under hs_lock. hs_used counts the huge pages regions
 * hold (as they are filled), hs_pending what admitted requests have still
 * to fill: limits count both, the peak only pages really held.
 */
static u64 hs_used, hs_pending, hs_count, hs_peak, hs_created, hs_destroyed;
/* The reserve in bytes: whole 2 MiB pages. */
static u64 hs_reserve_bytes;
static u64 hs_failed_limit, hs_failed_nomem, hs_failed_other;

/*
 * Bytes each user's regions hold, and its admitted requests have still to
 * fill, under hs_lock; entries for users with either only.
 */
struct hs_user {
	struct hlist_node node;
	kuid_t uid;
	u64 bytes;
	u64 pending;
};

static DEFINE_HASHTABLE(hs_users, 6);

/* The hugetlbfs size= of the reserve mount: beyond any real pool. */
#define HS_MOUNT_MAX_BYTES	BIT_ULL(50)

/*
 * A released region whose pages someone still holds is looked at again
 * after HS_HELD_MIN, then at twice the interval each time, up to
 * HS_HELD_MAX: see hs_region_release().
 */
#define HS_HELD_MIN	(HZ / 100 ? HZ / 100 : 1)
#define HS_HELD_MAX	HZ

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

/*
 * What is left of the reserve: the reserved pages of the 2 MiB mount's
 * subpool no file uses. hugetlb counts a page of a file as used until the
 * page is really freed, so this is the truth even while a region's pages
 * are held somewhere after it is gone, or after MADV_REMOVE gave some back.
 */
static u64 hs_reserve_free(void)
{
	struct vfsmount *mnt = hs_tiers[HS_TIER_2M].mnt;
	struct hugepage_subpool *spool = HUGETLBFS_SB(mnt->mnt_sb)->spool;

	return spool ? (u64)max(READ_ONCE(spool->rsv_hpages), 0L) <<
		       HS_2M_SHIFT : 0;
}

/* hs_lock, for a change of the counters (see hs_totals()). */
static void hs_count_lock(void)
{
	mutex_lock(&hs_lock);
	write_seqcount_begin(&hs_seq);
}

static void hs_count_unlock(void)
{
	write_seqcount_end(&hs_seq);
	mutex_unlock(&hs_lock);
}

static void hs_totals_read(struct hs_totals *t)
{
	t->reserve_bytes = hs_reserve_bytes;
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
}

/*
 * The counters, consistent, without hs_lock: the sysfs files are readable
 * by everyone, and no reader should wait for, or make wait, a create.
 */
void hs_totals(struct hs_totals *t)
{
	unsigned int seq;

	t->reserve_free = hs_reserve_free();
	do {
		seq = read_seqcount_begin(&hs_seq);
		hs_totals_read(t);
	} while (read_seqcount_retry(&hs_seq, seq));
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
 * The user a file's regions are charged to: the one who opened it, by its
 * real uid. A user namespace's uids are its creator's: a user with a range
 * of subordinate uids does not get an allowance for each of them, whether
 * its processes take them before opening the device or after.
 */
kuid_t hs_charged_uid(const struct cred *cred)
{
	const struct user_namespace *ns = cred->user_ns;

	if (ns == &init_user_ns)
		return cred->uid;
	while (ns->parent != &init_user_ns)
		ns = ns->parent;
	return ns->owner;
}

/*
 * Whether @ctx's opener is exempt from user_max_mb: like mlock's limit, a
 * file opened with CAP_IPC_LOCK (in the initial namespace) is. Asked only
 * when a request is over the limit: a capability check can be audited and
 * marks the task as having used privilege (PF_SUPERPRIV, acct's ASU).
 */
static bool hs_exempt(const struct hs_ctx *ctx)
{
	return file_ns_capable(ctx->file, &init_user_ns, CAP_IPC_LOCK);
}

/*
 * Huge pages the pool could give a request now: the free ones nobody has
 * reserved, what is left of the module's reserve and what overcommit
 * allows, and for a node no more than are free there. Read without
 * hugetlb's lock: an estimate, enough to refuse at once a request that
 * cannot be met (which would otherwise take every page it could, hold its
 * admission, drain the reserve, then fail and give it all back).
 */
static unsigned long hs_pool_room(const struct hs_tier *t, int node)
{
	struct hstate *h = hstate_inode(d_inode(t->mnt->mnt_root));
	struct hugepage_subpool *spool = HUGETLBFS_SB(t->mnt->mnt_sb)->spool;
	long over = (long)READ_ONCE(h->nr_overcommit_huge_pages) -
		    (long)READ_ONCE(h->surplus_huge_pages);
	long room;

	room = (long)READ_ONCE(h->free_huge_pages) -
	       (long)READ_ONCE(h->resv_huge_pages);
	if (spool)
		room += READ_ONCE(spool->rsv_hpages);
	if (node != NUMA_NO_NODE)
		room = min_t(long, room,
			     READ_ONCE(h->free_huge_pages_node[node]));
	room += max(over, 0L);
	return max(room, 0L);
}

/*
 * Admit @bytes of @t's pages for @ctx's user: EDQUOT past max_mb or
 * user_max_mb, ENOMEM if the pool cannot have them (both counted as
 * refusals). Admitted bytes are pending until filled (hs_account_page).
 * @spare is a free hs_user for a user not seen yet; it is used or freed
 * here.
 */
static int hs_admit(const struct hs_ctx *ctx, const struct hs_tier *t,
		    u64 bytes, int node, struct hs_user *spare)
{
	u64 max = (u64)READ_ONCE(hs_max_mb) << 20;
	u64 umax = (u64)READ_ONCE(hs_user_max_mb) << 20;
	kuid_t uid = ctx->uid;
	struct hs_user *u;

	lockdep_assert_held(&hs_lock);
	u = hs_user_find(uid);
	if ((max && hs_used + hs_pending + bytes > max) ||
	    (umax && (u ? u->bytes + u->pending : 0) + bytes > umax &&
	     !hs_exempt(ctx))) {
		kfree(spare);
		hs_failed_limit++;
		return -EDQUOT;
	}
	if (bytes >> t->shift > hs_pool_room(t, node)) {
		kfree(spare);
		hs_failed_nomem++;
		return -ENOMEM;
	}
	if (!u) {
		u = spare;
		u->uid = uid;
		hash_add(hs_users, &u->node, __kuid_val(uid));
	} else {
		kfree(spare);
	}
	u->pending += bytes;
	hs_pending += bytes;
	return 0;
}

/* A page of @r was filled: it is held now, no longer pending. */
static void hs_account_page(struct hs_region *r)
{
	u64 bytes = 1ULL << r->shift;
	struct hs_user *u;

	hs_count_lock();
	u = hs_user_find(r->uid);
	if (!WARN_ON_ONCE(!u)) {
		u->pending -= bytes;
		u->bytes += bytes;
	}
	hs_pending -= bytes;
	hs_used += bytes;
	hs_peak = max(hs_peak, hs_used);
	hs_count_unlock();
}

/* Give back what @r was admitted for: the pages it holds and the rest. */
static void hs_uncharge(struct hs_region *r)
{
	u64 rest = r->bytes - r->populated;
	struct hs_user *u;

	lockdep_assert_held(&hs_lock);
	hs_used -= r->populated;
	hs_pending -= rest;
	u = hs_user_find(r->uid);
	if (WARN_ON_ONCE(!u))
		return;
	u->bytes -= r->populated;
	u->pending -= rest;
	if (!u->bytes && !u->pending) {
		hash_del(&u->node);
		kfree(u);
	}
}

/* ---- populating ------------------------------------------------------ */

/*
 * Fill @r's file up to its size, one huge page at a time: a fatal signal
 * (in the caller's context) or a cancel (in the kernel thread, @cancel)
 * stops it at the next page, however large the request, and the loop
 * yields between pages. Each page is charged as held when it is in, and
 * its node noted; a request for @node fails at the first page elsewhere.
 */
static int hs_fill(struct hs_region *r, int node, const bool *cancel)
{
	unsigned int order = r->shift - PAGE_SHIFT;
	u64 step = 1ULL << r->shift;
	int err, nid;

	while (r->populated < r->bytes) {
		if (cancel ? READ_ONCE(*cancel) : fatal_signal_pending(current))
			return -EINTR;
		if (cancel)
			try_to_freeze();
		err = hs_should_fail(HS_FAULT_POPULATE) ? -ENOMEM :
			vfs_fallocate(r->file, 0, r->populated, step);
		if (err)
			return err == -ENOSPC ? -ENOMEM : err;
		nid = hs_hugepage_nid(r->file->f_mapping,
				      r->populated >> r->shift, order);
		hs_account_page(r);
		if (!r->populated)
			r->node = nid;
		else if (nid != r->node)
			r->node = NUMA_NO_NODE;
		r->populated += step;
		/* The pool lent a page of another node: no use going on. */
		if (node != NUMA_NO_NODE && nid != node)
			return -ENOMEM;
		cond_resched();
	}
	return 0;
}

/*
 * hugetlbfs allocates under the policy of the task that fills the file.
 * For a region on a given node that task is a kernel thread on the node's
 * CPUs, put into the caller's cgroups so the hugetlb controller still
 * charges the caller. The caller waits for it killably: on SIGKILL it
 * cancels the thread, which stops at the next page, and waits for that.
 */
struct hs_filler {
	struct hs_region *r;
	int node;
	struct task_struct *caller;
	struct mempolicy *mpol;		/* the caller's, for node ANY */
	struct completion done;
	bool cancel;
	int err;
};

/*
 * Node ANY in a thread (the caller's RLIMIT_FSIZE is too small): the thread
 * takes a reference on the caller's memory policy and uses it as its own,
 * so placement still follows the caller; do_exit() drops it.
 */
static void hs_take_policy(struct hs_filler *f)
{
#ifdef CONFIG_NUMA
	task_lock(current);
	f->mpol = current->mempolicy;
	mpol_get(f->mpol);
	task_unlock(current);
#endif
}

static void hs_use_policy(struct hs_filler *f)
{
#ifdef CONFIG_NUMA
	task_lock(current);
	current->mempolicy = f->mpol;
	task_unlock(current);
#endif
}

static int hs_filler_fn(void *arg)
{
	struct hs_filler *f = arg;
	int err;

	set_freezable();
	err = cgroup_attach_task_all(f->caller, current);
	if (!err && f->node != NUMA_NO_NODE)
		err = set_cpus_allowed_ptr(current, cpumask_of_node(f->node));
	/* Even on failure: do_exit() drops the reference. */
	if (f->node == NUMA_NO_NODE)
		hs_use_policy(f);
	if (!err)
		err = hs_fill(f->r, f->node, &f->cancel);
	f->err = err;
	/*
	 * The caller may unload the module as soon as it is woken: leave
	 * from kthread code, never returning into ours.
	 */
	kthread_complete_and_exit(&f->done, 0);
}

static int hs_fill_in_thread(struct hs_region *r, int node)
{
	struct hs_filler f = { .r = r, .node = node, .caller = current };
	struct task_struct *t;

	init_completion(&f.done);
	if (node == NUMA_NO_NODE)
		t = kthread_create(hs_filler_fn, &f, "hugeslab/any");
	else
		t = kthread_create_on_node(hs_filler_fn, &f, node,
					   "hugeslab/%d", node);
	if (IS_ERR(t))
		return PTR_ERR(t);
	/* Only once the thread exists: its exit drops the reference. */
	if (node == NUMA_NO_NODE)
		hs_take_policy(&f);
	wake_up_process(t);
	/* A huge request takes minutes: SIGKILL and the freezer may come. */
	if (wait_for_completion_state(&f.done, TASK_KILLABLE | TASK_FREEZABLE)) {
		WRITE_ONCE(f.cancel, true);
		/* At most a page more: f lives on this stack until then. */
		wait_for_completion(&f.done);
		return -EINTR;
	}
	return f.err;
}

static int hs_populate(struct hs_region *r, int node)
{
	const struct cred *old_cred;
	sigset_t block, old_mask;
	int err;

	/*
	 * Filling the file in the caller's context follows its memory policy
	 * and charges its cgroups. A node request, or an RLIMIT_FSIZE that
	 * would make fallocate raise SIGXFSZ, goes through a kernel thread.
	 */
	if (node != NUMA_NO_NODE || rlimit(RLIMIT_FSIZE) < r->bytes)
		return hs_fill_in_thread(r, node);

	/*
	 * hugetlbfs stops filling at any pending signal. Caught signals (a
	 * timer, SIGCHLD) wait until the create is done; SIGKILL ends it, and
	 * a stop (SIGSTOP, or another thread's), the freezer or task work
	 * interrupt it for a restart (hs_partial_keep()).
	 */
	sigfillset(&block);
	sigdelset(&block, SIGKILL);
	sigdelset(&block, SIGSTOP);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	old_cred = override_creds(hs_cred);
	err = hs_fill(r, NUMA_NO_NODE, NULL);
	revert_creds(old_cred);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return err;
}

/* ---- regions --------------------------------------------------------- */

/*
 * The first listed region with an id from *@id up (and *@id set to it), or
 * NULL. With hs_lock held, for debugfs: a region is freed only after it is
 * erased, under hs_lock.
 */
struct hs_region *hs_region_from(unsigned long *id)
{
	struct hs_region *r;

	lockdep_assert_held(&hs_lock);
	xa_for_each_start(&hs_regions, *id, r, *id)
		if (r->listed)
			return r;
	return NULL;
}

bool hs_region_mapped(const struct hs_region *r)
{
	return mapping_mapped(r->file->f_mapping);
}

/*
 * Give the region's pages back to the pool now: punched out of its file,
 * whoever still has a reference to the file itself (a VMA's fput may still
 * be on its way).
 */
static void hs_punch(struct hs_region *r)
{
	const struct cred *old_cred;

	if (!r->populated)
		return;
	old_cred = override_creds(hs_cred);
	vfs_fallocate(r->file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      r->populated);
	revert_creds(old_cred);
}

/*
 * Free a released region whose pages nobody holds: the pages go back to
 * the pool first, and only then do the counters let another request have
 * them.
 */
static void hs_region_free(struct hs_region *r)
{
	hs_punch(r);
	hs_count_lock();
	xa_erase(&hs_regions, r->id);
	hs_uncharge(r);
	hs_count--;
	hs_destroyed++;
	hs_count_unlock();
	fput(r->file);
	kfree(r);
	module_put(THIS_MODULE);
}

/*
 * Whether nobody but the file holds the released region's pages. Once
 * released, nothing maps the region and nothing can reach its file, so a
 * page seen held by nobody stays that way (a holder can only hand its
 * reference on, tee(2) for a pipe): r->idle remembers how far the pages
 * have been seen free, and each look starts there.
 */
static bool hs_region_idle(struct hs_region *r)
{
	unsigned int order = r->shift - PAGE_SHIFT;
	pgoff_t n = r->populated >> r->shift;

	for (; r->idle < n; r->idle++) {
		if (!hs_hugepage_idle(r->file->f_mapping, r->idle, order))
			return false;
		cond_resched();
	}
	return true;
}

/*
 * The region's last user is gone: free it, unless its pages are held
 * elsewhere (a pipe it was vmspliced into, an io_uring buffer, O_DIRECT in
 * flight). The kernel tells nobody when such a reference goes, so then it
 * is looked at again later, less and less often (up to once every
 * HS_HELD_MAX), each look going only over the pages not yet seen free:
 * the cost is bounded by the region's size plus one page per look, for
 * regions someone really holds. Meanwhile it stays listed and charged:
 * memory anyone still holds counts for the user the region was charged to.
 */
static void hs_region_release(struct hs_region *r)
{
	if (!hs_region_idle(r)) {
		r->backoff = r->backoff ? min(2 * r->backoff, HS_HELD_MAX) :
			     HS_HELD_MIN;
		queue_delayed_work(hs_wq, &r->release, r->backoff);
		return;
	}
	hs_region_free(r);
}

static void hs_region_release_work(struct work_struct *work)
{
	hs_region_release(container_of(to_delayed_work(work), struct hs_region,
				       release));
}

/* A VMA mapping the region is made (split or copied) from another one. */
void hs_region_get(struct hs_region *r)
{
	refcount_inc(&r->users);
}

/*
 * A VMA of the region is gone. Called with the mm's mmap_lock held, where
 * the region's file cannot be punched (inode locks come before mmap_lock):
 * the last one hands the release to hs_wq.
 */
void hs_region_put_vma(struct hs_region *r)
{
	if (refcount_dec_and_test(&r->users))
		queue_delayed_work(hs_wq, &r->release, 0);
}

/* The region left its file (destroyed, or the file closed). */
static void hs_region_put_ctx(struct hs_region *r)
{
	if (refcount_dec_and_test(&r->users))
		hs_region_release(r);
}

/*
 * Releases already under way are done when this returns: what a caller
 * unmapped before a create, a query or reading the counters is no longer
 * counted. Releases waiting for held pages are not waited for.
 */
void hs_flush_releases(void)
{
	flush_workqueue(hs_wq);
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

/* A create that failed after its arguments were found good. */
static void hs_count_failure(int err)
{
	hs_count_lock();
	if (err == -ENOMEM)
		hs_failed_nomem++;
	else
		hs_failed_other++;
	hs_count_unlock();
}

/* Give back @r's 32-bit mmap slot in @ctx. */
static void hs_cslot_free(struct hs_ctx *ctx, struct hs_region *r)
{
	if (!r->cslot)
		return;
	mutex_lock(&ctx->lock);
	clear_bit(r->cslot, ctx->cslots);
	mutex_unlock(&ctx->lock);
	r->cslot = 0;
}

/*
 * A 32-bit caller's region gets a slot of its file for an mmap offset the
 * caller can pass (see HS_COMPAT_SHIFT); EMFILE if the file has none left.
 */
static int hs_cslot_alloc(struct hs_ctx *ctx, struct hs_region *r)
{
	unsigned long slot;
	int err = 0;

	if (!in_compat_syscall())
		return 0;
	mutex_lock(&ctx->lock);
	slot = find_next_zero_bit(ctx->cslots, HS_COMPAT_SLOTS + 1, 1);
	if (slot > HS_COMPAT_SLOTS) {
		err = -EMFILE;
	} else {
		set_bit(slot, ctx->cslots);
		r->cslot = slot;
	}
	mutex_unlock(&ctx->lock);
	return err;
}

/* Undo an admitted region that never was one: pages, charges and id. */
static void hs_region_discard(struct hs_ctx *ctx, struct hs_region *r)
{
	hs_cslot_free(ctx, r);
	if (r->file) {
		hs_punch(r);
		fput(r->file);
	}
	hs_count_lock();
	xa_erase(&hs_regions, r->id);
	hs_uncharge(r);
	hs_count_unlock();
	put_pid(r->restart);
	kfree(r);
}

/*
 * A new region for @req: an id, admitted, with an empty file. Failures are
 * counted here (refusals at admission by hs_admit()).
 */
static int hs_region_new(struct hs_ctx *ctx, const struct hs_tier *t,
			 const struct hugeslab_create *req, int node,
			 struct hs_region **out)
{
	const struct cred *old_cred;
	struct hs_user *spare;
	struct path root;
	struct hs_region *r;
	struct file *file;
	u32 id;
	int err;

	r = hs_should_fail(HS_FAULT_REGION) ? NULL :
		kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	spare = hs_should_fail(HS_FAULT_USER) ? NULL :
		kzalloc(sizeof(*spare), GFP_KERNEL_ACCOUNT);
	if (!r || !spare) {
		err = -ENOMEM;
		goto out_free;
	}
	/* Stored now, listed once created: debugfs skips it until then. */
	err = hs_should_fail(HS_FAULT_ID) ? -ENOMEM :
		xa_alloc(&hs_regions, &id, r,
			 XA_LIMIT(1, HS_REGION_MAX_ID), GFP_KERNEL_ACCOUNT);
	if (err) {
		err = err == -EBUSY ? -EMFILE : err;
		goto out_free;
	}
	r->id = id;
	INIT_DELAYED_WORK(&r->release, hs_region_release_work);
	r->bytes = req->bytes;
	r->shift = t->shift;
	r->uid = ctx->uid;
	r->node = NUMA_NO_NODE;
	r->req_flags = req->flags;
	r->req_node = req->node;

	hs_flush_releases();
	hs_count_lock();
	err = hs_admit(ctx, t, req->bytes, node, spare);
	if (err)
		xa_erase(&hs_regions, id);
	hs_count_unlock();
	if (err) {
		kfree(r);
		return err;
	}

	root.mnt = t->mnt;
	root.dentry = t->mnt->mnt_root;
	/*
	 * The file is the module's: create it as the module. The tmpfile
	 * permission check on the mount's root uses the current creds, so
	 * a caller without CAP_DAC_OVERRIDE would get -EACCES.
	 *
	 * Write-only: the module fills it (and MADV_REMOVE punches it), but
	 * nobody may mmap() it as a file. A mapping of the region has it as
	 * vm_file, and remap_file_pages() maps vm_file again at any offset
	 * through do_mmap(), which refuses a file not open for reading: were
	 * it readable, a process could map it past the region's end and have
	 * hugetlbfs reserve and fill pages there, outside every limit and
	 * out of the module's reserve.
	 */
	old_cred = override_creds(hs_cred);
	file = hs_should_fail(HS_FAULT_FILE) ? ERR_PTR(-ENOMEM) :
		hs_tmpfile_open(&root, 0600, O_WRONLY | O_LARGEFILE, hs_cred);
	revert_creds(old_cred);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		/* hugetlbfs says ENOSPC when it cannot allocate an inode. */
		if (err == -ENOSPC)
			err = -ENOMEM;
		hs_region_discard(ctx, r);
		hs_count_failure(err);
		return err;
	}
	file->private_data = r;	/* for its VMAs (hs_dev.c) */
	r->file = file;
	err = hs_cslot_alloc(ctx, r);
	if (err) {
		hs_region_discard(ctx, r);
		return err;	/* EMFILE: refused, not failed */
	}
	*out = r;
	return 0;

out_free:
	kfree(spare);
	kfree(r);
	/* Without an id (EMFILE) a request is refused, not failed. */
	if (err != -EMFILE)
		hs_count_failure(err);
	return err;
}

static bool hs_same_request(const struct hs_region *r,
			    const struct hugeslab_create *req)
{
	return r->bytes == req->bytes && r->req_flags == req->flags &&
	       r->req_node == req->node;
}

/*
 * The region this thread's interrupted create left for its restart, if it
 * is the same request. Whatever else the thread left, and what threads
 * that are gone left, is discarded.
 */
static struct hs_region *hs_partial_take(struct hs_ctx *ctx,
					 const struct hugeslab_create *req)
{
	struct hs_region *r, *tmp, *found = NULL;
	struct pid *me = task_pid(current);
	LIST_HEAD(stale);

	mutex_lock(&ctx->lock);
	list_for_each_entry_safe(r, tmp, &ctx->partials, cnode) {
		bool gone;

		rcu_read_lock();
		gone = !pid_task(r->restart, PIDTYPE_PID);
		rcu_read_unlock();
		if (r->restart == me && !found && hs_same_request(r, req)) {
			list_del(&r->cnode);
			found = r;
		} else if (r->restart == me || gone) {
			list_move(&r->cnode, &stale);
		}
	}
	mutex_unlock(&ctx->lock);
	list_for_each_entry_safe(r, tmp, &stale, cnode) {
		hs_region_discard(ctx, r);
		hs_count_failure(-EINTR);
	}
	return found;
}

/*
 * A create interrupted by a signal that is not fatal - a stop, the
 * freezer, io_uring's task work - must let the kernel deal with it in user
 * space, and then go on: it returns -ERESTARTNOINTR, which restarts the
 * call, and keeps what it filled for the restart of this thread.
 */
static int hs_partial_keep(struct hs_ctx *ctx, struct hs_region *r)
{
	r->restart = get_pid(task_pid(current));
	mutex_lock(&ctx->lock);
	list_add_tail(&r->cnode, &ctx->partials);
	mutex_unlock(&ctx->lock);
	return -ERESTARTNOINTR;
}

/*
 * Create a region for @req and fill in its results. It is counted and
 * listed, but not on @ctx yet: until hs_region_publish(), once its result
 * has reached user space, nobody can map or destroy it by id; if the result
 * cannot be written, hs_region_abandon() frees this region, and only it.
 */
int hs_region_create(struct hs_ctx *ctx, struct hugeslab_create *req,
		     struct hs_region **out)
{
	struct hs_tier *t = &hs_tiers[req->flags & HUGESLAB_CREATE_1G ?
				      HS_TIER_1G : HS_TIER_2M];
	int node = req->node == HUGESLAB_NODE_ANY ? NUMA_NO_NODE : req->node;
	struct hs_region *r;
	int err;

	if (!t->mnt)
		return -EOPNOTSUPP;
	if (!req->bytes || req->bytes > HS_REGION_MAX_BYTES ||
	    req->bytes & ((1ULL << t->shift) - 1))
		return -EINVAL;
	err = hs_check_node(req->node);
	if (err)
		return err;

	r = hs_partial_take(ctx, req);
	if (r) {
		put_pid(r->restart);
		r->restart = NULL;
	} else {
		err = hs_region_new(ctx, t, req, node, &r);
		if (err)
			return err;
	}
	/*
	 * hugetlbfs saw a signal pending; by now it may be gone (a stop
	 * undone by SIGCONT, once the signal mask is back): then go on, since
	 * -ERESTARTNOINTR is only turned into a restart by a signal there is
	 * to deal with on the way out, and would otherwise reach user space.
	 */
	do {
		err = hs_populate(r, node);
	} while (err == -EINTR && !signal_pending(current));
	if (err == -EINTR && !fatal_signal_pending(current))
		return hs_partial_keep(ctx, r);
	if (err) {
		hs_region_discard(ctx, r);
		hs_count_failure(err);
		return err;
	}

	r->pid = task_tgid_nr(current);
	get_task_comm(r->comm, current);
	__module_get(THIS_MODULE);	/* rmmod waits for the last region */

	req->id = r->id;
	req->offset = r->cslot ? (u64)r->cslot << HS_COMPAT_SHIFT :
				 (u64)r->id << HS_OFFSET_SHIFT;
	req->page_size = 1ULL << r->shift;
	req->page_node = r->node;

	hs_count_lock();
	r->listed = true;
	hs_count++;
	hs_created++;
	hs_count_unlock();
	*out = r;
	return 0;
}

/*
 * The caller has the region's id: put it on the file, where another thread
 * sharing the file can map it, or destroy it (and free it: r is not
 * touched here after).
 */
void hs_region_publish(struct hs_ctx *ctx, struct hs_region *r)
{
	refcount_set(&r->users, 1);	/* the file's */
	mutex_lock(&ctx->lock);
	list_add_tail(&r->cnode, &ctx->regions);
	ctx->bytes += r->bytes;
	ctx->count++;
	mutex_unlock(&ctx->lock);
}

/* The caller could not be told about the region: free it, never seen. */
void hs_region_abandon(struct hs_ctx *ctx, struct hs_region *r)
{
	hs_cslot_free(ctx, r);
	hs_count_lock();
	hs_failed_other++;
	hs_count_unlock();
	hs_region_free(r);
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

struct hs_region *hs_ctx_find_slot(struct hs_ctx *ctx, u64 slot)
{
	struct hs_region *r;

	lockdep_assert_held(&ctx->lock);
	list_for_each_entry(r, &ctx->regions, cnode)
		if (r->cslot == slot)
			return r;
	return NULL;
}

static void hs_ctx_unlink(struct hs_ctx *ctx, struct hs_region *r)
{
	lockdep_assert_held(&ctx->lock);
	if (r->cslot)
		clear_bit(r->cslot, ctx->cslots);
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
	hs_region_put_ctx(r);
	return 0;
}

void hs_ctx_release(struct hs_ctx *ctx)
{
	struct hs_region *r, *tmp;

	/* Creates interrupted for a restart that will not come now. */
	list_for_each_entry_safe(r, tmp, &ctx->partials, cnode) {
		list_del(&r->cnode);
		hs_region_discard(ctx, r);
		hs_count_failure(-EINTR);
	}

	/*
	 * Last reference to the file: nobody else can reach ctx, but
	 * hs_ctx_unlink() asserts ctx->lock, so take it as destroy does
	 * (dropped before a release takes hs_lock).
	 */
	mutex_lock(&ctx->lock);
	while ((r = list_first_entry_or_null(&ctx->regions, struct hs_region,
					     cnode))) {
		hs_ctx_unlink(ctx, r);
		mutex_unlock(&ctx->lock);
		hs_region_put_ctx(r);
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

	hs_wq = alloc_workqueue("%s", WQ_UNBOUND, 0, HS_NAME);
	if (!hs_wq)
		return -ENOMEM;
	cred = prepare_kernel_cred(&init_task);
	if (!cred) {
		err = -ENOMEM;
		goto out_wq;
	}
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
out_wq:
	destroy_workqueue(hs_wq);
	return err;
}

void hs_regions_exit(void)
{
	int i;

	/*
	 * Every region holds a module reference, so none is left here; the
	 * last may still be returning from its release work.
	 */
	destroy_workqueue(hs_wq);
	WARN_ON(!xa_empty(&hs_regions));
	for (i = 0; i < HS_TIER_COUNT; i++)
		if (hs_tiers[i].mnt)
			kern_unmount(hs_tiers[i].mnt);
	put_cred(hs_cred);
	xa_destroy(&hs_regions);
}
