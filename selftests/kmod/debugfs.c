// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the debugfs reports. "regions" lists each of the test's
 * regions once with its pid, comm (escaped to one field), bytes, page size,
 * node and whether it is mapped, and drops it when it is freed; "stats"
 * has its version line and agrees with HUGESLAB_IOC_QUERY.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "hs_kmod.h"

FIXTURE(dbg) {
	int fd;
	struct hs_snap base;
};

FIXTURE_SETUP(dbg)
{
	struct stat st;

	self->fd = hs_open();
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: is hugeslab.ko loaded?",
		     HUGESLAB_DEVICE);
	ASSERT_LE(0, self->fd);
	if (stat(HS_DEBUGFS "/regions", &st) || hs_snap(&self->base))
		SKIP(return, "%s/regions: %s (debugfs not mounted?)",
		     HS_DEBUGFS, strerror(errno));
}

FIXTURE_TEARDOWN_PARENT(dbg)
{
	HS_EXPECT_BASELINE(&self->base);
}

/* Our comm as the module prints it: octal escapes for blanks and '\'. */
static void escaped_comm(char *out, size_t size)
{
	char comm[32] = "";
	size_t o = 0;
	int i;

	prctl(PR_GET_NAME, comm);
	for (i = 0; comm[i] && o + 5 < size; i++) {
		unsigned char ch = comm[i];

		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\\')
			o += snprintf(out + o, size - o, "\\%03o", ch);
		else
			out[o++] = ch;
	}
	out[o] = '\0';
}

TEST_F(dbg, regions_lists_own_regions)
{
	struct hugeslab_create c[3];
	const unsigned long long sizes[3] = { HS_2M, 2 * HS_2M, 3 * HS_2M };
	struct hs_dbg_region r;
	char comm[64];
	void *p;
	int i;

	/* A name with a blank must still parse as one field. */
	ASSERT_EQ(0, prctl(PR_SET_NAME, "hs dbg\\test"));
	escaped_comm(comm, sizeof(comm));
	EXPECT_STREQ("hs\\040dbg\\134test", comm);

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, hs_create(self->fd, sizes[i], &c[i]));
	}
	EXPECT_EQ(3, hs_dbg_count_pid(getpid()));

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, hs_dbg_find(c[i].id, &r)) TH_LOG("region %d", i);
		EXPECT_EQ((long)getpid(), r.pid);
		EXPECT_STREQ(comm, r.comm);
		EXPECT_EQ(sizes[i], r.bytes);
		EXPECT_EQ(2097152ULL, r.page_size);
		EXPECT_EQ(c[i].page_node, r.node);
		EXPECT_FALSE(r.mapped);
	}

	/* Mapped shows while a mapping exists, and only for that region. */
	p = hs_map(self->fd, &c[1]);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, hs_dbg_find(c[1].id, &r));
	EXPECT_TRUE(r.mapped);
	ASSERT_EQ(1, hs_dbg_find(c[0].id, &r));
	EXPECT_FALSE(r.mapped);
	ASSERT_EQ(0, munmap(p, c[1].bytes));
	ASSERT_EQ(1, hs_dbg_find(c[1].id, &r));
	EXPECT_FALSE(r.mapped);

	/* A partial mapping counts too. */
	p = mmap(NULL, HS_2M, PROT_READ, MAP_SHARED, self->fd,
		 c[2].offset + HS_2M);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, hs_dbg_find(c[2].id, &r));
	EXPECT_TRUE(r.mapped);
	ASSERT_EQ(0, munmap(p, HS_2M));

	/* Destroyed regions leave the list. */
	ASSERT_EQ(0, hs_destroy(self->fd, c[0].id));
	EXPECT_EQ(0, hs_dbg_find(c[0].id, &r));
	EXPECT_EQ(2, hs_dbg_count_pid(getpid()));
	ASSERT_EQ(0, close(self->fd));
	EXPECT_EQ(0, hs_dbg_count_pid(getpid()));
}

/*
 * A process names itself (prctl PR_SET_NAME) with any bytes but NUL: a
 * carriage return, an escape sequence, DEL, UTF-8. In "regions" every byte
 * that is not printable ASCII, and blanks and backslash, is written as
 * \ooo: the line is printable ASCII and the field decodes to the name.
 */
TEST_F(dbg, comm_every_byte_escaped)
{
	static const char name[] = "a\r\x1b[1m\x7f\xc3\xa9 \\z";
	char line[512], want[16], got[16], *p, *nl;
	static char buf[1 << 16];
	struct hugeslab_create c;
	size_t n = 0;
	int i;

	ASSERT_EQ(0, prctl(PR_SET_NAME, name));
	ASSERT_EQ(0, hs_create(self->fd, HS_2M, &c));
	ASSERT_LT(0, hs_read_file(HS_DEBUGFS "/regions", buf, sizeof(buf)));
	snprintf(line, sizeof(line), "\n%llu %d ", (unsigned long long)c.id,
		 getpid());
	p = strstr(buf, line);
	ASSERT_NE(NULL, p) TH_LOG("region %llu not listed", (unsigned long long)c.id);
	p++;
	nl = strchr(p, '\n');
	ASSERT_NE(NULL, nl);
	*nl = '\0';
	for (i = 0; p[i]; i++) {
		EXPECT_TRUE(p[i] > ' ' - 1 && p[i] < 0x7f)
			TH_LOG("raw byte 0x%02x in: %s", (unsigned char)p[i], p);
	}
	/* The last field, decoded. */
	p = strrchr(p, ' ');
	ASSERT_NE(NULL, p);
	for (p++; *p && n < sizeof(got) - 1; n++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' &&
		    p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			got[n] = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 |
					(p[3] - '0'));
			p += 4;
		} else {
			EXPECT_TRUE(*p != '\\') TH_LOG("a bare backslash");
			got[n] = *p++;
		}
	}
	got[n] = '\0';
	snprintf(want, sizeof(want), "%s", name);	/* as the kernel cut it */
	EXPECT_STREQ(want, got);
	ASSERT_EQ(0, hs_destroy(self->fd, c.id));
}

TEST_F(dbg, node_matches_create)
{
	struct hugeslab_create c;
	struct hs_dbg_region r;

	ASSERT_EQ(0, hs_create_node(self->fd, HS_2M, 0, &c));
	EXPECT_EQ(0, c.page_node);
	ASSERT_EQ(1, hs_dbg_find(c.id, &r));
	EXPECT_EQ(0, r.node);
	ASSERT_EQ(0, hs_destroy(self->fd, c.id));
}

/* Another process's regions show its pid, not ours. */
TEST_F(dbg, regions_of_a_child)
{
	int ready[2], done[2], status;
	struct hugeslab_create c;
	unsigned char st = 1;
	pid_t pid;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = hs_open();

		close(ready[0]);
		close(done[1]);
		prctl(PR_SET_NAME, "hs-dbg-child");
		st = fd < 0 || hs_create(fd, HS_2M, &c) ||
		     hs_create(fd, HS_2M, &c);
		if (write(ready[1], &st, 1) != 1 || read(done[0], &st, 1) < 0)
			_exit(2);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	ASSERT_EQ(1, read(ready[0], &st, 1));
	EXPECT_EQ(0, st);
	EXPECT_EQ(2, hs_dbg_count_pid(pid));
	EXPECT_EQ(0, hs_dbg_count_pid(getpid()));
	ASSERT_EQ(0, hs_create(self->fd, HS_2M, &c));
	EXPECT_EQ(1, hs_dbg_count_pid(getpid()));
	EXPECT_EQ(2, hs_dbg_count_pid(pid));

	/* Its exit closes its file, which frees its unmapped regions. */
	close(done[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_EQ(0, hs_dbg_count_pid(pid));
	EXPECT_EQ(1, hs_dbg_count_pid(getpid()));
	close(ready[0]);
}

TEST_F(dbg, stats_agree_with_query)
{
	static const char *const keys[] = {
		"abi_version", "page_sizes", "reserved_bytes", "used_bytes",
		"free_bytes", "max_bytes", "peak_bytes", "regions",
		"failed_requests", "created", "destroyed",
	};
	struct hugeslab_create c;
	struct hugeslab_query q;
	long long created, destroyed;
	char buf[4096], *ps;
	unsigned int i;

	ASSERT_LT(0, hs_read_file(HS_DEBUGFS "/stats", buf, sizeof(buf)));
	EXPECT_EQ(0, strncmp(buf, "hugeslab stats 1\n", 17)) TH_LOG("%s", buf);
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		EXPECT_NE(NULL, strstr(buf, keys[i])) TH_LOG("no %s", keys[i]);
	}

	created = hs_stat("created");
	destroyed = hs_stat("destroyed");
	ASSERT_EQ(0, hs_create(self->fd, 2 * HS_2M, &c));
	ASSERT_EQ(0, hs_query(self->fd, &q));
	EXPECT_EQ((long long)q.used_bytes, hs_stat("used_bytes"));
	EXPECT_EQ((long long)q.regions, hs_stat("regions"));
	EXPECT_EQ((long long)q.reserve_bytes, hs_stat("reserved_bytes"));
	EXPECT_EQ(q.reserve_bytes > q.used_bytes ?
		  (long long)(q.reserve_bytes - q.used_bytes) : 0,
		  hs_stat("free_bytes"));
	EXPECT_LE((long long)q.used_bytes, hs_stat("peak_bytes"));
	EXPECT_EQ(created + 1, hs_stat("created"));
	ASSERT_EQ(0, hs_destroy(self->fd, c.id));
	EXPECT_EQ(destroyed + 1, hs_stat("destroyed"));

	/* page_sizes is hexadecimal, the same bits as the query's. */
	ps = strstr(buf, "\npage_sizes 0x");
	ASSERT_NE(NULL, ps);
	EXPECT_EQ(q.page_sizes, strtoull(ps + 12, NULL, 16));
	EXPECT_NE(0ULL, q.page_sizes & HS_2M);
}

TEST_HARNESS_MAIN
