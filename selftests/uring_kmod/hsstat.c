// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: buffer sets show in hsstat like pools (kmod backend) - a
 * set made by this process is in `hsstat --json --once` under its pid and
 * name with its buffer size, count and bytes; buffers handed to the
 * caller (by hs_uring_bufs_get, or by a recv completion from the ring)
 * show as in use, and are no longer once handed back; the text table
 * lists it too; a destroyed set is gone from both. hsstat is $HSSTAT, or
 * /opt/hs/hsstat (where the VM puts it).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "hugeslab/uring.h"

/* hsstat's output (stdout), or NULL. */
static char *hsstat(const char *args)
{
	const char *bin = getenv("HSSTAT");
	static char out[1 << 18];
	char cmd[512];
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s %s", bin && *bin ? bin : "/opt/hs/hsstat", args);
	fflush(NULL);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	if (pclose(p))
		return NULL;
	return out;
}

/* The JSON object of pool @name of @pid in @json, copied to @obj. */
static bool pool_json(const char *json, int pid, const char *name,
		      char *obj, size_t len)
{
	char key[96], pidkey[32];
	const char *p = json, *start, *end;

	snprintf(key, sizeof(key), "\"name\":\"%s\"", name);
	snprintf(pidkey, sizeof(pidkey), "\"pid\":%d,", pid);
	while ((p = strstr(p, key))) {
		for (start = p; start > json && *start != '{'; start--)
			;
		end = strchr(p, '}');
		if (end && (size_t)(end - start) < len) {
			memcpy(obj, start, (size_t)(end - start + 1));
			obj[end - start + 1] = '\0';
			if (strstr(obj, pidkey))
				return true;
		}
		p++;
	}
	return false;
}

static long long field(const char *obj, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(obj, k);
	return p ? strtoll(p + strlen(k), NULL, 10) : -1;
}

TEST(sets_are_listed_like_pools)
{
	struct hs_uring_bufs_opts fo = { .flags = HS_UBUF_FIXED };
	struct hs_uring_bufs_opts ro = { .flags = HS_UBUF_RING, .bgid = 6 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	hs_uring_bufs_t *f, *r;
	char obj[2048], line[64];
	unsigned int bid;
	int got[5], i, sv[2];
	char *out;

	ASSERT_EQ(HS_BACKEND_KMOD, hs_backend()) TH_LOG("%s", hs_backend_reason());
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	f = hs_uring_bufs_create(&ring, "hsstat_fixed", 48, 16384, &fo);
	ASSERT_NE(NULL, f) TH_LOG("%s", hs_uring_last_error());
	r = hs_uring_bufs_create(&ring, "hsstat_ring", 12, 2048, &ro);
	ASSERT_NE(NULL, r) TH_LOG("%s", hs_uring_last_error());
	for (i = 0; i < 5; i++)
		got[i] = hs_uring_bufs_get(f);
	/* One buffer of the ring taken by a recv. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(5, write(sv[1], "hello", 5));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_recv(sqe, sv[0], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 6;
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	ASSERT_NE(NULL, hs_uring_bufs_cqe(r, cqe, &bid)) TH_LOG("%s", hs_uring_last_error());
	io_uring_cqe_seen(&ring, cqe);

	out = hsstat("--json --once");
	ASSERT_NE(NULL, out) TH_LOG("hsstat failed");
	ASSERT_TRUE(pool_json(out, getpid(), "hsstat_fixed", obj, sizeof(obj)))
		TH_LOG("%s", out);
	EXPECT_EQ(16384, field(obj, "obj_size"));
	EXPECT_EQ(48, field(obj, "total"));
	EXPECT_EQ(5, field(obj, "in_use"));
	EXPECT_LE(48 * 16384, field(obj, "bytes"));
	EXPECT_EQ(5, field(obj, "allocs"));
	ASSERT_TRUE(pool_json(out, getpid(), "hsstat_ring", obj, sizeof(obj)));
	EXPECT_EQ(2048, field(obj, "obj_size"));
	EXPECT_EQ(12, field(obj, "total"));
	EXPECT_EQ(1, field(obj, "in_use"));

	/* Handed back: no longer in use. */
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, hs_uring_bufs_put(f, (unsigned int)got[i]));
	ASSERT_EQ(0, hs_uring_bufs_put(r, bid));
	out = hsstat("--json --once");
	ASSERT_NE(NULL, out);
	ASSERT_TRUE(pool_json(out, getpid(), "hsstat_fixed", obj, sizeof(obj)));
	EXPECT_EQ(0, field(obj, "in_use"));
	EXPECT_EQ(5, field(obj, "frees"));
	ASSERT_TRUE(pool_json(out, getpid(), "hsstat_ring", obj, sizeof(obj)));
	EXPECT_EQ(0, field(obj, "in_use"));

	/* The table: a line naming the set, with its size and count. */
	out = hsstat("--once --pools");
	ASSERT_NE(NULL, out);
	snprintf(line, sizeof(line), "hsstat_fixed");
	EXPECT_NE(NULL, strstr(out, line)) TH_LOG("%s", out);

	ASSERT_EQ(0, hs_uring_bufs_destroy(f));
	ASSERT_EQ(0, hs_uring_bufs_destroy(r));
	out = hsstat("--json --once");
	ASSERT_NE(NULL, out);
	EXPECT_FALSE(pool_json(out, getpid(), "hsstat_fixed", obj, sizeof(obj)));
	EXPECT_FALSE(pool_json(out, getpid(), "hsstat_ring", obj, sizeof(obj)));
	close(sv[0]);
	close(sv[1]);
	io_uring_queue_exit(&ring);
}

TEST_HARNESS_MAIN
