/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hugeslab: raw memory regions backed by huge pages, from /dev/hugeslab.
 *
 * This is the kernel ABI. It never changes incompatibly: structs only grow
 * at the end, the size user space passes (encoded in the ioctl number) is the
 * struct's version, unknown flag bits and non-zero padding give -EINVAL, and
 * trailing bytes the kernel does not know must be zero (else -E2BIG).
 *
 * Use:
 *   fd = open("/dev/hugeslab", O_RDWR | O_CLOEXEC);
 *   struct hugeslab_create c = { .bytes = 4 << 20, .node = HUGESLAB_NODE_ANY };
 *   ioctl(fd, HUGESLAB_IOC_CREATE, &c);
 *   p = mmap(NULL, c.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, c.offset);
 *
 * A region belongs to the open file description that created it and is freed
 * when that is closed (or the region destroyed) and its last mapping is gone.
 */
#ifndef _UAPI_HUGESLAB_H
#define _UAPI_HUGESLAB_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Bumped only when a new ioctl or feature bit is added; old ones stay. */
#define HUGESLAB_ABI_VERSION	1

#define HUGESLAB_DEVICE		"/dev/hugeslab"

/* Any NUMA node: the caller's memory policy decides. */
#define HUGESLAB_NODE_ANY	(-1)

/* Features reported by HUGESLAB_IOC_QUERY. */
#define HUGESLAB_FEAT_REGIONS	(1ULL << 0)	/* create/destroy/mmap */
#define HUGESLAB_FEAT_NUMA	(1ULL << 1)	/* node placement honoured */
#define HUGESLAB_FEAT_PIN	(1ULL << 2)	/* GUP/io_uring/O_DIRECT work */
#define HUGESLAB_FEAT_1G	(1ULL << 3)	/* HUGESLAB_CREATE_1G understood */
#define HUGESLAB_FEAT_POOL_STATS (1ULL << 4)	/* the pool stats area */
#define HUGESLAB_FEAT_USER_LIMIT (1ULL << 5)	/* per-user limit (user_max_mb) */

/**
 * struct hugeslab_query - module version, features and global usage
 * @flags:		in: must be 0
 * @abi_version:	out: HUGESLAB_ABI_VERSION of the running module
 * @features:		out: HUGESLAB_FEAT_* bits
 * @page_sizes:		out: bit n set if this kernel has (1 << n)-byte huge
 *			pages the module can use (whether any are free now is
 *			another matter: see /sys/kernel/mm/hugepages)
 * @reserve_bytes:	out: memory claimed at load (module parameter reserve_mb)
 * @max_bytes:		out: global limit (module parameter max_mb), 0 = none
 * @used_bytes:		out: bytes held by all regions of all processes
 * @regions:		out: number of regions of all processes
 * @failed:		out: requests refused since load (limits, no pages)
 * @fd_bytes:		out: bytes held by regions of this open file
 * @fd_regions:		out: regions of this open file
 * @nr_nodes:		out: NUMA nodes that have memory
 * @pad:		must be 0
 * @user_max_bytes:	out: per-user limit (module parameter user_max_mb),
 *			0 = none; files opened with CAP_IPC_LOCK are exempt
 * @user_bytes:		out: bytes held by regions of the user this file
 *			charges: who opened it (see hugeslab(4))
 *
 * A caller may pass a smaller struct (an older binary): the kernel fills only
 * the bytes it was given.
 */
struct hugeslab_query {
	__u32 flags;
	__u32 abi_version;
	__u64 features;
	__u64 page_sizes;
	__u64 reserve_bytes;
	__u64 max_bytes;
	__u64 used_bytes;
	__u64 regions;
	__u64 failed;
	__u64 fd_bytes;
	__u64 fd_regions;
	__u32 nr_nodes;
	__u32 pad;
	__u64 user_max_bytes;
	__u64 user_bytes;
};

/* Smallest struct hugeslab_query the kernel accepts: flags + abi_version. */
#define HUGESLAB_QUERY_SIZE_VER0	8

/* Flags of struct hugeslab_create. */
#define HUGESLAB_CREATE_1G	(1U << 0)	/* 1 GiB pages (-EOPNOTSUPP if none) */
#define HUGESLAB_CREATE_VALID	(HUGESLAB_CREATE_1G)

/**
 * struct hugeslab_create - create a region of huge pages
 * @bytes:	in: size, a non-zero multiple of the page size (2 MiB, or
 *		1 GiB with HUGESLAB_CREATE_1G)
 * @flags:	in: HUGESLAB_CREATE_* bits; others give -EINVAL
 * @node:	in: NUMA node, or HUGESLAB_NODE_ANY
 * @id:		out: region id (as shown in debugfs)
 * @offset:	out: the mmap() offset of the region's first byte (for a
 *		32-bit caller, one below 16 TiB it can pass: see hugeslab(4))
 * @page_size:	out: page size backing the region
 * @page_node:	out: node of the region's pages, -1 if spread over several
 * @pad:	must be 0
 *
 * The region is zeroed and fully populated when the ioctl returns, so later
 * faults never fail (unless the process punches holes in it itself with
 * MADV_REMOVE: see hugeslab(4)). Needs the file open for writing (else
 * -EBADF).
 * Errors: -EINVAL (bad size, flags, node or padding),
 * -EDQUOT (max_mb or user_max_mb would be exceeded), -ENOMEM (no free huge
 * pages, or none on @node), -EOPNOTSUPP (no 1 GiB pages in this kernel).
 */
struct hugeslab_create {
	__u64 bytes;
	__u32 flags;
	__s32 node;
	__u64 id;
	__u64 offset;
	__u64 page_size;
	__s32 page_node;
	__u32 pad;
};

/* Size of the first version of struct hugeslab_create: all later are larger. */
#define HUGESLAB_CREATE_SIZE_VER0	48

/**
 * struct hugeslab_destroy - free a region
 * @id:		in: region id from struct hugeslab_create
 * @flags:	in: must be 0
 * @pad:	must be 0
 *
 * Existing mappings stay valid until unmapped; the memory is returned when
 * the last one goes. Errors: -ENOENT (no such region on this file).
 */
struct hugeslab_destroy {
	__u64 id;
	__u32 flags;
	__u32 pad;
};

/* Size of the first version of struct hugeslab_destroy. */
#define HUGESLAB_DESTROY_SIZE_VER0	16

/*
 * Pool statistics a process publishes for admins (hsstat, debugfs "pools").
 * mmap(NULL, HUGESLAB_STATS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
 * HUGESLAB_STATS_OFFSET) gives an array of HUGESLAB_STATS_SLOTS slots,
 * zeroed, private to the open file. The process writes its pools' counters
 * there with plain stores; the kernel only reads them and trusts nothing it
 * reads (names are cut and sanitised, numbers clamped).
 */
#define HUGESLAB_STATS_OFFSET	0ULL
#define HUGESLAB_STATS_BYTES	65536
#define HUGESLAB_POOL_NAME_LEN	32
#define HUGESLAB_POOL_LIVE	(1U << 0)	/* slot describes a pool */

/**
 * struct hugeslab_pool_stat - one pool's counters in the stats area
 * @flags:	HUGESLAB_POOL_LIVE while the slot is in use
 * @seq:	free for the writer (e.g. a sequence count); not read
 * @name:	the pool's name, NUL-terminated if shorter than the field
 * @obj_size:	bytes per object
 * @in_use:	objects allocated and not freed
 * @total:	objects the pool holds (in use or cached)
 * @bytes:	memory the pool holds
 * @allocs:	allocations
 * @frees:	frees
 * @cache_hits:	allocations served from a thread's cache
 * @reserved:	zero
 */
struct hugeslab_pool_stat {
	__u32 flags;
	__u32 seq;
	char name[HUGESLAB_POOL_NAME_LEN];
	__u64 obj_size;
	__u64 in_use;
	__u64 total;
	__u64 bytes;
	__u64 allocs;
	__u64 frees;
	__u64 cache_hits;
	__u64 reserved[4];
};

#define HUGESLAB_STATS_SLOTS \
	(HUGESLAB_STATS_BYTES / sizeof(struct hugeslab_pool_stat))

#define HUGESLAB_IOC_MAGIC	0xB9

#define HUGESLAB_IOC_QUERY	_IOWR(HUGESLAB_IOC_MAGIC, 0x00, struct hugeslab_query)
#define HUGESLAB_IOC_CREATE	_IOWR(HUGESLAB_IOC_MAGIC, 0x01, struct hugeslab_create)
#define HUGESLAB_IOC_DESTROY	_IOW(HUGESLAB_IOC_MAGIC, 0x02, struct hugeslab_destroy)

#endif /* _UAPI_HUGESLAB_H */
