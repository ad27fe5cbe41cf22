/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hugeslab: definitions shared by the module's files.
 *
 * A region is an unlinked file on a hugetlbfs mount private to the module,
 * fully populated (and so zeroed) at creation. Mapping /dev/hugeslab at a
 * region's offset switches the VMA to that file, which gives real hugetlb
 * page tables and lets GUP, io_uring and O_DIRECT pin the memory on 6.1 and
 * 6.12 alike (see shared/design/kernel-mapping.md).
 */
#ifndef _HS_INTERNAL_H
#define _HS_INTERNAL_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/seq_file.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/workqueue.h>

#include "uapi/hugeslab.h"

#define HS_NAME "hugeslab"

/*
 * mmap offsets. A region's is its id in the high bits, the byte offset in
 * the low ones. 32-bit programs cannot pass offsets of 16 TiB (2^44) and up
 * (mmap2 takes a 32-bit page offset), and ids are global: a region a 32-bit
 * caller creates also gets a slot of its file, 1 to HS_COMPAT_SLOTS, and
 * that caller is given the slot's offset, slot << 32, which addresses the
 * region's first 4 GiB. Below 4 GiB is the stats area (at 0).
 */
#define HS_OFFSET_SHIFT		40
#define HS_REGION_MAX_BYTES	BIT_ULL(HS_OFFSET_SHIFT)
#define HS_REGION_MAX_ID	((1U << (63 - HS_OFFSET_SHIFT)) - 1)
#define HS_COMPAT_SHIFT		32
#define HS_COMPAT_SLOTS		((1U << (HS_OFFSET_SHIFT - HS_COMPAT_SHIFT)) - 1)
#define HS_2M_SHIFT		21

/* Page size tiers, one private hugetlbfs mount each: index into hs_tiers[]. */
enum hs_tier_idx {
	HS_TIER_2M,		/* holds the reserve (min_size=reserve_mb) */
	HS_TIER_1G,		/* 1 GiB pages, where the kernel has them */
	HS_TIER_COUNT,
};

/**
 * struct hs_tier - a private hugetlbfs mount for one page size
 * @mnt:	the mount, NULL if the kernel has no pages of this size
 * @shift:	log2 of the page size
 */
struct hs_tier {
	struct vfsmount *mnt;
	unsigned int shift;
};

struct dentry;
struct hs_ctx;
struct vm_area_struct;

/**
 * struct hs_region - a run of huge pages handed to user space
 * @cnode:	entry in the owning context's list, under ctx->lock
 * @file:	the unlinked hugetlbfs file holding the pages; its
 *		private_data points back here
 * @users:	what keeps the region in use: its context (until destroyed,
 *		or the file closed) and each VMA mapping it. The last to go
 *		releases it: it is freed once nobody holds its pages
 * @release:	the work that releases it when a VMA was last (hs_region.c)
 * @id:		global id, also the mmap offset's high bits
 * @cslot:	its file's 32-bit mmap slot (made by a 32-bit caller), or 0
 * @bytes:	size
 * @populated:	bytes of pages in the file so far, charged as held
 * @shift:	log2 of the page size
 * @node:	node of all pages, or NUMA_NO_NODE if spread
 * @uid:	user charged for the region
 * @pid:	creator's tgid, in the initial pid namespace
 * @comm:	creator's command
 * @listed:	created: counted in regions and shown in debugfs (hs_lock)
 * @restart:	while its create is interrupted (on ctx->partials): the
 *		thread whose restarted call resumes it
 * @req_flags:	the request's flags and node, to match the restart
 * @req_node:	see @req_flags
 * @idle:	once released: huge pages [0, @idle) seen held by nobody
 * @backoff:	once released: jiffies until its pages are looked at again
 */
struct hs_region {
	struct list_head cnode;
	struct file *file;
	refcount_t users;
	struct delayed_work release;
	u32 id;
	u32 cslot;
	u64 bytes;
	u64 populated;
	unsigned int shift;
	int node;
	kuid_t uid;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	bool listed;
	struct pid *restart;
	u32 req_flags;
	s32 req_node;
	pgoff_t idle;
	unsigned long backoff;
};

/**
 * struct hs_ctx - what one open of /dev/hugeslab owns
 * @lock:	protects @regions, @partials, the fields of regions they
 *		hold, @cslots and @stats
 * @regions:	live regions created through this file
 * @partials:	creates interrupted by a signal that is not fatal, kept for
 *		their restarted calls (hs_region.c)
 * @bytes:	sum of their sizes
 * @count:	their number
 * @cslots:	32-bit mmap slots in use
 * @file:	the open file: its credentials (who opened it) are charged
 * @uid:	the user its regions are charged to (hs_charged_uid())
 * @stats:	the pool stats area user space writes, or NULL (hs_pools.c)
 * @stat_id:	its key in the registry of stats areas while @stats is set
 * @pid:	tgid of the process that mapped @stats
 * @comm:	its command
 */
struct hs_ctx {
	struct mutex lock;	/* see @lock above */
	struct list_head regions;
	struct list_head partials;
	u64 bytes;
	u64 count;
	DECLARE_BITMAP(cslots, HS_COMPAT_SLOTS + 1);
	struct file *file;
	kuid_t uid;
	struct hugeslab_pool_stat *stats;
	u32 stat_id;
	pid_t pid;
	char comm[TASK_COMM_LEN];
};

/**
 * struct hs_totals - a consistent snapshot of the global counters
 */
struct hs_totals {
	u64 reserve_bytes;
	u64 reserve_free;
	u64 max_bytes;
	u64 user_max_bytes;
	u64 used_bytes;
	u64 regions;
	u64 failed;
	u64 failed_limit;
	u64 failed_nomem;
	u64 peak_bytes;
	u64 created;
	u64 destroyed;
};

/* hs_main.c: module parameters. */
extern unsigned int hs_reserve_mb;
extern unsigned int hs_max_mb;
extern unsigned int hs_user_max_mb;

/* Fault injection sites (hs_fault.c). */
enum hs_fault_site {
	HS_FAULT_CTX,
	HS_FAULT_REGION,
	HS_FAULT_ID,
	HS_FAULT_USER,
	HS_FAULT_FILE,
	HS_FAULT_POPULATE,
	HS_FAULT_STATS,
};

/* hs_region.c */
extern struct mutex hs_lock;
extern struct hs_tier hs_tiers[HS_TIER_COUNT];

int hs_regions_init(void);
void hs_regions_exit(void);
kuid_t hs_charged_uid(const struct cred *cred);
int hs_region_create(struct hs_ctx *ctx, struct hugeslab_create *req,
		     struct hs_region **out);
void hs_region_publish(struct hs_ctx *ctx, struct hs_region *r);
void hs_region_abandon(struct hs_ctx *ctx, struct hs_region *r);
int hs_region_destroy(struct hs_ctx *ctx, u64 id);
void hs_ctx_release(struct hs_ctx *ctx);
struct hs_region *hs_ctx_find(struct hs_ctx *ctx, u64 id);
struct hs_region *hs_ctx_find_slot(struct hs_ctx *ctx, u64 slot);
void hs_region_get(struct hs_region *r);
void hs_region_put_vma(struct hs_region *r);
void hs_flush_releases(void);
void hs_totals(struct hs_totals *t);
u64 hs_user_bytes(kuid_t uid);
u64 hs_page_sizes(void);
bool hs_region_mapped(const struct hs_region *r);
struct hs_region *hs_region_from(unsigned long *id);

/* hs_pools.c: the pool stats area */
int hs_stats_mmap(struct hs_ctx *ctx, struct vm_area_struct *vma);
void hs_stats_release(struct hs_ctx *ctx);
extern const struct seq_operations hs_pools_seq_ops;

/* hs_fault.c */
bool hs_should_fail(enum hs_fault_site site);
void hs_fault_debugfs(struct dentry *dir);

/* hs_dev.c */
int hs_dev_init(void);
void hs_dev_exit(void);

/* hs_sysfs.c: global counters that survive debugfs lockdown */
extern const struct attribute_group *hs_sysfs_groups[];

/* hs_debugfs.c */
void hs_debugfs_init(void);
void hs_debugfs_exit(void);
void hs_seq_put_name(struct seq_file *m, const char *name, size_t len);

#endif /* _HS_INTERNAL_H */
