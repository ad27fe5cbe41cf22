// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: recv into a set's provided-buffer ring over loopback TCP -
 * a multishot recv delivers a stream into buffers the kernel picks, which
 * reassemble byte for byte; with every buffer held by the caller the
 * kernel finds the ring empty and ends the recv with ENOBUFS, and once
 * buffers are handed back a new recv picks up the rest of the stream,
 * nothing lost or reordered; single-shot recvs share the ring; a reply
 * sent from the received buffer by zero-copy send through its fixed
 * index arrives intact; a set whose ring the kernel allocates works where
 * the kernel can (HS_UFEAT_BUF_RING_KERNEL) and is refused with
 * EOPNOTSUPP and a message where it cannot.
 */
#include "kselftest_harness.h"
#include "hs_uring_test.h"

#define RECV_UD		1

FIXTURE(recv) {
	struct io_uring ring;
	int tx, rx;		/* tx writes, rx is where the ring receives */
	uint64_t seed;
	struct hs_usnap base;
};

FIXTURE_SETUP(recv)
{
	unsigned int f = hs_uring_features();

	ASSERT_TRUE(f & HS_UFEAT_BUF_RING) TH_LOG("no provided-buffer rings: %s",
						  hs_uring_last_error());
	ASSERT_TRUE(f & HS_UFEAT_RECV_MULTISHOT);
	ASSERT_EQ(0, io_uring_queue_init(64, &self->ring, 0));
	ASSERT_EQ(0, hs_tcp_pair(&self->tx, &self->rx));
	self->seed = (uint64_t)hs_ms() * 31 + (uint64_t)getpid();
	hs_usnap(&self->base);
}

FIXTURE_TEARDOWN(recv)
{
	struct hs_usnap now;

	close(self->tx);
	close(self->rx);
	io_uring_queue_exit(&self->ring);
	EXPECT_EQ(0, hs_usnap_wait(&self->base, &now, getpid()))
		TH_LOG("before: " HS_USNAP_FMT "; after: " HS_USNAP_FMT,
		       HS_USNAP_ARGS(&self->base), HS_USNAP_ARGS(&now));
}

static void arm_recv(struct io_uring *ring, int fd, hs_uring_bufs_t *s,
		     bool multishot)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (multishot)
		io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, fd, NULL, hs_uring_bufs_size(s), 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (uint16_t)hs_uring_bufs_group(s);
	sqe->user_data = RECV_UD;
}

/* A stream of @len bytes through a multishot recv, buffers handed back
 * as they are read; checked byte for byte. */
static void stream(struct __test_metadata *_metadata, FIXTURE_DATA(recv) *self,
		   hs_uring_bufs_t *s, size_t len)
{
	char *src = malloc(len);
	size_t got = 0;
	unsigned int bid;
	bool armed = false;

	ASSERT_NE(NULL, src);
	hs_pat_fill(src, len, self->seed, 0);
	ASSERT_EQ(0, hs_write_all(self->tx, src, len));
	free(src);
	while (got < len) {
		struct io_uring_cqe cqe;
		char *b;

		if (!armed) {
			arm_recv(&self->ring, self->rx, s, true);
			armed = true;
		}
		ASSERT_EQ(0, hs_next_cqe(&self->ring, &cqe, HS_WAIT_MS))
			TH_LOG("%zu of %zu bytes received", got, len);
		b = hs_uring_bufs_cqe(s, &cqe, &bid);
		if (!(cqe.flags & IORING_CQE_F_MORE))
			armed = false;
		if (!b) {
			/* The ring ran dry before we handed a buffer back. */
			ASSERT_EQ(ENOBUFS, errno) TH_LOG("res %d: %s", cqe.res,
							 hs_uring_last_error());
			continue;
		}
		ASSERT_LT(0, cqe.res);
		ASSERT_GE(hs_uring_bufs_size(s), (size_t)cqe.res);
		ASSERT_EQ(-1, hs_pat_check(b, (size_t)cqe.res, self->seed, got))
			TH_LOG("at byte %zu of the stream", got);
		got += (size_t)cqe.res;
		ASSERT_EQ(0, hs_uring_bufs_put(s, bid));
	}
	self->seed++;
}

TEST_F(recv, multishot_stream_verified)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_RING, .bgid = 5 };
	struct hs_uring_bufs_stats st;
	hs_uring_bufs_t *s;

	s = hs_uring_bufs_create(&self->ring, "recv_ms", 16, 4096, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	stream(_metadata, self, s, 1 << 20);
	ASSERT_EQ(0, hs_uring_bufs_stats(s, &st));
	EXPECT_EQ(0, st.in_use);
	EXPECT_EQ(16, st.avail);
	EXPECT_LE(256, st.taken);	/* 1 MiB in 4 KiB buffers at least */
	EXPECT_EQ(st.taken, st.returned);
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

/*
 * Hold every buffer: the kernel ends the multishot recv with ENOBUFS.
 * Hand them back, arm again: the stream goes on where it stopped.
 */
TEST_F(recv, out_of_buffers_and_back)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_RING, .bgid = 9 };
	const size_t len = 64 * 1024, bsz = 2048;
	unsigned int held[4], nheld = 0, i, bid;
	struct hs_uring_bufs_stats st;
	struct io_uring_cqe cqe;
	bool ended = false;
	hs_uring_bufs_t *s;
	size_t got = 0;
	char *src, *dst;

	s = hs_uring_bufs_create(&self->ring, "recv_enobufs", 4, bsz, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	src = malloc(len);
	dst = malloc(len);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	hs_pat_fill(src, len, self->seed, 0);
	/* More than four buffers' worth is waiting before the recv starts. */
	ASSERT_EQ(0, hs_write_all(self->tx, src, len));
	arm_recv(&self->ring, self->rx, s, true);
	while (!ended) {
		char *b;

		ASSERT_EQ(0, hs_next_cqe(&self->ring, &cqe, HS_WAIT_MS));
		b = hs_uring_bufs_cqe(s, &cqe, &bid);
		if (!b) {
			ASSERT_EQ(-ENOBUFS, cqe.res);
			ASSERT_EQ(ENOBUFS, errno);
			ASSERT_NE(NULL, strstr(hs_uring_last_error(), "hand buffers back"));
			ASSERT_FALSE(cqe.flags & IORING_CQE_F_MORE);
			ended = true;
			continue;
		}
		ASSERT_LT(0, cqe.res);
		ASSERT_GT(4u, nheld);
		memcpy(dst + got, b, (size_t)cqe.res);
		got += (size_t)cqe.res;
		held[nheld++] = bid;	/* kept: the ring empties */
	}
	ASSERT_EQ(4, nheld);
	ASSERT_EQ(0, hs_uring_bufs_avail(s));
	ASSERT_EQ(4 * bsz, got);
	ASSERT_EQ(0, hs_uring_bufs_stats(s, &st));
	EXPECT_EQ(1, st.enobufs);
	EXPECT_EQ(4, st.in_use);
	/* Recover: hand back, arm again, read the rest. */
	for (i = 0; i < nheld; i++)
		ASSERT_EQ(0, hs_uring_bufs_put(s, held[i]));
	arm_recv(&self->ring, self->rx, s, true);
	while (got < len) {
		char *b;

		ASSERT_EQ(0, hs_next_cqe(&self->ring, &cqe, HS_WAIT_MS))
			TH_LOG("%zu of %zu", got, len);
		b = hs_uring_bufs_cqe(s, &cqe, &bid);
		if (!b && errno == ENOBUFS) {
			/* Handed back too slowly for the kernel: arm again. */
			arm_recv(&self->ring, self->rx, s, true);
			continue;
		}
		ASSERT_NE(NULL, b) TH_LOG("res %d: %s", cqe.res, hs_uring_last_error());
		ASSERT_LT(0, cqe.res);
		memcpy(dst + got, b, (size_t)cqe.res);
		got += (size_t)cqe.res;
		ASSERT_EQ(0, hs_uring_bufs_put(s, bid));
		if (!(cqe.flags & IORING_CQE_F_MORE) && got < len)
			arm_recv(&self->ring, self->rx, s, true);
	}
	ASSERT_EQ(len, got);
	ASSERT_EQ(-1, hs_pat_check(dst, len, self->seed, 0));
	free(src);
	free(dst);
	ASSERT_EQ(0, hs_uring_bufs_stats(s, &st));
	EXPECT_EQ(0, st.in_use);
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

TEST_F(recv, single_shot_recvs)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_RING, .bgid = 2 };
	hs_uring_bufs_t *s;
	char msg[100];
	unsigned int i, bid;

	s = hs_uring_bufs_create(&self->ring, "recv_single", 2, 256, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	for (i = 0; i < 10; i++) {
		struct io_uring_cqe cqe;
		char *b;

		hs_pat_fill(msg, sizeof(msg), self->seed, i * sizeof(msg));
		ASSERT_EQ(0, hs_write_all(self->tx, msg, sizeof(msg)));
		arm_recv(&self->ring, self->rx, s, false);
		ASSERT_EQ(0, hs_next_cqe(&self->ring, &cqe, HS_WAIT_MS));
		b = hs_uring_bufs_cqe(s, &cqe, &bid);
		ASSERT_NE(NULL, b) TH_LOG("res %d: %s", cqe.res, hs_uring_last_error());
		ASSERT_EQ((int)sizeof(msg), cqe.res);
		ASSERT_EQ(-1, hs_pat_check(b, sizeof(msg), self->seed, i * sizeof(msg)));
		ASSERT_EQ(0, hs_uring_bufs_put(s, bid));
	}
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

/* Echo from the buffer the data arrived in, by its fixed-buffer index. */
TEST_F(recv, reply_from_the_same_buffer_by_zero_copy_send)
{
	struct hs_uring_bufs_opts o = {
		.flags = HS_UBUF_RING | HS_UBUF_FIXED, .bgid = 3,
	};
	char msg[3000], back[3000];
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	unsigned int bid, i;
	bool sent, notified;
	hs_uring_bufs_t *s;
	size_t pos;
	int n;
	char *b;

	ASSERT_TRUE(hs_uring_features() & HS_UFEAT_SEND_ZC);
	s = hs_uring_bufs_create(&self->ring, "recv_zc", 8, 4096, &o);
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	for (i = 0; i < 20; i++) {
		hs_pat_fill(msg, sizeof(msg), self->seed, i * sizeof(msg));
		ASSERT_EQ(0, hs_write_all(self->tx, msg, sizeof(msg)));
		/* The message may come in pieces: echo each from its buffer. */
		for (pos = 0; pos < sizeof(msg); pos += (size_t)n) {
			arm_recv(&self->ring, self->rx, s, false);
			ASSERT_EQ(0, hs_next_cqe(&self->ring, &cqe, HS_WAIT_MS));
			b = hs_uring_bufs_cqe(s, &cqe, &bid);
			ASSERT_NE(NULL, b) TH_LOG("res %d: %s", cqe.res,
						  hs_uring_last_error());
			n = cqe.res;
			ASSERT_LT(0, n);
			ASSERT_GE(sizeof(msg) - pos, (size_t)n);
			sqe = io_uring_get_sqe(&self->ring);
			io_uring_prep_send_zc_fixed(sqe, self->rx, b, (size_t)n, 0, 0,
						    (unsigned int)hs_uring_bufs_index(s, bid));
			sqe->user_data = 2;
			sent = notified = false;
			/* The result, then word that the buffer is free again. */
			while (!sent || !notified) {
				ASSERT_EQ(0, hs_next_cqe(&self->ring, &cqe, HS_WAIT_MS));
				ASSERT_EQ(2, cqe.user_data);
				if (cqe.flags & IORING_CQE_F_NOTIF) {
					notified = true;
					continue;
				}
				ASSERT_EQ(n, cqe.res) TH_LOG("send_zc: %s",
							     strerror(-cqe.res));
				ASSERT_TRUE(cqe.flags & IORING_CQE_F_MORE);
				sent = true;
			}
			ASSERT_EQ(0, hs_uring_bufs_put(s, bid));
			ASSERT_EQ(0, hs_read_all(self->tx, back, (size_t)n));
			ASSERT_EQ(0, memcmp(back, msg + pos, (size_t)n));
		}
	}
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

TEST_F(recv, kernel_allocated_ring_where_there_is_one)
{
	struct hs_uring_bufs_opts o = {
		.flags = HS_UBUF_RING | HS_UBUF_RING_KERNEL, .bgid = 11,
	};
	hs_uring_bufs_t *s;

	s = hs_uring_bufs_create(&self->ring, "recv_kring", 8, 4096, &o);
	if (!(hs_uring_features() & HS_UFEAT_BUF_RING_KERNEL)) {
		ASSERT_EQ(NULL, s);
		ASSERT_EQ(EOPNOTSUPP, errno);
		ASSERT_NE(NULL, strstr(hs_uring_last_error(), "HS_UBUF_RING_KERNEL"));
		return;
	}
	ASSERT_NE(NULL, s) TH_LOG("%s", hs_uring_last_error());
	stream(_metadata, self, s, 256 * 1024);
	ASSERT_EQ(0, hs_uring_bufs_destroy(s));
}

TEST_HARNESS_MAIN
