// SPDX-License-Identifier: MIT
/*
 * pools_demo: what a server does with hugeslab - one pool per kind of
 * object (connections, requests, I/O buffers), objects constructed once and
 * reused, memory from huge pages, usage visible in hsstat.
 *
 *   cc pools_demo.c $(pkg-config --cflags --libs hugeslab) -o pools_demo
 *   ./pools_demo            allocate, use, free, print stats, exit
 *   ./pools_demo --hold     ... and wait for a line on stdin before freeing,
 *                           so an admin can look at it with hsstat
 */
#include <errno.h>
#include <hugeslab.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCONN	2000
#define NREQ	20000
#define NBUF	64

struct conn {
	int fd;
	unsigned int state;
	unsigned long long bytes_in, bytes_out;
	char peer[48];
};

struct request {
	struct conn *conn;
	unsigned int id;
	char method[8];
	char path[200];
};

/* Constructed state: a connection starts closed; set once, not per alloc. */
static int conn_ctor(void *obj, void *arg)
{
	struct conn *c = obj;

	(void)arg;
	c->fd = -1;
	c->state = 0;
	return 0;
}

static hs_pool_t *make_pool(const char *name, size_t size,
			    const struct hs_pool_opts *opts)
{
	hs_pool_t *p = hs_pool_create(name, size, opts);

	if (!p) {
		fprintf(stderr, "pools_demo: pool %s: %s\n", name, hs_last_error());
		exit(1);
	}
	return p;
}

static void *must_alloc(hs_pool_t *p)
{
	void *o = hs_pool_alloc(p);

	if (!o) {
		fprintf(stderr, "pools_demo: %s: %s (%s)\n", hs_pool_name(p),
			hs_last_error(), strerror(errno));
		exit(1);
	}
	return o;
}

static void print_stats(hs_pool_t *p)
{
	char json[512];

	if (hs_pool_stats_json(p, json, sizeof(json)) > 0)
		printf("  %s\n", json);
}

int main(int argc, char **argv)
{
	struct hs_pool_opts conn_opts = { .ctor = conn_ctor };
	struct hs_pool_opts buf_opts = { .align = 4096 };
	static struct conn *conns[NCONN];
	static struct request *reqs[NREQ];
	static unsigned char *bufs[NBUF];
	hs_pool_t *conn_pool, *req_pool, *buf_pool;
	int hold = argc > 1 && !strcmp(argv[1], "--hold");
	unsigned long long check = 0;
	int i;

	printf("pools_demo: libhugeslab %s, backend %s\n", hs_version(),
	       hs_backend_reason());
	if (hs_backend() == HS_BACKEND_NONE) {
		fprintf(stderr, "pools_demo: %s\n", hs_last_error());
		return 1;
	}

	conn_pool = make_pool("demo_conn", sizeof(struct conn), &conn_opts);
	req_pool = make_pool("demo_request", sizeof(struct request), NULL);
	buf_pool = make_pool("demo_iobuf", 16384, &buf_opts);

	for (i = 0; i < NCONN; i++) {
		conns[i] = must_alloc(conn_pool);
		if (conns[i]->fd != -1) {
			fprintf(stderr, "pools_demo: connection not constructed\n");
			return 1;
		}
		conns[i]->fd = 1000 + i;
		snprintf(conns[i]->peer, sizeof(conns[i]->peer), "10.0.%d.%d:443",
			 i / 256, i % 256);
	}
	for (i = 0; i < NREQ; i++) {
		reqs[i] = must_alloc(req_pool);
		reqs[i]->conn = conns[i % NCONN];
		reqs[i]->id = (unsigned int)i;
		strcpy(reqs[i]->method, "GET");
		snprintf(reqs[i]->path, sizeof(reqs[i]->path), "/item/%d", i);
		reqs[i]->conn->bytes_in += strlen(reqs[i]->path);
	}
	for (i = 0; i < NBUF; i++) {
		bufs[i] = must_alloc(buf_pool);
		memset(bufs[i], i, 16384);
	}
	/* Use the objects: every request still points at its connection. */
	for (i = 0; i < NREQ; i++)
		check += (unsigned long long)(reqs[i]->conn->fd - 1000) +
			 bufs[i % NBUF][i % 16384];
	printf("pools_demo: %d connections, %d requests, %d buffers in use (check %llu)\n",
	       NCONN, NREQ, NBUF, check);
	print_stats(conn_pool);
	print_stats(req_pool);
	print_stats(buf_pool);

	if (hold) {
		char line[16];

		printf("pools_demo: holding the objects; press Enter to release\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			line[0] = 0;
	}

	for (i = 0; i < NREQ; i++)
		hs_pool_free(req_pool, reqs[i]);
	for (i = 0; i < NCONN; i++) {
		conns[i]->fd = -1;	/* back to the constructed state */
		hs_pool_free(conn_pool, conns[i]);
	}
	for (i = 0; i < NBUF; i++)
		hs_pool_free(buf_pool, bufs[i]);
	hs_pool_destroy(req_pool);
	hs_pool_destroy(conn_pool);
	hs_pool_destroy(buf_pool);
	printf("pools_demo: released everything\n");
	return 0;
}
