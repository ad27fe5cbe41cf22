// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: buffer sets in several threads at once, each thread with
 * its own ring, as servers run one ring per thread - the feature probe
 * runs once however many threads ask first, and sets are made, used for
 * a recv into their ring and a fixed-buffer write, checked and destroyed
 * over and over in parallel (their regions, hsstat listings and error
 * messages are per process or per thread underneath), leaving nothing
 * pinned or mapped. Runs under TSan in make check.
 */
#include <pthread.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "hs_uring_test.h"

#define THREADS	4
#define ROUNDS	40

struct job {
	int id;
	unsigned int features;
	int failed_at;		/* 0: all good; else the step */
	char why[320];
};

static pthread_barrier_t start;

static int round_trip(struct job *j, int r)
{
	struct hs_uring_bufs_opts o = {
		.flags = HS_UBUF_FIXED | HS_UBUF_RING, .bgid = (uint16_t)(r + 1),
	};
	struct io_uring_sqe *sqe;
	struct io_uring_cqe cqe;
	struct io_uring ring;
	hs_uring_bufs_t *s;
	char msg[200], name[32];
	unsigned int bid;
	int sv[2], ret = 0;
	char *b;

	if (io_uring_queue_init(8, &ring, 0))
		return 1;
	snprintf(name, sizeof(name), "thr%d", j->id);
	s = hs_uring_bufs_create(&ring, name, 16, 8192, &o);
	if (!s) {
		snprintf(j->why, sizeof(j->why), "%s", hs_uring_last_error());
		io_uring_queue_exit(&ring);
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		ret = 3;
		goto out;
	}
	hs_pat_fill(msg, sizeof(msg), (uint64_t)j->id, (uint64_t)r * 1000);
	if (hs_write_all(sv[1], msg, sizeof(msg))) {
		ret = 4;
		goto out_close;
	}
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_recv(sqe, sv[0], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (uint16_t)hs_uring_bufs_group(s);
	if (hs_next_cqe(&ring, &cqe, HS_WAIT_MS) ||
	    !(b = hs_uring_bufs_cqe(s, &cqe, &bid)) || cqe.res != (int)sizeof(msg) ||
	    hs_pat_check(b, sizeof(msg), (uint64_t)j->id, (uint64_t)r * 1000) != -1) {
		ret = 5;
		goto out_close;
	}
	/* Back out through the same buffer, by its fixed index. */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_write_fixed(sqe, sv[0], b, sizeof(msg), 0,
				  hs_uring_bufs_index(s, bid));
	if (hs_next_cqe(&ring, &cqe, HS_WAIT_MS) || cqe.res != (int)sizeof(msg) ||
	    hs_read_all(sv[1], msg, sizeof(msg)) ||
	    hs_pat_check(msg, sizeof(msg), (uint64_t)j->id, (uint64_t)r * 1000) != -1)
		ret = 6;
	else if (hs_uring_bufs_put(s, bid))
		ret = 7;
out_close:
	close(sv[0]);
	close(sv[1]);
out:
	if (hs_uring_bufs_destroy(s) && !ret)
		ret = 8;
	io_uring_queue_exit(&ring);
	return ret;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	int r;

	pthread_barrier_wait(&start);
	j->features = hs_uring_features();
	for (r = 0; r < ROUNDS && !j->failed_at; r++)
		j->failed_at = round_trip(j, r);
	return NULL;
}

TEST(one_ring_and_set_per_thread)
{
	struct job jobs[THREADS];
	pthread_t t[THREADS];
	struct hs_usnap base, now;
	int i;

	ASSERT_NE(HS_BACKEND_NONE, hs_backend());
	hs_usnap(&base);
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, THREADS));
	for (i = 0; i < THREADS; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].id = i;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, worker, &jobs[i]));
	}
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	pthread_barrier_destroy(&start);
	for (i = 0; i < THREADS; i++) {
		EXPECT_EQ(0, jobs[i].failed_at) TH_LOG("thread %d: %s", i, jobs[i].why);
		EXPECT_EQ(jobs[0].features, jobs[i].features);
	}
	EXPECT_TRUE(jobs[0].features & HS_UFEAT_BUF_RING);
	EXPECT_EQ(0, hs_usnap_wait(&base, &now, getpid()))
		TH_LOG("before: " HS_USNAP_FMT "; after: " HS_USNAP_FMT,
		       HS_USNAP_ARGS(&base), HS_USNAP_ARGS(&now));
}

TEST_HARNESS_MAIN
