// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: a create whose result cannot be written back gives up the
 * region it made, and only that one. The request sits in a page that is
 * write-protected with userfaultfd, so the module reads it and then stalls
 * writing the result. Meanwhile another thread sharing the file destroys
 * by id and creates: were the stalled region already on the file, the
 * destroy would free it and the new region would get its id. Then the page
 * is made read-only and the stalled copy fails: the create returns EFAULT,
 * its region is gone, and the other thread's region is still there.
 */
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

struct stalled {
	int fd;
	void *arg;
	int err;
};

static void *create_into(void *p)
{
	struct stalled *s = p;

	s->err = ioctl(s->fd, HUGESLAB_IOC_CREATE, s->arg) ? errno : 0;
	return NULL;
}

FIXTURE(efault) {
	struct hs_snap base;
};

FIXTURE_SETUP(efault)
{
	int fd = hs_open();

	ASSERT_LE(0, fd) TH_LOG("%s: %s (is hugeslab.ko loaded?)",
				HUGESLAB_DEVICE, strerror(errno));
	close(fd);
	ASSERT_EQ(0, hs_snap(&self->base));
	ASSERT_EQ(0, self->base.regions) TH_LOG("regions left by another test");
}

FIXTURE_TEARDOWN_PARENT(efault)
{
	HS_EXPECT_BASELINE(&self->base);
}

TEST_F(efault, result_unwritable_gives_up_only_its_region)
{
	struct uffdio_api api = {
		.api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP,
	};
	struct uffdio_register reg = { 0 };
	struct uffdio_writeprotect wp = { 0 };
	struct uffdio_range range;
	struct hugeslab_create *req, mine;
	struct stalled s;
	struct uffd_msg msg;
	struct pollfd pfd;
	struct hugeslab_query q;
	long long created = hs_stat("created");
	pthread_t tid;
	int uffd, fd, derr;
	char *page;

	fd = hs_open();
	ASSERT_LE(0, fd);
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api))
		TH_LOG("UFFDIO_API: %s", strerror(errno));

	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	req = (struct hugeslab_create *)page;
	memset(req, 0, sizeof(*req));
	req->bytes = HS_2M;
	req->node = HUGESLAB_NODE_ANY;
	reg.range.start = (unsigned long)page;
	reg.range.len = 4096;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg))
		TH_LOG("UFFDIO_REGISTER: %s", strerror(errno));
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));

	s.fd = fd;
	s.arg = req;
	s.err = -1;
	ASSERT_EQ(0, pthread_create(&tid, NULL, create_into, &s));

	/* The module made the region and stalls writing the result. */
	pfd.fd = uffd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 60000)) TH_LOG("the create never wrote");
	ASSERT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_TRUE(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);
	ASSERT_EQ(created + 1, hs_stat("created"));

	/* Another thread: destroy by the id the region got, then create. */
	derr = hs_destroy(fd, 1);
	ASSERT_EQ(0, hs_create(fd, HS_2M, &mine));
	ksft_print_msg("destroy of id 1 while stalled: %s; new region %llu\n",
		       derr ? strerror(-derr) : "done",
		       (unsigned long long)mine.id);

	/* The stalled copy fails. */
	ASSERT_EQ(0, mprotect(page, 4096, PROT_READ));
	range.start = (unsigned long)page;
	range.len = 4096;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WAKE, &range));
	pthread_join(tid, NULL);
	EXPECT_EQ(EFAULT, s.err) TH_LOG("create: %s", strerror(s.err));

	/* Only the new region is left, and it is ours to destroy. */
	ASSERT_EQ(0, hs_query(fd, &q));
	EXPECT_EQ(1ULL, q.fd_regions);
	EXPECT_EQ(HS_2M, q.fd_bytes);
	EXPECT_EQ(0, hs_destroy(fd, mine.id))
		TH_LOG("the failed create destroyed the other thread's region");
	close(fd);
	close(uffd);
}

TEST_HARNESS_MAIN
