// SPDX-License-Identifier: MIT
/*
 * uring_echo_load: a load generator for uring_echo (or any echo server).
 * Each connection sends a message, waits for all of it to come back,
 * checks every byte, and sends the next: closed loop, so the latency of
 * each round trip is what a client sees. It prints operations per second
 * and latency percentiles, and fails (exit 1) on the first byte that
 * differs, a connection that breaks, or a run that echoed nothing.
 *
 *   uring_echo_load --port 7777 [--host 127.0.0.1] [--conns 16]
 *                   [--size 512] [--duration 5] [--warmup 0.5] [--json]
 *
 * Every message is different (a pattern of the connection, the message's
 * number and the byte's offset), so a reply from the wrong buffer, a
 * stale one or one out of order cannot pass. One io_uring ring drives all
 * connections from one thread; its buffers are plain malloc'd memory (the
 * client is not what is measured).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* O_DIRECT, signalfd, when built on its own */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum op { OP_SEND = 1, OP_RECV };
#define UD(op, i)	(((uint64_t)(op) << 32) | (uint32_t)(i))

struct conn {
	int fd;
	uint64_t seq;		/* message number */
	char *tx, *rx;
	size_t sent, got;
	uint64_t start_ns;	/* when the message's first byte went out */
};

static size_t msg_size = 512;

static void die(const char *what, const char *why)
{
	fprintf(stderr, "uring_echo_load: %s: %s\n", what, why);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Byte @off of message @seq of connection @conn. */
static uint8_t pat(uint32_t conn, uint64_t seq, size_t off)
{
	uint64_t z = ((uint64_t)conn << 40) ^ (seq << 16) ^ (off >> 3);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (uint8_t)(z >> ((off & 7) * 8));
}

static void fill(struct conn *c, uint32_t i)
{
	size_t k;

	for (k = 0; k < msg_size; k++)
		c->tx[k] = (char)pat(i, c->seq, k);
}

static void prep_send(struct io_uring *ring, struct conn *c, uint32_t i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	io_uring_prep_send(sqe, c->fd, c->tx + c->sent, msg_size - c->sent,
			   MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, UD(OP_SEND, i));
}

static void prep_recv(struct io_uring *ring, struct conn *c, uint32_t i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	io_uring_prep_recv(sqe, c->fd, c->rx + c->got, msg_size - c->got, 0);
	io_uring_sqe_set_data64(sqe, UD(OP_RECV, i));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
	size_t k = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);

	return (double)v[k] / 1000.0;	/* microseconds */
}

static double num(const char *opt, const char *v)
{
	char *end;
	double d = strtod(v ? v : "", &end);

	if (!v || *end || d < 0)
		die(opt, "needs a number");
	return d;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *host = "127.0.0.1";
	double duration = 5, warmup = 0.5;
	unsigned int nconns = 16, i;
	uint64_t *lat = NULL, t_start, t_meas, t_end, ops = 0, bytes = 0;
	size_t nlat = 0, caplat = 0;
	struct io_uring ring;
	struct conn *conns;
	bool json = false;
	long port = -1;
	int a, one = 1, ret;

	for (a = 1; a < argc; a++) {
		const char *o = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;

		if (!strcmp(o, "--port"))
			port = (long)num(o, v), a++;
		else if (!strcmp(o, "--host"))
			host = v, a++;
		else if (!strcmp(o, "--conns"))
			nconns = (unsigned int)num(o, v), a++;
		else if (!strcmp(o, "--size"))
			msg_size = (size_t)num(o, v), a++;
		else if (!strcmp(o, "--duration"))
			duration = num(o, v), a++;
		else if (!strcmp(o, "--warmup"))
			warmup = num(o, v), a++;
		else if (!strcmp(o, "--json"))
			json = true;
		else {
			fprintf(stderr, "usage: uring_echo_load --port N [--host ADDR] [--conns N] [--size BYTES] [--duration S] [--warmup S] [--json]\n");
			return 2;
		}
	}
	if (port <= 0 || port > 65535 || !nconns || !msg_size || !host)
		die("arguments", "--port, --conns and --size must be given and positive");
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		die(host, "not an IPv4 address");
	sa.sin_port = htons((uint16_t)port);

	ret = io_uring_queue_init(2 * nconns + 8, &ring, 0);
	if (ret < 0)
		die("io_uring_queue_init", strerror(-ret));
	conns = calloc(nconns, sizeof(*conns));
	if (!conns)
		die("connections", "out of memory");
	for (i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];

		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
			die("connect", strerror(errno));
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->tx = malloc(msg_size);
		c->rx = malloc(msg_size);
		if (!c->tx || !c->rx)
			die("buffers", "out of memory");
	}

	t_start = now_ns();
	t_meas = t_start + (uint64_t)(warmup * 1e9);
	t_end = t_meas + (uint64_t)(duration * 1e9);
	for (i = 0; i < nconns; i++) {
		fill(&conns[i], i);
		conns[i].start_ns = now_ns();
		prep_send(&ring, &conns[i], i);
		prep_recv(&ring, &conns[i], i);
	}
	for (;;) {
		struct io_uring_cqe *cqe;
		uint64_t t;

		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR)
			die("io_uring_submit_and_wait", strerror(-ret));
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			struct conn *c = &conns[(uint32_t)ud];
			uint32_t ci = (uint32_t)ud;
			int res = cqe->res;
			size_t k;

			io_uring_cqe_seen(&ring, cqe);
			if (res <= 0) {
				fprintf(stderr, "uring_echo_load: connection %u: %s\n", ci,
					res ? strerror(-res) : "closed by the server");
				return 1;
			}
			if ((ud >> 32) == OP_SEND) {
				c->sent += (size_t)res;
				if (c->sent < msg_size)
					prep_send(&ring, c, ci);
				continue;
			}
			/* Every byte, as it arrives. */
			for (k = 0; k < (size_t)res; k++) {
				if ((uint8_t)c->rx[c->got + k] != pat(ci, c->seq, c->got + k)) {
					fprintf(stderr, "uring_echo_load: connection %u, message %llu, byte %zu: got 0x%02x, sent 0x%02x\n",
						ci, (unsigned long long)c->seq, c->got + k,
						(uint8_t)c->rx[c->got + k], pat(ci, c->seq, c->got + k));
					return 1;
				}
			}
			c->got += (size_t)res;
			if (c->got < msg_size) {
				prep_recv(&ring, c, ci);
				continue;
			}
			/* A whole round trip. */
			t = now_ns();
			if (c->start_ns >= t_meas && t <= t_end) {
				if (nlat == caplat) {
					caplat = caplat ? caplat * 2 : 65536;
					lat = realloc(lat, caplat * sizeof(*lat));
					if (!lat)
						die("latencies", "out of memory");
				}
				lat[nlat++] = t - c->start_ns;
				ops++;
				bytes += msg_size;
			}
			if (t >= t_end) {
				c->fd = -c->fd - 1;	/* done: keep it for the close */
				continue;
			}
			c->seq++;
			c->sent = c->got = 0;
			fill(c, ci);
			c->start_ns = now_ns();
			prep_send(&ring, c, ci);
			prep_recv(&ring, c, ci);
		}
		for (i = 0; i < nconns && conns[i].fd < 0; i++)
			;
		if (i == nconns)
			break;
	}
	for (i = 0; i < nconns; i++) {
		close(-conns[i].fd - 1);
		free(conns[i].tx);
		free(conns[i].rx);
	}
	io_uring_queue_exit(&ring);
	if (!nlat)
		die("result", "no round trip completed in the measured time");
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	if (json)
		printf("{\"conns\":%u,\"size\":%zu,\"duration\":%.3f,\"ops\":%llu,\"ops_per_s\":%.1f,\"mb_per_s\":%.2f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f,\"errors\":0}\n",
		       nconns, msg_size, duration, (unsigned long long)ops,
		       (double)ops / duration, (double)bytes / duration / 1e6,
		       pct(lat, nlat, 50), pct(lat, nlat, 90), pct(lat, nlat, 99),
		       pct(lat, nlat, 99.9), (double)lat[nlat - 1] / 1000.0);
	else
		printf("uring_echo_load: %u connections, %zu-byte messages, %.1f s: %.0f ops/s, %.1f MB/s; latency us: p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f; every byte checked, no errors\n",
		       nconns, msg_size, duration, (double)ops / duration,
		       (double)bytes / duration / 1e6, pct(lat, nlat, 50),
		       pct(lat, nlat, 90), pct(lat, nlat, 99), pct(lat, nlat, 99.9),
		       (double)lat[nlat - 1] / 1000.0);
	free(lat);
	free(conns);
	return 0;
}
