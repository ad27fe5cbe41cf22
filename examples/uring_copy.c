// SPDX-License-Identifier: MIT
/*
 * uring_copy: copy a file (or a range of a block device) with O_DIRECT
 * through hugeslab fixed buffers - read_fixed into a buffer, write_fixed
 * from it, several buffers in flight - then read both sides back through
 * the same buffers and compare them.
 *
 *   cc uring_copy.c $(pkg-config --cflags --libs hugeslab-uring) -o uring_copy
 *   ./uring_copy [options] SRC DST
 *
 * Options:
 *   --size BYTES        bytes per buffer (default 1 MiB; a multiple of 4096)
 *   --depth N           buffers, and so I/Os in flight (default 8)
 *   --length BYTES      bytes to copy (default: all of SRC after its offset)
 *   --src-offset BYTES  where to start reading (a multiple of 4096)
 *   --dst-offset BYTES  where to start writing (a multiple of 4096)
 *   --no-verify         skip the comparison
 *
 * O_DIRECT moves data between the device and the buffers with no page
 * cache copy; fixed buffers spare the kernel pinning them on every I/O,
 * and on huge pages it tracks one page per 2 MiB. Offsets and every I/O
 * are multiples of 4096, as O_DIRECT needs; a file whose length is not is
 * copied by writing its last block whole and cutting DST at the end of
 * the copy (so DST must be a regular file then). A regular DST is created
 * if needed; otherwise its bytes outside the range are left alone.
 *
 * Exit status: 0 copied (and verified), 1 an error, 2 usage, 3 the copy
 * differs from the source.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* O_DIRECT, signalfd, when built on its own */
#endif
#include <errno.h>
#include <fcntl.h>
#include <hugeslab/uring.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK	4096ULL

enum state { IDLE, READING, WRITING };

struct slot {
	enum state state;
	uint64_t pos;		/* offset in the copy */
	unsigned int len;	/* bytes of this chunk (BLOCK-rounded for I/O) */
	unsigned int done;	/* of them, done so far */
};

static void die(const char *what, const char *why)
{
	fprintf(stderr, "uring_copy: %s: %s\n", what, why);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t num(const char *opt, const char *v)
{
	char *end;
	unsigned long long n = strtoull(v ? v : "", &end, 0);

	if (!v || *end)
		die(opt, "needs a number");
	return n;
}

/* Bytes in @fd: a block device's size, or a file's. */
static uint64_t size_of(int fd, const char *name, bool *is_blk)
{
	struct stat st;
	uint64_t n = 0;

	if (fstat(fd, &st))
		die(name, strerror(errno));
	*is_blk = S_ISBLK(st.st_mode);
	if (*is_blk) {
		if (ioctl(fd, BLKGETSIZE64, &n))
			die(name, strerror(errno));
		return n;
	}
	return (uint64_t)st.st_size;
}

static void submit_rw(struct io_uring *ring, hs_uring_bufs_t *bufs,
		      unsigned int bid, bool write, int fd, uint64_t off,
		      struct slot *sl)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	char *b = (char *)hs_uring_bufs_buf(bufs, bid) + sl->done;
	unsigned int n = sl->len - sl->done;
	int idx = hs_uring_bufs_index(bufs, bid);

	if (write)
		io_uring_prep_write_fixed(sqe, fd, b, n, off + sl->done, idx);
	else
		io_uring_prep_read_fixed(sqe, fd, b, n, off + sl->done, idx);
	io_uring_sqe_set_data64(sqe, bid);
}

static struct io_uring_cqe *wait_cqe(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_submit_and_wait(ring, 1);

	if (ret < 0)
		die("io_uring_submit_and_wait", strerror(-ret));
	ret = io_uring_peek_cqe(ring, &cqe);
	if (ret < 0)
		die("io_uring_peek_cqe", strerror(-ret));
	return cqe;
}

/*
 * Read [@off_a, +@len) of @a and [@off_b, +@len) of @b through two
 * buffers each round and compare; the first offset that differs, or -1.
 */
static long long verify(struct io_uring *ring, hs_uring_bufs_t *bufs,
			size_t bsz, int a, uint64_t off_a,
			int b, uint64_t off_b, uint64_t len)
{
	uint64_t pos;
	unsigned int k;

	for (pos = 0; pos < len; pos += bsz) {
		unsigned int n = (unsigned int)((len - pos < bsz) ? len - pos : bsz);
		unsigned int io = (unsigned int)((n + BLOCK - 1) & ~(BLOCK - 1));
		struct slot sl[2] = { { READING, pos, io, 0 }, { READING, pos, io, 0 } };
		int pending = 2;
		char *x, *y;

		submit_rw(ring, bufs, 0, false, a, off_a + pos, &sl[0]);
		submit_rw(ring, bufs, 1, false, b, off_b + pos, &sl[1]);
		while (pending) {
			struct io_uring_cqe *cqe = wait_cqe(ring);
			unsigned int bid = (unsigned int)io_uring_cqe_get_data64(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(ring, cqe);
			if (res < 0)
				die("verify: read_fixed", strerror(-res));
			sl[bid].done += (unsigned int)res;
			if (res == 0 || sl[bid].done >= n)
				pending--;
			else
				submit_rw(ring, bufs, bid, false, bid ? b : a,
					  (bid ? off_b : off_a) + pos, &sl[bid]);
		}
		if (sl[0].done < n || sl[1].done < n)
			return (long long)(pos + (sl[0].done < sl[1].done ? sl[0].done : sl[1].done));
		x = hs_uring_bufs_buf(bufs, 0);
		y = hs_uring_bufs_buf(bufs, 1);
		if (memcmp(x, y, n)) {
			for (k = 0; k < n && x[k] == y[k]; k++)
				;
			return (long long)(pos + k);
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_FIXED };
	uint64_t src_off = 0, dst_off = 0, length = UINT64_MAX, src_size, next = 0;
	struct hs_uring_bufs_stats st;
	size_t bsz = 1 << 20;
	unsigned int depth = 8, i, busy = 0;
	const char *src = NULL, *dst = NULL;
	bool verify_copy = true, src_blk, dst_blk;
	struct io_uring ring;
	hs_uring_bufs_t *bufs;
	struct slot *slots;
	double t0, t1;
	long long bad;
	int a, sfd, dfd, ret;

	for (a = 1; a < argc; a++) {
		const char *opt = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;

		if (!strcmp(opt, "--size"))
			bsz = (size_t)num(opt, v), a++;
		else if (!strcmp(opt, "--depth"))
			depth = (unsigned int)num(opt, v), a++;
		else if (!strcmp(opt, "--length"))
			length = num(opt, v), a++;
		else if (!strcmp(opt, "--src-offset"))
			src_off = num(opt, v), a++;
		else if (!strcmp(opt, "--dst-offset"))
			dst_off = num(opt, v), a++;
		else if (!strcmp(opt, "--no-verify"))
			verify_copy = false;
		else if (opt[0] == '-' || (src && dst))
			goto usage;
		else if (!src)
			src = opt;
		else
			dst = opt;
	}
	if (!src || !dst || !bsz || bsz % BLOCK || bsz > (1U << 30) || depth < 2 ||
	    src_off % BLOCK || dst_off % BLOCK)
		goto usage;

	sfd = open(src, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (sfd < 0)
		die(src, strerror(errno));
	src_size = size_of(sfd, src, &src_blk);
	if (src_off > src_size)
		die(src, "--src-offset is past its end");
	if (length == UINT64_MAX)
		length = src_size - src_off;
	if (length > src_size - src_off)
		die(src, "--length is past its end");
	dfd = open(dst, O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
	if (dfd < 0)
		die(dst, strerror(errno));
	size_of(dfd, dst, &dst_blk);
	if (length % BLOCK && (dst_blk || src_blk))
		die("--length", "must be a multiple of 4096 for a block device");

	ret = io_uring_queue_init(2 * depth, &ring, 0);
	if (ret < 0)
		die("io_uring_queue_init", strerror(-ret));
	/* The buffers: huge pages, registered once for every I/O. */
	bufs = hs_uring_bufs_create(&ring, "copy", depth, bsz, &o);
	if (!bufs)
		die("buffers", hs_uring_last_error());
	slots = calloc(depth, sizeof(*slots));
	if (!slots)
		die("slots", "out of memory");

	t0 = now_s();
	/* Each buffer: read a chunk, write it, take the next chunk. */
	while (next < length || busy) {
		struct io_uring_cqe *cqe;
		struct slot *sl;
		unsigned int bid;
		int res;

		for (i = 0; i < depth && next < length; i++) {
			if (slots[i].state != IDLE)
				continue;
			sl = &slots[i];
			sl->pos = next;
			sl->len = (unsigned int)((length - next < bsz) ? length - next : bsz);
			/* O_DIRECT: whole blocks, the tail too. */
			sl->len = (unsigned int)((sl->len + BLOCK - 1) & ~(BLOCK - 1));
			sl->done = 0;
			sl->state = READING;
			next += bsz;
			busy++;
			submit_rw(&ring, bufs, i, false, sfd, src_off + sl->pos, sl);
		}
		cqe = wait_cqe(&ring);
		bid = (unsigned int)io_uring_cqe_get_data64(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		sl = &slots[bid];
		if (res < 0)
			die(sl->state == READING ? "read_fixed" : "write_fixed",
			    strerror(-res));
		sl->done += (unsigned int)res;
		if (sl->state == READING) {
			/* Short: the end of the file, or a retry of the rest. */
			uint64_t want = length - sl->pos < sl->len ? length - sl->pos : sl->len;

			if (sl->done < want && res > 0) {
				submit_rw(&ring, bufs, bid, false, sfd, src_off + sl->pos, sl);
				continue;
			}
			if (sl->done < want)
				die(src, "ended early (changed while copying?)");
			/* Write the whole blocks read, the tail's padding too. */
			sl->done = 0;
			sl->state = WRITING;
			submit_rw(&ring, bufs, bid, true, dfd, dst_off + sl->pos, sl);
			continue;
		}
		if (sl->done < sl->len) {
			if (!res)
				die(dst, "write made no progress");
			submit_rw(&ring, bufs, bid, true, dfd, dst_off + sl->pos, sl);
			continue;
		}
		sl->state = IDLE;
		busy--;
	}
	/* A tail written as a whole block: cut the file to the length. */
	if (!dst_blk && length % BLOCK && ftruncate(dfd, (off_t)(dst_off + length)))
		die(dst, strerror(errno));
	if (fdatasync(dfd))
		die(dst, strerror(errno));
	t1 = now_s();

	hs_uring_bufs_stats(bufs, &st);
	printf("uring_copy: %llu bytes in %.3f s (%.1f MB/s), %u buffers of %zu bytes in %s memory (%llu KiB pages, %llu fixed-buffer entries)\n",
	       (unsigned long long)length, t1 - t0,
	       t1 > t0 ? (double)length / (t1 - t0) / 1e6 : 0.0, depth, bsz,
	       hs_backend_name((hs_backend_t)st.backend),
	       (unsigned long long)st.page_size >> 10,
	       (unsigned long long)st.fixed_iovecs);
	bad = -1;
	if (verify_copy) {
		int rfd = open(dst, O_RDONLY | O_DIRECT | O_CLOEXEC);

		if (rfd < 0)
			die(dst, strerror(errno));
		bad = verify(&ring, bufs, bsz, sfd, src_off, rfd, dst_off, length);
		close(rfd);
		if (bad >= 0)
			fprintf(stderr, "uring_copy: %s differs from %s at byte %lld of the copy\n",
				dst, src, bad);
		else
			printf("uring_copy: verified: %s holds the same %llu bytes\n",
			       dst, (unsigned long long)length);
	}
	if (hs_uring_bufs_destroy(bufs))
		die("unregistering", hs_uring_last_error());
	io_uring_queue_exit(&ring);
	free(slots);
	close(sfd);
	close(dfd);
	return bad >= 0 ? 3 : 0;
usage:
	fprintf(stderr, "usage: uring_copy [--size BYTES] [--depth N] [--length BYTES] [--src-offset BYTES] [--dst-offset BYTES] [--no-verify] SRC DST\n"
		"  (sizes and offsets multiples of 4096, --depth at least 2)\n");
	return 2;
}
