// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: examples/uring_echo under examples/uring_echo_load for a
 * couple of seconds at a time - the load generator checks every byte of
 * every message and must finish without an error, and the server must
 * stop cleanly on SIGINT with every buffer back, in each of its modes:
 * hugeslab buffers replying by send, by zero-copy send from the fixed
 * buffer, in malloc'd memory, with single-shot accept and recv, with too
 * few buffers for its connections (it runs out - ENOBUFS - and recovers),
 * and with messages bigger than a buffer. A client that disappears half
 * way through a message does not disturb it.
 */
#include "kselftest_harness.h"
#include "hs_run.h"

#define LOAD_SECONDS	"2"

struct echo {
	struct hs_proc srv;
	char port[16];
};

/* Start the server with @args; its port. */
static int echo_start(struct echo *e, const char *const *args)
{
	const char *argv[16] = { "--port", "0" };
	const char *p;
	int n = 2;

	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (hs_proc_start(&e->srv, "uring_echo", argv))
		return -1;
	if (!hs_proc_wait_for(&e->srv, "; ", 20000))
		return -1;
	p = strstr(e->srv.buf, "listening on ");
	if (!p || !(p = strchr(p + 13, ':')))
		return -1;
	snprintf(e->port, sizeof(e->port), "%d", atoi(p + 1));
	return atoi(e->port) > 0 ? 0 : -1;
}

/* Run the load generator; its exit status, and its output in @out. */
static int echo_load(struct echo *e, const char *conns, const char *size,
		     struct hs_proc *out)
{
	const char *argv[] = {
		"--port", e->port, "--conns", conns, "--size", size,
		"--duration", LOAD_SECONDS, "--warmup", "0.2", NULL,
	};

	return hs_proc_run(out, "uring_echo_load", argv, 120000);
}

/* SIGINT: the server's exit status, its output in e->srv.buf. */
static int echo_stop(struct echo *e)
{
	kill(e->srv.pid, SIGINT);
	return hs_proc_end(&e->srv, 30000);
}

/* The number after @key in @s, or -1. */
static long long after(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static void run(struct __test_metadata *_metadata, const char *const *args,
		const char *conns, const char *size, bool expect_enobufs)
{
	struct hs_proc load;
	struct echo e;
	int rc;

	ASSERT_EQ(0, echo_start(&e, args)) TH_LOG("uring_echo in %s did not start: %s",
						   hs_examples_dir(), e.srv.buf);
	rc = echo_load(&e, conns, size, &load);
	TH_LOG("%s", load.buf);
	EXPECT_EQ(0, rc) TH_LOG("uring_echo_load: %s", load.buf);
	EXPECT_NE(NULL, strstr(load.buf, "every byte checked, no errors"));
	ASSERT_EQ(0, echo_stop(&e)) TH_LOG("uring_echo: %s", e.srv.buf);
	TH_LOG("%s", strstr(e.srv.buf, "uring_echo: stopped") ?: e.srv.buf);
	EXPECT_NE(NULL, strstr(e.srv.buf, "buffers back: all"));
	EXPECT_LT(0, after(e.srv.buf, "stopped: ")) TH_LOG("no connection");
	if (expect_enobufs) {
		EXPECT_LT(0, after(e.srv.buf, "echoed; "))
			TH_LOG("never ran out of buffers");
	}
}

FIXTURE(echo) {
	int dummy;
};

FIXTURE_SETUP(echo)
{
	ASSERT_NE(HS_BACKEND_NONE, hs_backend());
}

FIXTURE_TEARDOWN(echo)
{
}

TEST_F(echo, send_from_the_buffer)
{
	const char *const args[] = { NULL };

	run(_metadata, args, "8", "1000", false);
}

TEST_F(echo, zero_copy_send_from_the_fixed_buffer)
{
	const char *const args[] = { "--zc", NULL };

	run(_metadata, args, "8", "1000", false);
}

TEST_F(echo, malloced_buffers)
{
	const char *const args[] = { "--malloc", NULL };

	run(_metadata, args, "8", "1000", false);
}

TEST_F(echo, single_shot_accept_and_recv)
{
	const char *const args[] = { "--no-multishot", NULL };

	run(_metadata, args, "8", "1000", false);
}

/* 4 buffers, 16 connections: recvs run out of buffers and come back. */
TEST_F(echo, out_of_buffers_and_recovering)
{
	const char *const args[] = { "--buffers", "4", "--size", "1024", NULL };

	run(_metadata, args, "16", "3000", true);
}

TEST_F(echo, messages_bigger_than_a_buffer)
{
	const char *const args[] = { "--buffers", "64", "--size", "4096", NULL };

	run(_metadata, args, "4", "30000", false);
}

/* Half a message, then gone: the server goes on serving others. */
TEST_F(echo, a_client_that_vanishes)
{
	const char *const args[] = { "--buffers", "16", NULL };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct hs_proc load;
	struct echo e;
	int fd, i;

	ASSERT_EQ(0, echo_start(&e, args)) TH_LOG("%s", e.srv.buf);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)atoi(e.port));
	for (i = 0; i < 20; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
		ASSERT_EQ(0, hs_write_all(fd, "half a messa", 12));
		/* Gone before reading the echo; some with a reset. */
		if (i % 2) {
			struct linger l = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(fd);
	}
	ASSERT_EQ(0, echo_load(&e, "4", "700", &load)) TH_LOG("%s", load.buf);
	ASSERT_EQ(0, echo_stop(&e)) TH_LOG("%s", e.srv.buf);
	EXPECT_NE(NULL, strstr(e.srv.buf, "buffers back: all")) TH_LOG("%s", e.srv.buf);
}

TEST_HARNESS_MAIN
