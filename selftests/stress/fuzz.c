// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: a seeded fuzzer for /dev/hugeslab. Several processes with
 * several threads each run 100,000+ random operations between them:
 * ioctls with valid, invalid and random commands, directions, struct
 * sizes, flags, padding, sizes, node numbers and argument pointers (NULL,
 * read-only, straddling an unmapped page); creates and destroys on
 * files shared by all processes, by one process's threads, or private to
 * a thread and closed and reopened (also read-only); mmap and munmap of
 * regions and of the pool stats area with random offsets, lengths, prots
 * and flags (MAP_PRIVATE, MAP_FIXED over a window of the thread's own,
 * MAP_POPULATE, ...), partial and misaligned munmaps, mprotect, madvise,
 * mremap; touching what is mapped; garbage written into the stats areas;
 * forked children that inherit MADV_DOFORK mappings, create, and die by
 * _exit() or SIGKILL; files passed between the processes (SCM_RIGHTS) and
 * used by the receiver's threads as their own; the other processes stopped
 * and continued (SIGSTOP, SIGCONT) whatever they are doing, creates
 * included; the pool deliberately run dry; fault injection armed at
 * random; and a reader per process going through debugfs, sysfs and /proc
 * all along.
 *
 * Each result is checked: where the outcome is certain (a thread's own
 * file and region, an invalid argument) exactly, else against the errnos
 * the ABI allows. No process may die of a signal. Afterwards every
 * counter is back at baseline: the module's used bytes and regions, the
 * created/destroyed balance, HugePages_Free/Rsvd, and debugfs lists no
 * region or pool of the fuzzers. The kernel log must stay clean (the VM
 * runner fails the run on any splat).
 *
 * The seed is printed; HS_FUZZ_SEED=<seed> replays each thread's sequence
 * of operations (the threads' interleaving is up to the scheduler).
 * HS_FUZZ_OPS=<n> changes the total number of operations (100,000 by
 * default); HS_FUZZ_SECONDS=<s> is a time budget: the threads stop when it
 * is spent, and the test fails unless they did all the operations (make
 * fuzz: a million on the debug kernel).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "hs_stress.h"

#define PROCS		3
#define THREADS		3
#define WORKERS		(PROCS * THREADS)
#define DEFAULT_OPS	100000

/* Per thread: tracked regions and mappings, and what they may hold. */
#define MAX_REGIONS	4
#define MAX_MAPS	6
#define REGION_BUDGET	(12 * HS_MIB)
#define MAP_BUDGET	(12 * HS_MIB)

/*
 * File slots of a thread: shared by all, by the process, one another
 * process passed over a socket (any of those may be used by others), and
 * its own two.
 */
#define SLOT_GLOBAL	0
#define SLOT_PROCESS	1
#define SLOT_FOREIGN	2
#define SLOT_PRIVATE	3
#define NSLOTS		5

/*
 * Each thread's window for MAP_FIXED: 2 MiB slots reserved PROT_NONE, far
 * below where the kernel places mappings itself, so no other mapping can
 * ever land in a hole a failed MAP_FIXED leaves (it is refilled at once).
 */
#define WINDOW_BASE	0x200000000000UL
#define WINDOW_STRIDE	(1UL << 30)
#define WINDOW_SLOTS	32
#define WINDOW_BYTES	(WINDOW_SLOTS * HS_2M)
/* Hints for non-fixed mappings: free space away from every window. */
#define HINT_BASE	0x300000000000UL

#define MAX_MSGS	24
#define MSG_LEN		320

enum op {
	OP_QUERY,
	OP_IOCTL_RANDOM,
	OP_CREATE,
	OP_DESTROY,
	OP_DESTROY_RANDOM,
	OP_MMAP_REGION,
	OP_MMAP_RANDOM,
	OP_MMAP_FIXED,
	OP_MUNMAP,
	OP_TOUCH,
	OP_MPROTECT,
	OP_MADVISE,
	OP_MREMAP,
	OP_STATS_MAP,
	OP_STATS_SCRIBBLE,
	OP_REOPEN,
	OP_READ_FILE,
	OP_FORK,
	OP_ARM_FAULT,
	OP_RUN_DRY,
	OP_PASS_FD,
	OP_RECV_FD,
	OP_STOP_CONT,
	OP_NR,
};

static const char *const op_name[OP_NR] = {
	"query", "ioctl-random", "create", "destroy", "destroy-random",
	"mmap-region", "mmap-random", "mmap-fixed", "munmap", "touch",
	"mprotect", "madvise", "mremap", "stats-map", "stats-scribble",
	"reopen", "read-file", "fork", "arm-fault", "run-dry", "pass-fd",
	"recv-fd", "stop-cont",
};

/* Relative weights (about per 10,000 operations). */
static const unsigned int op_weight[OP_NR] = {
	[OP_QUERY] = 700,
	[OP_IOCTL_RANDOM] = 1300,
	[OP_CREATE] = 330,
	[OP_DESTROY] = 200,
	[OP_DESTROY_RANDOM] = 300,
	[OP_MMAP_REGION] = 1000,
	[OP_MMAP_RANDOM] = 800,
	[OP_MMAP_FIXED] = 500,
	[OP_MUNMAP] = 900,
	[OP_TOUCH] = 1500,
	[OP_MPROTECT] = 400,
	[OP_MADVISE] = 400,
	[OP_MREMAP] = 250,
	[OP_STATS_MAP] = 250,
	[OP_STATS_SCRIBBLE] = 400,
	[OP_REOPEN] = 200,
	[OP_READ_FILE] = 250,
	[OP_FORK] = 15,
	[OP_ARM_FAULT] = 8,
	[OP_RUN_DRY] = 1,
	[OP_PASS_FD] = 60,
	[OP_RECV_FD] = 60,
	[OP_STOP_CONT] = 10,
};

/* ---- what all the fuzzing processes share ---------------------------- */

struct last_op {
	unsigned long n;	/* operation number in the thread */
	int op;
	uint64_t a, b, c;	/* its main arguments */
};

struct shared {
	atomic_ulong ops[WORKERS];
	atomic_ulong op_count[OP_NR];
	atomic_ulong op_ok[OP_NR];
	atomic_uint failures;
	atomic_uint nmsgs;
	char msgs[MAX_MSGS][MSG_LEN];
	struct last_op last[WORKERS];
	atomic_int crashed_worker;	/* +1; 0: none */
	atomic_int crash_signal;
	atomic_uint max_id;		/* highest region id seen */
	atomic_int dry_busy;		/* one run-dry at a time */
	atomic_ulong dry_pages;		/* pages the run-dry ops reached */
	atomic_ulong fork_children;
	atomic_ulong reader_rounds;
	atomic_int stop_readers;
	unsigned long ops_per_worker;
	long long deadline_ms;		/* HS_FUZZ_SECONDS, 0: none */
	pid_t pids[PROCS];		/* the fuzzing processes */
	int pass_sock[PROCS][2];	/* datagrams to process p: [p][1] -> [p][0] */
	uint64_t seed;
	uint64_t page_sizes;
	unsigned int nr_nodes;
	int global_fd;
};

static struct shared *sh;

/* ---- one thread's state ---------------------------------------------- */

struct region {
	bool used;
	int slot;
	uint64_t id, offset, bytes;
};

struct mapping {
	bool used;
	bool window;		/* in the thread's window: release = PROT_NONE */
	bool stats;		/* the pool stats area (normal pages) */
	char *addr;
	uint64_t len;		/* original length */
	uint32_t present;	/* 2 MiB pages still mapped (stats: bit 0) */
	uint32_t dofork;	/* pages MADV_DOFORK was applied to */
	int prot;
	bool ro_file;		/* of a read-only file: never writable */
	unsigned int slot0;	/* first window slot, if window */
};

struct worker {
	int idx;		/* global, 0..WORKERS-1 */
	uint64_t rng;
	unsigned long n;	/* operations done */
	int fds[NSLOTS];
	bool ro[NSLOTS];
	struct region regs[MAX_REGIONS];
	struct mapping maps[MAX_MAPS];
	char *window;
	uint32_t window_used;	/* slots holding a mapping of ours */
	char *buf;		/* 2 pages RW, then a PROT_NONE page */
	char *ro_page;		/* a read-only page */
};

static __thread struct worker *self_worker;

/* ---- failures -------------------------------------------------------- */

static void __attribute__((format(printf, 2, 3)))
fail(struct worker *w, const char *fmt, ...)
{
	unsigned int i = atomic_fetch_add(&sh->failures, 1);
	char msg[MSG_LEN];
	va_list ap;
	int len;

	len = snprintf(msg, sizeof(msg), "worker %d op %lu (%s): ", w->idx,
		       w->n, op_name[sh->last[w->idx].op]);
	va_start(ap, fmt);
	vsnprintf(msg + len, sizeof(msg) - len, fmt, ap);
	va_end(ap);
	if (i < MAX_MSGS) {
		memcpy(sh->msgs[i], msg, MSG_LEN);
		atomic_fetch_add(&sh->nmsgs, 1);
	}
}

/* errno @err must be one of the zero-terminated list. */
static bool errno_in(int err, const int *allowed)
{
	for (; *allowed; allowed++)
		if (err == *allowed)
			return true;
	return false;
}

#define EXPECT_ERRNO(w, err, ...) do {					\
	const int __ok[] = { __VA_ARGS__, 0 };				\
	if (!errno_in(err, __ok))					\
		fail(w, "%s:%d: unexpected errno %d (%s)", __func__,	\
		     __LINE__, err, strerror(err));			\
} while (0)

static void note_op(struct worker *w, int op, uint64_t a, uint64_t b,
		    uint64_t c)
{
	struct last_op *l = &sh->last[w->idx];

	l->n = w->n;
	l->op = op;
	l->a = a;
	l->b = b;
	l->c = c;
}

/* SIGSEGV/SIGBUS: say which thread and operation, then die of it. */
static void crash_handler(int sig)
{
	if (self_worker) {
		int expected = 0;

		atomic_compare_exchange_strong(&sh->crashed_worker, &expected,
					       self_worker->idx + 1);
		atomic_store(&sh->crash_signal, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- random choices -------------------------------------------------- */

static uint64_t rnd(struct worker *w)
{
	return hs_rand(&w->rng);
}

static uint64_t below(struct worker *w, uint64_t n)
{
	return hs_below(&w->rng, n);
}

static bool chance(struct worker *w, unsigned int num, unsigned int den)
{
	return hs_chance(&w->rng, num, den);
}

static void fill_random(struct worker *w, void *p, size_t len)
{
	unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = rnd(w);
}

/* A size for a 2 MiB region: mostly small. */
static uint64_t region_size(struct worker *w)
{
	static const unsigned int mb[] = { 2, 2, 2, 4, 4, 6, 8 };

	return mb[below(w, 7)] * HS_MIB;
}

static int slot_pick(struct worker *w)
{
	static const int slots[] = { 0, 1, 1, 2, 3, 3, 3, 4, 4 };

	return slots[below(w, 9)];
}

static int region_pick(struct worker *w)
{
	int i, n = 0, pick = -1;

	for (i = 0; i < MAX_REGIONS; i++)
		if (w->regs[i].used && !below(w, ++n))
			pick = i;
	return pick;
}

static int free_region(struct worker *w)
{
	int i;

	for (i = 0; i < MAX_REGIONS; i++)
		if (!w->regs[i].used)
			return i;
	return -1;
}

static int map_pick(struct worker *w, bool stats)
{
	int i, n = 0, pick = -1;

	for (i = 0; i < MAX_MAPS; i++)
		if (w->maps[i].used && w->maps[i].stats == stats &&
		    !below(w, ++n))
			pick = i;
	return pick;
}

static int free_map(struct worker *w)
{
	int i;

	for (i = 0; i < MAX_MAPS; i++)
		if (!w->maps[i].used)
			return i;
	return -1;
}

static uint64_t regions_held(struct worker *w)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < MAX_REGIONS; i++)
		if (w->regs[i].used)
			sum += w->regs[i].bytes;
	return sum;
}

static uint64_t maps_held(struct worker *w)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < MAX_MAPS; i++)
		if (w->maps[i].used && !w->maps[i].stats)
			sum += w->maps[i].len;
	return sum;
}

static void saw_id(uint64_t id)
{
	unsigned int cur = atomic_load(&sh->max_id);

	while (id > cur && id < (1U << 23) &&
	       !atomic_compare_exchange_weak(&sh->max_id, &cur, id))
		;
}

/* ---- the window ------------------------------------------------------ */

/* Put PROT_NONE back over [addr, addr + len) of the window. */
static void window_refill(struct worker *w, char *addr, uint64_t len)
{
	if (mmap(addr, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1,
		 0) == MAP_FAILED)
		fail(w, "cannot refill the window at %p: %s", addr,
		     strerror(errno));
}

/* A run of @n free window slots: its first slot, or -1. */
static int window_find(struct worker *w, unsigned int n)
{
	unsigned int start = below(w, WINDOW_SLOTS), i, s;

	for (i = 0; i < WINDOW_SLOTS; i++) {
		uint32_t mask = ((n >= 32) ? ~0U : ((1U << n) - 1));

		s = (start + i) % WINDOW_SLOTS;
		if (s + n > WINDOW_SLOTS)
			continue;
		if (!(w->window_used & (mask << s)))
			return s;
	}
	return -1;
}

static uint32_t slot_mask(unsigned int first, uint64_t len)
{
	unsigned int n = (len + HS_2M - 1) / HS_2M;

	return (n >= 32 ? ~0U : (1U << n) - 1) << first;
}

/* ---- tracking mappings ----------------------------------------------- */

static uint32_t full_mask(uint64_t len)
{
	unsigned int n = len / HS_2M;

	return n >= 32 ? ~0U : (1U << n) - 1;
}

static void map_track(struct worker *w, char *addr, uint64_t len, int prot,
		      bool stats, int window_slot, bool ro_file)
{
	int i = free_map(w);
	struct mapping *m;

	if (i < 0) {
		/* Nowhere to keep it: let it go again. */
		if (window_slot >= 0)
			window_refill(w, addr, len);
		else if (munmap(addr, len))
			fail(w, "munmap %p: %s", addr, strerror(errno));
		return;
	}
	m = &w->maps[i];
	memset(m, 0, sizeof(*m));
	m->used = true;
	m->addr = addr;
	m->len = len;
	m->prot = prot;
	m->stats = stats;
	m->ro_file = ro_file;
	m->present = stats ? 1 : full_mask(len);
	m->window = window_slot >= 0;
	if (m->window) {
		m->slot0 = window_slot;
		w->window_used |= slot_mask(window_slot, len);
	}
}

static void map_drop(struct worker *w, struct mapping *m)
{
	if (m->window)
		w->window_used &= ~slot_mask(m->slot0, m->len);
	m->used = false;
}

/*
 * Unmap what is left of a tracked mapping. Outside the window only the
 * pages still ours: a hole an earlier partial munmap left may hold
 * another thread's mapping by now.
 */
static void map_release(struct worker *w, struct mapping *m)
{
	unsigned int k;

	if (m->window) {
		window_refill(w, m->addr, m->len);
	} else if (m->stats || m->present == full_mask(m->len)) {
		if (munmap(m->addr, m->len))
			fail(w, "munmap whole %p+%#" PRIx64 ": %s", m->addr,
			     m->len, strerror(errno));
	} else {
		for (k = 0; k < m->len / HS_2M; k++)
			if ((m->present & (1U << k)) &&
			    munmap(m->addr + k * HS_2M, HS_2M))
				fail(w, "munmap %p: %s", m->addr + k * HS_2M,
				     strerror(errno));
	}
	map_drop(w, m);
}

/* ---- ioctls ---------------------------------------------------------- */

/* Where an ioctl's struct goes: 0 buf, 1 NULL, 2 read-only, 3 straddling. */
enum argkind { ARG_BUF, ARG_NULL, ARG_RO, ARG_EDGE, ARG_KERNEL, ARG_NR };

static void *arg_ptr(struct worker *w, enum argkind k, size_t len)
{
	switch (k) {
	case ARG_NULL:
		return NULL;
	case ARG_RO:
		return w->ro_page;
	case ARG_EDGE:
		/* The struct runs into the PROT_NONE page after buf. */
		return w->buf + 2 * 4096 - (len > 1 ? len / 2 : 1);
	case ARG_KERNEL:
		return (void *)0xffff888000001000UL;
	default:
		return w->buf + 8 * below(w, 16);
	}
}

static enum argkind arg_pick(struct worker *w)
{
	return chance(w, 85, 100) ? ARG_BUF : (enum argkind)(1 + below(w, 4));
}

/*
 * A struct size: mostly right, sometimes one of the ABI's edge cases:
 * too small, larger with a zero tail, larger with a non-zero tail.
 */
static size_t usize_pick(struct worker *w, size_t real, bool *tail_junk)
{
	*tail_junk = false;
	switch (below(w, 10)) {
	case 0:
		return below(w, real);
	case 1:
		return real + 8 * (1 + below(w, 64));
	case 2:
		*tail_junk = true;
		return real + 1 + below(w, 256);
	default:
		return real;
	}
}

static int do_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

/* The buffer after a successful query: version, sane numbers, no spill. */
static void check_query(struct worker *w, const unsigned char *p,
			size_t usize)
{
	struct hugeslab_query q;
	size_t i, n = usize < sizeof(q) ? usize : sizeof(q);

	memset(&q, 0, sizeof(q));
	memcpy(&q, p, n);
	if (q.abi_version != HUGESLAB_ABI_VERSION)
		fail(w, "query abi_version %u", q.abi_version);
	if (n >= 56 && q.used_bytes % HS_2M)
		fail(w, "query used_bytes %llu", (unsigned long long)q.used_bytes);
	/* Nothing written past what the caller gave. */
	for (i = usize; i < usize + 64; i++)
		if (p[i] != 0xa5) {
			fail(w, "query wrote byte %zu of a %zu-byte struct",
			     i, usize);
			break;
		}
}

static void op_query(struct worker *w)
{
	int slot = slot_pick(w), fd = w->fds[slot], err, want = 0;
	bool junk;
	size_t usize = usize_pick(w, sizeof(struct hugeslab_query), &junk);
	size_t pad_end = offsetof(struct hugeslab_query, pad) + 4;
	unsigned char *p = (unsigned char *)w->buf;
	struct hugeslab_query q;

	note_op(w, OP_QUERY, slot, usize, junk);
	if (fd < 0 || usize > 4096 - 128)
		return;
	memset(&q, 0, sizeof(q));
	if (chance(w, 1, 20))
		q.flags = 1 + below(w, 1000);
	if (usize >= pad_end && chance(w, 1, 20))
		q.pad = 1;
	/* The struct, then a canary the kernel must not write. */
	memset(p, 0, usize);
	memcpy(p, &q, usize < sizeof(q) ? usize : sizeof(q));
	memset(p + usize, 0xa5, 64);
	if (usize > sizeof(q) && junk)
		p[sizeof(q) + below(w, usize - sizeof(q))] = 1 + below(w, 255);

	if (usize < HUGESLAB_QUERY_SIZE_VER0)
		want = EINVAL;
	else if (usize > sizeof(q) && junk)
		want = E2BIG;
	else if (q.flags || q.pad)
		want = EINVAL;
	err = do_ioctl(fd, HS_IOC_QUERY_SZ(usize), p);
	if (err != want)
		fail(w, "query size %zu: errno %d, expected %d", usize, err,
		     want);
	else if (!err)
		check_query(w, p, usize);
	if (!err)
		atomic_fetch_add(&sh->op_ok[OP_QUERY], 1);
}

/* Track a region this thread created, or destroy it if it cannot. */
static void region_track(struct worker *w, int slot,
			 const struct hugeslab_create *c)
{
	int i;

	saw_id(c->id);
	for (i = 0; i < MAX_REGIONS; i++) {
		if (!w->regs[i].used) {
			w->regs[i].used = true;
			w->regs[i].slot = slot;
			w->regs[i].id = c->id;
			w->regs[i].offset = c->offset;
			w->regs[i].bytes = c->bytes;
			return;
		}
	}
	if (hs_destroy(w->fds[slot], c->id) && slot >= SLOT_PRIVATE)
		fail(w, "destroy untracked %llu", (unsigned long long)c->id);
}

static void region_forget(struct worker *w, int slot, uint64_t id)
{
	int i;

	for (i = 0; i < MAX_REGIONS; i++)
		if (w->regs[i].used && w->regs[i].slot == slot &&
		    w->regs[i].id == id)
			w->regs[i].used = false;
}

/*
 * A create: usually valid, sometimes with one or more things wrong, and
 * the errno predicted from the order the module checks them in.
 */
static void op_create(struct worker *w)
{
	int slot = slot_pick(w), fd = w->fds[slot], err, want;
	bool junk, valid_args = true;
	size_t usize = usize_pick(w, sizeof(struct hugeslab_create), &junk);
	enum argkind ak = arg_pick(w);
	struct hugeslab_create c = { .node = HUGESLAB_NODE_ANY };
	unsigned char *p;

	if (fd < 0)
		return;
	c.bytes = region_size(w);
	switch (below(w, 14)) {
	case 0:
		c.bytes = (uint64_t[]){ 0, 4096, HS_2M + 4096, HS_2M - 1,
					1ULL << 41, ~0ULL,
					1ULL << 63 }[below(w, 7)];
		valid_args = false;
		break;
	case 1:
		c.flags = 1U << below(w, 32);
		valid_args = c.flags == 0;
		break;
	case 2:
		c.node = (int32_t[]){ 0, 0, 1, 2, 63, 1024, INT32_MAX,
				      INT32_MIN, -2 }[below(w, 9)];
		valid_args = c.node >= 0 && (unsigned int)c.node < sh->nr_nodes;
		break;
	case 3:
		c.pad = 1 + below(w, 100);
		valid_args = false;
		break;
	case 4:
		/* The output fields are ignored on input. */
		c.id = rnd(w);
		c.offset = rnd(w);
		c.page_size = rnd(w);
		c.page_node = rnd(w);
		break;
	}
	if (usize < sizeof(c) || (usize > sizeof(c) && junk) || ak != ARG_BUF)
		valid_args = false;
	/* A valid request over the budget becomes an invalid one. */
	if (valid_args && (free_region(w) < 0 ||
			   regions_held(w) + c.bytes > REGION_BUDGET)) {
		c.bytes = 4096;
		valid_args = false;
	}
	note_op(w, OP_CREATE, slot, c.bytes, ((uint64_t)c.flags << 32) |
		(uint32_t)c.node);

	p = arg_ptr(w, ak, usize);
	if (ak == ARG_BUF) {
		memset(p, 0, usize);
		memcpy(p, &c, usize < sizeof(c) ? usize : sizeof(c));
		if (usize > sizeof(c) && junk)
			p[sizeof(c) + below(w, usize - sizeof(c))] = 0x5a;
	}

	/* The module's order: access, size, copy, flags, tier, size, node. */
	if (w->ro[slot])
		want = EBADF;
	else if (usize < sizeof(c))
		want = EINVAL;
	else if (ak != ARG_BUF)
		want = -1;	/* EFAULT: see below */
	else if (usize > sizeof(c) && junk)
		want = E2BIG;
	else if ((c.flags & ~HUGESLAB_CREATE_VALID) || c.pad)
		want = EINVAL;
	else if ((c.flags & HUGESLAB_CREATE_1G) &&
		 !(sh->page_sizes & (1ULL << 30)))
		want = EOPNOTSUPP;
	else if (!c.bytes || c.bytes > (1ULL << 40) ||
		 c.bytes % ((c.flags & HUGESLAB_CREATE_1G) ? 1ULL << 30 : HS_2M))
		want = EINVAL;
	else if (c.node != HUGESLAB_NODE_ANY &&
		 (c.node < 0 || (unsigned int)c.node >= sh->nr_nodes))
		want = EINVAL;
	else
		want = 0;	/* or ENOMEM */

	err = do_ioctl(fd, HS_IOC_CREATE_SZ(usize), p);
	if (want == -1) {
		/*
		 * A bad pointer faults; the read-only page holds a valid
		 * request, so the region is made, cannot be reported, and is
		 * destroyed again (or the pool is dry right now).
		 */
		bool ok = err == EFAULT ||
			  (ak == ARG_RO && err == ENOMEM) ||
			  /* stale non-zero tail bytes before the guard */
			  (ak == ARG_EDGE && usize > sizeof(c) && err == E2BIG);

		if (!ok)
			fail(w, "create size %zu from bad pointer %d: errno %d",
			     usize, ak, err);
	} else if (want) {
		if (err != want)
			fail(w, "create %#llx flags %#x node %d pad %u size %zu arg %d: errno %d, expected %d",
			     (unsigned long long)c.bytes, c.flags, c.node, c.pad, usize, ak, err,
			     want);
	} else if (err && err != ENOMEM) {
		fail(w, "create %#llx flags %#x node %d size %zu: errno %d",
		     (unsigned long long)c.bytes, c.flags, c.node, usize, err);
	}
	if (err)
		return;
	atomic_fetch_add(&sh->op_ok[OP_CREATE], 1);
	memcpy(&c, p, sizeof(c));
	if (c.bytes > REGION_BUDGET || (c.offset >> 40) != c.id ||
	    c.page_size != (c.flags & HUGESLAB_CREATE_1G ? 1ULL << 30 : HS_2M)) {
		fail(w, "create returned id %llu offset %#llx page_size %llu",
		     (unsigned long long)c.id, (unsigned long long)c.offset,
		     (unsigned long long)c.page_size);
		return;
	}
	region_track(w, slot, &c);
}

/* A random command on our magic (or a near one): never a VFS ioctl. */
static void op_ioctl_random(struct worker *w)
{
	static const unsigned int types[] = {
		HUGESLAB_IOC_MAGIC, HUGESLAB_IOC_MAGIC, HUGESLAB_IOC_MAGIC,
		HUGESLAB_IOC_MAGIC - 1, HUGESLAB_IOC_MAGIC + 1, 0xff,
	};
	int slot = slot_pick(w), fd = w->fds[slot], err;
	unsigned int dir = below(w, 4), nr = below(w, 6);
	unsigned int type = types[below(w, 6)];
	size_t size = chance(w, 1, 2) ? below(w, 200) : below(w, 1 << 14);
	enum argkind ak = arg_pick(w);
	unsigned long cmd;
	unsigned char *p;

	if (chance(w, 1, 8))	/* a fully random number, type forced */
		cmd = (rnd(w) & ~(0xffUL << 8)) | (type << 8);
	else
		cmd = _IOC(dir, type, nr, size);
	cmd &= 0xffffffffUL;
	size = _IOC_SIZE(cmd);
	note_op(w, OP_IOCTL_RANDOM, slot, cmd, ak);
	if (fd < 0)
		return;
	p = arg_ptr(w, ak, size);
	if (ak == ARG_BUF) {
		size_t room = 2 * 4096 - (p - (unsigned char *)w->buf);
		size_t n = size < room ? size : room;

		/* Random, mostly-zero or all-zero contents. */
		if (chance(w, 1, 3))
			fill_random(w, p, n);
		else
			memset(p, 0, n);
		if (n >= sizeof(struct hugeslab_create) && chance(w, 1, 2)) {
			struct hugeslab_create *c = (void *)p;

			/* Now and then something the pool can satisfy. */
			c->bytes = chance(w, 1, 50) ? region_size(w) :
				   rnd(w) & (chance(w, 1, 2) ? 0xffffffffUL :
					     ~0UL);
		}
	}
	err = do_ioctl(fd, cmd, p);
	if (err) {
		EXPECT_ERRNO(w, err, ENOTTY, EINVAL, E2BIG, EFAULT, ENOMEM,
			     ENOENT, EOPNOTSUPP, EBADF, EMFILE);
		return;
	}
	atomic_fetch_add(&sh->op_ok[OP_IOCTL_RANDOM], 1);
	if (_IOC_TYPE(cmd) != HUGESLAB_IOC_MAGIC)
		fail(w, "ioctl %#lx of another type succeeded", cmd);
	else if (_IOC_NR(cmd) == _IOC_NR(HUGESLAB_IOC_CREATE)) {
		/* A region nobody asked for: track it or give it back. */
		struct hugeslab_create c;

		memcpy(&c, p, sizeof(c));
		if (c.bytes <= REGION_BUDGET &&
		    regions_held(w) + c.bytes <= REGION_BUDGET)
			region_track(w, slot, &c);
		else if (hs_destroy(fd, c.id) && slot >= SLOT_PRIVATE)
			fail(w, "destroy of a random create: %s",
			     strerror(errno));
	} else if (_IOC_NR(cmd) == _IOC_NR(HUGESLAB_IOC_DESTROY) &&
		   size >= sizeof(struct hugeslab_destroy)) {
		/* Destroyed something, maybe ours. */
		region_forget(w, slot, ((struct hugeslab_destroy *)p)->id);
	} else if (_IOC_NR(cmd) > 2) {
		fail(w, "ioctl nr %lu succeeded", (unsigned long)_IOC_NR(cmd));
	}
}

static void op_destroy(struct worker *w)
{
	int i = region_pick(w), err;
	struct region *r;

	if (i < 0)
		return;
	r = &w->regs[i];
	note_op(w, OP_DESTROY, r->slot, r->id, 0);
	err = hs_destroy(w->fds[r->slot], r->id);
	r->used = false;
	if (!err) {
		atomic_fetch_add(&sh->op_ok[OP_DESTROY], 1);
		return;
	}
	/* Another thread or process may have destroyed a shared one. */
	if (r->slot >= SLOT_PRIVATE)
		fail(w, "destroy own region %llu: %s",
		     (unsigned long long)r->id, strerror(-err));
	else
		EXPECT_ERRNO(w, -err, ENOENT);
}

static void op_destroy_random(struct worker *w)
{
	int slot = slot_pick(w), fd = w->fds[slot], err, want;
	bool junk;
	size_t usize = usize_pick(w, sizeof(struct hugeslab_destroy), &junk);
	struct hugeslab_destroy *d = (void *)w->buf;
	unsigned int max = atomic_load(&sh->max_id);

	if (fd < 0 || usize > 4096)
		return;
	memset(d, 0, usize);
	d->id = chance(w, 1, 10) ? rnd(w) : below(w, max + 3);
	if (usize >= 12 && chance(w, 1, 10))
		d->flags = 1;
	if (usize >= 16 && chance(w, 1, 10))
		d->pad = 1;
	if (usize > sizeof(*d) && junk)
		w->buf[sizeof(*d) + below(w, usize - sizeof(*d))] = 1;
	note_op(w, OP_DESTROY_RANDOM, slot, d->id, usize);

	if (w->ro[slot])
		want = EBADF;
	else if (usize < sizeof(*d))
		want = EINVAL;
	else if (usize > sizeof(*d) && junk)
		want = E2BIG;
	else if (d->flags || d->pad)
		want = EINVAL;
	else
		want = 0;	/* or ENOENT */
	err = do_ioctl(fd, HS_IOC_DESTROY_SZ(usize), d);
	if (want && err != want)
		fail(w, "destroy size %zu id %llu: errno %d, expected %d",
		     usize, (unsigned long long)d->id, err, want);
	else if (!want && err)
		EXPECT_ERRNO(w, err, ENOENT);
	if (!err) {
		atomic_fetch_add(&sh->op_ok[OP_DESTROY_RANDOM], 1);
		region_forget(w, slot, d->id);
	}
}

/* ---- mappings -------------------------------------------------------- */

static int prot_pick(struct worker *w, bool ro)
{
	static const int prots[] = {
		PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE,
		PROT_READ | PROT_EXEC, PROT_WRITE,
	};
	int prot = prots[below(w, 7)];

	if (ro && chance(w, 3, 4))
		prot &= ~PROT_WRITE;
	return prot;
}

static int shared_flags_pick(struct worker *w)
{
	static const int extra[] = {
		0, 0, 0, 0, MAP_POPULATE, MAP_NORESERVE, MAP_LOCKED,
		MAP_POPULATE | MAP_LOCKED,
	};

	return (chance(w, 1, 4) ? MAP_SHARED_VALIDATE : MAP_SHARED) |
	       extra[below(w, 8)];
}

/* Map all or part of one of this thread's regions, at times wrongly. */
static void op_mmap_region(struct worker *w)
{
	int i = region_pick(w), flags, prot, want = 0, slot, shared_uncertain;
	uint64_t pages, first, n, off, len;
	struct region *r;
	char *p;

	if (i < 0 || free_map(w) < 0)
		return;
	r = &w->regs[i];
	slot = r->slot;
	pages = r->bytes / HS_2M;
	first = below(w, pages);
	n = 1 + below(w, pages - first);
	off = r->offset + first * HS_2M;
	len = n * HS_2M;
	if (maps_held(w) + len > MAP_BUDGET)
		return;
	/*
	 * Whether the region is still ours to reason about by id: on a shared
	 * file another thread may have destroyed it and its id been reused
	 * for a different region there (ids recycle); then what depends on
	 * the region (its size, its file) may go either way (-1).
	 */
	shared_uncertain = r->slot >= SLOT_PRIVATE ? EINVAL : -1;
	prot = prot_pick(w, w->ro[slot]);
	flags = shared_flags_pick(w);
	switch (below(w, 12)) {
	case 0:
		off += 4096 * (1 + below(w, 511));	/* misaligned */
		want = EINVAL;
		break;
	case 1:
		len = r->bytes + HS_2M;			/* past the end */
		want = shared_uncertain;
		break;
	case 2:
		len -= 4096;				/* not whole pages */
		want = EINVAL;
		break;
	case 3:
		flags = MAP_PRIVATE;			/* would copy on write */
		want = EINVAL;
		break;
	case 4:
		/* Through another file: no such region there. */
		slot = (slot + 1 + below(w, NSLOTS - 1)) % NSLOTS;
		want = shared_uncertain;
		break;
	}
	note_op(w, OP_MMAP_REGION, slot, off, len);
	if (w->fds[slot] < 0)
		return;
	if (w->ro[slot] && (prot & PROT_WRITE) && !(flags & MAP_PRIVATE) &&
	    !want)
		want = EACCES;
	p = mmap(chance(w, 1, 4) ? (void *)(HINT_BASE + below(w, 1 << 20) *
					    HS_2M) : NULL,
		 len, prot, flags, w->fds[slot], off);
	if (p == MAP_FAILED) {
		int err = errno;

		if (want == -1) {
			EXPECT_ERRNO(w, err, EINVAL, EACCES);
		} else if (want) {
			/* A writable private one of a read-only file. */
			EXPECT_ERRNO(w, err, want, EACCES);
		} else if (slot >= SLOT_PRIVATE) {
			/* Our own region on our own file: must map. */
			fail(w, "mmap own region %llu +%#" PRIx64 " len %#" PRIx64 " prot %d flags %#x: %s",
			     (unsigned long long)r->id, off - r->offset, len,
			     prot, flags, strerror(err));
		} else if (err == EINVAL) {
			/* Destroyed meanwhile by someone sharing the file. */
			r->used = false;
		} else {
			EXPECT_ERRNO(w, err, EINVAL);
		}
		return;
	}
	if (want > 0) {
		fail(w, "mmap should have failed with %d: off %#" PRIx64 " len %#" PRIx64 " flags %#x slot %d",
		     want, off, len, flags, slot);
		munmap(p, len);
		return;
	}
	if ((uintptr_t)p % HS_2M)
		fail(w, "region mapped at %p, not 2 MiB aligned", p);
	atomic_fetch_add(&sh->op_ok[OP_MMAP_REGION], 1);
	map_track(w, p, len, prot, false, -1, w->ro[slot]);
}

/* Anything at all: random offsets, lengths, flags, on any file. */
static void op_mmap_random(struct worker *w)
{
	static const uint64_t lens[] = {
		0, 4096, 65536, HS_2M, 2 * HS_2M, 4 * HS_2M, 65536 + 4096,
		1ULL << 40,
	};
	int slot = slot_pick(w), prot, flags;
	unsigned int max = atomic_load(&sh->max_id);
	uint64_t off, len;
	char *p;

	if (w->fds[slot] < 0 || free_map(w) < 0)
		return;
	switch (below(w, 4)) {
	case 0:
		off = rnd(w) & ~4095ULL;
		break;
	case 1:
		off = 4096 * below(w, 64);			/* stats area */
		break;
	default:
		off = (below(w, max + 3) << 40) + HS_2M * below(w, 5) +
		      (chance(w, 1, 5) ? 4096 : 0);
	}
	len = chance(w, 1, 8) ? rnd(w) & 0xffffffff : lens[below(w, 8)];
	prot = prot_pick(w, w->ro[slot]);
	flags = chance(w, 1, 4) ? MAP_PRIVATE : shared_flags_pick(w);
	if (chance(w, 1, 10))
		flags |= MAP_32BIT;
	if (chance(w, 1, 20))
		flags |= MAP_HUGETLB;
	note_op(w, OP_MMAP_RANDOM, slot, off, len);
	p = mmap(NULL, len, prot, flags, w->fds[slot], off);
	if (p == MAP_FAILED) {
		EXPECT_ERRNO(w, errno, EINVAL, EACCES, ENOMEM, EOVERFLOW,
			     EOPNOTSUPP);
		return;
	}
	atomic_fetch_add(&sh->op_ok[OP_MMAP_RANDOM], 1);
	if ((flags & MAP_TYPE) == MAP_PRIVATE)
		fail(w, "MAP_PRIVATE mapping of off %#" PRIx64 " len %#" PRIx64 " succeeded",
		     off, len);
	if (off == HUGESLAB_STATS_OFFSET && len == HUGESLAB_STATS_BYTES) {
		map_track(w, p, len, prot, true, -1, w->ro[slot]);
	} else if ((off >> 40) && len && !(len % HS_2M) &&
		   maps_held(w) + len <= MAP_BUDGET && len <= 8 * HS_MIB) {
		map_track(w, p, len, prot, false, -1, w->ro[slot]);
	} else {
		if (!(off >> 40) || len % HS_2M || !len)
			fail(w, "mmap off %#" PRIx64 " len %#" PRIx64 " succeeded",
			     off, len);
		if (munmap(p, (len + 4095) & ~4095ULL))
			fail(w, "munmap: %s", strerror(errno));
	}
}

/* MAP_FIXED (and friends) into the thread's window. */
static void op_mmap_fixed(struct worker *w)
{
	int i = region_pick(w), slot, s, prot, flags = MAP_SHARED | MAP_FIXED;
	bool stats = i < 0 || chance(w, 1, 5), want_ok = true;
	uint64_t off, len;
	char *addr, *p;

	if (free_map(w) < 0)
		return;
	if (stats) {
		slot = slot_pick(w);
		off = HUGESLAB_STATS_OFFSET;
		len = HUGESLAB_STATS_BYTES;
	} else {
		struct region *r = &w->regs[i];

		slot = r->slot;
		off = r->offset;
		len = r->bytes;
		if (maps_held(w) + len > MAP_BUDGET)
			return;
	}
	if (w->fds[slot] < 0)
		return;
	s = window_find(w, (len + HS_2M - 1) / HS_2M);
	if (s < 0)
		return;
	addr = w->window + s * HS_2M;
	prot = prot_pick(w, w->ro[slot]);
	switch (below(w, 8)) {
	case 0:
		flags = MAP_SHARED | MAP_FIXED_NOREPLACE;	/* occupied */
		want_ok = false;
		break;
	case 1:
		flags = MAP_PRIVATE | MAP_FIXED;
		want_ok = false;
		break;
	case 2:
		if (!stats) {
			addr += 4096;				/* misaligned */
			want_ok = false;
		}
		break;
	}
	if (w->ro[slot] && (prot & PROT_WRITE))
		want_ok = false;
	note_op(w, OP_MMAP_FIXED, slot, off, (uint64_t)(uintptr_t)addr);
	p = mmap(addr, len, prot, flags, w->fds[slot], off);
	if (p == MAP_FAILED) {
		int err = errno;

		/* A failed MAP_FIXED may have unmapped the range. */
		window_refill(w, w->window + s * HS_2M,
			      (len + HS_2M - 1) & ~(HS_2M - 1));
		if (!want_ok)
			EXPECT_ERRNO(w, err, EINVAL, EEXIST, EACCES);
		else if (stats)
			EXPECT_ERRNO(w, err, ENOMEM);	/* injected */
		else if (slot >= SLOT_PRIVATE)
			fail(w, "MAP_FIXED of own region at %p: %s", addr,
			     strerror(err));
		else if (err == EINVAL)
			w->regs[i].used = false;	/* destroyed by another */
		else
			EXPECT_ERRNO(w, err, EINVAL);
		return;
	}
	if (!want_ok || p != addr)
		fail(w, "MAP_FIXED flags %#x at %p gave %p", flags, addr, p);
	atomic_fetch_add(&sh->op_ok[OP_MMAP_FIXED], 1);
	map_track(w, p, len, prot, stats, s, w->ro[slot]);
}

static void op_munmap(struct worker *w)
{
	int i = map_pick(w, chance(w, 1, 5)), k;
	struct mapping *m;
	uint64_t pages;
	char *a;

	if (i < 0)
		return;
	m = &w->maps[i];
	note_op(w, OP_MUNMAP, (uintptr_t)m->addr, m->len, m->present);
	if (m->stats ||
	    chance(w, 1, m->present == full_mask(m->len) ? 2 : 4)) {
		map_release(w, m);
		atomic_fetch_add(&sh->op_ok[OP_MUNMAP], 1);
		return;
	}
	pages = m->len / HS_2M;
	k = below(w, pages);
	if (!(m->present & (1U << k)))
		return;
	a = m->addr + k * HS_2M;
	if (chance(w, 1, 3)) {
		/* Inside a huge page: cannot split it. */
		uint64_t in = 4096 * (1 + below(w, 510));

		if (!munmap(a + in, 4096 * (1 + below(w, 511 - in / 4096))))
			fail(w, "munmap inside huge page %p+%#" PRIx64
			     " succeeded", a, in);
		else
			EXPECT_ERRNO(w, errno, EINVAL);
		return;
	}
	if (m->window)
		window_refill(w, a, HS_2M);
	else if (munmap(a, HS_2M))
		fail(w, "munmap page %d of %p: %s", k, m->addr,
		     strerror(errno));
	m->present &= ~(1U << k);
	m->dofork &= ~(1U << k);
	atomic_fetch_add(&sh->op_ok[OP_MUNMAP], 1);
	if (!m->present)
		map_drop(w, m);
}

/*
 * Write a word at this thread's spot in each present page and read it
 * back: the spot is the thread's own, so another thread mapping the same
 * region cannot make the check fail.
 */
static void op_touch(struct worker *w)
{
	int i = map_pick(w, false), k;
	struct mapping *m;
	uint64_t pages, val;

	if (i < 0)
		return;
	m = &w->maps[i];
	note_op(w, OP_TOUCH, (uintptr_t)m->addr, m->len, m->prot);
	pages = m->len / HS_2M;
	for (k = 0; k < (int)pages; k++) {
		volatile uint64_t *word;

		if (!(m->present & (1U << k)))
			continue;
		word = (volatile uint64_t *)(m->addr + k * HS_2M +
					     w->idx * 8192 + 8 * below(w, 1024));
		if ((m->prot & (PROT_READ | PROT_WRITE)) ==
		    (PROT_READ | PROT_WRITE)) {
			val = rnd(w);
			*word = val;
			if (*word != val)
				fail(w, "read back %p: wrote %#" PRIx64
				     ", read %#" PRIx64, word, val,
				     (uint64_t)*word);
		} else if (m->prot & PROT_READ) {
			val = *word;
			(void)val;
		}
	}
	atomic_fetch_add(&sh->op_ok[OP_TOUCH], 1);
}

static void op_mprotect(struct worker *w)
{
	int i = map_pick(w, chance(w, 1, 4)), prot, k;
	struct mapping *m;

	if (i < 0)
		return;
	m = &w->maps[i];
	prot = prot_pick(w, false);
	/* Whole mapping when all there, else one page. */
	if (m->present == (m->stats ? 1U : full_mask(m->len))) {
		note_op(w, OP_MPROTECT, (uintptr_t)m->addr, m->len, prot);
		if (mprotect(m->addr, m->len, prot)) {
			/* A mapping of a read-only file cannot be made writable. */
			if ((prot & PROT_WRITE) && m->ro_file)
				EXPECT_ERRNO(w, errno, EACCES);
			else
				fail(w, "mprotect %p %d: %s", m->addr, prot,
				     strerror(errno));
			return;
		}
		if ((prot & PROT_WRITE) && m->ro_file)
			fail(w, "mprotect made a read-only file's mapping writable");
		m->prot = prot;
		atomic_fetch_add(&sh->op_ok[OP_MPROTECT], 1);
		return;
	}
	for (k = 0; !(m->present & (1U << k)); k++)
		;
	note_op(w, OP_MPROTECT, (uintptr_t)m->addr + k * HS_2M, HS_2M, prot);
	/*
	 * Misaligned inside a huge page: cannot split it - unless nothing
	 * changes, which needs no split.
	 */
	if (!mprotect(m->addr + k * HS_2M + 4096, 4096, prot)) {
		if (prot != m->prot)
			fail(w, "mprotect %d inside a huge page (was %d) succeeded",
			     prot, m->prot);
	} else {
		EXPECT_ERRNO(w, errno, EINVAL, EACCES);
	}
}

static void op_madvise(struct worker *w)
{
	/*
	 * Not MADV_REMOVE: it punches the region's file, giving its pages
	 * back under the module's feet (a fault then allocates anew and may
	 * SIGBUS when the pool is empty). Not HWPOISON/SOFT_OFFLINE.
	 */
	static const int advice[] = {
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
		MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_DONTDUMP,
		MADV_DODUMP, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_COLD,
		MADV_PAGEOUT, MADV_FREE, MADV_WIPEONFORK, MADV_KEEPONFORK,
		MADV_POPULATE_WRITE, 22 /* MADV_POPULATE_READ */,
	};
	int i = map_pick(w, chance(w, 1, 5)), k, adv, err = 0;
	struct mapping *m;
	uint64_t len;
	char *a;

	if (i < 0)
		return;
	m = &w->maps[i];
	adv = advice[below(w, sizeof(advice) / sizeof(advice[0]))];
	if (m->stats) {
		/*
		 * The stats area is mapped once by remap_vmalloc_range()
		 * and has no fault handler: once its PTEs are zapped the
		 * next access SIGBUSes. A limitation of the module (it is
		 * documented nowhere yet), not what this test is after:
		 * skip the advice that zaps.
		 */
		if (adv == MADV_DONTNEED || adv == MADV_FREE ||
		    adv == MADV_PAGEOUT)
			return;
		a = m->addr;
		len = m->len;
		k = 0;
	} else {
		for (k = below(w, m->len / HS_2M); !(m->present & (1U << k));
		     k = (k + 1) % (m->len / HS_2M))
			;
		a = m->addr + k * HS_2M;
		len = HS_2M;
	}
	note_op(w, OP_MADVISE, (uintptr_t)a, len, adv);
	if (madvise(a, len, adv)) {
		err = errno;
		EXPECT_ERRNO(w, err, EINVAL, EPERM, EFAULT, ENOMEM, EAGAIN,
			     EBUSY);
		return;
	}
	atomic_fetch_add(&sh->op_ok[OP_MADVISE], 1);
	if (adv == MADV_DOFORK)
		m->dofork |= 1U << k;
	else if (adv == MADV_DONTFORK)
		m->dofork &= ~(1U << k);
}

/* Shrink in place, move into the window, or try what is not allowed. */
static void op_mremap(struct worker *w)
{
	int i = map_pick(w, false), s;
	struct mapping *m;
	uint64_t pages;
	char *p;

	if (i < 0)
		return;
	m = &w->maps[i];
	pages = m->len / HS_2M;
	if (m->present != full_mask(m->len))
		return;
	note_op(w, OP_MREMAP, (uintptr_t)m->addr, m->len, pages);
	switch (below(w, 4)) {
	case 0:
		if (pages < 2)
			return;
		p = mremap(m->addr, m->len, (pages - 1) * HS_2M, 0);
		if (p != m->addr) {
			fail(w, "mremap shrink %p: %s", m->addr,
			     strerror(errno));
			return;
		}
		/* The tail went back: to the window, or the address space. */
		if (m->window)
			window_refill(w, m->addr + (pages - 1) * HS_2M, HS_2M);
		if (m->window)
			w->window_used &= ~slot_mask(m->slot0 + pages - 1,
						     HS_2M);
		m->len -= HS_2M;
		m->present = full_mask(m->len);
		m->dofork &= m->present;
		break;
	case 1:
		s = window_find(w, pages);
		if (s < 0 || m->window)
			return;
		p = mremap(m->addr, m->len, m->len,
			   MREMAP_MAYMOVE | MREMAP_FIXED,
			   w->window + s * HS_2M);
		if (p == MAP_FAILED) {
			/*
			 * EFAULT: madvise on single pages split the mapping
			 * into several VMAs, and mremap moves only one.
			 */
			EXPECT_ERRNO(w, errno, EFAULT);
			window_refill(w, w->window + s * HS_2M, m->len);
			return;
		}
		m->addr = p;
		m->window = true;
		m->slot0 = s;
		w->window_used |= slot_mask(s, m->len);
		break;
	case 2:
		/* Growing a hugetlb mapping is not allowed. */
		p = mremap(m->addr, m->len, m->len + HS_2M, MREMAP_MAYMOVE);
		if (p != MAP_FAILED) {
			fail(w, "mremap grow %p succeeded", m->addr);
			munmap(p, m->len + HS_2M);
			map_drop(w, m);
			return;
		}
		EXPECT_ERRNO(w, errno, EINVAL, EFAULT, ENOMEM);
		return;
	default:
		p = mremap(m->addr + 4096, 4096, 8192, MREMAP_MAYMOVE);
		if (p != MAP_FAILED) {
			fail(w, "mremap inside huge page %p succeeded",
			     m->addr);
			return;
		}
		EXPECT_ERRNO(w, errno, EINVAL, EFAULT);
		return;
	}
	atomic_fetch_add(&sh->op_ok[OP_MREMAP], 1);
}

static void op_stats_map(struct worker *w)
{
	int slot = slot_pick(w), fd = w->fds[slot], prot, flags = MAP_SHARED;
	uint64_t len = HUGESLAB_STATS_BYTES, off = HUGESLAB_STATS_OFFSET;
	bool want_ok = true;
	char *p;

	if (fd < 0 || free_map(w) < 0)
		return;
	prot = w->ro[slot] ? PROT_READ : PROT_READ | PROT_WRITE;
	switch (below(w, 8)) {
	case 0:
		len = 4096 * (1 + below(w, 32));
		want_ok = len == HUGESLAB_STATS_BYTES;
		break;
	case 1:
		off = 4096 * (1 + below(w, 15));
		want_ok = false;
		break;
	case 2:
		flags = MAP_PRIVATE;
		want_ok = false;
		break;
	}
	note_op(w, OP_STATS_MAP, slot, off, len);
	p = mmap(NULL, len, prot, flags, fd, off);
	if (p == MAP_FAILED) {
		if (want_ok)
			EXPECT_ERRNO(w, errno, ENOMEM);	/* injected */
		else
			EXPECT_ERRNO(w, errno, EINVAL);
		return;
	}
	if (!want_ok) {
		fail(w, "stats mmap off %#" PRIx64 " len %#" PRIx64
		     " flags %#x succeeded", off, len, flags);
		munmap(p, len);
		return;
	}
	atomic_fetch_add(&sh->op_ok[OP_STATS_MAP], 1);
	map_track(w, p, len, prot, true, -1, w->ro[slot]);
}

/* Garbage in a stats area: the kernel must trust none of it. */
static void op_stats_scribble(struct worker *w)
{
	int i = map_pick(w, true), n;
	struct hugeslab_pool_stat *s;
	struct mapping *m;

	if (i < 0)
		return;
	m = &w->maps[i];
	note_op(w, OP_STATS_SCRIBBLE, (uintptr_t)m->addr, m->prot, 0);
	if ((m->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
		return;
	for (n = 1 + below(w, 8); n; n--) {
		s = (struct hugeslab_pool_stat *)m->addr +
		    below(w, HUGESLAB_STATS_SLOTS);
		switch (below(w, 4)) {
		case 0:
			fill_random(w, s, sizeof(*s));
			break;
		case 1:
			/* Live, with a name that never ends. */
			fill_random(w, s, sizeof(*s));
			s->flags |= HUGESLAB_POOL_LIVE;
			memset(s->name, 'x', sizeof(s->name));
			break;
		case 2:
			memset(s, 0, sizeof(*s));
			s->flags = HUGESLAB_POOL_LIVE;
			snprintf(s->name, sizeof(s->name), "fz\t%d \\n%c", w->idx,
				 (char)(0x80 | below(w, 128)));
			s->in_use = ~0ULL;
			s->total = 1;
			s->obj_size = ~0ULL;
			s->cache_hits = rnd(w);
			break;
		default:
			memset(s, 0, sizeof(*s));
		}
	}
	atomic_fetch_add(&sh->op_ok[OP_STATS_SCRIBBLE], 1);
}

/*
 * Close a private file (its regions go, unless another process has the
 * file too; mappings stay) and open a new one. Returns whether it opened.
 */
static bool reopen_slot(struct worker *w, int slot)
{
	int i, flags;

	if (w->fds[slot] >= 0 && close(w->fds[slot]))
		fail(w, "close: %s", strerror(errno));
	w->fds[slot] = -1;
	for (i = 0; i < MAX_REGIONS; i++)
		if (w->regs[i].slot == slot)
			w->regs[i].used = false;
	flags = chance(w, 1, 6) ? O_RDONLY : O_RDWR;
	if (chance(w, 1, 4))
		flags |= O_NONBLOCK;
	w->fds[slot] = open(HUGESLAB_DEVICE, flags | O_CLOEXEC);
	w->ro[slot] = (flags & O_ACCMODE) == O_RDONLY;
	if (w->fds[slot] < 0)
		EXPECT_ERRNO(w, errno, ENOMEM);		/* injected */
	return w->fds[slot] >= 0;
}

static void op_reopen(struct worker *w)
{
	int slot = SLOT_PRIVATE + below(w, NSLOTS - SLOT_PRIVATE);

	note_op(w, OP_REOPEN, slot, w->fds[slot], 0);
	if (reopen_slot(w, slot))
		atomic_fetch_add(&sh->op_ok[OP_REOPEN], 1);
}

/* Files to read while everything else goes on. */
static const char *const read_files[] = {
	HS_DEBUGFS "/stats", HS_DEBUGFS "/regions", HS_DEBUGFS "/pools",
	HS_DEBUGFS "/fail_nth", HS_DEBUGFS "/fail_sites",
	"/sys/class/misc/hugeslab/used_bytes",
	"/sys/class/misc/hugeslab/regions",
	"/sys/class/misc/hugeslab/free_bytes",
	"/sys/class/misc/hugeslab/failed_requests",
	"/proc/self/smaps", "/proc/self/numa_maps", "/proc/self/status",
	"/proc/meminfo", "/proc/self/maps",
};

#define NR_READ_FILES (sizeof(read_files) / sizeof(read_files[0]))

static int read_whole(const char *path)
{
	static __thread char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

static void op_read_file(struct worker *w)
{
	const char *path = read_files[below(w, NR_READ_FILES)];
	int err;

	note_op(w, OP_READ_FILE, 0, 0, 0);
	err = read_whole(path);
	if (err && err != -ENOENT)
		fail(w, "read %s: %s", path, strerror(-err));
	else
		atomic_fetch_add(&sh->op_ok[OP_READ_FILE], 1);
}

/* ---- children -------------------------------------------------------- */

/*
 * In the child of a thread of a threaded process: system calls only. It
 * touches what it inherited (the MADV_DOFORK pages), makes a region of
 * its own and goes, one way or another.
 */
static void __attribute__((noreturn)) fork_child(struct worker *w,
						 unsigned int how)
{
	struct hugeslab_create c;
	volatile char *p;
	int i, k, fd;

	for (i = 0; i < MAX_MAPS; i++) {
		struct mapping *m = &w->maps[i];

		if (!m->used || !m->dofork ||
		    (m->prot & (PROT_READ | PROT_WRITE)) !=
		    (PROT_READ | PROT_WRITE))
			continue;
		if (m->stats) {
			m->addr[4096] = 1;
			continue;
		}
		for (k = 0; k < 32; k++)
			if (m->dofork & m->present & (1U << k))
				m->addr[k * HS_2M + w->idx * 8192 + 4096] = 1;
	}
	fd = hs_open();
	if (fd < 0)
		_exit(errno == ENOMEM ? 0 : 1);
	if (hs_create(fd, HS_2M, &c))
		_exit(0);	/* the pool may be dry right now */
	p = hs_map(fd, &c);
	if (p == MAP_FAILED)
		_exit(2);
	p[0] = 1;
	switch (how % 4) {
	case 0:
		hs_destroy(fd, c.id);	/* destroyed, still mapped */
		break;
	case 1:
		close(fd);		/* closed, still mapped */
		break;
	case 2:
		kill(getpid(), SIGKILL);
		break;
	}
	_exit(0);
}

static void op_fork(struct worker *w)
{
	unsigned int how = below(w, 8);
	int status;
	char buf[64];
	pid_t pid;

	note_op(w, OP_FORK, how, 0, 0);
	pid = fork();
	if (pid < 0) {
		EXPECT_ERRNO(w, errno, EAGAIN, ENOMEM);
		return;
	}
	if (pid == 0)
		fork_child(w, how);
	atomic_fetch_add(&sh->fork_children, 1);
	if (how >= 6)
		kill(pid, SIGKILL);	/* anywhere in its life */
	status = hs_wait(pid);
	if (status < 0 ||
	    !((WIFEXITED(status) && !WEXITSTATUS(status)) ||
	      (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)))
		fail(w, "forked child (%u): %s", how,
		     hs_status_str(status, buf, sizeof(buf)));
	else
		atomic_fetch_add(&sh->op_ok[OP_FORK], 1);
}

static void op_arm_fault(struct worker *w)
{
	long long n = 1 + below(w, 40);

	note_op(w, OP_ARM_FAULT, n, 0, 0);
	if (hs_fail_arm(n))
		fail(w, "arm fail_nth: %s", strerror(errno));
	else
		atomic_fetch_add(&sh->op_ok[OP_ARM_FAULT], 1);
}

/* Take huge pages until the pool says no: the refusal must be clean. */
static void op_run_dry(struct worker *w)
{
	struct hugeslab_create c;
	int expected = 0, fd, err, n;

	if (!atomic_compare_exchange_strong(&sh->dry_busy, &expected, 1))
		return;
	note_op(w, OP_RUN_DRY, 0, 0, 0);
	fd = hs_open();
	if (fd < 0) {
		EXPECT_ERRNO(w, errno, ENOMEM);
		goto out;
	}
	for (n = 0; n < 256; n++) {
		err = hs_create(fd, 8 * HS_MIB, &c);
		if (err)
			break;
	}
	if (!err)
		fail(w, "the pool never ran dry");
	else
		EXPECT_ERRNO(w, -err, ENOMEM);
	atomic_fetch_add(&sh->dry_pages, n * 4);
	close(fd);
	atomic_fetch_add(&sh->op_ok[OP_RUN_DRY], 1);
out:
	atomic_store(&sh->dry_busy, 0);
}

/* ---- between the processes ------------------------------------------- */

/* Send one of this thread's files to another fuzzing process. */
static void op_pass_fd(struct worker *w)
{
	static const int from[] = { SLOT_PROCESS, SLOT_FOREIGN, SLOT_PRIVATE,
				    SLOT_PRIVATE + 1 };
	int slot = from[below(w, 4)], fd = w->fds[slot];
	int me = w->idx / THREADS, to = (me + 1 + below(w, PROCS - 1)) % PROCS;

	note_op(w, OP_PASS_FD, slot, to, 0);
	if (fd < 0)
		return;
	if (hs_send_fd(sh->pass_sock[to][1], fd, MSG_DONTWAIT)) {
		/* The receiver's queue is full, or too many files in flight. */
		EXPECT_ERRNO(w, errno, EAGAIN, ENOBUFS, ETOOMANYREFS);
		return;
	}
	/*
	 * A private file given away is private no more: the receiver's
	 * threads may destroy or map its regions. Hand it over, regions and
	 * all, and take a new one, so what this thread expects of its own
	 * files stays certain.
	 */
	if (slot >= SLOT_PRIVATE)
		reopen_slot(w, slot);
	atomic_fetch_add(&sh->op_ok[OP_PASS_FD], 1);
}

/*
 * Take a file another process sent, if one is there: it becomes this
 * thread's foreign file, the one before it is closed (its regions with it,
 * unless someone else still has the file).
 */
static void op_recv_fd(struct worker *w)
{
	int me = w->idx / THREADS, fd, i, fl;

	note_op(w, OP_RECV_FD, me, 0, 0);
	fd = hs_recv_fd(sh->pass_sock[me][0], MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (fd < 0 && errno == EBADMSG) {
		fail(w, "a message without its file");
		return;
	}
	if (fd < 0) {
		EXPECT_ERRNO(w, errno, EAGAIN);
		return;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0) {
		fail(w, "received file: %s", strerror(errno));
		return;
	}
	for (i = 0; i < MAX_REGIONS; i++)
		if (w->regs[i].slot == SLOT_FOREIGN)
			w->regs[i].used = false;
	if (w->fds[SLOT_FOREIGN] >= 0 && close(w->fds[SLOT_FOREIGN]))
		fail(w, "close: %s", strerror(errno));
	w->fds[SLOT_FOREIGN] = fd;
	w->ro[SLOT_FOREIGN] = (fl & O_ACCMODE) == O_RDONLY;
	atomic_fetch_add(&sh->op_ok[OP_RECV_FD], 1);
}

/*
 * Stop another fuzzing process and let it go on: its threads are wherever
 * they are (in a create, filling pages; holding a file's lock); a create
 * must come back from the stop whole, never with EINTR.
 */
static void op_stop_cont(struct worker *w)
{
	int me = w->idx / THREADS, to = (me + 1 + below(w, PROCS - 1)) % PROCS;
	pid_t pid = sh->pids[to];

	note_op(w, OP_STOP_CONT, to, pid, 0);
	if (pid <= 0)
		return;
	if (kill(pid, SIGSTOP)) {
		/* Done and reaped already. */
		EXPECT_ERRNO(w, errno, ESRCH);
		return;
	}
	sched_yield();
	if (kill(pid, SIGCONT) && errno != ESRCH)
		fail(w, "SIGCONT: %s", strerror(errno));
	atomic_fetch_add(&sh->op_ok[OP_STOP_CONT], 1);
}

/* ---- a thread -------------------------------------------------------- */

static enum op op_pick(struct worker *w)
{
	static unsigned int total;
	unsigned int r, i;

	if (!total)
		for (i = 0; i < OP_NR; i++)
			total += op_weight[i];
	r = below(w, total);

	for (i = 0; i < OP_NR; i++) {
		if (r < op_weight[i])
			return i;
		r -= op_weight[i];
	}
	return OP_TOUCH;
}

static void (*const op_fn[OP_NR])(struct worker *) = {
	[OP_QUERY] = op_query,
	[OP_IOCTL_RANDOM] = op_ioctl_random,
	[OP_CREATE] = op_create,
	[OP_DESTROY] = op_destroy,
	[OP_DESTROY_RANDOM] = op_destroy_random,
	[OP_MMAP_REGION] = op_mmap_region,
	[OP_MMAP_RANDOM] = op_mmap_random,
	[OP_MMAP_FIXED] = op_mmap_fixed,
	[OP_MUNMAP] = op_munmap,
	[OP_TOUCH] = op_touch,
	[OP_MPROTECT] = op_mprotect,
	[OP_MADVISE] = op_madvise,
	[OP_MREMAP] = op_mremap,
	[OP_STATS_MAP] = op_stats_map,
	[OP_STATS_SCRIBBLE] = op_stats_scribble,
	[OP_REOPEN] = op_reopen,
	[OP_READ_FILE] = op_read_file,
	[OP_FORK] = op_fork,
	[OP_ARM_FAULT] = op_arm_fault,
	[OP_RUN_DRY] = op_run_dry,
	[OP_PASS_FD] = op_pass_fd,
	[OP_RECV_FD] = op_recv_fd,
	[OP_STOP_CONT] = op_stop_cont,
};

static int worker_setup(struct worker *w, int process_fd)
{
	struct hugeslab_create *c;
	int i;

	w->fds[SLOT_GLOBAL] = sh->global_fd;
	w->fds[SLOT_PROCESS] = process_fd;
	w->fds[SLOT_FOREIGN] = -1;	/* until another process sends one */
	for (i = SLOT_PRIVATE; i < NSLOTS; i++)
		w->fds[i] = hs_open();
	w->window = mmap((void *)(WINDOW_BASE + w->idx * WINDOW_STRIDE),
			 WINDOW_BYTES, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			 MAP_FIXED_NOREPLACE, -1, 0);
	w->buf = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w->ro_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->window == MAP_FAILED || w->buf == MAP_FAILED ||
	    w->ro_page == MAP_FAILED)
		return -1;
	/*
	 * A valid create the kernel can read but not answer into: the
	 * region is made and must be destroyed again (EFAULT).
	 */
	c = (struct hugeslab_create *)w->ro_page;
	c->bytes = HS_2M;
	c->node = HUGESLAB_NODE_ANY;
	if (mprotect(w->ro_page, 4096, PROT_READ))
		return -1;
	/*
	 * The page after buf faults. PROT_NONE rather than a hole: another
	 * thread's small mapping could land in a hole.
	 */
	return mprotect(w->buf + 2 * 4096, 4096, PROT_NONE);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	self_worker = w;
	for (w->n = 0; w->n < sh->ops_per_worker; w->n++) {
		enum op op = op_pick(w);

		/* The time budget: stop short (and the test will say so). */
		if (sh->deadline_ms && !(w->n % 64) &&
		    hs_now_ms() > sh->deadline_ms)
			break;

		sh->last[w->idx].op = op;
		op_fn[op](w);
		atomic_fetch_add(&sh->op_count[op], 1);
		atomic_fetch_add(&sh->ops[w->idx], 1);
	}
	/* Half the threads clean up, the others leave it to exit. */
	if (w->idx % 2) {
		for (i = 0; i < MAX_MAPS; i++)
			if (w->maps[i].used)
				map_release(w, &w->maps[i]);
		for (i = 0; i < MAX_REGIONS; i++)
			if (w->regs[i].used && !hs_destroy(w->fds[w->regs[i].slot],
							   w->regs[i].id))
				w->regs[i].used = false;
		for (i = SLOT_FOREIGN; i < NSLOTS; i++)
			if (w->fds[i] >= 0)
				close(w->fds[i]);
	}
	self_worker = NULL;
	return NULL;
}

static void *reader_main(void *arg)
{
	unsigned int i = 0;

	(void)arg;
	while (!atomic_load(&sh->stop_readers)) {
		read_whole(read_files[i++ % NR_READ_FILES]);
		if (!(i % NR_READ_FILES)) {
			atomic_fetch_add(&sh->reader_rounds, 1);
			usleep(1000);
		}
	}
	return NULL;
}

/* One fuzzing process: THREADS workers and a reader. */
static int fuzz_process(int p)
{
	struct worker workers[THREADS];
	pthread_t tids[THREADS], reader;
	struct sigaction sa = { .sa_handler = crash_handler };
	int i, process_fd;

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	process_fd = hs_open();
	if (process_fd < 0)
		return 10;
	memset(workers, 0, sizeof(workers));
	for (i = 0; i < THREADS; i++) {
		workers[i].idx = p * THREADS + i;
		workers[i].rng = sh->seed ^
			(0x9e3779b97f4a7c15ULL * (workers[i].idx + 1));
		if (worker_setup(&workers[i], process_fd))
			return 11;
	}
	if (pthread_create(&reader, NULL, reader_main, NULL))
		return 12;
	for (i = 0; i < THREADS; i++)
		if (pthread_create(&tids[i], NULL, worker_main, &workers[i]))
			return 13;
	for (i = 0; i < THREADS; i++)
		pthread_join(tids[i], NULL);
	/* No more stops for this process: its pid may go to another. */
	sh->pids[p] = 0;
	atomic_store(&sh->stop_readers, 1);
	pthread_join(reader, NULL);
	return 0;
}

/* ---- the test -------------------------------------------------------- */

FIXTURE(fuzz) {
	struct hs_snap base;
	long long created, destroyed;
};

FIXTURE_SETUP(fuzz)
{
	int fd = hs_open();

	if (fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: is hugeslab.ko loaded?",
		     HUGESLAB_DEVICE);
	ASSERT_LE(0, fd);
	close(fd);
	if (hs_snap(&self->base))
		SKIP(return, "%s/stats unreadable: debugfs not mounted?",
		     HS_DEBUGFS);
	ASSERT_EQ(0, hs_wait_idle(&self->base))
		TH_LOG("regions left by someone else: %lld bytes in %lld",
		       self->base.used_bytes, self->base.regions);
	ASSERT_EQ(0, hs_param("max_mb"));
	ASSERT_EQ(0, hs_param("user_max_mb"));
	ASSERT_EQ(0, hs_fail_nth());
	self->created = hs_stat("created");
	self->destroyed = hs_stat("destroyed");
}

FIXTURE_TEARDOWN_PARENT(fuzz)
{
	EXPECT_EQ(0, hs_fail_arm(0));
	HS_EXPECT_BASELINE(&self->base);
}

/* Lines of debugfs "pools" or "regions" naming one of @pids. */
static int dbg_lines_of(const char *file, const pid_t *pids, int n)
{
	static char buf[1 << 18];
	bool pools = !strcmp(file, HS_DEBUGFS "/pools");
	char *line, *save = NULL;
	int hits = 0, i;

	if (hs_read_file(file, buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		long id, pid;

		/* pools: "pid name ...", regions: "id pid ..." */
		if (line[0] == '#' || !strncmp(line, "hugeslab ", 9))
			continue;
		if (pools ? sscanf(line, "%ld", &pid) != 1 :
		    sscanf(line, "%ld %ld", &id, &pid) != 2)
			continue;
		for (i = 0; i < n; i++)
			hits += pid == pids[i];
	}
	return hits;
}

/* Bounded by HS_FUZZ_SECONDS, or by run_tests.sh's timeout. */
TEST_F_TIMEOUT(fuzz, random_operations, 24 * 3600)
{
	unsigned long total = 0, ops = DEFAULT_OPS;
	pid_t pids[PROCS + 1];
	struct hugeslab_query q;
	struct hs_snap now = { 0 };
	long long t0, ms, created, destroyed;
	const char *env = getenv("HS_FUZZ_OPS");
	const char *budget = getenv("HS_FUZZ_SECONDS");
	bool from_env;
	int i, status, crashed;
	char buf[64];

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	sh->seed = hs_seed_from_env("HS_FUZZ_SEED", &from_env);
	if (env && *env)
		ops = strtoul(env, NULL, 0);
	sh->ops_per_worker = (ops + WORKERS - 1) / WORKERS;
	ksft_print_msg("seed %" PRIu64 " (%s); replay with HS_FUZZ_SEED=%" PRIu64
		       "\n", sh->seed,
		       from_env ? "from HS_FUZZ_SEED" : "from the clock",
		       sh->seed);
	ksft_print_msg("%d processes x %d threads x %lu operations%s%s%s\n",
		       PROCS, THREADS, sh->ops_per_worker,
		       budget ? ", within " : "", budget ? budget : "",
		       budget ? " s" : "");
	for (i = 0; i < PROCS; i++) {
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0,
					sh->pass_sock[i]));
	}

	sh->global_fd = hs_open();
	ASSERT_LE(0, sh->global_fd);
	ASSERT_EQ(0, hs_query(sh->global_fd, &q));
	sh->page_sizes = q.page_sizes;
	sh->nr_nodes = q.nr_nodes;
	sh->max_id = 1;
	prctl(PR_SET_NAME, "hs-fuzz");

	t0 = hs_now_ms();
	if (budget && *budget)
		sh->deadline_ms = t0 + 1000 * strtoll(budget, NULL, 0);
	for (i = 0; i < PROCS; i++) {
		fflush(NULL);
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0)
			_exit(fuzz_process(i));
		sh->pids[i] = pids[i];
	}
	pids[PROCS] = getpid();
	for (i = 0; i < PROCS; i++) {
		status = hs_wait(pids[i]);
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("fuzzing process %d: %s", i,
			       hs_status_str(status, buf, sizeof(buf)));
	}
	ms = hs_now_ms() - t0;

	crashed = atomic_load(&sh->crashed_worker);
	if (crashed) {
		struct last_op *l = &sh->last[crashed - 1];

		TH_LOG("worker %d died of signal %d in op %lu (%s %#" PRIx64
		       " %#" PRIx64 " %#" PRIx64 ")", crashed - 1,
		       atomic_load(&sh->crash_signal), l->n, op_name[l->op],
		       l->a, l->b, l->c);
	}
	for (i = 0; i < WORKERS; i++)
		total += atomic_load(&sh->ops[i]);
	ksft_print_msg("%lu operations in %lld ms; forked children %lu, reader rounds %lu, pages taken by run-dry %lu\n",
		       total, ms, atomic_load(&sh->fork_children),
		       atomic_load(&sh->reader_rounds),
		       atomic_load(&sh->dry_pages));
	for (i = 0; i < OP_NR; i++)
		ksft_print_msg("  %-15s %7lu done, %7lu succeeded\n",
			       op_name[i], atomic_load(&sh->op_count[i]),
			       atomic_load(&sh->op_ok[i]));
	for (i = 0; i < (int)atomic_load(&sh->nmsgs); i++)
		TH_LOG("%s", sh->msgs[i]);
	EXPECT_EQ(0, atomic_load(&sh->failures));
	EXPECT_EQ(0, crashed);
	EXPECT_LE(ops, total) TH_LOG("%lu of %lu operations within the time budget",
				     total, ops);
	/* Files still in flight between the processes go with the sockets. */
	for (i = 0; i < PROCS; i++) {
		close(sh->pass_sock[i][0]);
		close(sh->pass_sock[i][1]);
	}

	/* Everything is gone: nothing of the fuzzers is left anywhere. */
	ASSERT_EQ(0, hs_fail_arm(0));
	close(sh->global_fd);
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS))
		TH_LOG("used %lld/%lld regions %lld/%lld free %lld/%lld rsvd %lld/%lld",
		       now.used_bytes, self->base.used_bytes, now.regions,
		       self->base.regions, now.hp_free, self->base.hp_free,
		       now.hp_rsvd, self->base.hp_rsvd);
	created = hs_stat("created") - self->created;
	destroyed = hs_stat("destroyed") - self->destroyed;
	ksft_print_msg("regions created %lld, destroyed %lld, refused %lld (limit %lld, no memory %lld)\n",
		       created, destroyed, now.failed - self->base.failed,
		       hs_stat("failed_limit"), hs_stat("failed_nomem"));
	EXPECT_EQ(created, destroyed);
	EXPECT_EQ(0, hs_dbg_count_comm("hs-fuzz"));
	EXPECT_EQ(0, dbg_lines_of(HS_DEBUGFS "/pools", pids, PROCS + 1));
	EXPECT_EQ(0, dbg_lines_of(HS_DEBUGFS "/regions", pids, PROCS + 1));
}

TEST_HARNESS_MAIN
