/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the module selftests: the device's ioctls, debugfs
 * stats and regions, /proc/meminfo and /proc/self/smaps parsing, and a
 * bounded poll for the module's and the kernel's asynchronous frees.
 *
 * Everything returns a value for the test to assert on; nothing here
 * decides whether a test passed.
 */
#ifndef _HS_KMOD_H
#define _HS_KMOD_H

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "uapi/hugeslab.h"

#define HS_MIB		(1ULL << 20)
#define HS_2M		(2ULL << 20)
#define HS_DEBUGFS	"/sys/kernel/debug/hugeslab"
#define HS_PARAMS	"/sys/module/hugeslab/parameters"

/* How long the kernel may take to free a region after its last user. */
#define HS_FREE_TIMEOUT_MS	10000

/* A query/create/destroy command for a caller-chosen struct size. */
#define HS_IOC_SIZED(nr, dir, size) _IOC(dir, HUGESLAB_IOC_MAGIC, nr, size)
#define HS_IOC_QUERY_SZ(size) \
	HS_IOC_SIZED(0x00, _IOC_READ | _IOC_WRITE, size)
#define HS_IOC_CREATE_SZ(size) \
	HS_IOC_SIZED(0x01, _IOC_READ | _IOC_WRITE, size)
#define HS_IOC_DESTROY_SZ(size) HS_IOC_SIZED(0x02, _IOC_WRITE, size)

/* ---- the device ------------------------------------------------------ */

static inline int hs_open(void)
{
	return open(HUGESLAB_DEVICE, O_RDWR | O_CLOEXEC);
}

/* 0 or -errno. */
static inline int hs_query(int fd, struct hugeslab_query *q)
{
	memset(q, 0, sizeof(*q));
	return ioctl(fd, HUGESLAB_IOC_QUERY, q) ? -errno : 0;
}

static inline int hs_create_node(int fd, uint64_t bytes, int node,
				 struct hugeslab_create *c)
{
	memset(c, 0, sizeof(*c));
	c->bytes = bytes;
	c->node = node;
	return ioctl(fd, HUGESLAB_IOC_CREATE, c) ? -errno : 0;
}

static inline int hs_create(int fd, uint64_t bytes, struct hugeslab_create *c)
{
	return hs_create_node(fd, bytes, HUGESLAB_NODE_ANY, c);
}

static inline int hs_destroy(int fd, uint64_t id)
{
	struct hugeslab_destroy d = { .id = id };

	return ioctl(fd, HUGESLAB_IOC_DESTROY, &d) ? -errno : 0;
}

/* Map a whole region read/write and shared; MAP_FAILED on error. */
static inline void *hs_map(int fd, const struct hugeslab_create *c)
{
	return mmap(NULL, c->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    c->offset);
}

/* ---- memory contents ------------------------------------------------- */

/* The pattern word at byte offset @off for @seed. */
static inline uint64_t hs_word(uint64_t seed, uint64_t off)
{
	return (seed * 0x9e3779b97f4a7c15ULL) ^ off;
}

/* Fill [p, p + bytes) with the pattern of @seed; @base is p's offset. */
static inline void hs_fill(void *p, uint64_t bytes, uint64_t seed,
			   uint64_t base)
{
	volatile uint64_t *w = p;
	uint64_t i;

	for (i = 0; i < bytes / 8; i++)
		w[i] = hs_word(seed, base + i * 8);
}

/* Offset of the first word that differs from the pattern, or -1. */
static inline int64_t hs_check(const void *p, uint64_t bytes, uint64_t seed,
			       uint64_t base)
{
	const volatile uint64_t *w = p;
	uint64_t i;

	for (i = 0; i < bytes / 8; i++)
		if (w[i] != hs_word(seed, base + i * 8))
			return (int64_t)(i * 8);
	return -1;
}

/* Offset of the first non-zero byte, or -1. */
static inline int64_t hs_check_zero(const void *p, uint64_t bytes)
{
	const volatile uint64_t *w = p;
	uint64_t i;

	for (i = 0; i < bytes / 8; i++)
		if (w[i])
			return (int64_t)(i * 8);
	return -1;
}

/* ---- small files ----------------------------------------------------- */

/* Read a whole (small) file into buf, NUL-terminated; length or -errno. */
static inline ssize_t hs_read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len + 1 < size) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

static inline int hs_write_file(const char *path, const char *s)
{
	ssize_t n, len = strlen(s);
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n != len)
		n = n < 0 ? -errno : -EIO;
	close(fd);
	return n < 0 ? (int)n : 0;
}

/* The value after "key" + sep at the start of a line of text, or -1. */
static inline long long hs_field(const char *text, const char *key, char sep)
{
	size_t klen = strlen(key);
	const char *line;

	for (line = text; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, key, klen) && line[klen] == sep)
			return strtoll(line + klen + 1, NULL, 10);
	}
	return -1;
}

/* A counter of debugfs "stats", or -1. */
static inline long long hs_stat(const char *key)
{
	char buf[4096];

	if (hs_read_file(HS_DEBUGFS "/stats", buf, sizeof(buf)) < 0)
		return -1;
	return hs_field(buf, key, ' ');
}

/* A /proc/meminfo value (pages for HugePages_*), or -1. */
static inline long long hs_meminfo(const char *key)
{
	char buf[8192];

	if (hs_read_file("/proc/meminfo", buf, sizeof(buf)) < 0)
		return -1;
	return hs_field(buf, key, ':');
}

/* A module parameter, or -1. */
static inline long long hs_param(const char *name)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), HS_PARAMS "/%s", name);
	if (hs_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

/* ---- global state and waiting for it --------------------------------- */

/*
 * What must come back once a test's regions are gone: the module's totals
 * and the hugetlb pool's free and reserved pages.
 */
struct hs_snap {
	long long used_bytes;
	long long regions;
	long long failed;
	long long hp_free;
	long long hp_rsvd;
};

static inline int hs_snap(struct hs_snap *s)
{
	char buf[4096];

	if (hs_read_file(HS_DEBUGFS "/stats", buf, sizeof(buf)) < 0)
		return -1;
	s->used_bytes = hs_field(buf, "used_bytes", ' ');
	s->regions = hs_field(buf, "regions", ' ');
	s->failed = hs_field(buf, "failed_requests", ' ');
	s->hp_free = hs_meminfo("HugePages_Free");
	s->hp_rsvd = hs_meminfo("HugePages_Rsvd");
	if (s->used_bytes < 0 || s->regions < 0 || s->failed < 0 ||
	    s->hp_free < 0 || s->hp_rsvd < 0)
		return -1;
	return 0;
}

static inline bool hs_snap_same(const struct hs_snap *a,
				const struct hs_snap *b)
{
	return a->used_bytes == b->used_bytes && a->regions == b->regions &&
	       a->hp_free == b->hp_free && a->hp_rsvd == b->hp_rsvd;
}

static inline long long hs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Poll until the totals equal @base (the last reading goes to @now):
 * the module frees detached regions from a worker and the kernel defers
 * the final fput and the hugetlb frees, so "back to normal" is eventual
 * but bounded. 0 when reached, -1 on timeout.
 */
static inline int hs_wait_snap(const struct hs_snap *base, struct hs_snap *now,
			       int timeout_ms)
{
	long long end = hs_now_ms() + timeout_ms;

	for (;;) {
		if (!hs_snap(now) && hs_snap_same(base, now))
			return 0;
		if (hs_now_ms() > end)
			return -1;
		usleep(10000);
	}
}

/*
 * For a FIXTURE_TEARDOWN_PARENT: it runs after the test process has exited,
 * whether the test passed or an ASSERT ended it, so everything that process
 * held must come back - and the next test starts from a clean state.
 */
#define HS_EXPECT_BASELINE(base) do {					\
	struct hs_snap __hs_now;					\
									\
	EXPECT_EQ(0, hs_wait_snap(base, &__hs_now, HS_FREE_TIMEOUT_MS))	\
		TH_LOG("not back to baseline: used %lld/%lld regions %lld/%lld free pages %lld/%lld rsvd %lld/%lld", \
		       __hs_now.used_bytes, (base)->used_bytes,		\
		       __hs_now.regions, (base)->regions,		\
		       __hs_now.hp_free, (base)->hp_free,		\
		       __hs_now.hp_rsvd, (base)->hp_rsvd);		\
} while (0)

/* ---- debugfs regions ------------------------------------------------- */

struct hs_dbg_region {
	unsigned long long id;
	long pid;
	unsigned long long bytes;
	unsigned long long page_size;
	int node;
	bool mapped;
	char comm[64];
};

#define HS_REGIONS_HEADER	"hugeslab regions 1\n" \
				"# id pid bytes page_size node mapped comm\n"

/*
 * Parse debugfs "regions" into out[max]; the number of regions listed
 * (possibly more than max), or -1 if the file is missing or malformed.
 */
static inline int hs_dbg_regions(struct hs_dbg_region *out, int max)
{
	static char buf[1 << 16];
	char *line, *save = NULL;
	int n = 0;

	if (hs_read_file(HS_DEBUGFS "/regions", buf, sizeof(buf)) < 0)
		return -1;
	if (strncmp(buf, HS_REGIONS_HEADER, strlen(HS_REGIONS_HEADER)))
		return -1;
	for (line = strtok_r(buf + strlen(HS_REGIONS_HEADER), "\n", &save);
	     line; line = strtok_r(NULL, "\n", &save)) {
		struct hs_dbg_region r;
		char mapped[8];

		if (sscanf(line, "%llu %ld %llu %llu %d %7s %63s", &r.id,
			   &r.pid, &r.bytes, &r.page_size, &r.node, mapped,
			   r.comm) != 7)
			return -1;
		if (strcmp(mapped, "yes") && strcmp(mapped, "no"))
			return -1;
		r.mapped = !strcmp(mapped, "yes");
		if (n < max)
			out[n] = r;
		n++;
	}
	return n;
}

/* Find region @id in debugfs: 1 found (into *r), 0 absent, -1 error. */
static inline int hs_dbg_find(unsigned long long id, struct hs_dbg_region *r)
{
	struct hs_dbg_region all[256];
	int i, n;

	n = hs_dbg_regions(all, 256);
	if (n < 0 || n > 256)
		return -1;
	for (i = 0; i < n; i++) {
		if (all[i].id == id) {
			*r = all[i];
			return 1;
		}
	}
	return 0;
}

/* How many listed regions belong to @pid, or -1. */
static inline int hs_dbg_count_pid(long pid)
{
	struct hs_dbg_region all[256];
	int i, n, count = 0;

	n = hs_dbg_regions(all, 256);
	if (n < 0 || n > 256)
		return -1;
	for (i = 0; i < n; i++)
		count += all[i].pid == pid;
	return count;
}

/* ---- /proc/self/smaps ------------------------------------------------ */

struct hs_smaps {
	unsigned long start, end;
	long size_kb;
	long kernel_page_kb;
	long mmu_page_kb;
	long shared_hugetlb_kb;
	long private_hugetlb_kb;
	char flags[8];
};

/* The smaps entry of the VMA holding @addr: 0, or -1 if none. */
static inline int hs_smaps_find(const void *addr, struct hs_smaps *s)
{
	unsigned long a = (unsigned long)addr;
	bool in = false, found = false;
	char line[512];
	FILE *f;

	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -1;
	memset(s, 0, sizeof(*s));
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		char flags[8];
		long v;

		if (sscanf(line, "%lx-%lx %7s", &start, &end, flags) == 3) {
			if (found)
				break;
			in = a >= start && a < end;
			if (in) {
				found = true;
				s->start = start;
				s->end = end;
				snprintf(s->flags, sizeof(s->flags), "%s",
					 flags);
			}
			continue;
		}
		if (!in)
			continue;
		if (sscanf(line, "Size: %ld kB", &v) == 1)
			s->size_kb = v;
		else if (sscanf(line, "KernelPageSize: %ld kB", &v) == 1)
			s->kernel_page_kb = v;
		else if (sscanf(line, "MMUPageSize: %ld kB", &v) == 1)
			s->mmu_page_kb = v;
		else if (sscanf(line, "Shared_Hugetlb: %ld kB", &v) == 1)
			s->shared_hugetlb_kb = v;
		else if (sscanf(line, "Private_Hugetlb: %ld kB", &v) == 1)
			s->private_hugetlb_kb = v;
	}
	fclose(f);
	return found ? 0 : -1;
}

/* Whether any VMA of this process covers part of [addr, addr + len). */
static inline bool hs_mapped_anywhere(const void *addr, size_t len)
{
	unsigned long a = (unsigned long)addr, start, end;
	char line[512];
	bool hit = false;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return true;	/* cannot tell: say the unexpected thing */
	while (!hit && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2)
			hit = start < a + len && a < end;
	fclose(f);
	return hit;
}

/* ---- faults, physical pages, waiting for a region to go -------------- */

#include <setjmp.h>
#include <signal.h>

/* State of hs_probe_*(): one probe at a time, on the calling thread. */
static inline sigjmp_buf *hs_probe_env(void)
{
	static sigjmp_buf env;

	return &env;
}

static inline volatile int *hs_probe_si_code(void)
{
	static volatile int code;

	return &code;
}

static inline void hs_probe_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	*hs_probe_si_code() = si->si_code;
	siglongjmp(*hs_probe_env(), sig);
}

/*
 * Touch one byte: read it, or (@write) store @val there. 0 if the access
 * worked, else the signal it raised (SIGSEGV or SIGBUS, caught here) with
 * its si_code in *code (SEGV_MAPERR: nothing mapped, SEGV_ACCERR: not
 * permitted). The caller's handlers for both signals are kept.
 */
static inline int hs_probe(volatile char *addr, bool write, char val,
			   int *code)
{
	struct sigaction sa, old_segv, old_bus;
	volatile int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = hs_probe_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	*hs_probe_si_code() = 0;
	sig = sigsetjmp(*hs_probe_env(), 1);
	if (!sig) {
		if (write)
			*addr = val;
		else
			(void)*addr;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	if (code)
		*code = sig ? *hs_probe_si_code() : 0;
	return sig;
}

static inline int hs_probe_read(const void *addr, int *code)
{
	return hs_probe((volatile char *)addr, false, 0, code);
}

static inline int hs_probe_write(void *addr, char val, int *code)
{
	return hs_probe((volatile char *)addr, true, val, code);
}

/*
 * The page frame behind @addr from /proc/self/pagemap: 0 if not present,
 * or if the kernel hides frame numbers (they need CAP_SYS_ADMIN).
 */
static inline unsigned long long hs_pfn(const void *addr)
{
	unsigned long psize = (unsigned long)sysconf(_SC_PAGESIZE);
	uint64_t e = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e),
		  (off_t)((unsigned long)addr / psize * sizeof(e))) !=
	    (ssize_t)sizeof(e))
		e = 0;
	close(fd);
	if (!(e >> 63))			/* not present */
		return 0;
	return e & ((1ULL << 55) - 1);
}

/* Poll until debugfs no longer lists region @id: 0, or -1 on timeout. */
static inline int hs_wait_unlisted(unsigned long long id, int timeout_ms)
{
	long long end = hs_now_ms() + timeout_ms;
	struct hs_dbg_region r;

	while (hs_dbg_find(id, &r) != 0) {
		if (hs_now_ms() > end)
			return -1;
		usleep(10000);
	}
	return 0;
}

/* ---- cgroup v2: memory charged to a group ----------------------------- */

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#define HS_CGROUP_ROOT	"/sys/fs/cgroup"

/* Whether @word is one of the blank-separated words of @list. */
static inline bool hs_word_in(const char *list, const char *word)
{
	size_t len = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || isspace((unsigned char)p[-1])) &&
		    (!p[len] || isspace((unsigned char)p[len])))
			return true;
		p += len;
	}
	return false;
}

/*
 * Mount cgroup v2 at /sys/fs/cgroup unless it is there already (the test
 * VMs boot without it), with controller @ctl ("memory", "cpu") on for
 * child groups. 0 or -errno (-ENOENT: the kernel has no such controller).
 */
static inline int hs_cgroup_setup_ctl(const char *ctl)
{
	char buf[256], add[32];

	if (hs_read_file(HS_CGROUP_ROOT "/cgroup.controllers", buf,
			 sizeof(buf)) < 0) {
		if (mount("cgroup2", HS_CGROUP_ROOT, "cgroup2", 0, NULL) ||
		    hs_read_file(HS_CGROUP_ROOT "/cgroup.controllers", buf,
				 sizeof(buf)) < 0)
			return -errno;
	}
	if (!hs_word_in(buf, ctl))
		return -ENOENT;
	if (hs_read_file(HS_CGROUP_ROOT "/cgroup.subtree_control", buf,
			 sizeof(buf)) < 0)
		return -errno;
	if (hs_word_in(buf, ctl))
		return 0;
	snprintf(add, sizeof(add), "+%s", ctl);
	return hs_write_file(HS_CGROUP_ROOT "/cgroup.subtree_control", add);
}

/* The memory controller, which most cgroup tests use. */
static inline int hs_cgroup_setup(void)
{
	return hs_cgroup_setup_ctl("memory");
}

/* Make the group @name (its path into @path): 0 or -errno. */
static inline int hs_cgroup_make(const char *name, char *path, size_t size)
{
	snprintf(path, size, HS_CGROUP_ROOT "/%s", name);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Move process @pid into the group at @path: 0 or -errno. */
static inline int hs_cgroup_enter(const char *path, pid_t pid)
{
	char file[300], num[32];

	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	snprintf(num, sizeof(num), "%d", (int)pid);
	return hs_write_file(file, num);
}

/* A number from one of the group's files (memory.current...), or -1. */
static inline long long hs_cgroup_value(const char *path, const char *name)
{
	char file[300], buf[64];

	snprintf(file, sizeof(file), "%s/%s", path, name);
	if (hs_read_file(file, buf, sizeof(buf)) <= 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

/* Remove a group whose processes are gone (retried while they exit). */
static inline int hs_cgroup_remove(const char *path)
{
	long long end = hs_now_ms() + HS_FREE_TIMEOUT_MS;

	while (rmdir(path)) {
		if (errno != EBUSY || hs_now_ms() > end)
			return -errno;
		usleep(10000);
	}
	return 0;
}

/* ---- the device as another user sees it ------------------------------ */

/*
 * A device node of /dev/hugeslab at @path, owned by @uid:@gid with @mode,
 * so an unprivileged user can open the device itself without the test
 * changing /dev/hugeslab for everyone. 0 or -errno.
 */
static inline int hs_dev_node(const char *path, uid_t uid, gid_t gid,
			      mode_t mode)
{
	unsigned int maj, min;
	char buf[32];

	if (hs_read_file("/sys/class/misc/hugeslab/dev", buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "%u:%u", &maj, &min) != 2)
		return -ENODEV;
	unlink(path);
	if (mknod(path, S_IFCHR | mode, makedev(maj, min)) ||
	    chown(path, uid, gid) || chmod(path, mode))
		return -errno;
	return 0;
}

/* ---- /proc/PID/stat ---------------------------------------------------- */

/* The task flags (PF_*) of @pid, field 9 of /proc/PID/stat, or -1. */
static inline long long hs_task_flags(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long flags;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (hs_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	/* After the command in parentheses: state, ppid, ..., flags. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %llu", &flags) != 1)
		return -1;
	return (long long)flags;
}

/* The state letter of @pid (R, S, D, T, Z...), or 0. */
static inline char hs_task_state(pid_t pid)
{
	char path[64], buf[1024], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (hs_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

#endif /* _HS_KMOD_H */
