// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: hsstat under integrity lockdown, while regions exist. As
 * root it still reads debugfs (lockdown lets root read 0444 debugfs files,
 * see debugfs.c) and reports "source":"debugfs". Where debugfs cannot be
 * read - as the user nobody, or as root with debugfs unmounted in a
 * private mount namespace, or pointed at an empty directory - it falls
 * back to the module's sysfs counters: it exits 0, says so on stderr and
 * in JSON ("source":"sysfs", "path", a "note" with the reason, no regions
 * table), its text output names the source, and its totals equal the
 * query ioctl's.
 *
 * hsstat is $HSSTAT, else /opt/hs/hsstat (the VM), else the build tree's.
 */
#include <limits.h>

#include "kselftest_harness.h"
#include "hs_lockdown.h"

static const char *hsstat_path(void)
{
	static char path[PATH_MAX + 32];
	const char *env = getenv("HSSTAT");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (env && *env)
		return env;
	if (!access("/opt/hs/hsstat", X_OK))
		return "/opt/hs/hsstat";
	/* build/selftests/lockdown/hsstat -> build/tools/hsstat */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/../../tools/hsstat", self);
	return access(path, X_OK) ? NULL : path;
}

/* The string value of top-level @key in hsstat's JSON (no escapes), or "". */
static const char *json_str(const char *json, const char *key, char *buf,
			    size_t len)
{
	char pat[64];
	const char *s, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	buf[0] = '\0';
	s = strstr(json, pat);
	if (!s)
		return buf;
	s += strlen(pat);
	e = strchr(s, '"');
	if (e && (size_t)(e - s) < len) {
		memcpy(buf, s, e - s);
		buf[e - s] = '\0';
	}
	return buf;
}

/* A number in the "stats" object of hsstat's JSON, or -1. */
static long long json_stat(const char *json, const char *key)
{
	const char *stats = strstr(json, "\"stats\":{"), *end, *s;
	char pat[64];

	if (!stats)
		return -1;
	end = strchr(stats, '}');
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	s = strstr(stats, pat);
	if (!s || !end || s > end)
		return -1;
	return strtoll(s + strlen(pat), NULL, 10);
}

FIXTURE(hsstat) {
	int fd;
	const char *hsstat;
	struct hs_ld_snap base;
	struct hugeslab_create c[2];
	struct hs_run run;
};

FIXTURE_SETUP(hsstat)
{
	struct hugeslab_create big;
	long long pages;

	HS_ASSERT_INTEGRITY();
	self->hsstat = hsstat_path();
	ASSERT_NE(NULL, self->hsstat) TH_LOG("hsstat not found; set HSSTAT");
	self->fd = hs_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("%s: %s: is hugeslab.ko loaded?", HUGESLAB_DEVICE,
		       strerror(errno));
	ASSERT_EQ(0, hs_ld_snap(&self->base));
	ASSERT_EQ(0, hs_create(self->fd, HS_2M, &self->c[0]));
	ASSERT_EQ(0, hs_create(self->fd, 3 * HS_2M, &self->c[1]));
	/* One refused request, so failed_requests is not trivially 0. */
	pages = hs_meminfo("HugePages_Free");
	ASSERT_LT(0, pages);
	ASSERT_EQ(-ENOMEM, hs_create(self->fd, (pages + 1) * HS_2M, &big));
}

FIXTURE_TEARDOWN_PARENT(hsstat)
{
	HS_EXPECT_LD_BASELINE(&self->base);
}

/* hsstat's JSON totals equal the query's. */
static void check_totals(struct __test_metadata *_metadata, int fd,
			 const char *json)
{
	struct hugeslab_query q;
	struct hs_attrs a;

	ASSERT_EQ(0, hs_query(fd, &q));
	hs_read_attrs(&a);
	EXPECT_EQ((long long)q.used_bytes, json_stat(json, "used_bytes"));
	EXPECT_EQ((long long)q.regions, json_stat(json, "regions"));
	EXPECT_EQ((long long)q.reserve_bytes,
		  json_stat(json, "reserved_bytes"));
	/* No 1 GiB regions here, so what 2 MiB regions leave of the reserve. */
	EXPECT_EQ((long long)(q.reserve_bytes > q.used_bytes ?
			      q.reserve_bytes - q.used_bytes : 0),
		  json_stat(json, "free_bytes"));
	EXPECT_EQ((long long)q.failed, json_stat(json, "failed_requests"));
	EXPECT_LT(0, (long long)q.failed);
	EXPECT_EQ((long long)q.max_bytes, json_stat(json, "max_bytes"));
	EXPECT_EQ((long long)q.user_max_bytes,
		  json_stat(json, "user_max_bytes"));
	EXPECT_EQ((long long)a.val[HS_A_PEAK], json_stat(json, "peak_bytes"));
	/* 2 MiB pages first; the list is JSON numbers. */
	EXPECT_NE(NULL, strstr(json, "\"page_sizes\":[2097152"));
}

/*
 * hsstat --once --json run per @o fell back to sysfs, said why (@reason
 * in the note) on stderr and in the JSON, and got the totals right.
 */
static void check_sysfs_fallback(struct __test_metadata *_metadata,
				 FIXTURE_DATA(hsstat) *self,
				 const struct hs_run_opts *o,
				 const char *reason)
{
	char *argv[] = { (char *)self->hsstat, "--once", "--json", NULL };
	struct hs_run *r = &self->run;
	char buf[512];

	ASSERT_EQ(0, hs_run(o, argv, r));
	ASSERT_EQ(0, r->status) TH_LOG("hsstat failed: %s", r->err);
	EXPECT_STREQ("sysfs", json_str(r->out, "source", buf, sizeof(buf)))
		TH_LOG("hsstat did not fall back to sysfs: %s", r->out);
	EXPECT_STREQ(HS_SYSFS_DEV, json_str(r->out, "path", buf, sizeof(buf)));
	json_str(r->out, "note", buf, sizeof(buf));
	EXPECT_NE(NULL, strstr(buf, reason)) TH_LOG("note: %s", buf);
	/* No per-region detail without debugfs. */
	EXPECT_NE(NULL, strstr(r->out, "\"regions\":null"))
		TH_LOG("%s", r->out);
	/* And it tells the human. */
	EXPECT_NE(NULL, strstr(r->err, "debugfs not available"))
		TH_LOG("stderr: %s", r->err);
	EXPECT_NE(NULL, strstr(r->err, HS_SYSFS_DEV))
		TH_LOG("stderr: %s", r->err);
	EXPECT_NE(NULL, strstr(r->err, reason)) TH_LOG("stderr: %s", r->err);
	check_totals(_metadata, self->fd, r->out);
}

TEST_F(hsstat, root_still_reads_debugfs)
{
	char *argv[] = { (char *)self->hsstat, "--once", "--json", NULL };
	const struct hs_run_opts o = { 0 };
	char buf[64];

	ASSERT_EQ(0, hs_run(&o, argv, &self->run));
	ASSERT_EQ(0, self->run.status) TH_LOG("hsstat: %s", self->run.err);
	EXPECT_STREQ("debugfs", json_str(self->run.out, "source", buf,
					 sizeof(buf)));
	EXPECT_EQ(NULL, strstr(self->run.out, "\"note\":"));
	EXPECT_EQ(NULL, strstr(self->run.out, "\"regions\":null"));
	check_totals(_metadata, self->fd, self->run.out);
}

TEST_F(hsstat, nobody_falls_back_to_sysfs)
{
	const struct hs_run_opts o = { .nobody = true };

	check_sysfs_fallback(_metadata, self, &o, "debugfs is for root only");
}

TEST_F(hsstat, nobody_text_names_the_source)
{
	char *argv[] = { (char *)self->hsstat, "--once", NULL };
	const struct hs_run_opts o = { .nobody = true };
	const char *line;

	ASSERT_EQ(0, hs_run(&o, argv, &self->run));
	ASSERT_EQ(0, self->run.status) TH_LOG("hsstat: %s", self->run.err);
	line = strstr(self->run.out, "Source");
	ASSERT_NE(NULL, line) TH_LOG("%s", self->run.out);
	EXPECT_EQ(0, strncmp(strchr(line, ':'), ": sysfs (" HS_SYSFS_DEV ")",
			     strlen(": sysfs (" HS_SYSFS_DEV ")")))
		TH_LOG("%s", self->run.out);
	EXPECT_NE(NULL, strstr(self->run.err, "debugfs not available"));
}

TEST_F(hsstat, root_without_debugfs_falls_back_to_sysfs)
{
	const struct hs_run_opts o = { .no_debugfs = true };

	check_sysfs_fallback(_metadata, self, &o, "debugfs is not mounted");
}

TEST_F(hsstat, root_pointed_elsewhere_falls_back_to_sysfs)
{
	const struct hs_run_opts o = {
		.env = "HSSTAT_DEBUGFS=/nonexistent",
	};

	check_sysfs_fallback(_metadata, self, &o, "No such file");
}

TEST_HARNESS_MAIN
