// SPDX-License-Identifier: MIT
/*
 * Description: hsstat's pools, its Prometheus output and the sysfs
 * fallback. With the module loaded, this process publishes pools through
 * the stats area (mmap of /dev/hugeslab at HUGESLAB_STATS_OFFSET), some with
 * hostile names and impossible numbers, and checks that hsstat's JSON, text
 * and Prometheus output show what the module made of them; a child that
 * publishes and exits must drop out of the list; run as nobody or without
 * debugfs, hsstat must say it reads sysfs and report the query ioctl's
 * totals. Every Prometheus exposition is checked for syntax (HELP and TYPE
 * before samples, escaping, no duplicate series). Without the module,
 * fixture files test the parser, sorting, views and formats.
 *
 * hsstat is found through $HSSTAT, else relative to this binary, else $PATH.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uapi/hugeslab.h"

#include "kselftest_harness.h"

#include "hsstat_util.h"

#define TEST_TIMEOUT_SEC	60

/* ---- helpers ------------------------------------------------------------- */

/* How many pools of process @pid the JSON lists. */
static size_t count_pools(const struct jval *root, long long pid)
{
	const struct jval *pools = jget(root, "pools");
	long long v = 0;
	size_t i, n = 0;

	if (!pools || pools->type != J_ARR)
		return 0;
	for (i = 0; i < pools->n; i++)
		n += !jint(&pools->kids[i], "pid", &v) && v == pid;
	return n;
}

/**
 * struct trow - a row of the text pools table
 *
 * The table is "PID COMMAND OBJSIZE INUSE TOTAL USE% MEMORY ALLOCS HIT%
 * POOL": PID and COMMAND have fixed widths (8 and 16, a command is at most
 * 15 characters), then blank-separated numbers (MEMORY is two words, "8.0
 * KiB"), and the name is the rest of the line, spaces and all.
 */
struct trow {
	long long pid;
	char comm[32];
	char objsize[32], inuse[32], total[32], use[16], memory[80];
	char allocs[32], hit[16];
	char pool[128];
};

#define POOLS_HEAD \
	"     PID COMMAND          OBJSIZE     INUSE     TOTAL USE%     MEMORY     ALLOCS HIT% POOL\n"

/* The rows of the pools table in @out, in order; returns their number. */
static int text_pools(const char *out, struct trow *rows, int max)
{
	const char *p = strstr(out, POOLS_HEAD), *end;
	char line[512], num[32], unit[32];
	struct trow *r;
	int n = 0, pos;
	size_t len;

	if (!p)
		return -1;
	p += strlen(POOLS_HEAD);
	for (; *p && *p != '\n' && n < max; p = end + 1) {
		end = strchr(p, '\n');
		if (!end)
			return -1;
		len = (size_t)(end - p);
		if (len >= sizeof(line) || len < 27)
			return -1;
		memcpy(line, p, len);
		line[len] = '\0';
		r = &rows[n++];
		memset(r, 0, sizeof(*r));
		r->pid = strtoll(line, NULL, 10);
		memcpy(r->comm, line + 9, 16);
		for (len = 16; len && r->comm[len - 1] == ' '; len--)
			r->comm[len - 1] = '\0';
		if (sscanf(line + 26, "%31s %31s %31s %15s %31s %31s %31s %15s %n",
			   r->objsize, r->inuse, r->total, r->use, num, unit,
			   r->allocs, r->hit, &pos) != 8)
			return -1;
		snprintf(r->memory, sizeof(r->memory), "%s %s", num, unit);
		snprintf(r->pool, sizeof(r->pool), "%s", line + 26 + pos);
	}
	return n;
}

static const struct trow *find_trow(const struct trow *rows, int n,
				    long long pid, const char *pool)
{
	int i;

	for (i = 0; i < n; i++)
		if (rows[i].pid == pid && !strcmp(rows[i].pool, pool))
			return &rows[i];
	return NULL;
}

/* Run hsstat --prometheus and check the exposition's syntax. */
static int run_prom(struct __test_metadata *_metadata, struct run *run,
		    struct prom *p, const char *debugfs, prep_fn prep,
		    const char *view)
{
	char err[512];

	if (run_hsstat(run, debugfs, prep, "--prometheus", view, NULL))
		return -1;
	if (run->status) {
		TH_LOG("hsstat --prometheus: status %d: %s", run->status,
		       run->err);
		return -1;
	}
	if (prom_parse(run->out, p, err, sizeof(err))) {
		TH_LOG("bad exposition: %s\n%s", err, run->out);
		return -1;
	}
	return 0;
}

static const char *str_u64(char *buf, unsigned long long v)
{
	sprintf(buf, "%llu", v);
	return buf;
}

/* The checker itself: it must refuse what a scraper would refuse. */
TEST(prom_checker)
{
#define HT(m) "# HELP " m " h\n# TYPE " m " gauge\n"
	static const char *const bad[] = {
		"a 1\n",				/* no HELP/TYPE */
		"# TYPE a gauge\na 1\n",		/* no HELP */
		HT("a") "a 1",				/* no final newline */
		HT("a") "a{x=\"1\"} 1\na{x=\"1\"} 2\n",	/* same series */
		HT("a") "a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n",
		HT("a") HT("b") "a 1\nb 1\na 2\n",	/* not together */
		HT("a") "a 1\n# HELP a again\n",	/* HELP after samples */
		HT("a") "# TYPE a counter\na 1\n",	/* second TYPE */
		"# HELP a h\n# TYPE a gauges\na 1\n",	/* unknown type */
		HT("a") "a{x=\"\\t\"} 1\n",		/* bad escape */
		HT("a") "a{x=\"1} 1\n",			/* unterminated */
		HT("a") "a{x=1} 1\n",			/* unquoted */
		HT("a") "a{__x=\"1\"} 1\n",		/* reserved label */
		HT("a") "a{x=\"1\",x=\"2\"} 1\n",	/* label twice */
		HT("a") "a{x=\"\xff\"} 1\n",		/* not UTF-8 */
		HT("a") "a 1 1700000000\n",		/* timestamp */
		HT("a") "a one\n",			/* not a number */
		HT("a") "a  1\n",			/* two blanks */
		HT("1a") "1a 1\n",			/* bad name */
	};
	static const char good[] =
		"# a comment\n"
		HT("a") "a{x=\"q\\\"\\\\\\n\",y=\"\"} 1.5\na{x=\"2\"} -3e4\n"
		HT("b_total") "b_total +Inf\n"
		"\n"
		HT("c:d") "c:d NaN\n";
	char err[256];
	struct prom p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_NE(0, prom_parse(bad[i], &p, err, sizeof(err)))
			TH_LOG("accepted case %zu: %s", i, bad[i]);
	}
	ASSERT_EQ(0, prom_parse(good, &p, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(4U, p.n);
	ASSERT_STREQ("1.5", prom_value(&p, "a", "y", "", "x", "q\"\\\n",
				       NULL));
	ASSERT_STREQ("+Inf", prom_value(&p, "b_total", NULL));
	prom_free(&p);
#undef HT
}

/* ---- fixtures: debugfs files written by hand ----------------------------- */

static const char fx_stats[] =
	"hugeslab stats 1\n"
	"abi_version 1\n"
	"page_sizes 0x200000\n"
	"reserved_bytes 67108864\n"
	"used_bytes 4194304\n"
	"free_bytes 62914560\n"
	"max_bytes 0\n"
	"user_max_bytes 33554432\n"
	"peak_bytes 8388608\n"
	"regions 1\n"
	"failed_requests 5\n"
	"failed_limit 3\n"
	"failed_nomem 2\n";

static const char fx_regions[] =
	"hugeslab regions 1\n"
	"# id pid bytes page_size node mapped comm\n"
	"4 300 4194304 2097152 0 yes srv\\040a\n";

/*
 * Five pools of two processes. Each has its own obj_size, which the tests
 * use to tell them apart. Two unnamed ones ("-") in one process; escapes in
 * a name and in a command (\011 tab, \134 backslash, a raw quote).
 */
static const char fx_pools[] =
	"hugeslab pools 1\n"
	"# pid name obj_size in_use total bytes allocs frees cache_hits comm\n"
	"300 small\\040objs 64 100 128 8192 1000 900 750 srv\\040a\n"
	"300 - 128 7 10 4096 20 13 0 srv\\040a\n"
	"300 - 256 1 1 2097152 5 4 5 srv\\040a\n"
	"42 big 4096 3 4 16384 18446744073709551615 10 9 tab\\011q\"\\134\n"
	"42 x\\134y\"z 32 0 0 0 0 0 0 tab\\011q\"\\134\n";

static const char fx_comm42[] = "tab\tq\"\\";

FIXTURE(pfx) {
	char dir[64];
	char sys[80];
};

static const char *const sysfs_files[][2] = {
	{ "reserved_bytes", "67108864\n" },
	{ "used_bytes", "6291456\n" },
	{ "free_bytes", "60817408\n" },
	{ "max_bytes", "536870912\n" },
	{ "user_max_bytes", "0\n" },
	{ "peak_bytes", "10485760\n" },
	{ "regions", "2\n" },
	{ "failed_requests", "7\n" },
	{ "page_sizes", "0x40200000\n" },
};

FIXTURE_SETUP(pfx)
{
	size_t i;

	snprintf(self->dir, sizeof(self->dir), "/tmp/hsstat-pools.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, write_file(self->dir, "stats", fx_stats));
	ASSERT_EQ(0, write_file(self->dir, "regions", fx_regions));
	ASSERT_EQ(0, write_file(self->dir, "pools", fx_pools));
	snprintf(self->sys, sizeof(self->sys), "%s/sys", self->dir);
	ASSERT_EQ(0, mkdir(self->sys, 0755));
	for (i = 0; i < sizeof(sysfs_files) / sizeof(sysfs_files[0]); i++)
		ASSERT_EQ(0, write_file(self->sys, sysfs_files[i][0],
					sysfs_files[i][1]));
}

FIXTURE_TEARDOWN(pfx)
{
	char path[160];
	size_t i;

	for (i = 0; i < sizeof(sysfs_files) / sizeof(sysfs_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", self->sys,
			 sysfs_files[i][0]);
		unlink(path);
	}
	rmdir(self->sys);
	snprintf(path, sizeof(path), "%s/stats", self->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/regions", self->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pools", self->dir);
	unlink(path);
	rmdir(self->dir);
}

/* obj_size of each pool in output order (each fixture pool has its own). */
static int pool_sizes(const struct jval *root, long long *sizes, size_t max)
{
	const struct jval *pools = jget(root, "pools");
	size_t i;

	if (!pools || pools->type != J_ARR || pools->n > max)
		return -1;
	for (i = 0; i < pools->n; i++)
		if (jint(&pools->kids[i], "obj_size", &sizes[i]))
			return -1;
	return (int)pools->n;
}

TEST_F(pfx, json)
{
	const struct jval *p, *stats;
	struct jval root;
	struct run run;
	long long sizes[8];

	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", "--json",
				NULL));
	ASSERT_EQ(0, run.status) TH_LOG("stderr: %s", run.err);
	ASSERT_STREQ("", run.err);
	ASSERT_EQ(0, jparse(run.out, &root)) TH_LOG("bad JSON: %s", run.out);

	stats = jget(&root, "stats");
	ASSERT_EQ(33554432ULL, json_u64(stats, "user_max_bytes"));
	ASSERT_EQ(3ULL, json_u64(stats, "failed_limit"));
	ASSERT_EQ(2ULL, json_u64(stats, "failed_nomem"));

	/* Default order: memory, largest first. */
	ASSERT_EQ(5, pool_sizes(&root, sizes, 8));
	ASSERT_EQ(256, sizes[0]);
	ASSERT_EQ(4096, sizes[1]);
	ASSERT_EQ(64, sizes[2]);
	ASSERT_EQ(128, sizes[3]);
	ASSERT_EQ(32, sizes[4]);

	p = json_pool(&root, 300, "small objs");
	ASSERT_NE(NULL, p);
	ASSERT_STREQ("srv a", jstr(p, "comm"));
	ASSERT_EQ(64ULL, json_u64(p, "obj_size"));
	ASSERT_EQ(100ULL, json_u64(p, "in_use"));
	ASSERT_EQ(128ULL, json_u64(p, "total"));
	ASSERT_EQ(8192ULL, json_u64(p, "bytes"));
	ASSERT_EQ(1000ULL, json_u64(p, "allocs"));
	ASSERT_EQ(900ULL, json_u64(p, "frees"));
	ASSERT_EQ(750ULL, json_u64(p, "cache_hits"));

	/* Exact numbers, even where a double would round. */
	p = json_pool(&root, 42, "big");
	ASSERT_NE(NULL, p);
	ASSERT_STREQ("18446744073709551615", jget(p, "allocs")->str);
	ASSERT_STREQ(fx_comm42, jstr(p, "comm"));

	ASSERT_NE(NULL, json_pool(&root, 42, "x\\y\"z"));
	/* "-" is the module's way of saying "no name". */
	ASSERT_NE(NULL, json_pool(&root, 300, ""));
	ASSERT_EQ(NULL, json_pool(&root, 300, "-"));
	ASSERT_EQ(3U, count_pools(&root, 300));
	jfree(&root);
	run_free(&run);
}

TEST_F(pfx, sort)
{
	static const struct {
		const char *key;
		long long sizes[5];	/* pools in order, by obj_size */
	} cases[] = {
		{ "memory",	{ 256, 4096, 64, 128, 32 } },
		{ "bytes",	{ 256, 4096, 64, 128, 32 } },
		{ "id",		{ 256, 4096, 64, 128, 32 } },
		{ "pid",	{ 4096, 32, 128, 256, 64 } },
		{ "name",	{ 128, 256, 4096, 64, 32 } },
		{ "comm",	{ 128, 256, 64, 4096, 32 } },
		{ "objsize",	{ 4096, 256, 128, 64, 32 } },
		{ "inuse",	{ 64, 128, 4096, 256, 32 } },
		{ "total",	{ 64, 128, 4096, 256, 32 } },
		{ "use",	{ 256, 64, 4096, 128, 32 } },
		{ "allocs",	{ 4096, 64, 128, 256, 32 } },
		{ "hits",	{ 256, 64, 4096, 128, 32 } },
	};
	struct jval root;
	struct run run;
	long long sizes[8];
	size_t i;
	int k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once",
					"--json", "--sort", cases[i].key,
					NULL));
		ASSERT_EQ(0, run.status) TH_LOG("%s", run.err);
		ASSERT_EQ(0, jparse(run.out, &root));
		ASSERT_EQ(5, pool_sizes(&root, sizes, 8));
		for (k = 0; k < 5; k++)
			ASSERT_EQ(cases[i].sizes[k], sizes[k])
				TH_LOG("--sort %s, pool %d", cases[i].key, k);
		/* A pools-only key leaves the regions table usable. */
		ASSERT_EQ(1U, jget(&root, "regions")->n);
		jfree(&root);
		run_free(&run);
	}
}

TEST_F(pfx, text)
{
	struct trow rows[8];
	const struct trow *r;
	struct run run;

	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", NULL));
	ASSERT_EQ(0, run.status) TH_LOG("%s", run.err);
	ASSERT_NE(NULL, strstr(run.out, " Pools           : 5 in 2 processes, 2.0 MiB\n"))
		TH_LOG("%s", run.out);
	ASSERT_NE(NULL, strstr(run.out, " Max per user    : 32.0 MiB\n"));
	ASSERT_NE(NULL, strstr(run.out,
			       " Failed requests : 5 (limit 3, no pages 2)\n"));
	/* Pools, then regions. */
	ASSERT_NE(NULL, strstr(run.out, "ID      PID COMMAND"));
	ASSERT_LT(strstr(run.out, POOLS_HEAD), strstr(run.out, "ID      PID"));
	ASSERT_EQ(NULL, strchr(run.out, '\t'));

	ASSERT_EQ(5, text_pools(run.out, rows, 8)) TH_LOG("%s", run.out);
	ASSERT_STREQ("-", rows[0].pool);	/* memory order: 2 MiB first */
	ASSERT_STREQ("2.0 MiB", rows[0].memory);

	r = find_trow(rows, 5, 300, "small objs");
	ASSERT_NE(NULL, r);
	ASSERT_STREQ("srv a", r->comm);
	ASSERT_STREQ("64", r->objsize);
	ASSERT_STREQ("100", r->inuse);
	ASSERT_STREQ("128", r->total);
	ASSERT_STREQ("78%", r->use);		/* 100/128, rounded down */
	ASSERT_STREQ("8.0 KiB", r->memory);
	ASSERT_STREQ("1000", r->allocs);
	ASSERT_STREQ("75%", r->hit);

	r = find_trow(rows, 5, 42, "x\\y\"z");
	ASSERT_NE(NULL, r);
	ASSERT_STREQ("tab?q\"\\", r->comm);	/* the tab is not sent raw */
	ASSERT_STREQ("-", r->use);		/* 0 of 0 */
	ASSERT_STREQ("-", r->hit);
	ASSERT_STREQ("0 B", r->memory);

	r = find_trow(rows, 5, 42, "big");
	ASSERT_NE(NULL, r);
	ASSERT_STREQ("75%", r->use);
	ASSERT_STREQ("0%", r->hit);		/* 9 of 2^64 - 1 */
	ASSERT_STREQ("18446744073709551615", r->allocs);
	run_free(&run);
}

TEST_F(pfx, views)
{
	struct jval root;
	struct run run;

	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", "--pools",
				NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_NE(NULL, strstr(run.out, POOLS_HEAD));
	ASSERT_EQ(NULL, strstr(run.out, "MAPPED"));
	ASSERT_NE(NULL, strstr(run.out, " Regions         : 1\n"));
	run_free(&run);

	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", "-r", NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_EQ(NULL, strstr(run.out, "OBJSIZE"));
	ASSERT_NE(NULL, strstr(run.out, "MAPPED"));
	run_free(&run);

	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", "--pools",
				"--regions", NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_NE(NULL, strstr(run.out, "OBJSIZE"));
	ASSERT_NE(NULL, strstr(run.out, "MAPPED"));
	run_free(&run);

	/* In JSON a table that was not asked for is left out. */
	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", "--json",
				"--pools", NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_EQ(0, jparse(run.out, &root));
	ASSERT_EQ(NULL, jget(&root, "regions"));
	ASSERT_EQ(J_ARR, jget(&root, "pools")->type);
	ASSERT_NE(NULL, jget(&root, "stats"));
	jfree(&root);
	run_free(&run);

	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", "--json",
				"--regions", NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_EQ(0, jparse(run.out, &root));
	ASSERT_EQ(NULL, jget(&root, "pools"));
	ASSERT_EQ(J_ARR, jget(&root, "regions")->type);
	jfree(&root);
	run_free(&run);
}

TEST_F(pfx, prometheus)
{
	char pid300[] = "300", pid42[] = "42";
	struct prom p;
	struct run run;

	ASSERT_EQ(0, run_prom(_metadata, &run, &p, self->dir, NULL, NULL));
	ASSERT_STREQ("", run.err);

	ASSERT_STREQ("1", prom_value(&p, "hugeslab_source_info", "source",
				     "debugfs", NULL));
	ASSERT_STREQ("67108864", prom_value(&p, "hugeslab_reserved_bytes",
					    NULL));
	ASSERT_STREQ("gauge", prom_type(&p, "hugeslab_reserved_bytes"));
	ASSERT_STREQ("4194304", prom_value(&p, "hugeslab_used_bytes", NULL));
	ASSERT_STREQ("1", prom_value(&p, "hugeslab_regions", NULL));
	ASSERT_STREQ("5", prom_value(&p, "hugeslab_failed_requests_total",
				     NULL));
	ASSERT_STREQ("counter", prom_type(&p, "hugeslab_failed_requests_total"));
	ASSERT_STREQ("3", prom_value(&p, "hugeslab_failed_limit_total", NULL));
	ASSERT_STREQ("2", prom_value(&p, "hugeslab_failed_nomem_total", NULL));
	ASSERT_STREQ("5", prom_value(&p, "hugeslab_pools", NULL));

	ASSERT_STREQ("4194304", prom_value(&p, "hugeslab_region_bytes", "id",
					   "4", "pid", pid300, "comm", "srv a",
					   NULL));
	ASSERT_STREQ("1", prom_value(&p, "hugeslab_region_mapped", "id", "4",
				     "pid", pid300, "comm", "srv a", NULL));

	ASSERT_STREQ("100", prom_value(&p, "hugeslab_pool_objects_in_use",
				       "pid", pid300, "comm", "srv a", "pool",
				       "small objs", NULL));
	ASSERT_STREQ("128", prom_value(&p, "hugeslab_pool_objects", "pid",
				       pid300, "comm", "srv a", "pool",
				       "small objs", NULL));
	ASSERT_STREQ("8192", prom_value(&p, "hugeslab_pool_bytes", "pid",
					pid300, "comm", "srv a", "pool",
					"small objs", NULL));
	ASSERT_STREQ("1000", prom_value(&p, "hugeslab_pool_allocs_total",
					"pid", pid300, "comm", "srv a", "pool",
					"small objs", NULL));
	ASSERT_STREQ("counter", prom_type(&p, "hugeslab_pool_allocs_total"));
	ASSERT_STREQ("750", prom_value(&p, "hugeslab_pool_cache_hits_total",
				       "pid", pid300, "comm", "srv a", "pool",
				       "small objs", NULL));
	ASSERT_STREQ("64", prom_value(&p, "hugeslab_pool_object_size_bytes",
				      "pid", pid300, "comm", "srv a", "pool",
				      "small objs", NULL));

	/* Label values escaped and decoded back: tab raw, quote, backslash. */
	ASSERT_STREQ("18446744073709551615",
		     prom_value(&p, "hugeslab_pool_allocs_total", "pid", pid42,
				"comm", fx_comm42, "pool", "big", NULL));
	ASSERT_STREQ("32", prom_value(&p, "hugeslab_pool_object_size_bytes",
				      "pid", pid42, "comm", fx_comm42, "pool",
				      "x\\y\"z", NULL));
	ASSERT_NE(NULL, strstr(run.out, "pool=\"x\\\\y\\\"z\""));

	/* Two unnamed pools in one process: still two series. */
	ASSERT_STREQ("128", prom_value(&p, "hugeslab_pool_object_size_bytes",
				       "pid", pid300, "comm", "srv a", "pool",
				       "", NULL));
	ASSERT_STREQ("256", prom_value(&p, "hugeslab_pool_object_size_bytes",
				       "pid", pid300, "comm", "srv a", "pool",
				       "#2", NULL));
	ASSERT_EQ(5U, prom_count(&p, "hugeslab_pool_bytes"));
	prom_free(&p);
	run_free(&run);

	/* Views limit the metrics as they limit the tables. */
	ASSERT_EQ(0, run_prom(_metadata, &run, &p, self->dir, NULL,
			      "--regions"));
	ASSERT_EQ(0U, prom_count(&p, "hugeslab_pool_bytes"));
	ASSERT_EQ(1U, prom_count(&p, "hugeslab_region_bytes"));
	ASSERT_NE(NULL, prom_value(&p, "hugeslab_used_bytes", NULL));
	prom_free(&p);
	run_free(&run);
	ASSERT_EQ(0, run_prom(_metadata, &run, &p, self->dir, NULL,
			      "--pools"));
	ASSERT_EQ(5U, prom_count(&p, "hugeslab_pool_bytes"));
	ASSERT_EQ(0U, prom_count(&p, "hugeslab_region_bytes"));
	prom_free(&p);
	run_free(&run);
}

/* The same name twice, and a pool really called what the second becomes. */
TEST_F(pfx, prometheus_unique_series)
{
	static const char *const sorts[] = { NULL, "--sort=objsize" };
	const char *const m = "hugeslab_pool_object_size_bytes";
	struct prom p;
	struct run run;
	size_t i;

	ASSERT_EQ(0, write_file(self->dir, "pools",
				"hugeslab pools 1\n"
				"9 a 1 0 0 0 0 0 0 c\n"
				"9 a 2 0 0 0 0 0 0 c\n"
				"9 a#2 3 0 0 0 0 0 0 c\n"
				"9 a 4 0 0 0 0 0 0 other\n"
				"8 a 5 0 0 0 0 0 0 c\n"));
	/* The labels follow the module's order, whatever the output's. */
	for (i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
		ASSERT_EQ(0, run_prom(_metadata, &run, &p, self->dir, NULL,
				      sorts[i]));
		ASSERT_EQ(5U, prom_count(&p, m));
		ASSERT_STREQ("1", prom_value(&p, m, "pid", "9", "comm", "c",
					     "pool", "a", NULL));
		ASSERT_STREQ("2", prom_value(&p, m, "pid", "9", "comm", "c",
					     "pool", "a#2", NULL));
		ASSERT_STREQ("3", prom_value(&p, m, "pid", "9", "comm", "c",
					     "pool", "a#2#2", NULL));
		/* Distinct already: another command, another process. */
		ASSERT_STREQ("4", prom_value(&p, m, "pid", "9", "comm",
					     "other", "pool", "a", NULL));
		ASSERT_STREQ("5", prom_value(&p, m, "pid", "8", "comm", "c",
					     "pool", "a", NULL));
		prom_free(&p);
		run_free(&run);
	}
}

/* A module without the pools file: no table, not an error. */
TEST_F(pfx, no_pools_file)
{
	char path[PATH_MAX];
	struct jval root;
	struct prom p;
	struct run run;

	snprintf(path, sizeof(path), "%s/pools", self->dir);
	ASSERT_EQ(0, unlink(path));
	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", "--json",
				NULL));
	ASSERT_EQ(0, run.status) TH_LOG("%s", run.err);
	ASSERT_EQ(0, jparse(run.out, &root));
	ASSERT_EQ(J_NULL, jget(&root, "pools")->type);
	ASSERT_EQ(1U, jget(&root, "regions")->n);
	jfree(&root);
	run_free(&run);

	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_NE(NULL, strstr(run.out, "(no pools table"));
	ASSERT_NE(NULL, strstr(run.out, " Pools           : -\n"));
	run_free(&run);

	ASSERT_EQ(0, run_prom(_metadata, &run, &p, self->dir, NULL, NULL));
	ASSERT_EQ(NULL, prom_type(&p, "hugeslab_pools"));
	prom_free(&p);
	run_free(&run);
}

TEST_F(pfx, pools_format)
{
	static const char *const bad[] = {
		"hugeslab pools 2\n",
		"hugeslab regions 1\n",
		"hugeslab pools 1\n1 a 2 3 4\n",
		"hugeslab pools 1\n1 a x 3 4 5 6 7 8 c\n",
		"hugeslab pools 1\n1 a 2 3 4 5 6 7 -8 c\n",
		"hugeslab pools 1\n# pid name obj_size comm\n",
	};
	const struct jval *p;
	struct jval root;
	struct run run;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(0, write_file(self->dir, "pools", bad[i]));
		ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once",
					NULL));
		ASSERT_EQ(1, run.status) TH_LOG("case %zu", i);
		ASSERT_NE(NULL, strstr(run.err, "/pools:"))
			TH_LOG("case %zu: %s", i, run.err);
		ASSERT_STREQ("", run.out);
		run_free(&run);
	}

	/* A newer minor version may add columns (comm stays last). */
	ASSERT_EQ(0, write_file(self->dir, "pools",
				"hugeslab pools 1.3\n"
				"# pid cgroup name obj_size in_use total bytes allocs frees cache_hits numa comm\n"
				"77 /a q 8 1 2 3 4 5 6 0 w\\040x\n"));
	ASSERT_EQ(0, run_hsstat(&run, self->dir, NULL, "--once", "--json",
				NULL));
	ASSERT_EQ(0, run.status) TH_LOG("%s", run.err);
	ASSERT_EQ(0, jparse(run.out, &root));
	p = json_pool(&root, 77, "q");
	ASSERT_NE(NULL, p);
	ASSERT_STREQ("w x", jstr(p, "comm"));
	ASSERT_EQ(8ULL, json_u64(p, "obj_size"));
	ASSERT_EQ(6ULL, json_u64(p, "cache_hits"));
	jfree(&root);
	run_free(&run);
}

/* Debugfs unreadable, sysfs read: said on stderr, in JSON and in metrics. */
TEST_F(pfx, sysfs)
{
	const struct jval *stats, *ps;
	struct jval root;
	struct prom p;
	struct run run;
	char path[160];

	setenv("HSSTAT_SYSFS", self->sys, 1);
	ASSERT_EQ(0, run_hsstat(&run, "/nonexistent/hugeslab", NULL, "--once",
				"--json", NULL));
	ASSERT_EQ(0, run.status) TH_LOG("%s", run.err);
	ASSERT_NE(NULL, strstr(run.err, "debugfs not available"));
	ASSERT_NE(NULL, strstr(run.err, "showing global totals from "));
	ASSERT_NE(NULL, strstr(run.err, self->sys));
	ASSERT_NE(NULL, strstr(run.err, "regions and pools need debugfs"));
	ASSERT_EQ(0, jparse(run.out, &root)) TH_LOG("%s", run.out);
	ASSERT_STREQ("sysfs", jstr(&root, "source"));
	ASSERT_STREQ(self->sys, jstr(&root, "path"));
	ASSERT_NE(NULL, strstr(jstr(&root, "note"),
			       "/nonexistent/hugeslab/stats"));
	ASSERT_NE(NULL, strstr(jstr(&root, "note"),
			       "regions and pools need debugfs"));
	ASSERT_EQ(J_NULL, jget(&root, "regions")->type);
	ASSERT_EQ(J_NULL, jget(&root, "pools")->type);
	stats = jget(&root, "stats");
	ASSERT_EQ(67108864ULL, json_u64(stats, "reserved_bytes"));
	ASSERT_EQ(6291456ULL, json_u64(stats, "used_bytes"));
	ASSERT_EQ(60817408ULL, json_u64(stats, "free_bytes"));
	ASSERT_EQ(536870912ULL, json_u64(stats, "max_bytes"));
	ASSERT_EQ(0ULL, json_u64(stats, "user_max_bytes"));
	ASSERT_EQ(10485760ULL, json_u64(stats, "peak_bytes"));
	ASSERT_EQ(2ULL, json_u64(stats, "regions"));
	ASSERT_EQ(7ULL, json_u64(stats, "failed_requests"));
	ps = jget(stats, "page_sizes");
	ASSERT_EQ(2U, ps->n);
	/* Only debugfs has these. */
	ASSERT_EQ(NULL, jget(stats, "created"));
	ASSERT_EQ(NULL, jget(stats, "failed_limit"));
	jfree(&root);
	run_free(&run);

	ASSERT_EQ(0, run_hsstat(&run, "/nonexistent/hugeslab", NULL, "--once",
				NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_NE(NULL, strstr(run.out, " Source          : sysfs ("));
	ASSERT_NE(NULL, strstr(run.out, " Used            : 6.0 MiB\n"));
	ASSERT_NE(NULL, strstr(run.out, "(no pools table: it needs debugfs)"));
	ASSERT_NE(NULL, strstr(run.out, "(no per-region table: it needs debugfs)"));
	run_free(&run);

	ASSERT_EQ(0, run_prom(_metadata, &run, &p, "/nonexistent/hugeslab",
			      NULL, NULL));
	ASSERT_STREQ("1", prom_value(&p, "hugeslab_source_info", "source",
				     "sysfs", NULL));
	ASSERT_STREQ("6291456", prom_value(&p, "hugeslab_used_bytes", NULL));
	ASSERT_STREQ("10485760", prom_value(&p, "hugeslab_peak_bytes", NULL));
	ASSERT_EQ(0U, prom_count(&p, "hugeslab_pool_bytes"));
	ASSERT_EQ(0U, prom_count(&p, "hugeslab_region_bytes"));
	ASSERT_EQ(NULL, prom_type(&p, "hugeslab_pools"));
	prom_free(&p);
	run_free(&run);

	/* An optional counter missing (an older module): the rest is shown. */
	snprintf(path, sizeof(path), "%s/peak_bytes", self->sys);
	ASSERT_EQ(0, unlink(path));
	ASSERT_EQ(0, run_hsstat(&run, "/nonexistent/hugeslab", NULL, "--once",
				"--json", NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_EQ(0, jparse(run.out, &root));
	ASSERT_STREQ("sysfs", jstr(&root, "source"));
	ASSERT_EQ(NULL, jget(jget(&root, "stats"), "peak_bytes"));
	jfree(&root);
	run_free(&run);

	/* Not a number: an error naming the file, no fallback past it. */
	ASSERT_EQ(0, write_file(self->sys, "used_bytes", "lots\n"));
	ASSERT_EQ(0, run_hsstat(&run, "/nonexistent/hugeslab", NULL, "--once",
				NULL));
	ASSERT_EQ(1, run.status);
	ASSERT_NE(NULL, strstr(run.err, "used_bytes: bad value 'lots'"))
		TH_LOG("%s", run.err);
	run_free(&run);

	/* A required counter missing: sysfs is passed over. */
	snprintf(path, sizeof(path), "%s/used_bytes", self->sys);
	ASSERT_EQ(0, unlink(path));
	ASSERT_EQ(0, run_hsstat(&run, "/nonexistent/hugeslab", NULL, "--once",
				"--json", NULL));
	if (run.status == 0) {
		/* The module is loaded: the ioctl answered. */
		ASSERT_EQ(0, jparse(run.out, &root));
		ASSERT_STREQ("ioctl", jstr(&root, "source"));
		ASSERT_NE(NULL, strstr(jstr(&root, "note"), path));
		jfree(&root);
	} else {
		ASSERT_EQ(1, run.status);
		ASSERT_EQ(NULL, strstr(run.out, "sysfs"));
	}
	run_free(&run);
}

/* ---- against the module -------------------------------------------------- */

/* The stats area of @fd, or MAP_FAILED. */
static struct hugeslab_pool_stat *map_stats(int fd)
{
	return mmap(NULL, HUGESLAB_STATS_BYTES, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, HUGESLAB_STATS_OFFSET);
}

static void set_pool(struct hugeslab_pool_stat *s, const char *name,
		     size_t name_len, uint64_t obj_size, uint64_t in_use,
		     uint64_t total, uint64_t bytes, uint64_t allocs,
		     uint64_t frees, uint64_t hits)
{
	memset(s->name, 0, sizeof(s->name));
	memcpy(s->name, name, name_len);
	s->obj_size = obj_size;
	s->in_use = in_use;
	s->total = total;
	s->bytes = bytes;
	s->allocs = allocs;
	s->frees = frees;
	s->cache_hits = hits;
	/* Published last, as a writer that cares about readers would. */
	__atomic_store_n(&s->flags, HUGESLAB_POOL_LIVE, __ATOMIC_RELEASE);
}

#define MOD_COMM	"hs\tp \"q\\"
/* A tab, a newline, a control byte, a quote, a backslash, a space, UTF-8. */
#define HOSTILE		"bad\tname\n\x01\"q\\z \xc3\xbc"
/* What the module makes of it: every byte outside 0x20-0x7e is a '?'. */
#define HOSTILE_SAFE	"bad?name??\"q\\z ??"
#define LONG_NAME	"PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP"	/* 32, no NUL */

TEST(module_pools)
{
	char pid[16], comm[] = MOD_COMM, num[32];
	struct hugeslab_pool_stat *s;
	struct hugeslab_query q;
	struct trow rows[64];
	const struct trow *r;
	const struct jval *p;
	struct jval root;
	struct prom pr;
	struct run run;
	int fd, n;

	NEED_MODULE(fd);
	ASSERT_EQ(0, prctl(PR_SET_NAME, comm));
	s = map_stats(fd);
	ASSERT_NE(MAP_FAILED, s) TH_LOG("mmap stats area: %s", strerror(errno));
	ASSERT_GE(HUGESLAB_STATS_SLOTS, 16U);
	set_pool(&s[0], "objects 64", 10, 64, 100, 128, 8192, 1000, 900, 750);
	/* in_use > total, cache_hits > allocs, obj_size absurd. */
	set_pool(&s[3], HOSTILE, strlen(HOSTILE), UINT64_MAX, 5000, 10, 12345,
		 7, 3, 99);
	set_pool(&s[7], LONG_NAME, 32, 4096, 1, 2, 1 << 20, 1ULL << 40,
		 (1ULL << 40) - 1, 0);
	set_pool(&s[9], "", 0, 8, 0, 0, 0, 0, 0, 0);
	/* Not live: not listed, whatever else it says. */
	memcpy(s[5].name, "ghost", 5);
	s[5].total = 1;
	snprintf(pid, sizeof(pid), "%d", getpid());

	/* JSON */
	ASSERT_EQ(0, run_hsstat(&run, NULL, NULL, "--once", "--json", NULL));
	ASSERT_EQ(0, run.status) TH_LOG("stderr: %s", run.err);
	ASSERT_EQ(0, jparse(run.out, &root)) TH_LOG("bad JSON: %s", run.out);
	ASSERT_STREQ("debugfs", jstr(&root, "source"));
	ASSERT_EQ(4U, count_pools(&root, getpid())) TH_LOG("%s", run.out);
	ASSERT_EQ(NULL, json_pool(&root, getpid(), "ghost"));

	p = json_pool(&root, getpid(), "objects 64");
	ASSERT_NE(NULL, p) TH_LOG("%s", run.out);
	ASSERT_STREQ(MOD_COMM, jstr(p, "comm"));
	ASSERT_EQ(64ULL, json_u64(p, "obj_size"));
	ASSERT_EQ(100ULL, json_u64(p, "in_use"));
	ASSERT_EQ(128ULL, json_u64(p, "total"));
	ASSERT_EQ(8192ULL, json_u64(p, "bytes"));
	ASSERT_EQ(1000ULL, json_u64(p, "allocs"));
	ASSERT_EQ(900ULL, json_u64(p, "frees"));
	ASSERT_EQ(750ULL, json_u64(p, "cache_hits"));

	p = json_pool(&root, getpid(), HOSTILE_SAFE);
	ASSERT_NE(NULL, p) TH_LOG("%s", run.out);
	ASSERT_STREQ(MOD_COMM, jstr(p, "comm"));
	ASSERT_EQ(10ULL, json_u64(p, "in_use"));		/* clamped to total */
	ASSERT_EQ(10ULL, json_u64(p, "total"));
	ASSERT_EQ(7ULL, json_u64(p, "cache_hits"));		/* clamped to allocs */
	ASSERT_EQ(12345ULL, json_u64(p, "bytes"));
	ASSERT_EQ(3ULL, json_u64(p, "frees"));
	/* Clamped to the largest region the module could hand out. */
	ASSERT_LT(0ULL, json_u64(p, "obj_size"));
	ASSERT_GE(1ULL << 40, json_u64(p, "obj_size"));

	p = json_pool(&root, getpid(), LONG_NAME);
	ASSERT_NE(NULL, p) TH_LOG("%s", run.out);
	ASSERT_EQ(1ULL << 40, json_u64(p, "allocs"));
	ASSERT_EQ((1ULL << 40) - 1, json_u64(p, "frees"));
	ASSERT_EQ(1ULL << 20, json_u64(p, "bytes"));

	p = json_pool(&root, getpid(), "");
	ASSERT_NE(NULL, p) TH_LOG("%s", run.out);
	ASSERT_EQ(8ULL, json_u64(p, "obj_size"));
	jfree(&root);
	run_free(&run);

	/* Text */
	ASSERT_EQ(0, run_hsstat(&run, NULL, NULL, "--once", "--pools", NULL));
	ASSERT_EQ(0, run.status) TH_LOG("stderr: %s", run.err);
	ASSERT_EQ(NULL, strstr(run.out, "MAPPED"));
	n = text_pools(run.out, rows, 64);
	ASSERT_LE(4, n) TH_LOG("%s", run.out);
	r = find_trow(rows, n, getpid(), "objects 64");
	ASSERT_NE(NULL, r) TH_LOG("%s", run.out);
	ASSERT_STREQ("hs?p \"q\\", r->comm);
	ASSERT_STREQ("64", r->objsize);
	ASSERT_STREQ("100", r->inuse);
	ASSERT_STREQ("128", r->total);
	ASSERT_STREQ("78%", r->use);
	ASSERT_STREQ("8.0 KiB", r->memory);
	ASSERT_STREQ("1000", r->allocs);
	ASSERT_STREQ("75%", r->hit);
	r = find_trow(rows, n, getpid(), HOSTILE_SAFE);
	ASSERT_NE(NULL, r) TH_LOG("%s", run.out);
	ASSERT_STREQ("10", r->inuse);
	ASSERT_STREQ("100%", r->use);
	ASSERT_STREQ("100%", r->hit);
	r = find_trow(rows, n, getpid(), LONG_NAME);
	ASSERT_NE(NULL, r) TH_LOG("%s", run.out);
	ASSERT_STREQ("50%", r->use);
	ASSERT_STREQ("0%", r->hit);
	ASSERT_STREQ("1.0 MiB", r->memory);
	r = find_trow(rows, n, getpid(), "-");
	ASSERT_NE(NULL, r) TH_LOG("%s", run.out);
	ASSERT_STREQ("-", r->use);
	run_free(&run);

	/* Prometheus */
	ASSERT_EQ(0, dev_query(fd, &q));
	ASSERT_EQ(0, run_prom(_metadata, &run, &pr, NULL, NULL, NULL));
	ASSERT_STREQ(str_u64(num, q.used_bytes),
		     prom_value(&pr, "hugeslab_used_bytes", NULL));
	ASSERT_STREQ(str_u64(num, q.reserve_bytes),
		     prom_value(&pr, "hugeslab_reserved_bytes", NULL));
	ASSERT_STREQ("100", prom_value(&pr, "hugeslab_pool_objects_in_use",
				       "pid", pid, "comm", MOD_COMM, "pool",
				       "objects 64", NULL));
	ASSERT_STREQ("128", prom_value(&pr, "hugeslab_pool_objects", "pid",
				       pid, "comm", MOD_COMM, "pool",
				       "objects 64", NULL));
	ASSERT_STREQ("8192", prom_value(&pr, "hugeslab_pool_bytes", "pid",
					pid, "comm", MOD_COMM, "pool",
					"objects 64", NULL));
	ASSERT_STREQ("1000", prom_value(&pr, "hugeslab_pool_allocs_total",
					"pid", pid, "comm", MOD_COMM, "pool",
					"objects 64", NULL));
	ASSERT_STREQ("900", prom_value(&pr, "hugeslab_pool_frees_total",
				       "pid", pid, "comm", MOD_COMM, "pool",
				       "objects 64", NULL));
	ASSERT_STREQ("10", prom_value(&pr, "hugeslab_pool_objects_in_use",
				      "pid", pid, "comm", MOD_COMM, "pool",
				      HOSTILE_SAFE, NULL));
	ASSERT_STREQ("7", prom_value(&pr, "hugeslab_pool_cache_hits_total",
				     "pid", pid, "comm", MOD_COMM, "pool",
				     HOSTILE_SAFE, NULL));
	ASSERT_STREQ("1099511627776",
		     prom_value(&pr, "hugeslab_pool_allocs_total", "pid", pid,
				"comm", MOD_COMM, "pool", LONG_NAME, NULL));
	ASSERT_STREQ("8", prom_value(&pr, "hugeslab_pool_object_size_bytes",
				     "pid", pid, "comm", MOD_COMM, "pool", "",
				     NULL));
	prom_free(&pr);
	run_free(&run);

	munmap(s, HUGESLAB_STATS_BYTES);
	close(fd);
}

/* What the child publishes before it tells its parent. */
static int publish_and_wait(int ready, int go)
{
	struct hugeslab_pool_stat *s;
	char c = 0;
	int fd;

	if (prctl(PR_SET_NAME, "hs_pool_child"))
		return 1;
	fd = open_dev();
	if (fd < 0)
		return 2;
	s = map_stats(fd);
	if (s == MAP_FAILED)
		return 3;
	set_pool(&s[2], "child pool", 10, 32, 1, 2, 3, 4, 5, 6);
	if (write(ready, &c, 1) != 1)
		return 4;
	/* Until the parent closes its end. */
	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether hsstat lists pool "child pool" of @pid: 1, 0, or -1 on error. */
static int child_listed(pid_t pid, char *comm, size_t len)
{
	const struct jval *p;
	struct jval root;
	struct run run;
	int ret = -1;

	if (run_hsstat(&run, NULL, NULL, "--once", "--json", "--pools", NULL))
		return -1;
	if (run.status == 0 && !jparse(run.out, &root)) {
		p = json_pool(&root, pid, "child pool");
		if (p && comm)
			snprintf(comm, len, "%s", jstr(p, "comm"));
		ret = p != NULL;
		jfree(&root);
	}
	run_free(&run);
	return ret;
}

TEST(module_pools_exit)
{
	int ready[2], go[2], status, listed = 1, fd;
	struct pollfd pfd;
	char comm[32] = "", c;
	double deadline;
	pid_t pid;

	NEED_MODULE(fd);
	close(fd);
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		_exit(publish_and_wait(ready[1], go[0]));
	}
	close(ready[1]);
	close(go[0]);

	/* The child has published (or died: then the read sees EOF). */
	pfd.fd = ready[0];
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, TEST_TIMEOUT_SEC * 1000));
	ASSERT_EQ(1, read(ready[0], &c, 1)) {
		waitpid(pid, &status, 0);
		TH_LOG("child failed: status %d", WEXITSTATUS(status));
	}
	ASSERT_EQ(1, child_listed(pid, comm, sizeof(comm)));
	ASSERT_STREQ("hs_pool_child", comm);

	/* Let it exit, and reap it: its file is closed once it is a zombie. */
	close(go[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	/* Each hsstat run takes time; this is a bound, not a wait. */
	deadline = now() + 10;
	while (now() < deadline) {
		listed = child_listed(pid, NULL, 0);
		ASSERT_LE(0, listed);
		if (!listed)
			break;
	}
	ASSERT_EQ(0, listed) TH_LOG("pool of exited pid %d still listed", pid);
	close(ready[0]);
}

/* hsstat read sysfs and reports exactly the query ioctl's totals. */
static void check_sysfs_json(struct __test_metadata *_metadata,
			     const struct run *run,
			     const struct hugeslab_query *q)
{
	const struct jval *stats;
	struct jval root;

	ASSERT_EQ(0, run->status) TH_LOG("stderr: %s", run->err);
	ASSERT_NE(NULL, strstr(run->err, "debugfs not available"))
		TH_LOG("stderr: %s", run->err);
	ASSERT_NE(NULL, strstr(run->err,
			       "showing global totals from /sys/class/misc/hugeslab"))
		TH_LOG("stderr: %s", run->err);
	ASSERT_NE(NULL, strstr(run->err, "regions and pools need debugfs"));
	ASSERT_EQ(0, jparse(run->out, &root)) TH_LOG("bad JSON: %s", run->out);
	ASSERT_STREQ("sysfs", jstr(&root, "source"));
	ASSERT_STREQ("/sys/class/misc/hugeslab", jstr(&root, "path"));
	ASSERT_NE(NULL, jstr(&root, "note"));
	ASSERT_NE(NULL, strstr(jstr(&root, "note"),
			       "regions and pools need debugfs"));
	ASSERT_EQ(J_NULL, jget(&root, "regions")->type);
	ASSERT_EQ(J_NULL, jget(&root, "pools")->type);
	stats = jget(&root, "stats");
	ASSERT_EQ(q->reserve_bytes, json_u64(stats, "reserved_bytes"));
	ASSERT_EQ(q->used_bytes, json_u64(stats, "used_bytes"));
	ASSERT_EQ(q->reserve_bytes > q->used_bytes ?
		  q->reserve_bytes - q->used_bytes : 0,
		  json_u64(stats, "free_bytes"));
	ASSERT_EQ(q->max_bytes, json_u64(stats, "max_bytes"));
	ASSERT_EQ(q->user_max_bytes, json_u64(stats, "user_max_bytes"));
	ASSERT_EQ(q->regions, json_u64(stats, "regions"));
	ASSERT_EQ(q->failed, json_u64(stats, "failed_requests"));
	ASSERT_LE(q->used_bytes, json_u64(stats, "peak_bytes"));
	ASSERT_NE(NULL, jget(stats, "page_sizes"));
	jfree(&root);
}

TEST(module_sysfs_nobody)
{
	struct hugeslab_create c;
	struct hugeslab_query q;
	struct run run;
	struct prom p;
	char num[32];
	int fd;

	NEED_MODULE(fd);
	if (geteuid() != 0)
		SKIP(return, "needs root to drop to nobody");
	ASSERT_EQ(0, dev_create(fd, 2 * MiB, &c));
	ASSERT_EQ(0, dev_query(fd, &q));

	ASSERT_EQ(0, run_hsstat(&run, NULL, prep_nobody, "--once", "--json",
				NULL));
	if (prep_failed(&run))
		SKIP(return, "%s", run.err);
	check_sysfs_json(_metadata, &run, &q);
	/* Not root: the reason says debugfs is root's. */
	ASSERT_NE(NULL, strstr(run.err, "root")) TH_LOG("%s", run.err);
	run_free(&run);

	ASSERT_EQ(0, run_hsstat(&run, NULL, prep_nobody, "--once", NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_NE(NULL, strstr(run.out,
			       " Source          : sysfs (/sys/class/misc/hugeslab)\n"))
		TH_LOG("%s", run.out);
	run_free(&run);

	ASSERT_EQ(0, run_prom(_metadata, &run, &p, NULL, prep_nobody, NULL));
	ASSERT_STREQ("1", prom_value(&p, "hugeslab_source_info", "source",
				     "sysfs", NULL));
	ASSERT_STREQ(str_u64(num, q.used_bytes),
		     prom_value(&p, "hugeslab_used_bytes", NULL));
	ASSERT_STREQ(str_u64(num, q.regions),
		     prom_value(&p, "hugeslab_regions", NULL));
	ASSERT_STREQ(str_u64(num, q.failed),
		     prom_value(&p, "hugeslab_failed_requests_total", NULL));
	ASSERT_EQ(0U, prom_count(&p, "hugeslab_region_bytes"));
	prom_free(&p);
	run_free(&run);
	close(fd);
}

TEST(module_sysfs_no_debugfs)
{
	struct hugeslab_create c;
	struct hugeslab_query q;
	struct run run;
	int fd;

	NEED_MODULE(fd);
	ASSERT_EQ(0, dev_create(fd, 4 * MiB, &c));
	ASSERT_EQ(0, dev_query(fd, &q));
	ASSERT_EQ(0, run_hsstat(&run, NULL, prep_no_debugfs, "--once",
				"--json", NULL));
	if (prep_failed(&run))
		SKIP(return, "%s", run.err);
	check_sysfs_json(_metadata, &run, &q);
	ASSERT_NE(NULL, strstr(run.err, "debugfs is not mounted"));
	run_free(&run);
	close(fd);
}

/* Regions as metrics: every one, with its owner. */
TEST(module_prometheus_regions)
{
	struct hugeslab_create c[2];
	struct hugeslab_query q;
	char id[2][24], pid[16], num[32];
	struct run run;
	struct prom p;
	int fd;

	NEED_MODULE(fd);
	ASSERT_EQ(0, prctl(PR_SET_NAME, "hs prom\"x"));
	ASSERT_EQ(0, dev_create(fd, 2 * MiB, &c[0]));
	ASSERT_EQ(0, dev_create(fd, 6 * MiB, &c[1]));
	ASSERT_EQ(0, dev_query(fd, &q));
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(id[0], sizeof(id[0]), "%llu", (unsigned long long)c[0].id);
	snprintf(id[1], sizeof(id[1]), "%llu", (unsigned long long)c[1].id);

	ASSERT_EQ(0, run_prom(_metadata, &run, &p, NULL, NULL, NULL));
	ASSERT_STREQ("1", prom_value(&p, "hugeslab_source_info", "source",
				     "debugfs", NULL));
	ASSERT_STREQ(str_u64(num, q.regions),
		     prom_value(&p, "hugeslab_regions", NULL));
	ASSERT_EQ(q.regions, prom_count(&p, "hugeslab_region_bytes"));
	ASSERT_STREQ("2097152", prom_value(&p, "hugeslab_region_bytes", "id",
					   id[0], "pid", pid, "comm",
					   "hs prom\"x", NULL));
	ASSERT_STREQ("6291456", prom_value(&p, "hugeslab_region_bytes", "id",
					   id[1], "pid", pid, "comm",
					   "hs prom\"x", NULL));
	ASSERT_STREQ("0", prom_value(&p, "hugeslab_region_mapped", "id",
				     id[1], "pid", pid, "comm", "hs prom\"x",
				     NULL));
	ASSERT_STREQ("counter", prom_type(&p, "hugeslab_regions_created_total"));
	prom_free(&p);
	run_free(&run);
	close(fd);
}

TEST_HARNESS_MAIN
