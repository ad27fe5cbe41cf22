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
#include <linux/sched.h>
#include <linux/types.h>
#include <linux/uidgid.h>

#include "uapi/hugeslab.h"

#define HS_NAME "hugeslab"

/* mmap offsets: region id in the high bits, byte offset in the low ones. */
#define HS_OFFSET_SHIFT		40
#define HS_REGION_MAX_BYTES	BIT_ULL(HS_OFFSET_SHIFT)
#define HS_REGION_MAX_ID	((1U << (63 - HS_OFFSET_SHIFT)) - 1)
#define HS_2M_SHIFT		21
#define HS_PGOFF_SHIFT		(HS_OFFSET_SHIFT - PAGE_SHIFT)

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
 * @gnode:	entry in hs_regions, under hs_lock
 * @cnode:	entry in the owning context's list, under ctx->lock
 * @file:	the unlinked hugetlbfs file holding the pages
 * @ctx:	owning context; NULL once detached (destroyed or its file
 *		closed while still mapped), under hs_lock
 * @id:		global id, also the mmap offset's high bits
 * @bytes:	size
 * @shift:	log2 of the page size
 * @node:	node of all pages, or NUMA_NO_NODE if spread
 * @uid:	user charged for the region
 * @pid:	creator's tgid, in the initial pid namespace
 * @comm:	creator's command
 */
struct hs_region {
	struct list_head gnode;
	struct list_head cnode;
	struct file *file;
	struct hs_ctx *ctx;
	u32 id;
	u64 bytes;
	unsigned int shift;
	int node;
	kuid_t uid;
	pid_t pid;
	char comm[TASK_COMM_LEN];
};

/**
 * struct hs_ctx - what one open of /dev/hugeslab owns
 * @lock:	protects @regions, the fields of regions it holds, and @stats
 * @regions:	live regions created through this file
 * @bytes:	sum of their sizes
 * @count:	their number
 * @stats:	the pool stats area user space writes, or NULL (hs_pools.c)
 * @snode:	entry in hs_stat_ctxs while @stats is set, under hs_lock
 * @pid:	tgid of the process that mapped @stats
 * @comm:	its command
 */
struct hs_ctx {
	struct mutex lock;	/* see @lock above */
	struct list_head regions;
	u64 bytes;
	u64 count;
	struct hugeslab_pool_stat *stats;
	struct list_head snode;
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
extern struct list_head hs_regions;
extern struct hs_tier hs_tiers[HS_TIER_COUNT];

int hs_regions_init(void);
void hs_regions_exit(void);
int hs_region_create(struct hs_ctx *ctx, struct hugeslab_create *req);
int hs_region_destroy(struct hs_ctx *ctx, u64 id);
void hs_ctx_release(struct hs_ctx *ctx);
struct hs_region *hs_ctx_find(struct hs_ctx *ctx, u64 id);
void hs_reap(void);
void hs_totals(struct hs_totals *t);
u64 hs_user_bytes(kuid_t uid);
u64 hs_page_sizes(void);
bool hs_region_mapped(const struct hs_region *r);

/* hs_pools.c: the pool stats area */
extern struct list_head hs_stat_ctxs;
int hs_stats_mmap(struct hs_ctx *ctx, struct vm_area_struct *vma);
void hs_stats_release(struct hs_ctx *ctx);
void hs_pools_show(struct seq_file *m);

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

#endif /* _HS_INTERNAL_H */
