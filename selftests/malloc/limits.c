// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: a process on the malloc drop-in whose address space runs
 * out (RLIMIT_AS) gets NULL and ENOMEM, glibc goes on working, and once
 * the limit is raised malloc works again. glibc allocates while it holds
 * its own locks (setlocale() holds the locale lock): the heap's failure
 * path must not call back into the locale. strerror() translates through
 * gettext, which takes and drops that same lock and so broke it: the
 * next setlocale() hung for ever.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../lib/hs_lib.h"

#define AS_PROBE	"HS_TEST_AS_PROBE"

/* The process's address space in bytes, from /proc (no allocation). */
static long vm_bytes(void)
{
	char buf[64] = "";
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atol(buf) * sysconf(_SC_PAGESIZE) : -1;
}

/*
 * In a fresh copy of this program, before anything allocated: the heap
 * must map its first region under a limit that leaves no room for one.
 * Exit codes say which step went wrong; a hang ends with SIGALRM.
 */
static void __attribute__((constructor)) as_probe(void)
{
	struct rlimit rl, old;
	long vm;
	void *p;

	if (!getenv(AS_PROBE))
		return;
	alarm(10);	/* before the harness's 30 s: says "hung" */
	vm = vm_bytes();
	if (vm < 0 || getrlimit(RLIMIT_AS, &old))
		_exit(10);
	rl = old;
	rl.rlim_cur = (rlim_t)vm + (5 << 20);
	if (setrlimit(RLIMIT_AS, &rl))
		_exit(11);
	/* Allocates under the locale lock; the locale need not exist. */
	setlocale(LC_ALL, "C.UTF-8");
	setlocale(LC_ALL, "C.UTF-8");	/* hung here */
	setlocale(LC_ALL, "C");
	errno = 0;
	p = malloc(100);
	if (p)
		_exit(12);		/* the limit did not bite */
	if (errno != ENOMEM)
		_exit(13);
	if (setrlimit(RLIMIT_AS, &old))
		_exit(14);
	p = malloc(100);
	if (!p)
		_exit(15);		/* no recovery */
	free(p);
	if (!setlocale(LC_ALL, "C"))
		_exit(16);
	_exit(0);
}

TEST(address_space_runs_out_inside_setlocale)
{
	/* No heap memory mapped before main(): every mapping the probe's
	 * allocations need meets the limit. */
	int status = hs_run_fresh_copy(AS_PROBE, "HUGESLAB_HEAP_SMALL_MB", "0");

	ASSERT_LE(0, status);
	ASSERT_FALSE(WIFSIGNALED(status))
		TH_LOG("the probe died of signal %d (%s)", WTERMSIG(status),
		       WTERMSIG(status) == SIGALRM ? "hung" : "crashed");
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("probe step %d failed (12: the limit did not bite, 13: not ENOMEM, 15: no recovery)",
		       WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
