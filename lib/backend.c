// SPDX-License-Identifier: MIT
/*
 * libhugeslab: backends - where raw memory comes from.
 *
 * kmod     /dev/hugeslab (hugeslab.ko): reserved 2 MiB pages, populated and
 *          zeroed by the kernel, visible to admins in debugfs
 * hugetlb  mmap(MAP_HUGETLB) from the kernel's hugetlb pool
 * thp      anonymous memory aligned to 2 MiB with MADV_HUGEPAGE
 * pages    plain anonymous memory
 *
 * The first that works is chosen once per process, or the one named by
 * HUGESLAB_BACKEND. hs_backend_reason() says which and why; nothing falls
 * back silently later: a backend that runs out fails the request.
 *
 * All mappings are MADV_DONTFORK (the module does the same for its own):
 * a child never shares or copies a parent's huge pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "uapi/hugeslab.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21 << 26)
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define HS_MPOL_BIND	2
#define HS_MAX_NODES	1024

static pthread_once_t backend_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t kmod_lock = PTHREAD_MUTEX_INITIALIZER;
static hs_backend_t backend;
static char backend_reason[512];
static int backend_err;		/* errno when no backend could be chosen */
static int kmod_fd = -1;
static bool kmod_reopen;	/* a fork child must get its own open file */
/* The module's pool stats area and which slots are taken, under kmod_lock. */
static struct hugeslab_pool_stat *stats_area;
static bool stats_unavailable;
static uint64_t stats_taken[HUGESLAB_STATS_SLOTS / 64];

static const char *const backend_names[] = {
	[HS_BACKEND_NONE] = "none",
	[HS_BACKEND_KMOD] = "kmod",
	[HS_BACKEND_HUGETLB] = "hugetlb",
	[HS_BACKEND_THP] = "thp",
	[HS_BACKEND_PAGES] = "pages",
};

HS_EXPORT const char *hs_backend_name(hs_backend_t b)
{
	if ((unsigned int)b >= sizeof(backend_names) / sizeof(backend_names[0]))
		return "none";
	return backend_names[b];
}

/* ---- probes ------------------------------------------------------------- */

/* Open the device and check its ABI; fd or -1 with why filled in. */
static int kmod_open(char *why, size_t len)
{
	struct hugeslab_query q = { 0 };
	int fd, err;

	fd = open(HUGESLAB_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			snprintf(why, len, "%s absent (module not loaded: modprobe hugeslab)",
				 HUGESLAB_DEVICE);
		else if (err == EACCES || err == EPERM)
			snprintf(why, len, "%s: permission denied (ask the admin for access to the device's group)",
				 HUGESLAB_DEVICE);
		else
			snprintf(why, len, "%s: %s", HUGESLAB_DEVICE, strerror(err));
		errno = err;
		return -1;
	}
	if (ioctl(fd, HUGESLAB_IOC_QUERY, &q) < 0) {
		err = errno;
		snprintf(why, len, "%s: query failed: %s (not hugeslab.ko?)",
			 HUGESLAB_DEVICE, strerror(err));
		close(fd);
		errno = err;
		return -1;
	}
	if (!(q.features & HUGESLAB_FEAT_REGIONS) ||
	    !(q.page_sizes & HS_UNIT)) {
		snprintf(why, len, "%s: module without 2 MiB regions (ABI %u)",
			 HUGESLAB_DEVICE, q.abi_version);
		close(fd);
		errno = ENOTSUP;
		return -1;
	}
	return fd;
}

static bool hugetlb_works(char *why, size_t len)
{
	void *p = mmap(NULL, HS_UNIT, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB,
		       -1, 0);

	if (p == MAP_FAILED) {
		snprintf(why, len, "MAP_HUGETLB: %s (no free 2 MiB pages? sysctl vm.nr_hugepages)",
			 strerror(errno));
		return false;
	}
	munmap(p, HS_UNIT);
	return true;
}

static bool thp_works(char *why, size_t len)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	if (strstr(buf, "[always]") || strstr(buf, "[madvise]"))
		return true;
	snprintf(why, len, "THP %s", f ? "disabled ([never])" : "not available");
	return false;
}

static hs_backend_t backend_parse(const char *s)
{
	hs_backend_t b;

	for (b = HS_BACKEND_KMOD; b <= HS_BACKEND_PAGES; b++)
		if (!strcmp(s, backend_names[b]))
			return b;
	return HS_BACKEND_NONE;
}

/* Try one backend; true if usable, else why says what is wrong. */
static bool backend_try(hs_backend_t b, char *why, size_t len)
{
	switch (b) {
	case HS_BACKEND_KMOD:
		kmod_fd = kmod_open(why, len);
		return kmod_fd >= 0;
	case HS_BACKEND_HUGETLB:
		return hugetlb_works(why, len);
	case HS_BACKEND_THP:
		return thp_works(why, len);
	case HS_BACKEND_PAGES:
		return true;
	default:
		return false;
	}
}

static void backend_choose(void)
{
	const char *env = getenv("HUGESLAB_BACKEND");
	char why[4][160] = { "", "", "", "" };
	hs_backend_t b;

	if (env && *env && strcmp(env, "auto")) {
		b = backend_parse(env);
		if (b == HS_BACKEND_NONE) {
			backend_err = EINVAL;
			snprintf(backend_reason, sizeof(backend_reason),
				 "HUGESLAB_BACKEND=%.32s is unknown: use kmod, hugetlb, thp, pages or auto",
				 env);
			return;
		}
		if (!backend_try(b, why[0], sizeof(why[0]))) {
			backend_err = errno ? errno : ENODEV;
			snprintf(backend_reason, sizeof(backend_reason),
				 "HUGESLAB_BACKEND=%s forced but unusable: %s",
				 env, why[0]);
			return;
		}
		backend = b;
		snprintf(backend_reason, sizeof(backend_reason),
			 "%s: forced by HUGESLAB_BACKEND", env);
		return;
	}

	for (b = HS_BACKEND_KMOD; b <= HS_BACKEND_PAGES; b++) {
		if (backend_try(b, why[b - 1], sizeof(why[0])))
			break;
	}
	backend = b;
	switch (b) {
	case HS_BACKEND_KMOD:
		snprintf(backend_reason, sizeof(backend_reason), "kmod: %s",
			 HUGESLAB_DEVICE);
		break;
	case HS_BACKEND_HUGETLB:
		snprintf(backend_reason, sizeof(backend_reason),
			 "hugetlb: %s", why[0]);
		break;
	case HS_BACKEND_THP:
		snprintf(backend_reason, sizeof(backend_reason),
			 "thp: %s; %s", why[0], why[1]);
		break;
	default:
		snprintf(backend_reason, sizeof(backend_reason),
			 "pages (4 KiB): %s; %s; %s", why[0], why[1], why[2]);
		break;
	}
}

static hs_backend_t backend_get(void)
{
	pthread_once(&backend_once, backend_choose);
	return backend;
}

HS_EXPORT hs_backend_t hs_backend(void)
{
	hs_backend_t b = backend_get();

	if (b == HS_BACKEND_NONE)
		_hs_fail(backend_err, "%s", backend_reason);
	return b;
}

HS_EXPORT const char *hs_backend_reason(void)
{
	backend_get();
	return backend_reason;
}

/* ---- mapping ------------------------------------------------------------ */

static int kmod_get_fd(void)
{
	char why[160];
	int fd;

	pthread_mutex_lock(&kmod_lock);
	if (kmod_reopen) {
		/* After fork: never create or destroy through the parent's file. */
		if (kmod_fd >= 0)
			close(kmod_fd);
		stats_area = NULL;	/* not inherited (VM_DONTCOPY) */
		stats_unavailable = false;
		memset(stats_taken, 0, sizeof(stats_taken));
		kmod_fd = kmod_open(why, sizeof(why));
		kmod_reopen = false;
		if (kmod_fd < 0)
			_hs_fail(errno, "cannot reopen after fork: %s", why);
	}
	fd = kmod_fd;
	pthread_mutex_unlock(&kmod_lock);
	return fd;
}

static int kmod_map(size_t bytes, int node, struct _hs_mem *mem)
{
	struct hugeslab_create c = {
		.bytes = bytes,
		.node = node >= 0 ? node : HUGESLAB_NODE_ANY,
	};
	struct hugeslab_destroy d = { 0 };
	int fd = kmod_get_fd();
	void *p;
	int err;

	if (fd < 0)
		return -1;
	if (ioctl(fd, HUGESLAB_IOC_CREATE, &c) < 0) {
		err = errno;
		if (err == EDQUOT)
			return _hs_fail(err, "hugeslab.ko: a limit is reached (max_mb): free regions or raise /sys/module/hugeslab/parameters/max_mb");
		if (err == ENOMEM)
			return _hs_fail(err, "hugeslab.ko: no free 2 MiB huge pages%s: raise vm.nr_hugepages or the module's reserve_mb",
					node >= 0 ? " on that node" : "");
		return _hs_fail(err, "hugeslab.ko: creating a %zu-byte region failed: %s",
				bytes, strerror(err));
	}
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, c.offset);
	if (p == MAP_FAILED) {
		err = errno;
		d.id = c.id;
		ioctl(fd, HUGESLAB_IOC_DESTROY, &d);
		return _hs_fail(err, "hugeslab.ko: mapping region %llu failed: %s",
				(unsigned long long)c.id, strerror(err));
	}
	mem->base = p;
	mem->page_size = c.page_size;
	mem->node = c.page_node;
	mem->kmod_id = c.id;
	return 0;
}

static int mbind_node(void *p, size_t bytes, int node)
{
	unsigned long mask[HS_MAX_NODES / (8 * sizeof(unsigned long))] = { 0 };

	if (node >= HS_MAX_NODES)
		return _hs_fail(EINVAL, "NUMA node %d out of range", node);
	mask[node / (8 * sizeof(long))] = 1UL << (node % (8 * sizeof(long)));
	if (syscall(SYS_mbind, p, bytes, HS_MPOL_BIND, mask, HS_MAX_NODES + 1,
		    0) < 0)
		return _hs_fail(errno, "binding memory to node %d: %s", node,
				strerror(errno));
	return 0;
}

static int hugetlb_map(size_t bytes, int node, struct _hs_mem *mem)
{
	void *p;
	int err;

	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB,
		 -1, 0);
	if (p == MAP_FAILED)
		return _hs_fail(errno, "MAP_HUGETLB of %zu bytes: %s (free 2 MiB pages: see HugePages_Free; raise vm.nr_hugepages)",
				bytes, strerror(errno));
	if (node >= 0 && mbind_node(p, bytes, node) < 0)
		goto fail;
	/* Fault everything in now: an empty pool is an error here, not a
	 * SIGBUS later. */
	if (madvise(p, bytes, MADV_POPULATE_WRITE) < 0 && errno != EINVAL) {
		_hs_fail(errno, "populating %zu bytes of 2 MiB pages: %s (pool exhausted? raise vm.nr_hugepages)",
			 bytes, strerror(errno));
		goto fail;
	}
	mem->base = p;
	mem->page_size = HS_UNIT;
	mem->node = node;
	return 0;
fail:
	err = errno;
	munmap(p, bytes);
	errno = err;
	return -1;
}

static int anon_map(size_t bytes, int node, bool thp, struct _hs_mem *mem)
{
	size_t span = bytes + HS_UNIT;
	uintptr_t raw, base;
	void *p;

	/* Over-map and trim so the region is 2 MiB aligned, as THP needs. */
	p = mmap(NULL, span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return _hs_fail(errno, "mmap of %zu bytes: %s", bytes,
				strerror(errno));
	raw = (uintptr_t)p;
	base = HS_ALIGN_UP(raw, HS_UNIT);
	if (base > raw)
		munmap(p, base - raw);
	if (base + bytes < raw + span)
		munmap((void *)(base + bytes), raw + span - (base + bytes));
	p = (void *)base;
	if (thp)
		madvise(p, bytes, MADV_HUGEPAGE);
	if (node >= 0 && mbind_node(p, bytes, node) < 0) {
		int err = errno;

		munmap(p, bytes);
		errno = err;
		return -1;
	}
	mem->base = p;
	mem->page_size = thp ? HS_UNIT : (size_t)sysconf(_SC_PAGESIZE);
	mem->node = node;
	return 0;
}

int _hs_mem_map(size_t bytes, int node, struct _hs_mem *mem)
{
	hs_backend_t b = backend_get();
	int err;

	memset(mem, 0, sizeof(*mem));
	_hs_fork_init();
	if (b == HS_BACKEND_NONE)
		return _hs_fail(backend_err, "%s", backend_reason);
	switch (b) {
	case HS_BACKEND_KMOD:
		err = kmod_map(bytes, node, mem);
		break;
	case HS_BACKEND_HUGETLB:
		err = hugetlb_map(bytes, node, mem);
		break;
	default:
		err = anon_map(bytes, node, b == HS_BACKEND_THP, mem);
		break;
	}
	if (err)
		return err;
	madvise(mem->base, bytes, MADV_DONTFORK);
	mem->bytes = bytes;
	mem->backend = b;
	return 0;
}

/*
 * Give the pages of [off, off + len) back to the kernel, keeping the
 * address range: hole punching on the module's file (the pages go back to
 * the hugetlb pool), MADV_DONTNEED elsewhere. -1 if the kernel cannot.
 */
int _hs_mem_decommit(struct _hs_mem *mem, size_t off, size_t len)
{
	int advice = mem->backend == HS_BACKEND_KMOD ? MADV_REMOVE :
		     MADV_DONTNEED;

	return madvise((char *)mem->base + off, len, advice);
}

/*
 * Make [off, off + len) usable again after a decommit: huge pages are
 * faulted in now, so an empty pool is an error here and not a SIGBUS
 * later; other pages fill on first touch.
 */
int _hs_mem_commit(struct _hs_mem *mem, size_t off, size_t len)
{
	if (mem->backend != HS_BACKEND_KMOD && mem->backend != HS_BACKEND_HUGETLB)
		return 0;
	if (madvise((char *)mem->base + off, len, MADV_POPULATE_WRITE) < 0 &&
	    errno != EINVAL)
		return _hs_fail(errno, "re-populating %zu bytes of huge pages: %s (pool exhausted?)",
				len, strerror(errno));
	return 0;
}

void _hs_mem_unmap(struct _hs_mem *mem)
{
	struct hugeslab_destroy d = { .id = mem->kmod_id };

	if (!mem->base)
		return;
	munmap(mem->base, mem->bytes);
	if (mem->backend == HS_BACKEND_KMOD) {
		pthread_mutex_lock(&kmod_lock);
		/* After fork the region belongs to the parent's file: leave it. */
		if (!kmod_reopen && kmod_fd >= 0)
			ioctl(kmod_fd, HUGESLAB_IOC_DESTROY, &d);
		pthread_mutex_unlock(&kmod_lock);
	}
	mem->base = NULL;
}

/* ---- publishing pool stats to the module ------------------------------ */

/* Map the stats area once; called with kmod_lock held. */
static bool stats_map_locked(void)
{
	void *p;

	if (stats_area)
		return true;
	if (stats_unavailable || kmod_fd < 0)
		return false;
	p = mmap(NULL, HUGESLAB_STATS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
		 kmod_fd, HUGESLAB_STATS_OFFSET);
	if (p == MAP_FAILED) {
		/* An older module, or out of memory: pools just stay unlisted. */
		stats_unavailable = true;
		return false;
	}
	stats_area = p;
	return true;
}

struct hugeslab_pool_stat *_hs_stats_slot_get(void)
{
	struct hugeslab_pool_stat *slot = NULL;
	unsigned int i;

	if (backend_get() != HS_BACKEND_KMOD)
		return NULL;
	if (kmod_get_fd() < 0)
		return NULL;
	pthread_mutex_lock(&kmod_lock);
	if (stats_map_locked()) {
		for (i = 0; i < HUGESLAB_STATS_SLOTS; i++) {
			if (!(stats_taken[i / 64] & (1ULL << (i % 64)))) {
				stats_taken[i / 64] |= 1ULL << (i % 64);
				slot = &stats_area[i];
				break;
			}
		}
	}
	pthread_mutex_unlock(&kmod_lock);
	return slot;
}

void _hs_stats_slot_put(struct hugeslab_pool_stat *slot)
{
	size_t i;

	if (!slot)
		return;
	pthread_mutex_lock(&kmod_lock);
	/* A slot from before a fork is not ours to touch any more. */
	if (stats_area && slot >= stats_area &&
	    slot < stats_area + HUGESLAB_STATS_SLOTS) {
		i = (size_t)(slot - stats_area);
		__atomic_store_n(&slot->flags, 0, __ATOMIC_RELEASE);
		memset(slot->name, 0, sizeof(slot->name));
		stats_taken[i / 64] &= ~(1ULL << (i % 64));
	}
	pthread_mutex_unlock(&kmod_lock);
}

void _hs_backend_fork_prepare(void)
{
	pthread_mutex_lock(&kmod_lock);
}

void _hs_backend_fork_parent(void)
{
	pthread_mutex_unlock(&kmod_lock);
}

void _hs_backend_fork_child(void)
{
	if (backend == HS_BACKEND_KMOD)
		kmod_reopen = true;
	pthread_mutex_unlock(&kmod_lock);
}
