// SPDX-License-Identifier: MIT
/*
 * libhugeslab-uring: what the running kernel's io_uring can do, found by
 * trying it, once per process, on a private ring, so the caller's rings
 * and buffer groups are never touched. Kernel versions say nothing
 * reliable here (distributions backport io_uring features, and Debian's
 * 6.1 and 6.12 differ in several this library cares about), so nothing is
 * inferred from them.
 *
 *   fixed           the opcode probe lists READ_FIXED and WRITE_FIXED
 *   buf_ring        IORING_REGISTER_PBUF_RING accepts a ring in our memory
 *   buf_ring_kernel it accepts IOU_PBUF_RING_MMAP (no memory of ours)
 *   recv_multishot  a multishot recv on a socket pair delivers one byte
 *                   into a provided buffer and says more will come
 *   accept_multishot a multishot accept on a listening UNIX socket takes
 *                   a connection and says more will come
 *   send_zc         the opcode probe lists SEND_ZC
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "uring.h"

/* liburing 2.3's struct io_uring_buf_reg calls the flags field "pad". */
#define HS_PBUF_RING_MMAP	1

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static unsigned int features;
static int probe_err;		/* errno when io_uring itself failed */

enum { UD_RECV = 1, UD_ACCEPT };

/*
 * The first completion of request @ud, waiting at most a second for each:
 * 0, or -errno. Others (an earlier probe's request ending) are dropped.
 */
static int wait_one(struct io_uring *ring, uint64_t ud, struct io_uring_cqe *out)
{
	struct __kernel_timespec ts = { .tv_sec = 1 };
	struct io_uring_cqe *cqe;
	int ret;

	for (;;) {
		ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
		if (ret < 0)
			return ret;
		*out = *cqe;
		io_uring_cqe_seen(ring, cqe);
		if (out->user_data == ud)
			return 0;
	}
}

/* Multishot recv into group @bgid (one 64-byte buffer at @buf). */
static bool try_recv_multishot(struct io_uring *ring,
			       struct io_uring_buf_ring *br, void *buf,
			       unsigned int bgid)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	bool ok = false;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return false;
	io_uring_buf_ring_add(br, buf, 64, 0, io_uring_buf_ring_mask(1), 0);
	io_uring_buf_ring_advance(br, 1);
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (uint16_t)bgid;
	sqe->user_data = UD_RECV;
	if (io_uring_submit(ring) == 1 && write(sv[1], "x", 1) == 1 &&
	    !wait_one(ring, UD_RECV, &cqe))
		ok = cqe.res == 1 && (cqe.flags & IORING_CQE_F_BUFFER) &&
		     (cqe.flags & IORING_CQE_F_MORE);
	/* Closing the sockets ends the request; the ring's exit reaps it. */
	close(sv[0]);
	close(sv[1]);
	return ok;
}

static bool try_accept_multishot(struct io_uring *ring)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	int l, c = -1;
	bool ok = false;
	socklen_t len;

	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return false;
	/* An abstract name the kernel picks (autobind): nothing on disk. */
	if (bind(l, (struct sockaddr *)&a, sizeof(sa_family_t)) ||
	    listen(l, 1))
		goto out;
	len = sizeof(a);
	if (getsockname(l, (struct sockaddr *)&a, &len))
		goto out;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_multishot_accept(sqe, l, NULL, NULL, SOCK_CLOEXEC);
	sqe->user_data = UD_ACCEPT;
	if (io_uring_submit(ring) != 1)
		goto out;
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, len))
		goto out;
	if (!wait_one(ring, UD_ACCEPT, &cqe)) {
		ok = cqe.res >= 0 && (cqe.flags & IORING_CQE_F_MORE);
		if (cqe.res >= 0)
			close(cqe.res);
	}
out:
	if (c >= 0)
		close(c);
	close(l);
	return ok;
}

static void probe(void)
{
	struct io_uring_buf_reg reg;
	struct io_uring_probe *p;
	struct io_uring ring;
	void *page;
	int ret;

	ret = io_uring_queue_init(8, &ring, 0);
	if (ret < 0) {
		probe_err = -ret;
		return;
	}
	p = io_uring_get_probe_ring(&ring);
	if (p) {
		if (io_uring_opcode_supported(p, IORING_OP_READ_FIXED) &&
		    io_uring_opcode_supported(p, IORING_OP_WRITE_FIXED))
			features |= HS_UFEAT_FIXED;
		if (io_uring_opcode_supported(p, IORING_OP_SEND_ZC))
			features |= HS_UFEAT_SEND_ZC;
		io_uring_free_probe(p);
	}

	/* The ring in the first half of a page, its buffer in the second. */
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page != MAP_FAILED) {
		memset(&reg, 0, sizeof(reg));
		reg.ring_addr = (uintptr_t)page;
		reg.ring_entries = 1;
		reg.bgid = 0;
		if (!io_uring_register_buf_ring(&ring, &reg, 0)) {
			features |= HS_UFEAT_BUF_RING;
			io_uring_buf_ring_init(page);
			if (try_recv_multishot(&ring, page, (char *)page + 2048, 0))
				features |= HS_UFEAT_RECV_MULTISHOT;
		}
		/* Unmapped only after the ring has gone, below. */
	}

	memset(&reg, 0, sizeof(reg));
	reg.ring_entries = 1;
	reg.bgid = 1;
	reg.pad = HS_PBUF_RING_MMAP;
	if (!io_uring_register_buf_ring(&ring, &reg, 0)) {
		features |= HS_UFEAT_BUF_RING_KERNEL;
		io_uring_unregister_buf_ring(&ring, 1);
	}

	if (try_accept_multishot(&ring))
		features |= HS_UFEAT_ACCEPT_MULTISHOT;
	io_uring_queue_exit(&ring);
	if (page != MAP_FAILED)
		munmap(page, 4096);
}

HS_UEXPORT unsigned int hs_uring_features(void)
{
	int saved = errno;

	pthread_once(&probe_once, probe);
	if (probe_err) {
		_hs_ufail(probe_err, "hs_uring_features: io_uring_queue_init: %s (io_uring disabled? see /proc/sys/kernel/io_uring_disabled)",
			  strerror(probe_err));
		return 0;
	}
	errno = saved;
	return features;
}

HS_UEXPORT const char *hs_uring_feature_name(unsigned int feature)
{
	switch (feature) {
	case HS_UFEAT_FIXED:		return "fixed";
	case HS_UFEAT_BUF_RING:		return "buf_ring";
	case HS_UFEAT_BUF_RING_KERNEL:	return "buf_ring_kernel";
	case HS_UFEAT_RECV_MULTISHOT:	return "recv_multishot";
	case HS_UFEAT_ACCEPT_MULTISHOT:	return "accept_multishot";
	case HS_UFEAT_SEND_ZC:		return "send_zc";
	default:			return "?";
	}
}
