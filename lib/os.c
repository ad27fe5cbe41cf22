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
 * HUGESLAB_BACKEND. hs_backend_reason() says which and why. A request the
 * backend cannot meet fails, unless the caller asks for the fallbacks
 * (the heap does): then THP, then plain pages, and the mapping records
 * where it came from.
 *
 * All mappings stay out of fork children (MADV_DONTFORK here, VM_DONTCOPY
 * in the module): a child never shares or copies a parent's huge pages. A
 * child gets an epoch of its own, so what the parent mapped is never
 * unmapped or destroyed by the child, and it closes the parent's
 * /dev/hugeslab file at once; it opens its own when it needs one.
 */
#include <errno.h>
#include <fcntl.h>
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
static hs_backend_t backend;
static char backend_reason[512];
static int backend_err;		/* errno when no backend could be chosen */

/* The device, under kmod_lock; -1 in a fork child until it needs one. */
static pthread_mutex_t kmod_lock = PTHREAD_MUTEX_INITIALIZER;
static int kmod_fd = -1;
static struct hugeslab_pool_stat *stats_area;	/* under kmod_lock */
static bool stats_unavailable;
static uint64_t epoch;
static bool keep_on_fork;

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

uint64_t _hs_os_epoch(void)
{
	return __atomic_load_n(&epoch, __ATOMIC_RELAXED);
}

void _hs_os_malloc_mode(void)
{
	keep_on_fork = true;
}

bool _hs_fork_keeps_memory(void)
{
	return keep_on_fork && backend != HS_BACKEND_KMOD;
}

/* ---- files --------------------------------------------------------------- */

/*
 * open(), read() and close() as bare system calls: glibc's wrappers are
 * cancellation points, and a thread with a cancel pending would end inside
 * a pool's first allocation with its locks held. glibc's malloc has no
 * cancellation point; neither has this library.
 */
static int open_nc(const char *path, int flags)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags);
}

static ssize_t read_nc(int fd, void *buf, size_t n)
{
	return syscall(SYS_read, fd, buf, n);
}

static void close_nc(int fd)
{
	syscall(SYS_close, fd);
}

/* ---- probes ------------------------------------------------------------- */

/* Open the device and check its ABI; fd, or -1 + errno with why filled in. */
static int kmod_open(char *why, size_t len)
{
	struct hugeslab_query q = { 0 };
	char num[HS_UTOA_LEN];
	int fd, err;

	fd = open_nc(HUGESLAB_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			_hs_join(why, len, HUGESLAB_DEVICE,
				 " absent (module not loaded: modprobe hugeslab)",
				 NULL);
		else if (err == EACCES || err == EPERM)
			_hs_join(why, len, HUGESLAB_DEVICE,
				 ": permission denied (ask the admin for access to the device's group)",
				 NULL);
		else
			_hs_join(why, len, HUGESLAB_DEVICE, ": ",
				 _hs_strerror(err), NULL);
		errno = err;
		return -1;
	}
	if (ioctl(fd, HUGESLAB_IOC_QUERY, &q) < 0) {
		err = errno;
		_hs_join(why, len, HUGESLAB_DEVICE, ": query failed: ",
			 _hs_strerror(err), " (not hugeslab.ko?)", NULL);
		close_nc(fd);
		errno = err;
		return -1;
	}
	if (!(q.features & HUGESLAB_FEAT_REGIONS) ||
	    !(q.page_sizes & HS_UNIT)) {
		_hs_join(why, len, HUGESLAB_DEVICE,
			 ": module without 2 MiB regions (ABI ",
			 _hs_utoa(num, q.abi_version), ")", NULL);
		close_nc(fd);
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
		_hs_join(why, len, "MAP_HUGETLB: ", _hs_strerror(errno),
			 " (no free 2 MiB pages? sysctl vm.nr_hugepages)", NULL);
		return false;
	}
	munmap(p, HS_UNIT);
	return true;
}

/* (No stdio: under the malloc drop-in nothing here may allocate.) */
static bool thp_works(char *why, size_t len)
{
	int fd = open_nc("/sys/kernel/mm/transparent_hugepage/enabled",
			 O_RDONLY | O_CLOEXEC);
	char buf[128] = "";
	ssize_t n = 0;

	if (fd >= 0) {
		n = read_nc(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		close_nc(fd);
	}
	if (strstr(buf, "[always]") || strstr(buf, "[madvise]"))
		return true;
	_hs_join(why, len, "THP ",
		 fd >= 0 ? "disabled ([never])" : "not available", NULL);
	errno = ENOTSUP;
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

/* Try one backend; true if usable, else errno and why say what is wrong. */
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
	char name[33];		/* a bad value, cut so the advice shows */
	hs_backend_t b;

	_hs_fork_init();	/* a child must close the device it inherits */
	if (env && *env && strcmp(env, "auto")) {
		b = backend_parse(env);
		if (b == HS_BACKEND_NONE) {
			backend_err = EINVAL;
			_hs_join(name, sizeof(name), env, NULL);
			_hs_join(backend_reason, sizeof(backend_reason),
				 "HUGESLAB_BACKEND=", name,
				 " is unknown: use kmod, hugetlb, thp, pages or auto",
				 NULL);
			return;
		}
		if (!backend_try(b, why[0], sizeof(why[0]))) {
			backend_err = errno;
			_hs_join(backend_reason, sizeof(backend_reason),
				 "HUGESLAB_BACKEND=", env,
				 " forced but unusable: ", why[0], NULL);
			return;
		}
		backend = b;
		_hs_join(backend_reason, sizeof(backend_reason), env,
			 ": forced by HUGESLAB_BACKEND", NULL);
		return;
	}

	for (b = HS_BACKEND_KMOD; b <= HS_BACKEND_PAGES; b++) {
		/* A malloc's memory must follow fork(), and the module's
		 * regions never do: there it is used only when asked for. */
		if (b == HS_BACKEND_KMOD && keep_on_fork) {
			_hs_join(why[0], sizeof(why[0]),
				 "the malloc drop-in uses ", HUGESLAB_DEVICE,
				 " only with HUGESLAB_BACKEND=kmod (its memory would not follow fork)",
				 NULL);
			continue;
		}
		if (backend_try(b, why[b - 1], sizeof(why[0])))
			break;
	}
	backend = b;
	switch (b) {
	case HS_BACKEND_KMOD:
		_hs_join(backend_reason, sizeof(backend_reason), "kmod: ",
			 HUGESLAB_DEVICE, NULL);
		break;
	case HS_BACKEND_HUGETLB:
		_hs_join(backend_reason, sizeof(backend_reason), "hugetlb: ",
			 why[0], NULL);
		break;
	case HS_BACKEND_THP:
		_hs_join(backend_reason, sizeof(backend_reason), "thp: ",
			 why[0], "; ", why[1], NULL);
		break;
	default:
		_hs_join(backend_reason, sizeof(backend_reason),
			 "pages (4 KiB): ", why[0], "; ", why[1], "; ", why[2],
			 NULL);
		break;
	}
}

hs_backend_t _hs_os_backend(void)
{
	int saved = errno;	/* probing leaves errno behind */

	pthread_once(&backend_once, backend_choose);
	errno = saved;
	return backend;
}

HS_EXPORT hs_backend_t hs_backend(void)
{
	hs_backend_t b = _hs_os_backend();

	if (b == HS_BACKEND_NONE)
		_hs_fail(backend_err, "%s", backend_reason);
	return b;
}

HS_EXPORT const char *hs_backend_reason(void)
{
	_hs_os_backend();
	return backend_reason;
}

/* ---- mapping ------------------------------------------------------------ */

/* The device for this process; -1 + errno + message if it cannot be had. */
static int kmod_get_fd(void)
{
	char why[160];
	int fd;

	pthread_mutex_lock(&kmod_lock);
	if (kmod_fd < 0) {
		/* A fork child: its own open file, never the parent's. */
		kmod_fd = kmod_open(why, sizeof(why));
		if (kmod_fd < 0)
			_hs_fail(errno, "cannot open the device again after fork: %s",
				 why);
	}
	fd = kmod_fd;
	pthread_mutex_unlock(&kmod_lock);
	return fd;
}

/*
 * An address range of @bytes aligned to @align, reserved (PROT_NONE) for
 * a MAP_FIXED mapping; NULL when the kernel's own placement will do (its
 * huge page alignment). Trimmed to the range itself.
 */
static void *reserve_aligned(size_t bytes, size_t align)
{
	uintptr_t raw, at;
	void *p;

	if (align <= HS_UNIT)
		return NULL;
	p = mmap(NULL, bytes + align, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return MAP_FAILED;
	raw = (uintptr_t)p;
	at = HS_ALIGN_UP(raw, align);
	if (at > raw)
		munmap(p, at - raw);
	munmap((void *)(at + bytes), raw + align - at);
	return (void *)at;
}

static int kmod_map(size_t bytes, size_t align, int node,
		    struct _hs_mem *mem)
{
	struct hugeslab_create c = {
		.bytes = bytes,
		.node = node >= 0 ? node : HUGESLAB_NODE_ANY,
	};
	struct hugeslab_destroy d = { 0 };
	int fd = kmod_get_fd();
	void *p, *at;
	int err;

	if (fd < 0)
		return -1;
	at = reserve_aligned(bytes, align);
	if (at == MAP_FAILED)
		return _hs_fail(errno, "reserving %zu bytes of address space: %s",
				bytes, _hs_strerror(errno));
	if (ioctl(fd, HUGESLAB_IOC_CREATE, &c) < 0) {
		err = errno;
		if (at)
			munmap(at, bytes);
		errno = err;
		err = errno;
		if (err == EDQUOT)
			return _hs_fail(err, "hugeslab.ko: a limit is reached (max_mb or user_max_mb): free regions or raise them in /sys/module/hugeslab/parameters/");
		if (err == ENOMEM)
			return _hs_fail(err, "hugeslab.ko: no free 2 MiB huge pages%s: raise vm.nr_hugepages or the module's reserve_mb",
					node >= 0 ? " on that node" : "");
		return _hs_fail(err, "hugeslab.ko: creating a %zu-byte region failed: %s",
				bytes, _hs_strerror(err));
	}
	p = mmap(at, bytes, PROT_READ | PROT_WRITE,
		 MAP_SHARED | (at ? MAP_FIXED : 0), fd, c.offset);
	if (p == MAP_FAILED) {
		err = errno;
		if (at)
			munmap(at, bytes);
		d.id = c.id;
		ioctl(fd, HUGESLAB_IOC_DESTROY, &d);
		return _hs_fail(err, "hugeslab.ko: mapping region %llu failed: %s",
				(unsigned long long)c.id, _hs_strerror(err));
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
				_hs_strerror(errno));
	return 0;
}

static int hugetlb_map(size_t bytes, size_t align, int node,
		       unsigned int flags, struct _hs_mem *mem)
{
	void *p, *at = reserve_aligned(bytes, align);
	int err;

	if (at == MAP_FAILED)
		return _hs_fail(errno, "reserving %zu bytes of address space: %s",
				bytes, _hs_strerror(errno));
	/*
	 * No reservation for the whole range: it would hold huge pages the
	 * process may never use. Units are populated when used (here for a
	 * public region, by the arena for its spans), so an empty pool is
	 * an error then, not a SIGBUS later. A mapping for one big block
	 * reserves its pages instead: as safe, and only those touched are
	 * faulted in and zeroed.
	 */
	p = mmap(at, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB |
		 (flags & HS_MAP_RESERVE ? 0 : MAP_NORESERVE) |
		 (at ? MAP_FIXED : 0), -1, 0);
	if (p == MAP_FAILED) {
		err = errno;
		if (at)
			munmap(at, bytes);
		errno = err;
		return _hs_fail(errno, "MAP_HUGETLB of %zu bytes: %s (free 2 MiB pages: see HugePages_Free; raise vm.nr_hugepages)",
				bytes, _hs_strerror(errno));
	}
	if (node >= 0 && mbind_node(p, bytes, node) < 0)
		goto fail;
	if ((flags & HS_MAP_POPULATE) &&
	    madvise(p, bytes, MADV_POPULATE_WRITE) < 0 &&
	    errno != EINVAL) {
		err = errno == EFAULT ? ENOMEM : errno;	/* an empty pool */
		_hs_fail(err, "populating %zu bytes of 2 MiB pages: %s (no free huge pages? see HugePages_Free; raise vm.nr_hugepages)",
			 bytes, _hs_strerror(err));
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

static int anon_map(size_t bytes, size_t align, int node, bool thp,
		    struct _hs_mem *mem)
{
	size_t span = bytes + align;
	uintptr_t raw, base;
	void *p;

	/* Over-map and trim to the alignment (2 MiB at least, as THP needs). */
	p = mmap(NULL, span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return _hs_fail(errno, "mmap of %zu bytes: %s", bytes,
				_hs_strerror(errno));
	raw = (uintptr_t)p;
	base = HS_ALIGN_UP(raw, align);
	if (base > raw)
		munmap(p, base - raw);
	if (base + bytes < raw + span)
		munmap((void *)(base + bytes), raw + span - (base + bytes));
	p = (void *)base;
	/*
	 * Say which page size either way: under THP "always" (Debian's
	 * default) plain pages would fault in 2 MiB at a time, and the small
	 * arena of a small program hold MiB it never touched.
	 */
	madvise(p, bytes, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	if (node >= 0 && mbind_node(p, bytes, node) < 0) {
		int err = errno;

		munmap(p, bytes);
		errno = err;
		return -1;
	}
	mem->base = p;
	mem->page_size = thp ? HS_UNIT : (size_t)getpagesize();
	mem->node = node;
	return 0;
}

static int map_from(hs_backend_t b, size_t bytes, size_t align, int node,
		    unsigned int flags, struct _hs_mem *mem)
{
	switch (b) {
	case HS_BACKEND_KMOD:
		return kmod_map(bytes, align, node, mem);
	case HS_BACKEND_HUGETLB:
		return hugetlb_map(bytes, align, node, flags, mem);
	default:
		return anon_map(bytes, align, node, b == HS_BACKEND_THP, mem);
	}
}

/* THP if the kernel has it on, else plain pages. */
static hs_backend_t fallback_of(hs_backend_t b)
{
	static int thp_on = -1;
	char why[64];

	if (b >= HS_BACKEND_THP)
		return HS_BACKEND_PAGES;
	if (thp_on < 0)
		__atomic_store_n(&thp_on, thp_works(why, sizeof(why)),
				 __ATOMIC_RELAXED);
	return thp_on ? HS_BACKEND_THP : HS_BACKEND_PAGES;
}

int _hs_os_map(size_t bytes, size_t align, int node, unsigned int flags,
	       struct _hs_mem *mem)
{
	hs_backend_t b = _hs_os_backend();
	int err;

	HS_ASSERT(bytes && bytes % HS_UNIT == 0);
	HS_ASSERT(align >= HS_UNIT && !(align & (align - 1)));
	memset(mem, 0, sizeof(*mem));
	/* (The fallbacks serve the heap also when the backend asked for
	 * cannot be had at all.) */
	if (flags & HS_MAP_FALLBACK_ONLY)
		b = fallback_of(b);
	if (flags & HS_MAP_PAGES_ONLY)
		b = HS_BACKEND_PAGES;
	if (b == HS_BACKEND_NONE)
		return _hs_fail(backend_err, "%s", backend_reason);
	err = map_from(b, bytes, align, node, flags, mem);
	/* THP on but unusable here (a limit, no memory): plain pages. */
	if (err && (flags & HS_MAP_FALLBACK_ONLY) && b == HS_BACKEND_THP) {
		b = HS_BACKEND_PAGES;
		err = map_from(b, bytes, align, node, flags, mem);
	}
	if (err)
		return err;
	if (b != HS_BACKEND_KMOD && !_hs_fork_keeps_memory())
		madvise(mem->base, bytes, MADV_DONTFORK);
	mem->bytes = bytes;
	mem->backend = b;
	mem->epoch = _hs_os_epoch();
	return 0;
}

/* Drop the pages of [off, off + len); from free(), which leaves errno
 * alone. */
static int dontneed(struct _hs_mem *mem, size_t off, size_t len)
{
	int err = errno, rc;

	rc = madvise((char *)mem->base + off, len, MADV_DONTNEED);
	errno = err;
	return rc;
}

int _hs_os_decommit(struct _hs_mem *mem, size_t off, size_t len)
{
	HS_ASSERT(off % HS_UNIT == 0 && len % HS_UNIT == 0);
	/*
	 * hugeslab(4): punching holes in a region gives memory back outside
	 * the module's accounting and can SIGBUS on reuse beyond the
	 * reserve; the module takes memory back by whole regions.
	 */
	if (mem->backend == HS_BACKEND_KMOD)
		return -1;
	return dontneed(mem, off, len);
}

void _hs_os_discard(struct _hs_mem *mem, size_t off, size_t len)
{
	HS_ASSERT(off % HS_CHUNK == 0 && len % HS_CHUNK == 0);
	if (mem->backend == HS_BACKEND_PAGES)
		dontneed(mem, off, len);
}

int _hs_os_commit(struct _hs_mem *mem, size_t off, size_t len)
{
	/* Huge pages are faulted in now, so an empty pool is an error here
	 * and not a SIGBUS later; other pages fill on first touch. */
	if (mem->backend != HS_BACKEND_HUGETLB)
		return 0;
	/* An empty pool makes the population fault fail: EFAULT. */
	if (madvise((char *)mem->base + off, len, MADV_POPULATE_WRITE) < 0 &&
	    errno != EINVAL)
		return _hs_fail(errno == EFAULT ? ENOMEM : errno,
				"populating %zu bytes of 2 MiB pages: %s (no free huge pages? see HugePages_Free; raise vm.nr_hugepages)",
				len, _hs_strerror(errno == EFAULT ? ENOMEM : errno));
	return 0;
}

void _hs_os_unmap(struct _hs_mem *mem)
{
	struct hugeslab_destroy d = { .id = mem->kmod_id };

	if (!mem->base)
		return;
	/* A fork parent's mapping: not in this process, and not its region. */
	if (mem->epoch == _hs_os_epoch()) {
		munmap(mem->base, mem->bytes);
		if (mem->backend == HS_BACKEND_KMOD) {
			pthread_mutex_lock(&kmod_lock);
			if (kmod_fd >= 0)
				ioctl(kmod_fd, HUGESLAB_IOC_DESTROY, &d);
			pthread_mutex_unlock(&kmod_lock);
		}
	}
	mem->base = NULL;
}

/* ---- the module's pool stats area -------------------------------------- */

/*
 * The stats area needs the device, not the kmod backend: with the module
 * loaded, pools and the heap are listed whatever their memory comes from.
 */
struct hugeslab_pool_stat *_hs_os_stats_area(void)
{
	struct hugeslab_pool_stat *area;
	char why[160];
	void *p;

	_hs_os_backend();	/* the kmod backend opens the device itself */
	pthread_mutex_lock(&kmod_lock);
	if (!stats_area && !stats_unavailable) {
		if (kmod_fd < 0)
			kmod_fd = kmod_open(why, sizeof(why));
		p = kmod_fd < 0 ? MAP_FAILED :
		    mmap(NULL, HUGESLAB_STATS_BYTES, PROT_READ | PROT_WRITE,
			 MAP_SHARED, kmod_fd, HUGESLAB_STATS_OFFSET);
		/* No module, no access, an older module: pools stay unlisted. */
		if (p == MAP_FAILED)
			stats_unavailable = true;
		else
			stats_area = p;
	}
	area = stats_area;
	pthread_mutex_unlock(&kmod_lock);
	return area;
}

/* ---- fork ---------------------------------------------------------------- */

void _hs_os_fork_prepare(void)
{
	pthread_mutex_lock(&kmod_lock);
}

void _hs_os_fork_parent(void)
{
	pthread_mutex_unlock(&kmod_lock);
}

/*
 * The child holds none of the parent's mappings, and must not keep the
 * parent's open file: it would keep an exited parent's regions alive, and
 * a descriptor the child reuses could be closed by us later.
 */
void _hs_os_fork_child(void)
{
	if (!_hs_fork_keeps_memory())
		__atomic_store_n(&epoch, epoch + 1, __ATOMIC_RELAXED);
	if (kmod_fd >= 0)
		close_nc(kmod_fd);
	kmod_fd = -1;
	stats_area = NULL;	/* VM_DONTCOPY: not in the child */
	stats_unavailable = false;
	pthread_mutex_unlock(&kmod_lock);
}
