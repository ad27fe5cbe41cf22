// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the device fd passed to another process over a unix socket
 * (SCM_RIGHTS). Regions belong to the open file, not to the process that
 * made them, so defined behaviour is:
 *
 *  - the receiver maps a region at the offset the sender got from CREATE
 *    and sees the sender's data; writes go both ways while both map it.
 *  - the sender closing its fd and exiting takes nothing away: the
 *    receiver now owns the region (its query counts it; debugfs lists it,
 *    mapped, still with the creator's pid). This holds even when the fd is
 *    received only after the sender has exited (it was held in flight).
 *  - the region is freed when the receiver has closed the file and
 *    unmapped it, in either order.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

#define REGION_BYTES	(2 * HS_2M)

FIXTURE(pass) {
	struct hs_snap base;
};

FIXTURE_VARIANT(pass) {
	bool late;		/* receive only after the sender exited */
	bool close_first;	/* receiver closes before it unmaps */
};

/* Both map it at once; the receiver closes, then unmaps. */
FIXTURE_VARIANT_ADD(pass, shared_then_close_unmap) {
	.late = false,
	.close_first = true,
};

/* Received after the sender is gone; unmapped, then closed. */
FIXTURE_VARIANT_ADD(pass, late_then_unmap_close) {
	.late = true,
	.close_first = false,
};

FIXTURE_SETUP(pass)
{
	int fd = hs_open();

	ASSERT_LE(0, fd) TH_LOG("%s: %s (is hugeslab.ko loaded?)",
				HUGESLAB_DEVICE, strerror(errno));
	close(fd);
	ASSERT_EQ(0, hs_snap(&self->base))
		TH_LOG("%s/stats unreadable: debugfs not mounted?", HS_DEBUGFS);
}

FIXTURE_TEARDOWN_PARENT(pass)
{
	HS_EXPECT_BASELINE(&self->base);
}

/* What the sender tells the receiver along with the fd. */
struct offer {
	struct hugeslab_create c;
	int status;		/* 0, or the sender's step that failed */
};

static int send_fd(int sock, int fd, const struct offer *o)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)o, .iov_len = sizeof(*o) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	if (fd >= 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, 0) == (ssize_t)sizeof(*o) ? 0 : -1;
}

/* The fd received, -1 if none came; *o filled. */
static int recv_fd(int sock, struct offer *o)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = o, .iov_len = sizeof(*o) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(*o))
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET &&
	    cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * The sender: create a region, fill it (seed 121), pass the fd. Unless
 * @late, wait for the receiver's byte, check it wrote seed 122 into the
 * second page, then close, unmap and exit. Exit status: 0 or its step.
 */
static void sender(int sock, bool late)
{
	struct offer o = { .status = 0 };
	unsigned char b;
	char *p = MAP_FAILED;
	int fd;

	fd = hs_open();
	if (fd < 0)
		o.status = 1;
	else if (hs_create(fd, REGION_BYTES, &o.c))
		o.status = 2;
	else if ((p = hs_map(fd, &o.c)) == MAP_FAILED)
		o.status = 3;
	else
		hs_fill(p, REGION_BYTES, 121, 0);
	if (send_fd(sock, o.status ? -1 : fd, &o))
		_exit(4);
	if (o.status)
		_exit(o.status);
	if (!late) {
		if (read(sock, &b, 1) != 1)
			_exit(5);
		if (hs_check(p + HS_2M, HS_2M, 122, 0) != -1)
			_exit(6);
	}
	if (close(fd))
		_exit(7);
	if (munmap(p, REGION_BYTES))
		_exit(8);
	_exit(0);
}

TEST_F(pass, receiver_owns_region)
{
	struct hugeslab_query q;
	struct hs_dbg_region r;
	struct hs_snap now;
	struct offer o;
	int sv[2], status, fd;
	unsigned char b = 1;
	pid_t pid;
	char *p;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(sv[0]);
		sender(sv[1], variant->late);
	}
	close(sv[1]);

	if (variant->late) {
		/* The fd sits in the socket while its sender goes. */
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("sender status 0x%x", status);
	}
	fd = recv_fd(sv[0], &o);
	ASSERT_EQ(0, o.status) TH_LOG("sender failed at step %d", o.status);
	ASSERT_LE(0, fd) TH_LOG("no fd received");

	p = mmap(NULL, o.c.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 o.c.offset);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(-1, hs_check(p, REGION_BYTES, 121, 0));
	hs_fill(p + HS_2M, HS_2M, 122, 0);

	if (!variant->late) {
		ASSERT_EQ(1, write(sv[0], &b, 1));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("sender status 0x%x (step 6: did not see our write)",
			       status);
	}
	close(sv[0]);

	/* The sender is gone; the region is ours. */
	ASSERT_EQ(1, hs_dbg_find(o.c.id, &r));
	EXPECT_TRUE(r.mapped);
	EXPECT_EQ((long)pid, r.pid);
	ASSERT_EQ(0, hs_query(fd, &q));
	EXPECT_EQ(1ULL, q.fd_regions);
	EXPECT_EQ(REGION_BYTES, q.fd_bytes);
	EXPECT_EQ(-1, hs_check(p, HS_2M, 121, 0));
	EXPECT_EQ(-1, hs_check(p + HS_2M, HS_2M, 122, 0));
	hs_fill(p, REGION_BYTES, 123, 0);
	EXPECT_EQ(-1, hs_check(p, REGION_BYTES, 123, 0));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(self->base.used_bytes + (long long)REGION_BYTES,
		  now.used_bytes);
	EXPECT_EQ(self->base.regions + 1, now.regions);

	if (variant->close_first) {
		ASSERT_EQ(0, close(fd));
		/* Held by the mapping alone. */
		ASSERT_EQ(1, hs_dbg_find(o.c.id, &r));
		EXPECT_TRUE(r.mapped);
		EXPECT_EQ(-1, hs_check(p, REGION_BYTES, 123, 0));
		ASSERT_EQ(0, munmap(p, REGION_BYTES));
	} else {
		ASSERT_EQ(0, munmap(p, REGION_BYTES));
		/* Held by the file alone. */
		ASSERT_EQ(1, hs_dbg_find(o.c.id, &r));
		EXPECT_FALSE(r.mapped);
		ASSERT_EQ(0, close(fd));
	}
	EXPECT_EQ(0, hs_wait_unlisted(o.c.id, HS_FREE_TIMEOUT_MS));
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS))
		TH_LOG("used %lld/%lld regions %lld/%lld", now.used_bytes,
		       self->base.used_bytes, now.regions, self->base.regions);
}

TEST_HARNESS_MAIN
