/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the lockdown selftests: the kernel's lockdown level, the
 * module's sysfs counters, and running code or a program as the
 * unprivileged user nobody (uid/gid 65534), optionally without debugfs
 * (a private mount namespace where it is unmounted).
 *
 * Like hs_kmod.h, everything returns a value for the test to assert on.
 */
#ifndef _HS_LOCKDOWN_H
#define _HS_LOCKDOWN_H

#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../kmod/hs_kmod.h"

#define HS_SYSFS_DEV	"/sys/class/misc/hugeslab"
#define HS_LOCKDOWN	"/sys/kernel/security/lockdown"
#define HS_NOBODY	65534

/* ---- lockdown -------------------------------------------------------- */

/*
 * The active lockdown level ("none", "integrity", "confidentiality") into
 * @mode, mounting securityfs if it is not. 0, or -errno if the lockdown
 * file cannot be read (no lockdown LSM).
 */
static inline int hs_lockdown_mode(char *mode, size_t len)
{
	char buf[128], *open, *close;
	ssize_t n;

	n = hs_read_file(HS_LOCKDOWN, buf, sizeof(buf));
	if (n == -ENOENT) {
		mount("securityfs", "/sys/kernel/security", "securityfs", 0,
		      NULL);
		n = hs_read_file(HS_LOCKDOWN, buf, sizeof(buf));
	}
	if (n < 0)
		return (int)n;
	open = strchr(buf, '[');
	close = open ? strchr(open, ']') : NULL;
	if (!close)
		return -EINVAL;
	*close = '\0';
	snprintf(mode, len, "%s", open + 1);
	return 0;
}

/* ---- the module's sysfs counters ------------------------------------- */

/* The attributes of /sys/class/misc/hugeslab, in this order. */
enum hs_attr {
	HS_A_RESERVED, HS_A_USED, HS_A_FREE, HS_A_MAX, HS_A_USER_MAX,
	HS_A_PEAK, HS_A_REGIONS, HS_A_FAILED, HS_A_PAGE_SIZES, HS_A_COUNT
};

static const char *const hs_attr_names[HS_A_COUNT] = {
	"reserved_bytes", "used_bytes", "free_bytes", "max_bytes",
	"user_max_bytes", "peak_bytes", "regions", "failed_requests",
	"page_sizes",
};

/* All counters as this process sees them; per attribute 0 or -errno. */
struct hs_attrs {
	unsigned long long val[HS_A_COUNT];
	int err[HS_A_COUNT];
};

static inline void hs_read_attrs(struct hs_attrs *a)
{
	char path[128], buf[64], *end;
	ssize_t n;
	int i;

	for (i = 0; i < HS_A_COUNT; i++) {
		snprintf(path, sizeof(path), HS_SYSFS_DEV "/%s",
			 hs_attr_names[i]);
		n = hs_read_file(path, buf, sizeof(buf));
		a->val[i] = 0;
		a->err[i] = n < 0 ? (int)n : 0;
		if (n < 0)
			continue;
		/* One number and a newline: decimal, page_sizes in hex. */
		errno = 0;
		a->val[i] = strtoull(buf, &end, 0);
		if (errno || end == buf || strcmp(end, "\n"))
			a->err[i] = -EINVAL;
	}
}

/*
 * What sysfs must show, from the query ioctl and root's peak_bytes (the
 * query has none). free_bytes is what 2 MiB regions leave of the reserve;
 * these tests make no 1 GiB regions, so that is reserve - used.
 */
static inline void hs_attrs_from_query(const struct hugeslab_query *q,
				       unsigned long long peak,
				       struct hs_attrs *a)
{
	memset(a, 0, sizeof(*a));
	a->val[HS_A_RESERVED] = q->reserve_bytes;
	a->val[HS_A_USED] = q->used_bytes;
	a->val[HS_A_FREE] = q->reserve_bytes > q->used_bytes ?
			    q->reserve_bytes - q->used_bytes : 0;
	a->val[HS_A_MAX] = q->max_bytes;
	a->val[HS_A_USER_MAX] = q->user_max_bytes;
	a->val[HS_A_PEAK] = peak;
	a->val[HS_A_REGIONS] = q->regions;
	a->val[HS_A_FAILED] = q->failed;
	a->val[HS_A_PAGE_SIZES] = q->page_sizes;
}

/* ---- a baseline without debugfs -------------------------------------- */

/* What must come back after a test: module totals (sysfs) and the pool. */
struct hs_ld_snap {
	unsigned long long used, regions;
	long long hp_free, hp_rsvd;
};

static inline int hs_ld_snap(struct hs_ld_snap *s)
{
	struct hs_attrs a;

	memset(s, 0, sizeof(*s));
	hs_read_attrs(&a);
	if (a.err[HS_A_USED] || a.err[HS_A_REGIONS])
		return -1;
	s->used = a.val[HS_A_USED];
	s->regions = a.val[HS_A_REGIONS];
	s->hp_free = hs_meminfo("HugePages_Free");
	s->hp_rsvd = hs_meminfo("HugePages_Rsvd");
	return s->hp_free < 0 || s->hp_rsvd < 0 ? -1 : 0;
}

/* Poll (bounded) until back to @base; 0, or -1 with the last in @now. */
static inline int hs_ld_wait(const struct hs_ld_snap *base,
			     struct hs_ld_snap *now)
{
	long long end = hs_now_ms() + HS_FREE_TIMEOUT_MS;

	for (;;) {
		if (!hs_ld_snap(now) && now->used == base->used &&
		    now->regions == base->regions &&
		    now->hp_free == base->hp_free &&
		    now->hp_rsvd == base->hp_rsvd)
			return 0;
		if (hs_now_ms() > end)
			return -1;
		usleep(10000);
	}
}

#define HS_EXPECT_LD_BASELINE(base) do {				\
	struct hs_ld_snap __hs_now = { 0 };				\
									\
	if (hs_ld_wait(base, &__hs_now)) {				\
		EXPECT_EQ(0, 1)						\
			TH_LOG("not back to baseline: used %llu/%llu regions %llu/%llu free pages %lld/%lld rsvd %lld/%lld", \
			       __hs_now.used, (base)->used,		\
			       __hs_now.regions, (base)->regions,	\
			       __hs_now.hp_free, (base)->hp_free,	\
			       __hs_now.hp_rsvd, (base)->hp_rsvd);	\
	}								\
} while (0)

/*
 * For a FIXTURE_SETUP: the kernel must be in integrity lockdown, or the
 * tests would prove nothing. Loudly, with what to do about it.
 */
#define HS_ASSERT_INTEGRITY() do {					\
	char __hs_mode[64] = "?";					\
	int __hs_err = hs_lockdown_mode(__hs_mode, sizeof(__hs_mode));	\
									\
	ASSERT_EQ(0, __hs_err)						\
		TH_LOG("LOCKDOWN NOT ACTIVE: %s: %s (no lockdown LSM?)",	\
		       HS_LOCKDOWN, strerror(-__hs_err));		\
	ASSERT_STREQ("integrity", __hs_mode)				\
		TH_LOG("LOCKDOWN IS [%s], NOT [integrity]: these tests are meaningless without it. " \
		       "The kernel refuses the unsigned hugeslab.ko under lockdown, so load the module " \
		       "first and then: echo integrity > " HS_LOCKDOWN, __hs_mode); \
} while (0)

/* ---- as somebody else ------------------------------------------------ */

/* Become nobody for good: groups, gid, uid (which drops capabilities). */
static inline int hs_become_nobody(void)
{
	gid_t gid = HS_NOBODY;

	if (setgroups(1, &gid) || setresgid(HS_NOBODY, HS_NOBODY, HS_NOBODY) ||
	    setresuid(HS_NOBODY, HS_NOBODY, HS_NOBODY))
		return -errno;
	return geteuid() == HS_NOBODY && getegid() == HS_NOBODY ? 0 : -EPERM;
}

/* In a private mount namespace, take debugfs away: 0 or -errno. */
static inline int hs_hide_debugfs(void)
{
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	/* It may be mounted more than once; take away every layer. */
	while (!umount2("/sys/kernel/debug", MNT_DETACH))
		;
	return errno == EINVAL || errno == ENOENT ? 0 : -errno;
}

/* How to run a program: as nobody, without debugfs, extra environment. */
struct hs_run_opts {
	bool nobody;
	bool no_debugfs;
	const char *env;	/* one "NAME=value", or NULL */
};

/* A finished program: its exit status and what it wrote. */
struct hs_run {
	int status;		/* exit code, 128 + signal, or -errno */
	char out[65536];
	char err[8192];
};

static inline void hs_slurp_fd(int fd, char *buf, size_t len)
{
	ssize_t n, off = 0;

	lseek(fd, 0, SEEK_SET);
	while ((size_t)off + 1 < len &&
	       (n = read(fd, buf + off, len - 1 - off)) > 0)
		off += n;
	buf[off] = '\0';
	close(fd);
}

/*
 * Run @argv (argv[0] a path) with stdout and stderr into memory files, so
 * neither pipe can fill up. A setup step that fails exits 120 + step.
 */
static inline int hs_run(const struct hs_run_opts *o, char *const argv[],
			 struct hs_run *r)
{
	int out, err, status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	out = memfd_create("stdout", MFD_CLOEXEC);
	err = memfd_create("stderr", MFD_CLOEXEC);
	if (out < 0 || err < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		if (dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(120);
		if (o->no_debugfs && hs_hide_debugfs())
			_exit(121);
		if (o->nobody && hs_become_nobody())
			_exit(122);
		if (o->env && putenv((char *)o->env))
			_exit(123);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) :
		    128 + WTERMSIG(status);
	hs_slurp_fd(out, r->out, sizeof(r->out));
	hs_slurp_fd(err, r->err, sizeof(r->err));
	return 0;
}

#endif /* _HS_LOCKDOWN_H */
