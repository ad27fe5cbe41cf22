/* SPDX-License-Identifier: MIT */
/*
 * hsstat: what the tool knows about the running module, as plain structs.
 *
 * collect.c fills a snapshot from debugfs (totals, regions and pools;
 * parse.c reads the files' formats) or, when debugfs cannot be read, from
 * the module's sysfs attributes or the HUGESLAB_IOC_QUERY ioctl (global
 * totals only). It never prints: failures come back as text for the
 * formatters to show, the way slabtop keeps reading /proc/slabinfo apart
 * from drawing it.
 */
#ifndef HSSTAT_COLLECT_H
#define HSSTAT_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Format versions of the debugfs files this hsstat understands. */
#define HSS_STATS_MAJOR		1
#define HSS_REGIONS_MAJOR	1
#define HSS_POOLS_MAJOR		1

/* Where a snapshot came from, in the order they are tried. */
enum hss_source {
	HSS_SRC_DEBUGFS,	/* /sys/kernel/debug/hugeslab/ */
	HSS_SRC_SYSFS,		/* /sys/class/misc/hugeslab/<counter> */
	HSS_SRC_IOCTL,		/* HUGESLAB_IOC_QUERY on /dev/hugeslab */
};

/* Global counters; the names are the debugfs keys and the JSON keys. */
enum hss_stat {
	HSS_ABI_VERSION,	/* module's HUGESLAB_ABI_VERSION */
	HSS_PAGE_SIZES,		/* bit n: (1 << n)-byte pages available */
	HSS_RESERVED,		/* claimed at load (reserve_mb) */
	HSS_USED,		/* held by all regions */
	HSS_FREE,		/* left of the reserve */
	HSS_MAX,		/* global limit, 0 = none */
	HSS_USER_MAX,		/* per-user limit, 0 = none */
	HSS_PEAK,		/* highest used since load (not ioctl) */
	HSS_REGIONS,		/* live regions */
	HSS_FAILED,		/* requests refused since load */
	HSS_FAILED_LIMIT,	/* ... because a limit was reached (debugfs) */
	HSS_FAILED_NOMEM,	/* ... because no pages were free (debugfs) */
	HSS_CREATED,		/* regions created since load (debugfs only) */
	HSS_DESTROYED,		/* regions freed since load (debugfs only) */
	HSS_FEATURES,		/* HUGESLAB_FEAT_* (ioctl only) */
	HSS_NR_NODES,		/* NUMA nodes with memory (ioctl only) */
	HSS_NR_STATS
};

/**
 * struct hss_stats - global counters of one snapshot
 * @val:	values, indexed by enum hss_stat
 * @have:	bit (1 << i) set if @val[i] was reported by the source
 */
struct hss_stats {
	uint64_t val[HSS_NR_STATS];
	uint32_t have;
};

/**
 * struct hss_region - one line of debugfs' regions file
 * @comm:	owner's command, unescaped (may hold any byte but NUL)
 * @node:	NUMA node of all pages, -1 if spread over several
 */
struct hss_region {
	uint64_t id;
	int64_t pid;
	uint64_t bytes;
	uint64_t page_size;
	int64_t node;
	bool mapped;
	char *comm;
};

/**
 * struct hss_pool - one line of debugfs' pools file: a pool some process
 *	publishes through its stats area. The module sanitised and clamped
 *	what the process wrote; the numbers are passed on as the module gave
 *	them.
 * @pid:	the publishing process
 * @comm:	its command, unescaped
 * @name:	the pool's name, unescaped; "" if the pool has none
 * @obj_size:	bytes per object
 * @in_use:	objects allocated and not freed
 * @total:	objects the pool holds (in use or cached)
 * @bytes:	memory the pool holds
 * @allocs:	allocations since the pool was created
 * @frees:	frees since then
 * @cache_hits:	allocations served from a thread's cache
 * @order:	position in the module's listing (a stable tie-break)
 */
struct hss_pool {
	int64_t pid;
	char *comm;
	char *name;
	uint64_t obj_size;
	uint64_t in_use;
	uint64_t total;
	uint64_t bytes;
	uint64_t allocs;
	uint64_t frees;
	uint64_t cache_hits;
	size_t order;
};

/**
 * struct hss_snapshot - everything one refresh shows
 * @source:	where the data came from
 * @path:	the directory or the device that was read
 * @note:	when @source is not debugfs: why debugfs could not be used
 * @stats:	global counters
 * @have_regions: false when the source has no per-region detail
 * @regions:	@nr_regions entries, in the order the module listed them
 * @have_pools:	false when the source has no pools (not debugfs, or a
 *		module without the pools file)
 * @pools:	@nr_pools entries, in the order the module listed them
 */
struct hss_snapshot {
	enum hss_source source;
	char *path;
	char *note;
	struct hss_stats stats;
	bool have_regions;
	struct hss_region *regions;
	size_t nr_regions;
	bool have_pools;
	struct hss_pool *pools;
	size_t nr_pools;
};

/**
 * struct hss_config - where to look
 * @debugfs_dir: the module's debugfs directory; NULL to find the debugfs
 *		mount in /proc/mounts (tests point it elsewhere)
 * @sysfs_dir:	the module's sysfs directory; NULL for the usual one
 */
struct hss_config {
	const char *debugfs_dir;
	const char *sysfs_dir;
};

/* Name of a counter (debugfs, sysfs and JSON key). */
const char *hss_stat_name(enum hss_stat stat);

/* "debugfs", "sysfs" or "ioctl". */
const char *hss_source_name(enum hss_source source);

static inline bool hss_has(const struct hss_stats *s, enum hss_stat stat)
{
	return s->have & (1U << stat);
}

/*
 * Fill @snap (zeroed first). Returns 0, or -1 with a one-line explanation
 * that tells the user what to do in @err.
 */
int hss_collect(const struct hss_config *cfg, struct hss_snapshot *snap,
		char *err, size_t errlen);
void hss_snapshot_free(struct hss_snapshot *snap);

/* Undo the kernel's octal escapes (\040 etc.) in place. */
void hss_unescape(char *s);

#endif /* HSSTAT_COLLECT_H */
