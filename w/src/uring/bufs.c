// SPDX-License-Identifier: MIT
/*
 * libhugeslab-uring: buffer sets - @count buffers of @size bytes in one
 * hugeslab region, registered with one io_uring ring as fixed buffers, as
 * a provided-buffer ring, or both.
 *
 * Layout (relative to the start of the memory, which a region aligns to
 * 2 MiB): buffers are packed into 2 MiB windows, none straddling a window
 * boundary, so the fixed-buffer table can have one iovec per huge page:
 * the kernel then pins one head page and keeps one segment per iovec (on
 * 6.1 it coalesces a buffer only within one huge page), and charges each
 * huge page to RLIMIT_MEMLOCK once. Buffers bigger than a window, and
 * HS_UBUF_IOV_EACH, are packed back to back with an iovec each. The
 * provided-buffer ring follows the buffers, 4 KiB aligned, in the same
 * memory; the kernel reads it where it is.
 *
 * Every buffer is the set's (in the ring or on the free stack) or the
 * caller's; a byte per buffer says which, so a buffer handed back twice,
 * or an id the set never handed out, is refused instead of corrupting the
 * ring. Counters go to an external pool (hs_extpool_*), which lists the
 * set in hsstat on the kmod backend.
 *
 * Teardown unregisters first (ring, then fixed buffers) and unmaps last;
 * if the kernel refuses to unregister, nothing is freed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/capability.h>

#include "uring.h"

#define WINDOW		((size_t)2 << 20)	/* a huge page */
#define PAGE_4K		((size_t)4096)
#define IOV_MAX_LEN	((size_t)1 << 30)	/* the kernel's per-iovec limit */
#define ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((size_t)(a) - 1))

/* Where the kernel maps a ring it allocated (IOU_PBUF_RING_MMAP). */
#ifndef IORING_OFF_PBUF_RING
#define IORING_OFF_PBUF_RING	0x80000000ULL
#define IORING_OFF_PBUF_SHIFT	16
#endif
#define HS_PBUF_RING_MMAP	1

#define KNOWN_FLAGS	(HS_UBUF_FIXED | HS_UBUF_RING | HS_UBUF_IOV_EACH | \
			 HS_UBUF_FIXED_SLOTS | HS_UBUF_NODE | HS_UBUF_MEM | \
			 HS_UBUF_RING_KERNEL)

/* Where a buffer is: the set's, or handed to the caller. */
enum { BUF_SETS = 0, BUF_CALLERS = 1 };

/* The arithmetic of a set, from its arguments alone. */
struct layout {
	size_t align;		/* of every buffer */
	size_t stride;		/* from one buffer to the next */
	size_t per_window;	/* buffers per 2 MiB window; 0: packed */
	size_t buf_bytes;	/* end of the last buffer */
	size_t ring_off;	/* the provided-buffer ring, if in our memory */
	unsigned int ring_entries;
	size_t bytes;		/* all of it */
	unsigned int nr_iovecs;	/* fixed-buffer table entries */
};

struct hs_uring_bufs {
	struct io_uring *ring;
	int ring_fd;
	pid_t pid;			/* the process that registered */
	unsigned int flags;
	unsigned int count;
	size_t size;
	struct layout lay;
	char *base;
	hs_region_t *region;		/* NULL with HS_UBUF_MEM */
	size_t mem_bytes;		/* the region's, or the layout's */
	size_t page_size;
	hs_backend_t backend;
	/* Fixed buffers */
	unsigned int fixed_base;
	bool fixed_registered;
	/* Provided-buffer ring */
	uint16_t bgid;
	struct io_uring_buf_ring *br;
	size_t br_mapped;		/* bytes mmap'd by HS_UBUF_RING_KERNEL */
	bool ring_registered;
	/* Buffers */
	uint8_t *state;			/* BUF_* per buffer */
	uint32_t *free;			/* free stack, without a ring */
	unsigned int nfree;
	unsigned int in_use;
	uint64_t taken, returned, enobufs;
	hs_extpool_t *ext;
	char name[HS_POOL_NAME_MAX];
};

/* ---- layout --------------------------------------------------------------- */

static unsigned int pow2_at_least(unsigned int n)
{
	unsigned int p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* Check the arguments and lay the set out: 0, or -1 + errno + message. */
static int plan(const char *who, unsigned int count, size_t size,
		const struct hs_uring_bufs_opts *o, struct layout *l)
{
	size_t align = o->align, windows;
	unsigned int f = o->flags;

	memset(l, 0, sizeof(*l));
	if ((f & ~KNOWN_FLAGS) || o->pad || o->reserved[0] || o->reserved[1] ||
	    o->reserved[2] || o->reserved[3])
		return _hs_ufail(EINVAL, "%s: unknown flags or non-zero pad/reserved fields in opts",
				 who);
	if (!(f & (HS_UBUF_FIXED | HS_UBUF_RING)))
		return _hs_ufail(EINVAL, "%s: opts.flags needs HS_UBUF_FIXED, HS_UBUF_RING or both",
				 who);
	if ((f & HS_UBUF_FIXED_SLOTS) && !(f & HS_UBUF_FIXED))
		return _hs_ufail(EINVAL, "%s: HS_UBUF_FIXED_SLOTS needs HS_UBUF_FIXED", who);
	if ((f & HS_UBUF_IOV_EACH) && !(f & HS_UBUF_FIXED))
		return _hs_ufail(EINVAL, "%s: HS_UBUF_IOV_EACH needs HS_UBUF_FIXED", who);
	if ((f & HS_UBUF_RING_KERNEL) && !(f & HS_UBUF_RING))
		return _hs_ufail(EINVAL, "%s: HS_UBUF_RING_KERNEL needs HS_UBUF_RING", who);
	if ((f & HS_UBUF_NODE) && ((f & HS_UBUF_MEM) || o->node < 0))
		return _hs_ufail(EINVAL, "%s: HS_UBUF_NODE needs a node >= 0 and no HS_UBUF_MEM",
				 who);
	if (!count || !size)
		return _hs_ufail(EINVAL, "%s: %u buffers of %zu bytes: both must be at least 1",
				 who, count, size);
	if ((f & HS_UBUF_RING) && (count > HS_UBUF_RING_MAX || size > UINT32_MAX))
		return _hs_ufail(EINVAL, "%s: a provided-buffer ring takes at most %u buffers of at most 4 GiB - 1 (asked: %u of %zu bytes)",
				 who, HS_UBUF_RING_MAX, count, size);
	if ((f & HS_UBUF_FIXED) && size > IOV_MAX_LEN)
		return _hs_ufail(EINVAL, "%s: fixed buffers are at most 1 GiB each (asked: %zu bytes)",
				 who, size);
	if (!align)
		align = size >= PAGE_4K ? PAGE_4K : 64;
	if (align & (align - 1) || align > WINDOW)
		return _hs_ufail(EINVAL, "%s: alignment %zu is not a power of two up to 2 MiB",
				 who, align);
	if (size > SIZE_MAX / 2 / count)
		return _hs_ufail(EINVAL, "%s: %u buffers of %zu bytes do not fit the address space",
				 who, count, size);

	l->align = align;
	l->stride = ALIGN_UP(size, align);
	if (l->stride <= WINDOW && !(f & HS_UBUF_IOV_EACH)) {
		l->per_window = WINDOW / l->stride;
		windows = (count + l->per_window - 1) / l->per_window;
		l->buf_bytes = (windows - 1) * WINDOW +
			((count - 1) % l->per_window) * l->stride + size;
		l->nr_iovecs = (unsigned int)windows;	/* at most count */
	} else {
		l->buf_bytes = (size_t)(count - 1) * l->stride + size;
		l->nr_iovecs = count;
	}
	if ((f & HS_UBUF_FIXED) && l->nr_iovecs > HS_UBUF_FIXED_MAX)
		return _hs_ufail(EINVAL, "%s: %u fixed-buffer table entries needed, the kernel takes %u: use fewer or bigger buffers%s",
				 who, l->nr_iovecs, HS_UBUF_FIXED_MAX,
				 (f & HS_UBUF_IOV_EACH) ? ", or one iovec per huge page (no HS_UBUF_IOV_EACH)" : "");
	if ((f & HS_UBUF_FIXED_SLOTS) &&
	    o->fixed_base > HS_UBUF_FIXED_MAX - l->nr_iovecs)
		return _hs_ufail(EINVAL, "%s: slots %u..%u are beyond the kernel's %u",
				 who, o->fixed_base,
				 o->fixed_base + l->nr_iovecs - 1, HS_UBUF_FIXED_MAX);
	l->bytes = l->buf_bytes;
	if ((f & HS_UBUF_RING) && !(f & HS_UBUF_RING_KERNEL)) {
		l->ring_entries = pow2_at_least(count);
		l->ring_off = ALIGN_UP(l->buf_bytes, PAGE_4K);
		l->bytes = l->ring_off + (size_t)l->ring_entries *
			sizeof(struct io_uring_buf);
	} else if (f & HS_UBUF_RING) {
		l->ring_entries = pow2_at_least(count);
	}
	return 0;
}

/* Offset of buffer @bid from the start of the memory. */
static size_t buf_off(const struct layout *l, unsigned int bid)
{
	if (l->per_window)
		return (bid / l->per_window) * WINDOW +
			(bid % l->per_window) * l->stride;
	return (size_t)bid * l->stride;
}

/* Fixed-buffer table entry (from the set's first) of buffer @bid. */
static unsigned int buf_iov(const struct layout *l, unsigned int bid)
{
	return l->per_window ? (unsigned int)(bid / l->per_window) : bid;
}

/* ---- fixed buffers --------------------------------------------------------- */

static bool has_cap_ipc_lock(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	return d[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK);
}

/*
 * What the kernel charges RLIMIT_MEMLOCK for these iovecs: whole huge
 * pages, each once, when the memory is on them; else every 4 KiB page.
 */
static size_t memlock_charge(const hs_uring_bufs_t *s, const struct iovec *iov,
			     unsigned int n)
{
	size_t page = s->page_size >= WINDOW ? s->page_size : PAGE_4K;
	uintptr_t last = UINTPTR_MAX, first, end, p;
	size_t pages = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		first = (uintptr_t)iov[i].iov_base & ~(page - 1);
		end = (uintptr_t)iov[i].iov_base + iov[i].iov_len;
		for (p = first; p < end; p += page) {
			if (p != last || page == PAGE_4K)
				pages++;
			last = p;
		}
	}
	return pages * page;
}

static void fmt_bytes(char *buf, size_t len, unsigned long long b)
{
	if (b >= (1ULL << 20))
		snprintf(buf, len, "%.1f MiB", (double)b / (1 << 20));
	else
		snprintf(buf, len, "%llu KiB", b >> 10);
}

/* The message for a refused registration; returns -1 with errno @err. */
static int fixed_fail(const hs_uring_bufs_t *s, const struct iovec *iov,
		      unsigned int n, int err)
{
	char need[32], lim[32];
	struct rlimit rl;

	switch (err) {
	case ENOMEM:
		if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY &&
		    !has_cap_ipc_lock()) {
			fmt_bytes(need, sizeof(need), memlock_charge(s, iov, n));
			fmt_bytes(lim, sizeof(lim), rl.rlim_cur);
			return _hs_ufail(ENOMEM, "hs_uring_bufs_create(%s): registering the fixed buffers locks %s, over RLIMIT_MEMLOCK (%s, shared by this user's rings): raise it (ulimit -l, LimitMEMLOCK=, limits.conf) or grant CAP_IPC_LOCK",
					 s->name, need, lim);
		}
		return _hs_ufail(ENOMEM, "hs_uring_bufs_create(%s): the kernel ran out of memory registering the fixed buffers",
				 s->name);
	case EBUSY:
		return _hs_ufail(EBUSY, "hs_uring_bufs_create(%s): the ring already has fixed buffers: register a table with io_uring_register_buffers_sparse() and use HS_UBUF_FIXED_SLOTS",
				 s->name);
	case ENXIO:
		return _hs_ufail(ENXIO, "hs_uring_bufs_create(%s): HS_UBUF_FIXED_SLOTS needs a fixed-buffer table on the ring: io_uring_register_buffers_sparse() first",
				 s->name);
	case EOPNOTSUPP:
		return _hs_ufail(EOPNOTSUPP, "hs_uring_bufs_create(%s): the kernel cannot pin this memory as fixed buffers (before Linux 6.5 only anonymous, shmem and hugetlbfs memory)",
				 s->name);
	default:
		return _hs_ufail(err, "hs_uring_bufs_create(%s): registering %u fixed-buffer iovecs: %s",
				 s->name, n, strerror(err));
	}
}

static int fixed_register(hs_uring_bufs_t *s)
{
	unsigned int n = s->lay.nr_iovecs, i, bid;
	struct iovec *iov;
	int ret;

	iov = calloc(n, sizeof(*iov));
	if (!iov)
		return _hs_ufail(ENOMEM, "hs_uring_bufs_create(%s): out of memory",
				 s->name);
	/* Each entry covers its buffers only, so a fixed I/O cannot reach
	 * the ring behind them. */
	for (bid = 0; bid < s->count; bid++) {
		char *b = s->base + buf_off(&s->lay, bid);

		i = buf_iov(&s->lay, bid);
		if (!iov[i].iov_base)
			iov[i].iov_base = b;
		iov[i].iov_len = (size_t)(b - (char *)iov[i].iov_base) + s->size;
	}
	if (s->flags & HS_UBUF_FIXED_SLOTS)
		ret = io_uring_register_buffers_update_tag(s->ring, s->fixed_base,
							   iov, NULL, n);
	else
		ret = io_uring_register_buffers(s->ring, iov, n);
	if (ret >= 0 && (s->flags & HS_UBUF_FIXED_SLOTS) && (unsigned int)ret != n) {
		/* Some slots taken: put back the ones that were, then fail. */
		struct iovec *none = calloc(n, sizeof(*none));

		if (none)
			io_uring_register_buffers_update_tag(s->ring, s->fixed_base,
							     none, NULL, (unsigned int)ret);
		free(none);
		ret = -EINVAL;
	}
	if (ret < 0) {
		if ((s->flags & HS_UBUF_FIXED_SLOTS) && ret == -EINVAL)
			_hs_ufail(EINVAL, "hs_uring_bufs_create(%s): slots %u..%u are not in the ring's fixed-buffer table (io_uring_register_buffers_sparse() with enough entries)",
				  s->name, s->fixed_base, s->fixed_base + n - 1);
		else
			fixed_fail(s, iov, n, -ret);
		free(iov);
		return -1;
	}
	free(iov);
	s->fixed_registered = true;
	return 0;
}

/* 0, or -errno. A ring that is gone took its table with it. */
static int fixed_unregister(hs_uring_bufs_t *s)
{
	unsigned int n = s->lay.nr_iovecs;
	struct iovec *none;
	int ret;

	if (s->flags & HS_UBUF_FIXED_SLOTS) {
		/* Empty iovecs remove the buffers; the kernel lets go of the
		 * pages once I/O still using them completes. */
		none = calloc(n, sizeof(*none));
		if (!none)
			return -ENOMEM;
		do {
			ret = io_uring_register_buffers_update_tag(s->ring, s->fixed_base,
								   none, NULL, n);
		} while (ret == -EINTR);
		free(none);
		if (ret >= 0)
			ret = 0;
	} else {
		/* Waits for I/O still using the buffers to complete. */
		do {
			ret = io_uring_unregister_buffers(s->ring);
		} while (ret == -EINTR);
	}
	if (ret == -EBADF)
		ret = 0;
	if (!ret)
		s->fixed_registered = false;
	return ret;
}

/* ---- the provided-buffer ring ------------------------------------------------ */

static int ring_fail(hs_uring_bufs_t *s, int err)
{
	switch (err) {
	case EEXIST:
		return _hs_ufail(EEXIST, "hs_uring_bufs_create(%s): buffer group %u is taken on this ring: pick another opts.bgid",
				 s->name, s->bgid);
	case EINVAL:
		if (s->flags & HS_UBUF_RING_KERNEL) {
			if (!(hs_uring_features() & HS_UFEAT_BUF_RING_KERNEL))
				return _hs_ufail(EOPNOTSUPP, "hs_uring_bufs_create(%s): this kernel cannot allocate provided-buffer rings (IOU_PBUF_RING_MMAP): leave out HS_UBUF_RING_KERNEL to keep the ring in the set's memory",
						 s->name);
		} else if (!(hs_uring_features() & HS_UFEAT_BUF_RING)) {
			return _hs_ufail(EOPNOTSUPP, "hs_uring_bufs_create(%s): this kernel has no provided-buffer rings (IORING_REGISTER_PBUF_RING): use HS_UBUF_FIXED alone",
					 s->name);
		}
		break;
	case EOPNOTSUPP:
	case EFAULT:
		return _hs_ufail(err, "hs_uring_bufs_create(%s): the kernel cannot pin the ring's memory (%s)",
				 s->name, strerror(err));
	}
	return _hs_ufail(err, "hs_uring_bufs_create(%s): registering the provided-buffer ring: %s",
			 s->name, strerror(err));
}

static void ring_add(hs_uring_bufs_t *s, unsigned int bid, int off)
{
	io_uring_buf_ring_add(s->br, s->base + buf_off(&s->lay, bid),
			      (unsigned int)s->size, (unsigned short)bid,
			      io_uring_buf_ring_mask(s->lay.ring_entries), off);
}

static int ring_register(hs_uring_bufs_t *s)
{
	struct io_uring_buf_reg reg;
	unsigned int bid;
	void *p;
	int ret;

	memset(&reg, 0, sizeof(reg));
	reg.ring_entries = s->lay.ring_entries;
	reg.bgid = s->bgid;
	if (s->flags & HS_UBUF_RING_KERNEL)
		reg.pad = HS_PBUF_RING_MMAP;
	else
		reg.ring_addr = (uintptr_t)(s->base + s->lay.ring_off);
	ret = io_uring_register_buf_ring(s->ring, &reg, 0);
	if (ret < 0)
		return ring_fail(s, -ret);
	s->ring_registered = true;
	if (s->flags & HS_UBUF_RING_KERNEL) {
		s->br_mapped = (size_t)s->lay.ring_entries * sizeof(struct io_uring_buf);
		p = mmap(NULL, s->br_mapped, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, s->ring_fd,
			 IORING_OFF_PBUF_RING |
			 ((uint64_t)s->bgid << IORING_OFF_PBUF_SHIFT));
		if (p == MAP_FAILED) {
			int err = errno;

			s->br_mapped = 0;
			io_uring_unregister_buf_ring(s->ring, s->bgid);
			s->ring_registered = false;
			return _hs_ufail(err, "hs_uring_bufs_create(%s): mapping the kernel's buffer ring: %s",
					 s->name, strerror(err));
		}
		s->br = p;
	} else {
		s->br = (struct io_uring_buf_ring *)(s->base + s->lay.ring_off);
	}
	io_uring_buf_ring_init(s->br);
	for (bid = 0; bid < s->count; bid++)
		ring_add(s, bid, (int)bid);
	io_uring_buf_ring_advance(s->br, (int)s->count);
	return 0;
}

static int ring_unregister(hs_uring_bufs_t *s)
{
	int ret;

	do {
		ret = io_uring_unregister_buf_ring(s->ring, s->bgid);
	} while (ret == -EINTR);
	if (ret == -EBADF)
		ret = 0;
	if (ret)
		return ret;
	s->ring_registered = false;
	if (s->br_mapped)
		munmap(s->br, s->br_mapped);
	s->br_mapped = 0;
	s->br = NULL;
	return 0;
}

/* ---- create and destroy --------------------------------------------------------- */

static void publish(hs_uring_bufs_t *s)
{
	struct hs_pool_stats st;

	if (!s->ext)
		return;
	memset(&st, 0, sizeof(st));
	st.obj_size = s->size;
	st.stride = s->lay.stride;
	st.in_use = s->in_use;
	st.total = s->count;
	st.bytes = s->mem_bytes;
	st.allocs = s->taken;
	st.frees = s->returned;
	/* No cache and no slow path: every hand-out is served at once. */
	st.cache_hits = s->taken;
	hs_extpool_update(s->ext, &st);
}

/* Undo what was done, newest first; 0, or -errno of a refused unregister. */
static int teardown(hs_uring_bufs_t *s)
{
	int ret;

	if (s->pid == getpid()) {
		if (s->ring_registered && (ret = ring_unregister(s)))
			return ret;
		if (s->fixed_registered && (ret = fixed_unregister(s)))
			return ret;
	}
	/* Only now may the memory go. */
	if (s->br_mapped)
		munmap(s->br, s->br_mapped);
	hs_extpool_destroy(s->ext);
	hs_region_destroy(s->region);
	free(s->state);
	free(s->free);
	free(s);
	return 0;
}

HS_UEXPORT size_t hs_uring_bufs_bytes(unsigned int count, size_t size,
				      const struct hs_uring_bufs_opts *opts)
{
	struct hs_uring_bufs_opts o = { 0 };
	struct layout l;

	if (opts)
		o = *opts;
	if (plan("hs_uring_bufs_bytes", count, size, &o, &l) < 0)
		return 0;
	return l.bytes;
}

/* Memory for the set: its own region, or the caller's. */
static int set_memory(hs_uring_bufs_t *s, const struct hs_uring_bufs_opts *o)
{
	struct hs_region_opts ro = { 0 };
	size_t need = s->lay.bytes, align;
	int tries;

	if (o->flags & HS_UBUF_MEM) {
		/* The ring needs a page; buffers, their alignment. */
		align = s->lay.align > PAGE_4K ? s->lay.align : PAGE_4K;
		if (!o->mem || (uintptr_t)o->mem % align || o->mem_bytes < need)
			return _hs_ufail(EINVAL, "hs_uring_bufs_create(%s): opts.mem must be aligned to %zu and hold %zu bytes (hs_uring_bufs_bytes())",
					 s->name, align, need);
		s->base = o->mem;
		s->mem_bytes = need;
		s->page_size = PAGE_4K;
		s->backend = HS_BACKEND_NONE;
		return 0;
	}
	if (o->flags & HS_UBUF_NODE) {
		ro.flags = HS_REGION_NODE;
		ro.node = o->node;
	}
	/*
	 * A ring's completions reach its thread as task work, which the
	 * kernel flags like a pending signal (TIF_NOTIFY_SIGNAL): hugetlbfs
	 * then stops populating a region with EINTR, and the module passes
	 * that on. Nothing was interrupted that matters: try again.
	 */
	for (tries = 0; tries < 100; tries++) {
		s->region = hs_region_create(need, &ro);
		if (s->region || errno != EINTR)
			break;
	}
	if (!s->region)
		return _hs_ufail(errno, "hs_uring_bufs_create(%s): %s", s->name,
				 hs_last_error());
	s->base = hs_region_base(s->region);
	s->mem_bytes = hs_region_size(s->region);
	s->page_size = hs_region_page_size(s->region);
	s->backend = hs_region_backend(s->region);
	return 0;
}

HS_UEXPORT hs_uring_bufs_t *hs_uring_bufs_create(struct io_uring *ring,
						 const char *name,
						 unsigned int count, size_t size,
						 const struct hs_uring_bufs_opts *opts)
{
	struct hs_uring_bufs_opts o = { 0 };
	struct _hs_uerr_saved saved;
	hs_uring_bufs_t *s;
	unsigned int i;

	_hs_uerr_begin(&saved);
	if (opts)
		o = *opts;
	if (!name)
		name = "uring-bufs";
	if (!*name || strlen(name) >= HS_POOL_NAME_MAX) {
		_hs_ufail(EINVAL, "hs_uring_bufs_create: the name must be 1 to %d bytes",
			  HS_POOL_NAME_MAX - 1);
		return NULL;
	}
	if (!ring || ring->ring_fd < 0) {
		_hs_ufail(EINVAL, "hs_uring_bufs_create(%s): no ring (io_uring_queue_init() first)",
			  name);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		_hs_ufail(ENOMEM, "hs_uring_bufs_create(%s): out of memory", name);
		return NULL;
	}
	strcpy(s->name, name);
	s->ring = ring;
	s->ring_fd = ring->ring_fd;
	s->pid = getpid();
	s->flags = o.flags;
	s->count = count;
	s->size = size;
	s->bgid = o.bgid;
	s->fixed_base = (o.flags & HS_UBUF_FIXED_SLOTS) ? o.fixed_base : 0;
	if (plan(name, count, size, &o, &s->lay) < 0)
		goto fail;
	s->state = calloc(count, 1);
	if (!(o.flags & HS_UBUF_RING))
		s->free = malloc((size_t)count * sizeof(*s->free));
	if (!s->state || (!(o.flags & HS_UBUF_RING) && !s->free)) {
		_hs_ufail(ENOMEM, "hs_uring_bufs_create(%s): out of memory", name);
		goto fail;
	}
	if (set_memory(s, &o) < 0)
		goto fail;
	/* The ring's buffers are the kernel's to pick; others start free,
	 * lowest id on top. */
	if (s->free) {
		for (i = 0; i < count; i++)
			s->free[i] = count - 1 - i;
		s->nfree = count;
	}
	if ((o.flags & HS_UBUF_FIXED) && fixed_register(s) < 0)
		goto fail;
	if ((o.flags & HS_UBUF_RING) && ring_register(s) < 0)
		goto fail;
	/* A listing hsstat shows; a set works without one. */
	s->ext = hs_extpool_create(name);
	publish(s);
	_hs_uerr_ok(&saved);
	return s;
fail: {
		int err = errno;

		/* Nothing half made stays registered or mapped. */
		teardown(s);
		errno = err;
		return NULL;
	}
}

HS_UEXPORT int hs_uring_bufs_destroy(hs_uring_bufs_t *s)
{
	struct _hs_uerr_saved saved;
	char who[HS_POOL_NAME_MAX];
	int ret;

	if (!s)
		return 0;
	_hs_uerr_begin(&saved);
	strcpy(who, s->name);
	ret = teardown(s);
	if (ret < 0)
		return _hs_ufail(-ret, "hs_uring_bufs_destroy(%s): the kernel refused to unregister the buffers (%s); the set and its memory stay: try again",
				 who, strerror(-ret));
	_hs_uerr_ok(&saved);
	return 0;
}

/* ---- buffers ------------------------------------------------------------------- */

HS_UEXPORT void *hs_uring_bufs_buf(const hs_uring_bufs_t *s, unsigned int bid)
{
	if (!s || bid >= s->count) {
		errno = EINVAL;
		return NULL;
	}
	return s->base + buf_off(&s->lay, bid);
}

HS_UEXPORT int hs_uring_bufs_id(const hs_uring_bufs_t *s, const void *addr)
{
	uintptr_t a = (uintptr_t)addr, b;
	size_t off, in;
	unsigned long bid;

	if (!s || a < (uintptr_t)s->base)
		goto bad;
	off = a - (uintptr_t)s->base;
	if (s->lay.per_window) {
		in = off % WINDOW;
		bid = (off / WINDOW) * s->lay.per_window + in / s->lay.stride;
		if (in / s->lay.stride >= s->lay.per_window)
			goto bad;
	} else {
		bid = off / s->lay.stride;
	}
	if (bid >= s->count)
		goto bad;
	b = (uintptr_t)s->base + buf_off(&s->lay, (unsigned int)bid);
	if (a - b >= s->size)
		goto bad;
	return (int)bid;
bad:
	errno = EINVAL;
	return -1;
}

HS_UEXPORT int hs_uring_bufs_index(const hs_uring_bufs_t *s, unsigned int bid)
{
	if (!s || !(s->flags & HS_UBUF_FIXED) || bid >= s->count) {
		errno = EINVAL;
		return -1;
	}
	return (int)(s->fixed_base + buf_iov(&s->lay, bid));
}

HS_UEXPORT unsigned int hs_uring_bufs_group(const hs_uring_bufs_t *s)
{
	return s->bgid;
}

HS_UEXPORT unsigned int hs_uring_bufs_count(const hs_uring_bufs_t *s)
{
	return s->count;
}

HS_UEXPORT size_t hs_uring_bufs_size(const hs_uring_bufs_t *s)
{
	return s->size;
}

HS_UEXPORT unsigned int hs_uring_bufs_avail(const hs_uring_bufs_t *s)
{
	return s->count - s->in_use;
}

HS_UEXPORT void *hs_uring_bufs_cqe(hs_uring_bufs_t *s,
				   const struct io_uring_cqe *cqe,
				   unsigned int *bidp)
{
	unsigned int bid;

	if (!(cqe->flags & IORING_CQE_F_BUFFER)) {
		if (cqe->res == -ENOBUFS) {
			s->enobufs++;
			_hs_ufail(ENOBUFS, "hs_uring_bufs_cqe(%s): the ring was empty: hand buffers back (hs_uring_bufs_put) and submit again",
				  s->name);
		} else {
			_hs_ufail(ENODATA, "hs_uring_bufs_cqe(%s): the completion carries no buffer",
				  s->name);
		}
		return NULL;
	}
	bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	if (!(s->flags & HS_UBUF_RING) || bid >= s->count ||
	    s->state[bid] != BUF_SETS) {
		_hs_ufail(EINVAL, "hs_uring_bufs_cqe(%s): buffer id %u is not one of this set's in its ring: does something else use group %u?",
			  s->name, bid, s->bgid);
		return NULL;
	}
	s->state[bid] = BUF_CALLERS;
	s->in_use++;
	s->taken++;
	publish(s);
	if (bidp)
		*bidp = bid;
	return s->base + buf_off(&s->lay, bid);
}

HS_UEXPORT int hs_uring_bufs_get(hs_uring_bufs_t *s)
{
	unsigned int bid;

	if (s->flags & HS_UBUF_RING)
		return _hs_ufail(EINVAL, "hs_uring_bufs_get(%s): the kernel hands out a ring's buffers: take them with hs_uring_bufs_cqe()",
				 s->name);
	if (!s->nfree)
		return _hs_ufail(ENOBUFS, "hs_uring_bufs_get(%s): all %u buffers are out: hand one back first",
				 s->name, s->count);
	bid = s->free[--s->nfree];
	s->state[bid] = BUF_CALLERS;
	s->in_use++;
	s->taken++;
	publish(s);
	return (int)bid;
}

HS_UEXPORT int hs_uring_bufs_put(hs_uring_bufs_t *s, unsigned int bid)
{
	if (bid >= s->count)
		return _hs_ufail(EINVAL, "hs_uring_bufs_put(%s): no buffer %u (the set has %u)",
				 s->name, bid, s->count);
	if (s->state[bid] != BUF_CALLERS)
		return _hs_ufail(EINVAL, "hs_uring_bufs_put(%s): buffer %u is not out (handed back twice?)",
				 s->name, bid);
	s->state[bid] = BUF_SETS;
	s->in_use--;
	s->returned++;
	if (s->flags & HS_UBUF_RING) {
		ring_add(s, bid, 0);
		io_uring_buf_ring_advance(s->br, 1);
	} else {
		s->free[s->nfree++] = bid;
	}
	publish(s);
	return 0;
}

/* ---- statistics ------------------------------------------------------------------ */

HS_UEXPORT int hs_uring_bufs_stats(const hs_uring_bufs_t *s,
				   struct hs_uring_bufs_stats *st)
{
	if (!s || !st)
		return _hs_ufail(EINVAL, "hs_uring_bufs_stats: %s is NULL",
				 s ? "the stats pointer" : "the set");
	memset(st, 0, sizeof(*st));
	st->count = s->count;
	st->size = s->size;
	st->stride = s->lay.stride;
	st->in_use = s->in_use;
	st->avail = s->count - s->in_use;
	st->taken = s->taken;
	st->returned = s->returned;
	st->enobufs = s->enobufs;
	st->bytes = s->mem_bytes;
	st->page_size = s->page_size;
	st->fixed_iovecs = (s->flags & HS_UBUF_FIXED) ? s->lay.nr_iovecs : 0;
	st->ring_entries = s->lay.ring_entries;
	st->backend = s->backend;
	return 0;
}
