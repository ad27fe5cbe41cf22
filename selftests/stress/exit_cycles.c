// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: 10,000 short-lived processes, a few at a time. Each opens
 * /dev/hugeslab, creates a 2 MiB region, maps it, touches it and ends
 * without cleaning anything up, in one of four ways (in turn): _exit()
 * with the region live and mapped; _exit() with the region destroyed but
 * still mapped; SIGKILL to itself after touching; or SIGKILL from the
 * parent a random number of its own events (forks, reaped children) after
 * the fork, which lands anywhere from before the open to inside the create
 * or after the exit. Every child must end the way
 * its kind says (a failed step exits with its number), and afterwards the
 * module's totals, its created/destroyed counters and the hugetlb pool's
 * free and reserved pages are back where they were.
 *
 * The kill points come from a seeded PRNG: HS_FUZZ_SEED=<n> replays them.
 *
 * On a debug kernel (lockdep or kmemleak, as tools/vm/debug-kernel builds)
 * a cycle costs ~50 ms under TCG instead of ~3, and 10,000 would not fit
 * the group's per-binary timeout: there it runs 2,000 and says so.
 * HS_CYCLES=<n> sets the number explicitly.
 */
#include <sys/prctl.h>

#include "kselftest_harness.h"
#include "hs_stress.h"

#define CYCLES		10000
#define CYCLES_DEBUG	2000
/* Enough to keep both vCPUs of the test VM busy, so none idles. */
#define PARALLEL	16
/*
 * The parent kills a KIND_PARENT_KILL child after 0..KILL_LATEST_EVENTS
 * of its own events (a fork, a reaped child) have passed: no sleeping, and
 * the kill lands anywhere in the child's short life.
 */
#define KILL_LATEST_EVENTS	4

enum kind {
	KIND_EXIT,		/* _exit(), region live and mapped */
	KIND_DESTROYED,		/* _exit(), region destroyed but mapped */
	KIND_SELF_KILL,		/* SIGKILL to itself, region live and mapped */
	KIND_PARENT_KILL,	/* SIGKILL from the parent, at any point */
	KIND_NR,
};

static const char *const kind_name[KIND_NR] = {
	"exit", "destroyed+exit", "self-SIGKILL", "parent-SIGKILL",
};

/* Lockdep or kmemleak: everything the kernel does costs many times more. */
static bool debug_kernel(void)
{
	return !access("/proc/lockdep", F_OK) ||
	       !access("/sys/kernel/debug/kmemleak", F_OK);
}

FIXTURE(cycles) {
	struct hs_snap base;
};

FIXTURE_SETUP(cycles)
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
}

FIXTURE_TEARDOWN_PARENT(cycles)
{
	HS_EXPECT_BASELINE(&self->base);
}

/* The child: as little as possible between fork and the end. */
static void __attribute__((noreturn)) cycle_child(enum kind kind)
{
	struct hugeslab_create c;
	volatile char *p;
	int fd;

	fd = hs_open();
	if (fd < 0)
		_exit(1);
	if (hs_create(fd, HS_2M, &c))
		_exit(2);
	p = hs_map(fd, &c);
	if (p == MAP_FAILED)
		_exit(3);
	p[0] = 1;
	p[HS_2M - 1] = 1;
	if (kind == KIND_DESTROYED && hs_destroy(fd, c.id))
		_exit(4);
	if (kind == KIND_SELF_KILL)
		kill(getpid(), SIGKILL);
	_exit(0);
}

static bool status_ok(enum kind kind, int status)
{
	bool exited = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;

	switch (kind) {
	case KIND_EXIT:
	case KIND_DESTROYED:
		return exited;
	case KIND_SELF_KILL:
		return killed;
	default:
		return exited || killed;
	}
}

struct slot {
	pid_t pid;		/* 0: free */
	enum kind kind;
	int kill_after;		/* events until the parent's kill; -1: none */
};

/* One event passed: kill the children whose turn it is. */
static void tick(struct slot *slots)
{
	int i;

	for (i = 0; i < PARALLEL; i++) {
		if (!slots[i].pid || slots[i].kill_after < 0)
			continue;
		if (slots[i].kill_after-- == 0)
			kill(slots[i].pid, SIGKILL);
	}
}

TEST_F_TIMEOUT(cycles, ten_thousand_processes, 600)
{
	unsigned int started = 0, done = 0, bad = 0, inflight = 0, i;
	unsigned int cycles = CYCLES;
	const char *env = getenv("HS_CYCLES");
	unsigned int ended[KIND_NR][2] = { { 0 } };	/* [kind][killed] */
	struct slot slots[PARALLEL] = { { 0 } };
	long long created0, destroyed0, t0, ms;
	struct hs_snap now;
	uint64_t seed, rng;
	bool from_env;
	char buf[64];

	seed = hs_seed_from_env("HS_FUZZ_SEED", &from_env);
	rng = seed;
	ksft_print_msg("seed %" PRIu64 " (%s); HS_FUZZ_SEED=%" PRIu64
		       " replays the parent's choice of kill points\n",
		       seed, from_env ? "from HS_FUZZ_SEED" : "from the clock",
		       seed);
	if (env && *env)
		cycles = strtoul(env, NULL, 0);
	else if (debug_kernel())
		cycles = CYCLES_DEBUG;
	if (cycles != CYCLES)
		ksft_print_msg("%u processes, not %u (%s)\n", cycles, CYCLES,
			       env && *env ? "HS_CYCLES" : "a debug kernel");
	created0 = hs_stat("created");
	destroyed0 = hs_stat("destroyed");
	ASSERT_LE(0, created0);
	ASSERT_LE(0, destroyed0);
	/* The children inherit the name, so a leftover shows in debugfs. */
	prctl(PR_SET_NAME, "hs-cycles");
	t0 = hs_now_ms();

	while (done < cycles) {
		int status;
		pid_t pid;

		while (started < cycles && inflight < PARALLEL) {
			enum kind kind = started % KIND_NR;

			for (i = 0; slots[i].pid; i++)
				;
			pid = fork();
			ASSERT_LE(0, pid) TH_LOG("fork: %s", strerror(errno));
			if (pid == 0)
				cycle_child(kind);
			tick(slots);
			slots[i].pid = pid;
			slots[i].kind = kind;
			slots[i].kill_after = -1;
			if (kind == KIND_PARENT_KILL) {
				slots[i].kill_after =
					hs_below(&rng, KILL_LATEST_EVENTS + 1);
				if (!slots[i].kill_after) {
					kill(pid, SIGKILL);
					slots[i].kill_after = -1;
				}
			}
			inflight++;
			started++;
		}

		pid = waitpid(-1, &status, 0);
		ASSERT_LT(0, pid) TH_LOG("waitpid: %s", strerror(errno));
		for (i = 0; i < PARALLEL && slots[i].pid != pid; i++)
			;
		ASSERT_GT(PARALLEL, i) TH_LOG("unknown child %d", pid);
		if (!status_ok(slots[i].kind, status) && bad++ < 10)
			TH_LOG("child %u (%s) ended with %s", done,
			       kind_name[slots[i].kind],
			       hs_status_str(status, buf, sizeof(buf)));
		ended[slots[i].kind][WIFSIGNALED(status)]++;
		slots[i].pid = 0;
		inflight--;
		done++;
		tick(slots);
	}
	ms = hs_now_ms() - t0;
	ksft_print_msg("%u processes, %u at a time, in %lld ms (%.2f ms each)\n",
		       done, PARALLEL, ms, (double)ms / done);
	for (i = 0; i < KIND_NR; i++)
		ksft_print_msg("  %-15s exited %u, killed %u\n", kind_name[i],
			       ended[i][0], ended[i][1]);
	EXPECT_EQ(0, bad);

	/* Everything comes back, and what was created was destroyed. */
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS))
		TH_LOG("used %lld/%lld regions %lld/%lld free %lld/%lld rsvd %lld/%lld",
		       now.used_bytes, self->base.used_bytes, now.regions,
		       self->base.regions, now.hp_free, self->base.hp_free,
		       now.hp_rsvd, self->base.hp_rsvd);
	{
		long long created = hs_stat("created") - created0;
		long long destroyed = hs_stat("destroyed") - destroyed0;
		/* Children that got past the create for sure. */
		long long least = ended[KIND_EXIT][0] +
				  ended[KIND_DESTROYED][0] +
				  ended[KIND_SELF_KILL][1] +
				  ended[KIND_PARENT_KILL][0];

		ksft_print_msg("regions created %lld, destroyed %lld\n",
			       created, destroyed);
		EXPECT_LE(least, created);
		EXPECT_EQ(created, destroyed);
	}
	/* And debugfs lists none of the children's regions. */
	EXPECT_EQ(0, hs_dbg_count_comm("hs-cycles"));
}

TEST_HARNESS_MAIN
