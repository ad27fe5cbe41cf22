// SPDX-License-Identifier: MIT
/*
 * Description: hsstat's regions end to end. With the module loaded, creates
 * regions through /dev/hugeslab, runs hsstat (--json and text) and checks it
 * reports exactly what the module holds, then takes debugfs and sysfs away
 * (HSSTAT_DEBUGFS and HSSTAT_SYSFS, an unmounted debugfs in a private mount
 * namespace, no root, no module) and checks the ioctl fallback and the
 * error messages. Without the module, the parser is still tested against
 * fixture files. Pools, Prometheus output and the sysfs fallback are
 * hsstat_pools_test's.
 *
 * hsstat is found through $HSSTAT, else relative to this binary (build/tools/
 * hsstat in the build tree, /opt/hs/hsstat in the VM), else in $PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "uapi/hugeslab.h"

#include "kselftest_harness.h"

#include "hsstat_util.h"

/* ---- fixtures: debugfs files written by hand ----------------------------- */

static const char fx_stats[] =
	"hugeslab stats 1\n"
	"# a comment, then keys in any order, and ones we do not know\n"
	"abi_version 1\n"
	"page_sizes 0x40200000\n"
	"reserved_bytes 67108864\n"
	"used_bytes 14680064\n"
	"free_bytes 52428800\n"
	"some_future_key 12345\n"
	"max_bytes 0\n"
	"peak_bytes 16777216\n"
	"regions 3\n"
	"failed_requests 2\n"
	"created 5\n"
	"destroyed 2\n"
	"future_text_key not a number\n";

/* comm escapes: space \040, tab \011, backslash \134; a quote is raw. */
static const char fx_regions[] =
	"hugeslab regions 1\n"
	"# id pid bytes page_size node mapped comm\n"
	"7 300 2097152 2097152 -1 no a\\040b\\134c\\011\"d\n"
	"3 100 8388608 2097152 0 yes worker\n"
	"5 200 4194304 1073741824 1 no \n";

FIXTURE(fx) {
	char dir[64];
};

FIXTURE_SETUP(fx)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/hsstat-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, write_file(self->dir, "stats", fx_stats));
	ASSERT_EQ(0, write_file(self->dir, "regions", fx_regions));
}

FIXTURE_TEARDOWN(fx)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/stats", self->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/regions", self->dir);
	unlink(path);
	rmdir(self->dir);
}

/* The regions' ids in output order. */
static int region_ids(const struct jval *root, long long *ids, size_t max)
{
	const struct jval *regs = jget(root, "regions");
	size_t i;

	if (!regs || regs->type != J_ARR || regs->n > max)
		return -1;
	for (i = 0; i < regs->n; i++)
		if (jint(&regs->kids[i], "id", &ids[i]))
			return -1;
	return (int)regs->n;
}

TEST_F(fx, json)
{
	const struct jval *stats, *ps, *regs, *r;
	struct jval root;
	struct run run;
	long long v, ids[8];

	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", "--json",
				NULL));
	ASSERT_EQ(0, run.status) TH_LOG("stderr: %s", run.err);
	ASSERT_STREQ("", run.err);
	ASSERT_EQ(0, jparse(run.out, &root)) TH_LOG("bad JSON: %s", run.out);

	ASSERT_STREQ("debugfs", jstr(&root, "source"));
	stats = jget(&root, "stats");
	ASSERT_NE(NULL, stats);
	ASSERT_EQ(0, jint(stats, "used_bytes", &v));
	ASSERT_EQ(14680064, v);
	ASSERT_EQ(0, jint(stats, "reserved_bytes", &v));
	ASSERT_EQ(64 * MiB, (unsigned long long)v);
	ASSERT_EQ(0, jint(stats, "free_bytes", &v));
	ASSERT_EQ(52428800, v);
	ASSERT_EQ(0, jint(stats, "max_bytes", &v));
	ASSERT_EQ(0, v);
	ASSERT_EQ(0, jint(stats, "peak_bytes", &v));
	ASSERT_EQ(16777216, v);
	ASSERT_EQ(0, jint(stats, "regions", &v));
	ASSERT_EQ(3, v);
	ASSERT_EQ(0, jint(stats, "failed_requests", &v));
	ASSERT_EQ(2, v);
	/* Keys it does not know are skipped, not passed on or fatal. */
	ASSERT_EQ(NULL, jget(stats, "some_future_key"));
	ps = jget(stats, "page_sizes");
	ASSERT_NE(NULL, ps);
	ASSERT_EQ(J_ARR, ps->type);
	ASSERT_EQ(2U, ps->n);
	ASSERT_STREQ("2097152", ps->kids[0].str);
	ASSERT_STREQ("1073741824", ps->kids[1].str);

	/* Default order: bytes, largest first. */
	ASSERT_EQ(3, region_ids(&root, ids, 8));
	ASSERT_EQ(3, ids[0]);
	ASSERT_EQ(5, ids[1]);
	ASSERT_EQ(7, ids[2]);

	regs = jget(&root, "regions");
	r = &regs->kids[2];
	ASSERT_STREQ("a b\\c\t\"d", jstr(r, "comm"));
	ASSERT_EQ(0, jint(r, "pid", &v));
	ASSERT_EQ(300, v);
	ASSERT_EQ(0, jint(r, "node", &v));
	ASSERT_EQ(-1, v);
	ASSERT_EQ(J_FALSE, jget(r, "mapped")->type);
	r = &regs->kids[0];
	ASSERT_STREQ("worker", jstr(r, "comm"));
	ASSERT_EQ(J_TRUE, jget(r, "mapped")->type);
	ASSERT_EQ(0, jint(r, "bytes", &v));
	ASSERT_EQ(8 * MiB, (unsigned long long)v);
	r = &regs->kids[1];
	ASSERT_STREQ("", jstr(r, "comm"));
	ASSERT_EQ(0, jint(r, "page_size", &v));
	ASSERT_EQ(1 << 30, v);
	ASSERT_EQ(0, jint(r, "node", &v));
	ASSERT_EQ(1, v);

	jfree(&root);
	run_free(&run);
}

TEST_F(fx, sort)
{
	static const struct {
		const char *key;
		long long ids[3];
	} cases[] = {
		{ "bytes", { 3, 5, 7 } },
		{ "pid", { 7, 3, 5 } },
		{ "id", { 3, 5, 7 } },
	};
	struct jval root;
	struct run run;
	long long ids[8];
	size_t i;

	/* Make pid order differ from the others: 7 < 3 < 5. */
	ASSERT_EQ(0, write_file(self->dir, "regions",
				"hugeslab regions 1\n"
				"5 900 4194304 2097152 -1 no b\n"
				"7 10 2097152 2097152 -1 no c\n"
				"3 500 8388608 2097152 -1 no a\n"));
	for (i = 0; i < 3; i++) {
		const long long *want = cases[i].ids;

		ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once",
					"--json", "--sort", cases[i].key, NULL));
		ASSERT_EQ(0, run.status) TH_LOG("%s", run.err);
		ASSERT_EQ(0, jparse(run.out, &root));
		ASSERT_EQ(3, region_ids(&root, ids, 8));
		ASSERT_EQ(want[0], ids[0]) TH_LOG("--sort %s", cases[i].key);
		ASSERT_EQ(want[1], ids[1]) TH_LOG("--sort %s", cases[i].key);
		ASSERT_EQ(want[2], ids[2]) TH_LOG("--sort %s", cases[i].key);
		jfree(&root);
		run_free(&run);
	}
}

TEST_F(fx, text)
{
	struct run run;

	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", NULL));
	ASSERT_EQ(0, run.status) TH_LOG("%s", run.err);
	ASSERT_NE(NULL, strstr(run.out, "64.0 MiB")) TH_LOG("%s", run.out);
	ASSERT_NE(NULL, strstr(run.out, "14.0 MiB"));
	ASSERT_NE(NULL, strstr(run.out, "unlimited"));
	ASSERT_NE(NULL, strstr(run.out, "2 MiB, 1 GiB"));
	ASSERT_NE(NULL, strstr(run.out,
			       "ID      PID COMMAND               BYTES PAGESIZE NODE MAPPED"));
	/* Unescaped, with the tab shown as '?' rather than sent raw. */
	ASSERT_NE(NULL, strstr(run.out, " a b\\c?\"d "));
	ASSERT_NE(NULL, strstr(run.out, "worker"));
	ASSERT_EQ(NULL, strchr(run.out, '\t'));
	run_free(&run);
}

TEST_F(fx, newer_minor_version)
{
	const struct jval *r;
	struct jval root;
	struct run run;
	long long v;

	/* A minor bump may add keys and columns (comm stays last). */
	ASSERT_EQ(0, write_file(self->dir, "stats",
				"hugeslab stats 1.4\nused_bytes 4194304\n"
				"hugepages_1g 0\n"));
	ASSERT_EQ(0, write_file(self->dir, "regions",
				"hugeslab regions 1.2\n"
				"# id pid cgroup bytes page_size node mapped numa_hits comm\n"
				"9 42 /x 4194304 2097152 0 yes 17 srv\\0401\n"));
	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", "--json",
				NULL));
	ASSERT_EQ(0, run.status) TH_LOG("%s", run.err);
	ASSERT_EQ(0, jparse(run.out, &root));
	ASSERT_EQ(0, jint(jget(&root, "stats"), "used_bytes", &v));
	ASSERT_EQ(4 * MiB, (unsigned long long)v);
	r = jget(&root, "regions");
	ASSERT_NE(NULL, r);
	ASSERT_EQ(1U, r->n);
	r = &r->kids[0];
	ASSERT_EQ(0, jint(r, "pid", &v));
	ASSERT_EQ(42, v);
	ASSERT_EQ(0, jint(r, "bytes", &v));
	ASSERT_EQ(4 * MiB, (unsigned long long)v);
	ASSERT_EQ(J_TRUE, jget(r, "mapped")->type);
	ASSERT_STREQ("srv 1", jstr(r, "comm"));
	jfree(&root);
	run_free(&run);
}

TEST_F(fx, refuses_other_major_version)
{
	struct run run;

	ASSERT_EQ(0, write_file(self->dir, "stats",
				"hugeslab stats 2\nused_bytes 0\n"));
	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", NULL));
	ASSERT_EQ(1, run.status);
	ASSERT_NE(NULL, strstr(run.err, "version 2 is not supported"))
		TH_LOG("stderr: %s", run.err);
	ASSERT_STREQ("", run.out);
	run_free(&run);

	ASSERT_EQ(0, write_file(self->dir, "stats", fx_stats));
	ASSERT_EQ(0, write_file(self->dir, "regions",
				"hugeslab regions 3.0\n1 2 3 4 5 no x\n"));
	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", "--json",
				NULL));
	ASSERT_EQ(1, run.status);
	ASSERT_NE(NULL, strstr(run.err, "regions: format version 3.0"))
		TH_LOG("stderr: %s", run.err);
	run_free(&run);
}

TEST_F(fx, rejects_garbage)
{
	static const char *const bad[][2] = {
		{ "stats", "hugeslab regions 1\n" },
		{ "stats", "not hugeslab at all\n" },
		{ "stats", "hugeslab stats 1\nused_bytes lots\n" },
		{ "stats", "hugeslab stats 1\nregions -3\n" },
		{ "regions", "hugeslab regions 1\n1 2 3\n" },
		{ "regions", "hugeslab regions 1\n1 2 3 4 5 maybe x\n" },
		{ "regions", "hugeslab regions 1\nx 2 3 4 5 no x\n" },
	};
	struct run run;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(0, write_file(self->dir, "stats", fx_stats));
		ASSERT_EQ(0, write_file(self->dir, "regions", fx_regions));
		ASSERT_EQ(0, write_file(self->dir, bad[i][0], bad[i][1]));
		ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once",
					NULL));
		ASSERT_EQ(1, run.status) TH_LOG("case %zu", i);
		ASSERT_NE(NULL, strstr(run.err, bad[i][0]))
			TH_LOG("case %zu: %s", i, run.err);
		run_free(&run);
	}
}

TEST(usage)
{
	static const char *const bad[][3] = {
		{ "--bogus" }, { "--sort", "size" }, { "--delay", "0" },
		{ "--delay", "-1" }, { "--delay", "soon" }, { "extra" },
		{ "--sort" }, { "--json", "--prometheus" },
		{ "--prometheus", "--delay=1" },
	};
	struct run run;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(0, run_hsstat(&run, "/nonexistent", NULL, "--once",
					bad[i][0], bad[i][1], NULL));
		ASSERT_EQ(2, run.status) TH_LOG("%s %s", bad[i][0],
						bad[i][1] ? bad[i][1] : "");
		ASSERT_STREQ("", run.out);
		ASSERT_NE(0U, strlen(run.err));
		run_free(&run);
	}
	ASSERT_EQ(0, run_hsstat(&run, NULL, NULL, "--help", NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_NE(NULL, strstr(run.out, "--once"));
	ASSERT_NE(NULL, strstr(run.out, "--json"));
	ASSERT_NE(NULL, strstr(run.out, "--prometheus"));
	ASSERT_NE(NULL, strstr(run.out, "--pools"));
	ASSERT_NE(NULL, strstr(run.out, "--regions"));
	run_free(&run);
	ASSERT_EQ(0, run_hsstat(&run, NULL, NULL, "--version", NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_EQ(0, strncmp(run.out, "hsstat ", 7));
	run_free(&run);
}

/* ---- against the module -------------------------------------------------- */

static const struct jval *find_region(const struct jval *root, uint64_t id)
{
	const struct jval *regs = jget(root, "regions");
	long long v;
	size_t i;

	if (!regs || regs->type != J_ARR)
		return NULL;
	for (i = 0; i < regs->n; i++)
		if (!jint(&regs->kids[i], "id", &v) && (uint64_t)v == id)
			return &regs->kids[i];
	return NULL;
}

TEST(module_json)
{
	/* A name to unescape: space, backslash, tab; a quote to escape. */
	static const char comm[] = "hs t\\x\"q\t1";
	static const uint64_t sizes[3] = { 2 * MiB, 6 * MiB, 4 * MiB };
	const struct jval *stats, *regs, *r;
	struct hugeslab_create c[3];
	struct hugeslab_query q;
	unsigned long long sum = 0;
	long long v, prev = LLONG_MAX;
	struct jval root;
	struct run run;
	void *map;
	size_t i;
	int fd;

	NEED_MODULE(fd);
	ASSERT_EQ(0, prctl(PR_SET_NAME, comm));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, dev_create(fd, sizes[i], &c[i]))
			TH_LOG("create %llu bytes: %s",
			       (unsigned long long)sizes[i], strerror(errno));
	map = mmap(NULL, c[1].bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   (off_t)c[1].offset);
	ASSERT_NE(MAP_FAILED, map);
	((volatile char *)map)[0] = 1;
	ASSERT_EQ(0, dev_query(fd, &q));

	ASSERT_EQ(0, run_hsstat(&run, NULL, NULL, "--once", "--json", NULL));
	ASSERT_EQ(0, run.status) TH_LOG("stderr: %s", run.err);
	ASSERT_STREQ("", run.err);
	ASSERT_EQ(0, jparse(run.out, &root)) TH_LOG("bad JSON: %s", run.out);
	ASSERT_STREQ("debugfs", jstr(&root, "source"));
	ASSERT_EQ(NULL, jget(&root, "note"));

	stats = jget(&root, "stats");
	ASSERT_NE(NULL, stats);
	ASSERT_EQ(0, jint(stats, "used_bytes", &v));
	ASSERT_EQ(q.used_bytes, (unsigned long long)v);
	ASSERT_EQ(0, jint(stats, "regions", &v));
	ASSERT_EQ(q.regions, (unsigned long long)v);
	ASSERT_EQ(0, jint(stats, "reserved_bytes", &v));
	ASSERT_EQ(q.reserve_bytes, (unsigned long long)v);
	ASSERT_EQ(0, jint(stats, "max_bytes", &v));
	ASSERT_EQ(q.max_bytes, (unsigned long long)v);
	ASSERT_EQ(0, jint(stats, "failed_requests", &v));
	ASSERT_EQ(q.failed, (unsigned long long)v);
	ASSERT_EQ(0, jint(stats, "peak_bytes", &v));
	ASSERT_LE(q.used_bytes, (unsigned long long)v);
	ASSERT_LE(12 * MiB, q.used_bytes);

	/* The table holds every region of the system, in bytes order. */
	regs = jget(&root, "regions");
	ASSERT_NE(NULL, regs);
	ASSERT_EQ(J_ARR, regs->type);
	ASSERT_EQ(q.regions, regs->n);
	for (i = 0; i < regs->n; i++) {
		ASSERT_EQ(0, jint(&regs->kids[i], "bytes", &v));
		ASSERT_GE(prev, v);
		prev = v;
		sum += (unsigned long long)v;
	}
	ASSERT_EQ(q.used_bytes, sum);

	for (i = 0; i < 3; i++) {
		r = find_region(&root, c[i].id);
		ASSERT_NE(NULL, r) TH_LOG("region %llu not listed",
					  (unsigned long long)c[i].id);
		ASSERT_EQ(0, jint(r, "pid", &v));
		ASSERT_EQ(getpid(), v);
		ASSERT_EQ(0, jint(r, "bytes", &v));
		ASSERT_EQ(sizes[i], (unsigned long long)v);
		ASSERT_EQ(0, jint(r, "page_size", &v));
		ASSERT_EQ(c[i].page_size, (unsigned long long)v);
		ASSERT_EQ(2 * MiB, c[i].page_size);
		ASSERT_EQ(0, jint(r, "node", &v));
		ASSERT_EQ(c[i].page_node, v);
		ASSERT_NE(NULL, jget(r, "mapped"));
		ASSERT_EQ(i == 1 ? J_TRUE : J_FALSE, jget(r, "mapped")->type);
		ASSERT_STREQ(comm, jstr(r, "comm"));
	}

	jfree(&root);
	run_free(&run);
	munmap(map, c[1].bytes);
	close(fd);
}

/*
 * A name with a carriage return, an escape sequence and UTF-8: the module
 * writes every such byte as \ooo, hsstat decodes them - JSON gets the
 * exact name (escaped as JSON requires), the terminal no control byte.
 */
TEST(module_hostile_comm)
{
	static const char comm[] = "a\r\x1b[1m\xc3\xa9" "b";
	struct hugeslab_create c;
	const struct jval *r;
	struct jval root;
	struct run run;
	int fd;

	NEED_MODULE(fd);
	ASSERT_EQ(0, prctl(PR_SET_NAME, comm));
	ASSERT_EQ(0, dev_create(fd, 2 * MiB, &c));

	ASSERT_EQ(0, run_hsstat(&run, NULL, NULL, "--once", "--json", NULL));
	ASSERT_EQ(0, run.status) TH_LOG("stderr: %s", run.err);
	ASSERT_EQ(0, jparse(run.out, &root)) TH_LOG("bad JSON: %s", run.out);
	r = find_region(&root, c.id);
	ASSERT_NE(NULL, r);
	ASSERT_STREQ(comm, jstr(r, "comm"));
	jfree(&root);
	run_free(&run);

	ASSERT_EQ(0, run_hsstat(&run, NULL, NULL, "--once", NULL));
	ASSERT_EQ(0, run.status) TH_LOG("stderr: %s", run.err);
	ASSERT_EQ(NULL, strchr(run.out, '\r'));
	ASSERT_EQ(NULL, strchr(run.out, '\x1b'));
	ASSERT_NE(NULL, strstr(run.out, " a??[1m\xc3\xa9" "b ")) TH_LOG("%s", run.out);
	run_free(&run);
	close(fd);
}

/* The text line of region @id split into fields, NULL if absent. */
static int text_row(const char *out, uint64_t id, char fields[][32], int max)
{
	char *copy = strdup(out), *line, *save, *tok, *save2;
	char want[32];
	int n = -1;

	snprintf(want, sizeof(want), "%llu", (unsigned long long)id);
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		tok = strtok_r(line, " ", &save2);
		if (!tok || strcmp(tok, want))
			continue;
		n = 0;
		for (; tok && n < max; tok = strtok_r(NULL, " ", &save2))
			snprintf(fields[n++], 32, "%s", tok);
		break;
	}
	free(copy);
	return n;
}

TEST(module_text)
{
	struct hugeslab_create c[2];
	struct hugeslab_query q;
	char f[12][32], pid[16], node[16], regions[64];
	struct run run;
	void *map;
	int fd;

	NEED_MODULE(fd);
	ASSERT_EQ(0, prctl(PR_SET_NAME, "hs_text_test"));
	ASSERT_EQ(0, dev_create(fd, 4 * MiB, &c[0]));
	ASSERT_EQ(0, dev_create(fd, 2 * MiB, &c[1]));
	map = mmap(NULL, c[1].bytes, PROT_READ, MAP_SHARED, fd,
		   (off_t)c[1].offset);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, dev_query(fd, &q));

	ASSERT_EQ(0, run_hsstat(&run, NULL, NULL, "--once", NULL));
	ASSERT_EQ(0, run.status) TH_LOG("stderr: %s", run.err);
	ASSERT_NE(NULL, strstr(run.out, "Source          : debugfs"))
		TH_LOG("output:\n%s", run.out);
	snprintf(regions, sizeof(regions), "Regions         : %llu\n",
		 (unsigned long long)q.regions);
	ASSERT_NE(NULL, strstr(run.out, regions));
	ASSERT_NE(NULL, strstr(run.out, "PID COMMAND"));
	snprintf(pid, sizeof(pid), "%d", getpid());

	/* id pid comm 4.0 MiB 2 MiB node mapped */
	ASSERT_EQ(9, text_row(run.out, c[0].id, f, 12));
	ASSERT_STREQ(pid, f[1]);
	ASSERT_STREQ("hs_text_test", f[2]);
	ASSERT_STREQ("4.0", f[3]);
	ASSERT_STREQ("MiB", f[4]);
	ASSERT_STREQ("2", f[5]);
	ASSERT_STREQ("MiB", f[6]);
	snprintf(node, sizeof(node), "%d", c[0].page_node);
	ASSERT_STREQ(c[0].page_node < 0 ? "-" : node, f[7]);
	ASSERT_STREQ("no", f[8]);

	ASSERT_EQ(9, text_row(run.out, c[1].id, f, 12));
	ASSERT_STREQ(pid, f[1]);
	ASSERT_STREQ("2.0", f[3]);
	ASSERT_STREQ("yes", f[8]);

	run_free(&run);
	munmap(map, c[1].bytes);
	close(fd);
}

/* hsstat fell back to the ioctl and reports the module's totals. */
static void check_ioctl_json(struct __test_metadata *_metadata,
			    const struct run *run, const struct hugeslab_query *q)
{
	const struct jval *stats;
	struct jval root;
	long long v;

	ASSERT_EQ(0, run->status) TH_LOG("stderr: %s", run->err);
	ASSERT_NE(NULL, strstr(run->err, "debugfs not available"))
		TH_LOG("stderr: %s", run->err);
	ASSERT_NE(NULL, strstr(run->err,
			       "showing global totals from /dev/hugeslab"));
	ASSERT_EQ(0, jparse(run->out, &root)) TH_LOG("bad JSON: %s", run->out);
	ASSERT_STREQ("ioctl", jstr(&root, "source"));
	ASSERT_NE(NULL, jstr(&root, "note"));
	ASSERT_NE(NULL, jget(&root, "regions"));
	ASSERT_EQ(J_NULL, jget(&root, "regions")->type);
	stats = jget(&root, "stats");
	ASSERT_EQ(0, jint(stats, "used_bytes", &v));
	ASSERT_EQ(q->used_bytes, (unsigned long long)v);
	ASSERT_EQ(0, jint(stats, "regions", &v));
	ASSERT_EQ(q->regions, (unsigned long long)v);
	ASSERT_EQ(0, jint(stats, "reserved_bytes", &v));
	ASSERT_EQ(q->reserve_bytes, (unsigned long long)v);
	ASSERT_EQ(0, jint(stats, "failed_requests", &v));
	ASSERT_EQ(q->failed, (unsigned long long)v);
	ASSERT_EQ(0, jint(stats, "user_max_bytes", &v));
	ASSERT_EQ(q->user_max_bytes, (unsigned long long)v);
	/* Only debugfs and sysfs know the peak. */
	ASSERT_EQ(NULL, jget(stats, "peak_bytes"));
	ASSERT_NE(NULL, jget(&root, "pools"));
	ASSERT_EQ(J_NULL, jget(&root, "pools")->type);
	jfree(&root);
}

/* hsstat's children look for the sysfs counters in a place that is empty. */
static void hide_sysfs(void)
{
	setenv("HSSTAT_SYSFS", "/nonexistent/sysfs", 1);
}

TEST(module_fallback_env)
{
	struct hugeslab_create c;
	struct hugeslab_query q;
	struct run run;
	int fd;

	NEED_MODULE(fd);
	ASSERT_EQ(0, dev_create(fd, 2 * MiB, &c));
	ASSERT_EQ(0, dev_query(fd, &q));
	hide_sysfs();

	ASSERT_EQ(0, run_hsstat(&run, "/nonexistent/hugeslab", NULL, "--once",
				"--json", NULL));
	check_ioctl_json(_metadata, &run, &q);
	ASSERT_NE(NULL, strstr(run.err, "/nonexistent/hugeslab/stats"));
	/* Why sysfs was passed over too. */
	ASSERT_NE(NULL, strstr(run.err, "/nonexistent/sysfs/"));
	run_free(&run);

	ASSERT_EQ(0, run_hsstat(&run, "/nonexistent/hugeslab", NULL, "--once",
				NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_NE(NULL, strstr(run.err, "debugfs not available"));
	ASSERT_NE(NULL, strstr(run.out, "Source          : ioctl"));
	ASSERT_NE(NULL, strstr(run.out, "no per-region table"));
	run_free(&run);
	close(fd);
}

TEST(module_fallback_unmounted)
{
	struct hugeslab_create c;
	struct hugeslab_query q;
	struct run run;
	int fd;

	NEED_MODULE(fd);
	ASSERT_EQ(0, dev_create(fd, 4 * MiB, &c));
	ASSERT_EQ(0, dev_query(fd, &q));
	hide_sysfs();

	ASSERT_EQ(0, run_hsstat(&run, NULL, prep_no_debugfs, "--once",
				"--json", NULL));
	if (prep_failed(&run))
		SKIP(return, "%s", run.err);
	check_ioctl_json(_metadata, &run, &q);
	ASSERT_NE(NULL, strstr(run.err, "debugfs is not mounted"))
		TH_LOG("stderr: %s", run.err);
	ASSERT_NE(NULL, strstr(run.err, "mount -t debugfs none /sys/kernel/debug"));
	run_free(&run);
	close(fd);
}

/* Both sources gone: a distinct message and exit status 1. */
TEST(module_not_loaded)
{
	bool present = access(HUGESLAB_DEVICE, F_OK) == 0 ||
		       access("/sys/module/hugeslab", F_OK) == 0;
	struct run run;

	/* With the module loaded, hide it in a private mount namespace. */
	ASSERT_EQ(0, run_hsstat(&run, NULL, present ? prep_no_module : NULL,
				"--once", NULL));
	if (prep_failed(&run))
		SKIP(return, "%s", run.err);
	ASSERT_EQ(1, run.status);
	ASSERT_STREQ("", run.out);
	ASSERT_NE(NULL, strstr(run.err, "module is not loaded"))
		TH_LOG("stderr: %s", run.err);
	ASSERT_NE(NULL, strstr(run.err, "modprobe hugeslab"));
	run_free(&run);
}

TEST(module_not_root)
{
	struct run run;
	int fd;

	NEED_MODULE(fd);
	close(fd);
	if (geteuid() != 0)
		SKIP(return, "needs root to drop to nobody");
	/* Without sysfs (older modules) nobody can read anything. */
	hide_sysfs();
	ASSERT_EQ(0, run_hsstat(&run, NULL, prep_nobody, "--once", NULL));
	if (prep_failed(&run))
		SKIP(return, "%s", run.err);
	ASSERT_EQ(1, run.status);
	ASSERT_STREQ("", run.out);
	ASSERT_NE(NULL, strstr(run.err, "run hsstat as root"))
		TH_LOG("stderr: %s", run.err);
	run_free(&run);
}

TEST_HARNESS_MAIN
