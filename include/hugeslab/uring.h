/* SPDX-License-Identifier: MIT */
/*
 * libhugeslab-uring: io_uring buffers on huge pages.
 *
 * A buffer set is @count buffers of @size bytes for one io_uring ring, in
 * one hugeslab region (2 MiB pages from /dev/hugeslab, else the fallback
 * backends), registered with the kernel in one or both of two ways:
 *
 *   HS_UBUF_FIXED  fixed (registered) buffers, for read_fixed, write_fixed
 *                  and send_zc with IORING_RECVSEND_FIXED_BUF: the pages
 *                  are pinned and accounted once, not on every I/O
 *   HS_UBUF_RING   a provided-buffer ring with group id opts->bgid, the
 *                  ring itself in the same region: the kernel picks a
 *                  buffer when data arrives (recv with IOSQE_BUFFER_SELECT)
 *
 * Huge pages make both cheap for the kernel: it pins one head page per
 * 2 MiB, charges RLIMIT_MEMLOCK by whole huge pages once, and keeps one
 * segment per huge page instead of one per 4 KiB page.
 *
 * Buffers are numbered 0 .. count - 1 (the buffer id, "bid", that a ring's
 * completions carry). A buffer is either the set's (in the ring, or free)
 * or the caller's: completions (hs_uring_bufs_cqe) and hs_uring_bufs_get
 * hand buffers out, hs_uring_bufs_put hands them back.
 *
 * libhugeslab-uring is a separate library (pkg-config hugeslab-uring) so
 * that libhugeslab does not depend on liburing. Link both.
 *
 * Errors: calls that can fail return NULL or -1 and set errno; they never
 * print; hs_uring_last_error() says what failed and what to do. A set is
 * used by one thread at a time, like its ring.
 */
#ifndef HUGESLAB_URING_H
#define HUGESLAB_URING_H

#include <stddef.h>
#include <stdint.h>

#include <liburing.h>
#include <hugeslab.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_uring_bufs hs_uring_bufs_t;

/* Options for hs_uring_bufs_create(); zero-initialise, then set. */
struct hs_uring_bufs_opts {
	unsigned int flags;	/* HS_UBUF_*: FIXED, RING or both */
	uint16_t bgid;		/* buffer group id, with HS_UBUF_RING */
	uint16_t pad;		/* must be zero */
	size_t align;		/* power of two up to 2 MiB; 0: 4096 for
				 * buffers of 4 KiB or more (O_DIRECT),
				 * else 64 (a cache line) */
	unsigned int fixed_base; /* first slot, with HS_UBUF_FIXED_SLOTS */
	int node;		/* NUMA node, with HS_UBUF_NODE */
	void *mem;		/* with HS_UBUF_MEM: memory to use instead */
	size_t mem_bytes;	/* of a region (see hs_uring_bufs_bytes) */
	uint64_t reserved[4];	/* must be zero */
};

/* Register the buffers as the ring's fixed buffers (its whole table). */
#define HS_UBUF_FIXED		(1U << 0)
/* Publish them as a provided-buffer ring, group opts->bgid. */
#define HS_UBUF_RING		(1U << 1)
/*
 * One fixed-buffer iovec per buffer instead of one per 2 MiB page. The
 * default is what the kernel handles best (one pinned head and one segment
 * per huge page, and a table of count / buffers-per-page entries); this
 * is for measuring against it, and for callers that want the index to be
 * the buffer id. At most 16384 buffers (the kernel's table size).
 */
#define HS_UBUF_IOV_EACH	(1U << 2)
/*
 * With HS_UBUF_FIXED: install the iovecs into slots opts->fixed_base..
 * of a table the caller registered with io_uring_register_buffers_sparse(),
 * instead of registering the whole table, so several sets (and the
 * caller's own buffers) can share one ring's table.
 */
#define HS_UBUF_FIXED_SLOTS	(1U << 3)
/* opts->node is meaningful (the region's NUMA node). */
#define HS_UBUF_NODE		(1U << 4)
/*
 * Lay the set out in opts->mem (opts->mem_bytes, aligned to 4096 and to
 * opts->align) instead of a region of its own: for comparisons with other
 * memory, and for callers with a region already. The caller frees it,
 * after hs_uring_bufs_destroy().
 */
#define HS_UBUF_MEM		(1U << 5)
/*
 * With HS_UBUF_RING: let the kernel allocate the ring (IOU_PBUF_RING_MMAP,
 * HS_UFEAT_BUF_RING_KERNEL), mapped from the ring's file; the buffers stay
 * in hugeslab memory. EOPNOTSUPP where the kernel lacks it. Without this
 * flag the ring lives in the set's memory, which works on every kernel
 * with provided-buffer rings.
 */
#define HS_UBUF_RING_KERNEL	(1U << 6)

/* Buffers in a provided-buffer ring: at most this many (its ids are u16
 * and its entries a power of two below 65536). */
#define HS_UBUF_RING_MAX	32768U
/* Fixed-buffer table entries the kernel allows per ring. */
#define HS_UBUF_FIXED_MAX	16384U

/*
 * A set of @count buffers of @size bytes for @ring, named @name for
 * hsstat (1 to HS_POOL_NAME_MAX - 1 bytes; NULL: "uring-bufs"), registered
 * as opts->flags says. With HS_UBUF_RING every buffer starts in the ring.
 * NULL + errno on failure, with nothing left registered or mapped:
 *   EINVAL      a bad argument (hs_uring_last_error() says which)
 *   ENOMEM      no huge pages (as hs_region_create()), or the fixed
 *               buffers exceed RLIMIT_MEMLOCK: the message says how much
 *               the kernel charges and what to raise
 *   EDQUOT      a limit of the module
 *   EBUSY       the ring already has a fixed-buffer table (HS_UBUF_FIXED_SLOTS)
 *   EEXIST      the buffer group is taken on this ring
 *   EOPNOTSUPP  the kernel lacks a feature asked for (see hs_uring_features)
 */
hs_uring_bufs_t *hs_uring_bufs_create(struct io_uring *ring, const char *name,
				      unsigned int count, size_t size,
				      const struct hs_uring_bufs_opts *opts);

/*
 * Unregister the set from its ring (provided-buffer ring, then fixed
 * buffers), and only then give the memory back. 0, or -1 + errno if the
 * kernel refused to unregister: then the set and its memory stay, and the
 * call can be repeated. Call it before io_uring_queue_exit(); a ring that
 * is already gone took the registrations with it. NULL is ignored. In a
 * fork child it only frees the child's bookkeeping: the registrations are
 * the parent's ring's.
 */
int hs_uring_bufs_destroy(hs_uring_bufs_t *bufs);

/* Bytes the set needs for HS_UBUF_MEM with these arguments; 0 + errno
 * EINVAL if they are not valid. */
size_t hs_uring_bufs_bytes(unsigned int count, size_t size,
			   const struct hs_uring_bufs_opts *opts);

/* ---- buffers -------------------------------------------------------------- */

/* Buffer @bid's address; NULL + EINVAL if there is no such buffer. */
void *hs_uring_bufs_buf(const hs_uring_bufs_t *bufs, unsigned int bid);
/* The id of the buffer holding @addr; -1 + EINVAL if none does. */
int hs_uring_bufs_id(const hs_uring_bufs_t *bufs, const void *addr);
/*
 * The fixed-buffer index of buffer @bid, for io_uring_prep_read_fixed(),
 * io_uring_prep_write_fixed() and io_uring_prep_send_zc_fixed() (address
 * and length anywhere inside the buffer); -1 + EINVAL for a set without
 * HS_UBUF_FIXED or no such buffer.
 */
int hs_uring_bufs_index(const hs_uring_bufs_t *bufs, unsigned int bid);
/* The buffer group id (for sqe->buf_group with IOSQE_BUFFER_SELECT). */
unsigned int hs_uring_bufs_group(const hs_uring_bufs_t *bufs);
unsigned int hs_uring_bufs_count(const hs_uring_bufs_t *bufs);
size_t hs_uring_bufs_size(const hs_uring_bufs_t *bufs);
/* Buffers the set holds now: in the ring, or free for hs_uring_bufs_get. */
unsigned int hs_uring_bufs_avail(const hs_uring_bufs_t *bufs);

/*
 * The buffer a completion carries (IORING_CQE_F_BUFFER), which is now the
 * caller's: its address, and its id in *@bid (if @bid is not NULL). Check
 * cqe->res for the bytes in it; a buffer comes with some failed or empty
 * completions too, and must be handed back all the same. NULL when the
 * completion carries none: errno ENOBUFS if the kernel found the ring
 * empty (res -ENOBUFS: hand buffers back and submit again), ENODATA
 * otherwise, EINVAL if the id is not one of this set's buffers in the
 * ring (is the group used by someone else?).
 */
void *hs_uring_bufs_cqe(hs_uring_bufs_t *bufs, const struct io_uring_cqe *cqe,
			unsigned int *bid);

/*
 * A free buffer for the caller's own I/O (a set without a ring): its id,
 * or -1 + ENOBUFS when all are out, EINVAL for a set with a ring (whose
 * buffers the kernel hands out).
 */
int hs_uring_bufs_get(hs_uring_bufs_t *bufs);

/*
 * Hand buffer @bid back: into the ring (the kernel may use it at once) or
 * the free list. -1 + EINVAL, and nothing changed, for an id that is not
 * the caller's (out of range, or already handed back).
 */
int hs_uring_bufs_put(hs_uring_bufs_t *bufs, unsigned int bid);

/* ---- statistics ------------------------------------------------------------ */

struct hs_uring_bufs_stats {
	uint64_t count;		/* buffers */
	uint64_t size;		/* bytes each, as asked for */
	uint64_t stride;	/* bytes from one buffer to the next */
	uint64_t in_use;	/* the caller's: handed out, not back yet */
	uint64_t avail;		/* the set's: in the ring or free */
	uint64_t taken;		/* handed out so far */
	uint64_t returned;	/* handed back so far */
	uint64_t enobufs;	/* completions that found the ring empty */
	uint64_t bytes;		/* memory of the set: buffers and ring */
	uint64_t page_size;	/* of that memory */
	uint64_t fixed_iovecs;	/* fixed-buffer table entries used; 0 if none */
	uint64_t ring_entries;	/* provided-buffer ring size; 0 if none */
	uint64_t backend;	/* hs_backend_t of the memory; NONE with HS_UBUF_MEM */
	uint64_t reserved[7];
};

/*
 * The set's counters. The same (name, size, count, in use, handed out
 * and back, memory) are listed by hsstat beside the pools on the kmod
 * backend (an external pool, hugeslab(3)), updated as buffers come and go.
 */
int hs_uring_bufs_stats(const hs_uring_bufs_t *bufs,
			struct hs_uring_bufs_stats *stats);

/* ---- kernel features -------------------------------------------------------- */

/* read_fixed / write_fixed and buffer registration */
#define HS_UFEAT_FIXED			(1U << 0)
/* provided-buffer rings in user memory (IORING_REGISTER_PBUF_RING) */
#define HS_UFEAT_BUF_RING		(1U << 1)
/* kernel-allocated provided-buffer rings (IOU_PBUF_RING_MMAP) */
#define HS_UFEAT_BUF_RING_KERNEL	(1U << 2)
/* multishot recv into provided buffers (IORING_RECV_MULTISHOT) */
#define HS_UFEAT_RECV_MULTISHOT		(1U << 3)
/* multishot accept (IORING_ACCEPT_MULTISHOT) */
#define HS_UFEAT_ACCEPT_MULTISHOT	(1U << 4)
/* zero-copy send, which can send from a fixed buffer (IORING_OP_SEND_ZC) */
#define HS_UFEAT_SEND_ZC		(1U << 5)

/*
 * What this kernel does, found by trying each feature once per process on
 * a private ring (never from the kernel's version): HS_UFEAT_* bits. 0
 * when io_uring itself is not available (then errno says why).
 */
unsigned int hs_uring_features(void);
/* "fixed", "buf_ring", ...; "?" for anything else. */
const char *hs_uring_feature_name(unsigned int feature);

/*
 * What the last failing hs_uring_* call in this thread said: what failed
 * and what to do. Never NULL; "" when nothing failed yet.
 */
const char *hs_uring_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* HUGESLAB_URING_H */
