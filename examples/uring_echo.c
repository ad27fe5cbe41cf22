// SPDX-License-Identifier: MIT
/*
 * uring_echo: a TCP echo server on io_uring whose receive buffers are a
 * hugeslab buffer set - one multishot accept, one multishot recv per
 * connection into a provided-buffer ring, and each reply sent from the
 * very buffer the data arrived in, which goes back to the ring once sent.
 * SIGINT or SIGTERM shut it down cleanly: it stops accepting, closes the
 * connections, waits for its requests to finish, and checks that every
 * buffer came back before it unregisters them.
 *
 *   cc uring_echo.c $(pkg-config --cflags --libs hugeslab-uring) -o uring_echo
 *   ./uring_echo --port 7777               then: uring_echo_load --port 7777
 *
 * Options:
 *   --port N        TCP port (0: any; the one taken is printed)
 *   --bind ADDR     address to listen on (default 127.0.0.1)
 *   --buffers N     buffers in the ring (default 1024)
 *   --size BYTES    bytes per buffer (default 4096)
 *   --zc            reply with zero-copy send from the fixed buffer
 *                   (the set is also registered as fixed buffers)
 *   --malloc        the same buffers in malloc'd memory (4 KiB pages),
 *                   for comparison
 *   --no-multishot  re-arm single-shot accept and recv (what a kernel
 *                   without multishot needs; also used when the probe
 *                   says it lacks them)
 *
 * Out of buffers (every buffer waiting for its reply to go out), a recv
 * ends with ENOBUFS; the connection waits until a buffer comes back and
 * then receives again, so a slow reader slows only itself down and
 * nothing is lost. Replies on a connection go out in order, one send at a
 * time.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* O_DIRECT, signalfd, when built on its own */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <hugeslab/uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* What a completion is for: the op in the top byte, the fd below. */
enum op { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_SIGNAL, OP_CANCEL };
#define UD(op, fd)	(((uint64_t)(op) << 56) | (uint32_t)(fd))
#define UD_OP(ud)	((enum op)((ud) >> 56))
#define UD_FD(ud)	((int)(uint32_t)(ud))

/* A reply waiting to go out: a buffer and what is left of it. */
struct pending {
	unsigned int bid;
	unsigned int off, len;
};

struct conn {
	bool open;
	bool recv_armed;	/* a recv is in flight */
	bool starved;		/* its recv ended for want of a buffer */
	bool eof;		/* no more data will come */
	bool sending;		/* a send is in flight */
	bool zc_notif;		/* ...and its zero-copy notification */
	struct pending *q;	/* replies, in order; q[qhead] is in flight */
	unsigned int qhead, qlen, qcap;
};

struct server {
	struct io_uring ring;
	hs_uring_bufs_t *bufs;
	void *mem;		/* --malloc: the memory under the set */
	int listen_fd, sig_fd;
	struct signalfd_siginfo si;
	struct conn *conns;	/* by fd */
	int nconns;
	unsigned int nbufs;
	size_t size;
	bool zc, multishot, stopping;
	unsigned int inflight;	/* requests that will still complete */
	/* Counters printed at exit. */
	unsigned long long accepted, recvs, bytes, enobufs;
	unsigned int max_in_use;
	int nstarved;		/* connections waiting for a buffer */
	int wake_from;		/* where wake_starved() looks first */
};

static void die(const char *what, const char *why)
{
	fprintf(stderr, "uring_echo: %s: %s\n", what, why);
	exit(1);
}

static struct io_uring_sqe *sqe_get(struct server *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

	if (!sqe) {
		/* The submission queue is full: hand it to the kernel. */
		io_uring_submit(&s->ring);
		sqe = io_uring_get_sqe(&s->ring);
		if (!sqe)
			die("io_uring_get_sqe", "submission queue full");
	}
	s->inflight++;
	return sqe;
}

static void arm_accept(struct server *s)
{
	struct io_uring_sqe *sqe = sqe_get(s);

	if (s->multishot)
		io_uring_prep_multishot_accept(sqe, s->listen_fd, NULL, NULL, 0);
	else
		io_uring_prep_accept(sqe, s->listen_fd, NULL, NULL, 0);
	io_uring_sqe_set_data64(sqe, UD(OP_ACCEPT, s->listen_fd));
}

static void arm_recv(struct server *s, int fd)
{
	struct io_uring_sqe *sqe = sqe_get(s);

	if (s->multishot)
		io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, fd, NULL, 0, 0);
	/* The kernel picks a buffer from the set's ring when data comes. */
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (uint16_t)hs_uring_bufs_group(s->bufs);
	io_uring_sqe_set_data64(sqe, UD(OP_RECV, fd));
	s->conns[fd].recv_armed = true;
	if (s->conns[fd].starved) {
		s->conns[fd].starved = false;
		s->nstarved--;
	}
}

static void arm_signal(struct server *s)
{
	struct io_uring_sqe *sqe = sqe_get(s);

	io_uring_prep_read(sqe, s->sig_fd, &s->si, sizeof(s->si), 0);
	io_uring_sqe_set_data64(sqe, UD(OP_SIGNAL, s->sig_fd));
}

/* Send what is left of the oldest reply of @fd, if none is in flight. */
static void kick_send(struct server *s, int fd)
{
	struct conn *c = &s->conns[fd];
	struct io_uring_sqe *sqe;
	struct pending *p;
	char *b;

	if (c->sending || !c->qlen)
		return;
	p = &c->q[c->qhead];
	b = (char *)hs_uring_bufs_buf(s->bufs, p->bid) + p->off;
	sqe = sqe_get(s);
	if (s->zc)
		/* From the fixed buffer itself: no copy, no pinning per send. */
		io_uring_prep_send_zc_fixed(sqe, fd, b, p->len - p->off,
					    MSG_NOSIGNAL, 0,
					    (unsigned int)hs_uring_bufs_index(s->bufs, p->bid));
	else
		io_uring_prep_send(sqe, fd, b, p->len - p->off, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, UD(OP_SEND, fd));
	c->sending = true;
	c->zc_notif = false;
}

/*
 * Connections whose recv starved get a new one once buffers are back: as
 * many as there are buffers (more would only starve again), taking turns
 * from where the last wake-up stopped.
 */
static void wake_starved(struct server *s)
{
	unsigned int budget;
	int n, fd;

	if (s->stopping || !s->nstarved)
		return;
	budget = hs_uring_bufs_avail(s->bufs);
	for (n = 0; n < s->nconns && s->nstarved && budget; n++) {
		struct conn *c;

		fd = (s->wake_from + n) % s->nconns;
		c = &s->conns[fd];
		if (c->open && c->starved && !c->recv_armed) {
			arm_recv(s, fd);
			budget--;
			s->wake_from = fd + 1;
		}
	}
}

static void put_buf(struct server *s, unsigned int bid)
{
	if (hs_uring_bufs_put(s->bufs, bid))
		die("hs_uring_bufs_put", hs_uring_last_error());
	wake_starved(s);
}

static void conn_open(struct server *s, int fd)
{
	int one = 1;

	if (fd >= s->nconns) {
		int n = fd * 2 + 16;
		struct conn *c = realloc(s->conns, (size_t)n * sizeof(*c));

		if (!c)
			die("connections", "out of memory");
		memset(c + s->nconns, 0, (size_t)(n - s->nconns) * sizeof(*c));
		s->conns = c;
		s->nconns = n;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	free(s->conns[fd].q);
	memset(&s->conns[fd], 0, sizeof(s->conns[fd]));
	s->conns[fd].open = true;
	s->accepted++;
}

/* Close when nothing of it is in flight any more. */
static void conn_maybe_close(struct server *s, int fd)
{
	struct conn *c = &s->conns[fd];

	if (!c->open || !c->eof || c->recv_armed || c->sending)
		return;
	/* Replies still queued are dropped: the peer is gone. */
	while (c->qlen) {
		put_buf(s, c->q[c->qhead].bid);
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
	}
	if (c->starved) {
		c->starved = false;
		s->nstarved--;
	}
	close(fd);
	c->open = false;
}

static void queue_reply(struct server *s, int fd, unsigned int bid,
			unsigned int len)
{
	struct conn *c = &s->conns[fd];
	unsigned int in_use = hs_uring_bufs_count(s->bufs) - hs_uring_bufs_avail(s->bufs);

	if (c->qlen == c->qcap) {
		unsigned int n = c->qcap ? c->qcap * 2 : 8, i;
		struct pending *q = malloc(n * sizeof(*q));

		if (!q)
			die("reply queue", "out of memory");
		for (i = 0; i < c->qlen; i++)
			q[i] = c->q[(c->qhead + i) % c->qcap];
		free(c->q);
		c->q = q;
		c->qhead = 0;
		c->qcap = n;
	}
	c->q[(c->qhead + c->qlen) % c->qcap] = (struct pending){ bid, 0, len };
	c->qlen++;
	if (in_use > s->max_in_use)
		s->max_in_use = in_use;
	kick_send(s, fd);
}

static void on_recv(struct server *s, int fd, const struct io_uring_cqe *cqe)
{
	struct conn *c = &s->conns[fd];
	unsigned int bid;
	char *b;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		c->recv_armed = false;
	b = hs_uring_bufs_cqe(s->bufs, cqe, &bid);
	if (b && cqe->res > 0) {
		s->recvs++;
		s->bytes += (unsigned int)cqe->res;
		queue_reply(s, fd, bid, (unsigned int)cqe->res);
	} else if (b) {
		put_buf(s, bid);	/* a buffer with an empty or failed recv */
	}
	if (cqe->res == -ENOBUFS) {
		/* Every buffer is out: wait for one to come back. */
		s->enobufs++;
		if (!c->starved) {
			c->starved = true;
			s->nstarved++;
		}
		if (hs_uring_bufs_avail(s->bufs) && !s->stopping)
			arm_recv(s, fd);
		return;
	}
	if (cqe->res <= 0) {
		c->eof = true;		/* end of stream, or an error */
		conn_maybe_close(s, fd);
		return;
	}
	if (!c->recv_armed && !s->stopping)
		arm_recv(s, fd);	/* single shot, or multishot ended */
}

static void on_send(struct server *s, int fd, const struct io_uring_cqe *cqe)
{
	struct conn *c = &s->conns[fd];
	struct pending *p = &c->q[c->qhead];

	if (cqe->flags & IORING_CQE_F_NOTIF) {
		/* The kernel is done with the zero-copy buffer. */
		c->zc_notif = false;
	} else {
		if (cqe->res < 0) {
			c->eof = true;	/* the peer went away */
			p->off = p->len;
		} else {
			p->off += (unsigned int)cqe->res;
		}
		/* A notification follows a zero-copy send that says "more". */
		c->zc_notif = s->zc && (cqe->flags & IORING_CQE_F_MORE);
	}
	if (c->zc_notif)
		return;
	c->sending = false;
	if (p->off == p->len) {
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
		put_buf(s, p->bid);
	}
	if (!c->eof)
		kick_send(s, fd);
	conn_maybe_close(s, fd);
}

/* Stop accepting, close every connection, let the requests finish. */
static void stop(struct server *s)
{
	struct io_uring_sqe *sqe;
	int fd;

	s->stopping = true;
	sqe = sqe_get(s);
	io_uring_prep_cancel_fd(sqe, s->listen_fd, 0);
	io_uring_sqe_set_data64(sqe, UD(OP_CANCEL, s->listen_fd));
	/* Pending recvs and sends end; what has nothing pending closes now. */
	for (fd = 0; fd < s->nconns; fd++) {
		if (s->conns[fd].open) {
			shutdown(fd, SHUT_RDWR);
			s->conns[fd].eof = true;
			conn_maybe_close(s, fd);
		}
	}
}

static void loop(struct server *s)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n;

	while (s->inflight) {
		int ret = io_uring_submit_and_wait(&s->ring, 1);

		if (ret < 0 && ret != -EINTR)
			die("io_uring_submit_and_wait", strerror(-ret));
		n = 0;
		io_uring_for_each_cqe(&s->ring, head, cqe) {
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			int fd = UD_FD(ud);

			n++;
			if (!(cqe->flags & IORING_CQE_F_MORE))
				s->inflight--;
			switch (UD_OP(ud)) {
			case OP_ACCEPT:
				if (cqe->res >= 0) {
					if (s->stopping) {
						close(cqe->res);
					} else {
						conn_open(s, cqe->res);
						arm_recv(s, cqe->res);
					}
				} else if (cqe->res != -ECANCELED && cqe->res != -EINTR) {
					fprintf(stderr, "uring_echo: accept: %s\n",
						strerror(-cqe->res));
				}
				if (!(cqe->flags & IORING_CQE_F_MORE) && !s->stopping)
					arm_accept(s);
				break;
			case OP_RECV:
				on_recv(s, fd, cqe);
				break;
			case OP_SEND:
				on_send(s, fd, cqe);
				break;
			case OP_SIGNAL:
				if (!s->stopping)
					stop(s);
				break;
			case OP_CANCEL:
				break;
			}
		}
		io_uring_cq_advance(&s->ring, n);
	}
}

static long num(const char *opt, const char *v)
{
	char *end;
	long n = strtol(v ? v : "", &end, 0);

	if (!v || *end || n < 0)
		die(opt, "needs a number");
	return n;
}

int main(int argc, char **argv)
{
	struct hs_uring_bufs_opts o = { .flags = HS_UBUF_RING, .bgid = 1 };
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE, .cq_entries = 4096 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct hs_uring_bufs_stats st;
	const char *bind_addr = "127.0.0.1";
	struct rusage ru;
	double cpu;
	struct server s = { .nbufs = 1024, .size = 4096, .multishot = true };
	socklen_t len = sizeof(sa);
	bool use_malloc = false;
	unsigned int feat;
	long port = 7777;
	sigset_t mask;
	int i, one = 1, ret;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--port"))
			port = num(a, v), i++;
		else if (!strcmp(a, "--bind"))
			bind_addr = v, i++;
		else if (!strcmp(a, "--buffers"))
			s.nbufs = (unsigned int)num(a, v), i++;
		else if (!strcmp(a, "--size"))
			s.size = (size_t)num(a, v), i++;
		else if (!strcmp(a, "--zc"))
			s.zc = true;
		else if (!strcmp(a, "--malloc"))
			use_malloc = true;
		else if (!strcmp(a, "--no-multishot"))
			s.multishot = false;
		else {
			fprintf(stderr, "usage: uring_echo [--port N] [--bind ADDR] [--buffers N] [--size BYTES] [--zc] [--malloc] [--no-multishot]\n");
			return 2;
		}
	}

	/* What this kernel does decides how, never its version number. */
	feat = hs_uring_features();
	if (!(feat & HS_UFEAT_BUF_RING))
		die("provided-buffer rings", "this kernel has none (Linux 5.19 or later)");
	if (!(feat & HS_UFEAT_RECV_MULTISHOT) || !(feat & HS_UFEAT_ACCEPT_MULTISHOT))
		s.multishot = false;	/* re-arming single shots works anywhere */
	if (s.zc && !(feat & HS_UFEAT_SEND_ZC))
		die("--zc", "this kernel has no zero-copy send (IORING_OP_SEND_ZC)");

	ret = io_uring_queue_init_params(256, &s.ring, &p);
	if (ret < 0)
		die("io_uring_queue_init", strerror(-ret));
	if (s.zc)
		o.flags |= HS_UBUF_FIXED;
	if (use_malloc) {
		size_t bytes = hs_uring_bufs_bytes(s.nbufs, s.size, &o);

		if (!bytes || posix_memalign(&s.mem, 4096, bytes))
			die("--malloc", bytes ? "out of memory" : hs_uring_last_error());
		memset(s.mem, 0, bytes);	/* faulted in, as a region is */
		o.flags |= HS_UBUF_MEM;
		o.mem = s.mem;
		o.mem_bytes = bytes;
	}
	s.bufs = hs_uring_bufs_create(&s.ring, "echo", s.nbufs, s.size, &o);
	if (!s.bufs)
		die("buffers", hs_uring_last_error());

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	s.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s.sig_fd < 0 || s.listen_fd < 0)
		die("socket", strerror(errno));
	setsockopt(s.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1)
		die(bind_addr, "not an IPv4 address");
	if (bind(s.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s.listen_fd, 1024) ||
	    getsockname(s.listen_fd, (struct sockaddr *)&sa, &len))
		die("listen", strerror(errno));
	hs_uring_bufs_stats(s.bufs, &st);
	printf("uring_echo: listening on %s:%u; %u buffers of %zu bytes in %s memory (%llu KiB pages); %s recv; replies by %s\n",
	       bind_addr, ntohs(sa.sin_port), s.nbufs, s.size,
	       use_malloc ? "malloc'd" : hs_backend_name((hs_backend_t)st.backend),
	       (unsigned long long)st.page_size >> 10,
	       s.multishot ? "multishot" : "single-shot",
	       s.zc ? "zero-copy send from the fixed buffer" : "send from the buffer");
	fflush(stdout);

	arm_signal(&s);
	arm_accept(&s);
	loop(&s);

	/* Every request has finished: every buffer must be back. */
	hs_uring_bufs_stats(s.bufs, &st);
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("uring_echo: stopped: %llu connections, %llu messages, %llu bytes echoed; %llu times out of buffers (at most %u of %u in use); buffers back: %s; CPU %.3f s, %.2f us a message\n",
	       s.accepted, s.recvs, s.bytes, s.enobufs, s.max_in_use, s.nbufs,
	       st.in_use ? "NO" : "all", cpu,
	       s.recvs ? cpu * 1e6 / (double)s.recvs : 0.0);
	for (i = 0; i < s.nconns; i++) {
		if (s.conns[i].open)
			close(i);
		free(s.conns[i].q);
	}
	free(s.conns);
	if (hs_uring_bufs_destroy(s.bufs))
		die("unregistering", hs_uring_last_error());
	io_uring_queue_exit(&s.ring);
	free(s.mem);
	close(s.listen_fd);
	close(s.sig_fd);
	return st.in_use ? 1 : 0;
}
