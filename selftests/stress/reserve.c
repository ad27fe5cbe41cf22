// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the reserve is a guarantee. Another process first takes
 * every huge page of the pool that nobody has reserved - with an anonymous
 * MAP_HUGETLB mapping populated by MADV_POPULATE_WRITE, or with a file on
 * a hugetlbfs mount of its own - or (contended) takes all but a few and
 * keeps grabbing pages one by one while the fill runs. Then several
 * processes at once fill the whole reserve (reserve_mb) with regions of
 * mixed sizes, map them and touch every huge page: no request inside the
 * reserve may fail and nothing may SIGBUS. With the reserve full and the
 * pool empty one more page fails with ENOMEM, counted in failed_nomem
 * (not failed_limit) and changing nothing else. When the fillers are gone
 * everything is back, the reserve whole again.
 */
#include <sys/mount.h>

#include "kselftest_harness.h"
#include "hs_stress.h"

#define FILLERS		4
/* Pages the contended variant leaves free for the nibbler to race for. */
#define CONTENDED_FREE	8
/* How long a child may take to report. */
#define REPORT_MS	60000

enum hog_kind {
	HOG_ANON,		/* MAP_HUGETLB + MADV_POPULATE_WRITE */
	HOG_FILE,		/* fallocate on a hugetlbfs file */
};

/* Filler status codes (first byte of its report; the second is errno). */
enum {
	FILL_OK,
	FILL_OPEN,
	FILL_CREATE,
	FILL_MAP,
	FILL_NOT_ZERO,
	FILL_CHANGED,
	FILL_GO,
};

FIXTURE(reserve) {
	struct hs_snap base;
	long long reserve_mb;
	char dir[64];		/* the hog's hugetlbfs mount, if any */
	/* Shared with the nibbler (the fixture is MAP_SHARED). */
	volatile int stop_nibbling;
	volatile long long nibbled;
};

FIXTURE_VARIANT(reserve) {
	enum hog_kind hog;
	bool contended;
};

FIXTURE_VARIANT_ADD(reserve, anon_hog) {
	.hog = HOG_ANON,
};

FIXTURE_VARIANT_ADD(reserve, hugetlbfs_hog) {
	.hog = HOG_FILE,
};

FIXTURE_VARIANT_ADD(reserve, contended) {
	.hog = HOG_ANON,
	.contended = true,
};

FIXTURE_SETUP(reserve)
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
	self->reserve_mb = hs_param("reserve_mb");
	ASSERT_LT(0, self->reserve_mb)
		TH_LOG("load the module with reserve_mb=N for this test");
	/* The fillers' share must be whole pages. */
	ASSERT_EQ(0, self->reserve_mb % (2 * FILLERS))
		TH_LOG("reserve_mb=%lld is not a multiple of %d MiB",
		       self->reserve_mb, 2 * FILLERS);
	ASSERT_EQ(0, hs_param("max_mb"));
	ASSERT_EQ(0, hs_param("user_max_mb"));
	ASSERT_EQ(0, hs_fail_nth());
}

FIXTURE_TEARDOWN_PARENT(reserve)
{
	/* If the hog died holding its mount, take it away. */
	if (self->dir[0]) {
		umount2(self->dir, MNT_DETACH);
		rmdir(self->dir);
	}
	HS_EXPECT_BASELINE(&self->base);
}

/* ---- the hog: empties the pool for everyone without a reservation ---- */

static void __attribute__((noreturn))
hog_child(enum hog_kind kind, long long pages, const char *dir, int rep,
	  int rel)
{
	char path[96];
	int fd = -1;

	if (kind == HOG_ANON) {
		if (pages && hs_hog(pages) == MAP_FAILED)
			_exit(hs_pipe_put(rep, 1));
	} else {
		if (mount("hs-hog", dir, "hugetlbfs", 0, "pagesize=2M"))
			_exit(hs_pipe_put(rep, 2));
		snprintf(path, sizeof(path), "%s/hog", dir);
		fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0)
			_exit(hs_pipe_put(rep, 3));
		if (pages && fallocate(fd, 0, 0, pages * HS_2M))
			_exit(hs_pipe_put(rep, 4));
	}
	hs_pipe_put(rep, 0);
	hs_pipe_get(rel);
	if (kind == HOG_FILE) {
		close(fd);
		unlink(path);
		umount2(dir, 0);
	}
	_exit(0);
}

/*
 * The nibbler: takes free huge pages one at a time, as fast as it can,
 * and keeps them, until told to stop; then sweeps up whatever is left.
 */
static void __attribute__((noreturn))
nibbler_child(FIXTURE_DATA(reserve) *self, int rep, int rel)
{
	int misses = 0;

	hs_pipe_put(rep, 0);
	while (!self->stop_nibbling || misses < 3) {
		if (hs_hog(1) == MAP_FAILED) {
			misses += !!self->stop_nibbling;
			continue;
		}
		misses = 0;
		self->nibbled++;
	}
	hs_pipe_put(rep, 0);
	hs_pipe_get(rel);
	_exit(0);
}

/* ---- the fillers --------------------------------------------------- */

struct filled {
	char *p;
	uint64_t bytes;
	uint64_t id;
};

static void report(int rep, int code, int err)
{
	unsigned char msg[2] = { code, err };

	if (write(rep, msg, 2) != 2)
		_exit(100);
}

/* Region sizes in turn, in MiB: a mix, all inside the filler's share. */
static const unsigned int fill_mb[] = { 4, 2, 8, 2, 6 };

static void __attribute__((noreturn))
filler_child(uint64_t bytes, int go, int rep, int rel)
{
	struct filled f[64];
	struct hugeslab_create c;
	uint64_t left = bytes, off;
	int fd, n = 0, i, err;

	fd = hs_open();
	if (fd < 0) {
		report(rep, FILL_OPEN, errno);
		_exit(1);
	}
	if (hs_pipe_get(go) < 0) {
		report(rep, FILL_GO, 0);
		_exit(1);
	}
	while (left) {
		uint64_t want = (uint64_t)fill_mb[n % 5] * HS_MIB;

		if (want > left)
			want = left;
		err = hs_create(fd, want, &c);
		if (err) {
			report(rep, FILL_CREATE, -err);
			_exit(1);
		}
		f[n].bytes = c.bytes;
		f[n].id = c.id;
		f[n].p = hs_map(fd, &c);
		if (f[n].p == MAP_FAILED) {
			report(rep, FILL_MAP, errno);
			_exit(1);
		}
		left -= want;
		n++;
	}
	/* Touch every huge page: zero when new, then ours. */
	for (i = 0; i < n; i++) {
		for (off = 0; off < f[i].bytes; off += HS_2M) {
			uint64_t *w = (uint64_t *)(f[i].p + off);
			uint64_t *end = (uint64_t *)(f[i].p + off + HS_2M) - 1;

			if (*w || *end) {
				report(rep, FILL_NOT_ZERO, 0);
				_exit(1);
			}
			*w = hs_word(f[i].id, off);
			*end = ~hs_word(f[i].id, off);
		}
	}
	report(rep, FILL_OK, 0);
	hs_pipe_get(rel);
	for (i = 0; i < n; i++) {
		for (off = 0; off < f[i].bytes; off += HS_2M) {
			uint64_t *w = (uint64_t *)(f[i].p + off);
			uint64_t *end = (uint64_t *)(f[i].p + off + HS_2M) - 1;

			if (*w != hs_word(f[i].id, off) ||
			    *end != ~hs_word(f[i].id, off))
				_exit(FILL_CHANGED);
		}
	}
	_exit(0);
}

static const char *const fill_step[] = {
	"ok", "open", "create", "mmap", "new memory not zero",
	"memory changed", "go signal",
};

TEST_F_TIMEOUT(reserve, fill_from_many_with_pool_empty, 120)
{
	long long reserve = self->reserve_mb << 20, pages, free_before;
	long long failed_nomem, failed_limit;
	int go[2], rep[2], rel[2], hrep[2], hrel[2], nrep[2], nrel[2];
	pid_t fillers[FILLERS], hog, nibbler = -1;
	struct hugeslab_create c;
	struct hs_snap full, now;
	int i, status, fd;
	char buf[64];

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(rep));
	ASSERT_EQ(0, pipe(rel));
	ASSERT_EQ(0, pipe(hrep));
	ASSERT_EQ(0, pipe(hrel));
	ASSERT_EQ(0, pipe(nrep));
	ASSERT_EQ(0, pipe(nrel));

	/* Nothing is left but what is reserved (for us, and anyone else). */
	pages = hs_unreserved_free();
	ASSERT_LE(0, pages);
	if (variant->contended)
		pages = pages > CONTENDED_FREE ? pages - CONTENDED_FREE : 0;
	if (variant->hog == HOG_FILE) {
		snprintf(self->dir, sizeof(self->dir), "/tmp/hs-hog-%d",
			 getpid());
		ASSERT_EQ(0, mkdir(self->dir, 0700));
	}
	fflush(NULL);
	hog = fork();
	ASSERT_LE(0, hog);
	if (hog == 0)
		hog_child(variant->hog, pages, self->dir, hrep[1], hrel[0]);
	close(hrep[1]);
	ASSERT_EQ(0, hs_pipe_get(hrep[0]))
		TH_LOG("the hog could not take %lld pages", pages);
	if (!variant->contended)
		ASSERT_EQ(0, hs_unreserved_free());
	ksft_print_msg("pool: %lld free, %lld reserved; the hog holds %lld pages\n",
		       hs_meminfo("HugePages_Free"),
		       hs_meminfo("HugePages_Rsvd"), pages);

	if (variant->contended) {
		nibbler = fork();
		ASSERT_LE(0, nibbler);
		if (nibbler == 0)
			nibbler_child(self, nrep[1], nrel[0]);
		close(nrep[1]);
		ASSERT_EQ(0, hs_pipe_get(nrep[0]));
	}

	for (i = 0; i < FILLERS; i++) {
		fillers[i] = fork();
		ASSERT_LE(0, fillers[i]);
		if (fillers[i] == 0)
			filler_child(reserve / FILLERS, go[0], rep[1], rel[0]);
	}
	close(rep[1]);
	/* All at once. */
	for (i = 0; i < FILLERS; i++)
		ASSERT_EQ(0, hs_pipe_put(go[1], 1));
	for (i = 0; i < FILLERS; i++) {
		unsigned char msg[2];

		ASSERT_EQ(0, hs_pipe_read(rep[0], msg, 2, REPORT_MS))
			TH_LOG("a filler did not report");
		EXPECT_EQ(FILL_OK, msg[0])
			TH_LOG("a filler failed at %s: %s", fill_step[msg[0] % 7],
			       strerror(msg[1]));
	}
	if (variant->contended) {
		self->stop_nibbling = 1;
		ASSERT_EQ(0, hs_pipe_get(nrep[0]));
		ksft_print_msg("the nibbler took %lld pages during the fill\n",
			       self->nibbled);
		EXPECT_GE(CONTENDED_FREE, self->nibbled);
	}

	/* The reserve is full, the pool empty: one page more is refused. */
	ASSERT_EQ(0, hs_snap(&full));
	EXPECT_EQ(self->base.used_bytes + reserve, full.used_bytes);
	EXPECT_EQ(0, hs_unreserved_free());
	failed_nomem = hs_stat("failed_nomem");
	failed_limit = hs_stat("failed_limit");
	free_before = hs_meminfo("HugePages_Free");
	fd = hs_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOMEM, hs_create(fd, HS_2M, &c));
	close(fd);
	EXPECT_EQ(failed_nomem + 1, hs_stat("failed_nomem"));
	EXPECT_EQ(failed_limit, hs_stat("failed_limit"));
	ASSERT_EQ(0, hs_snap(&now));
	EXPECT_EQ(full.used_bytes, now.used_bytes);
	EXPECT_EQ(full.regions, now.regions);
	EXPECT_EQ(full.failed + 1, now.failed);
	EXPECT_EQ(free_before, now.hp_free);
	EXPECT_EQ(full.hp_rsvd, now.hp_rsvd);

	/* The fillers check their memory once more and leave. */
	for (i = 0; i < FILLERS; i++)
		ASSERT_EQ(0, hs_pipe_put(rel[1], 1));
	for (i = 0; i < FILLERS; i++) {
		status = hs_wait(fillers[i]);
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("filler %d: %s", i,
			       hs_status_str(status, buf, sizeof(buf)));
	}
	/* With the hog still there, the whole reserve is ours again. */
	fd = hs_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, hs_create(fd, reserve, &c)) TH_LOG("reserve not whole");
	close(fd);

	ASSERT_EQ(0, hs_pipe_put(hrel[1], 1));
	status = hs_wait(hog);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	if (nibbler > 0) {
		ASSERT_EQ(0, hs_pipe_put(nrel[1], 1));
		status = hs_wait(nibbler);
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	if (self->dir[0] && !rmdir(self->dir))
		self->dir[0] = 0;
	EXPECT_EQ(0, hs_wait_snap(&self->base, &now, HS_FREE_TIMEOUT_MS));
}

TEST_HARNESS_MAIN
