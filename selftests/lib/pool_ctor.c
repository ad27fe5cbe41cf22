// SPDX-License-Identifier: GPL-2.0-only
/*
 * Description: the constructed-state contract - constructors run once, when
 * an object first enters the pool, not on every allocation; destructors run
 * once per constructed object when the pool lets go of it; a failing
 * constructor fails the allocation cleanly and loses nothing.
 */
#include <errno.h>

#include "kselftest_harness.h"
#include "hs_lib.h"

#define MAGIC 0x5eed1e55u

struct conn {
	unsigned int magic;	/* set by the constructor only */
	unsigned int uses;	/* survives free/alloc: constructed state */
	char buf[120];
};

static int ctors, dtors, fail_every;

static int conn_ctor(void *o, void *arg)
{
	struct conn *c = o;

	(void)arg;
	if (fail_every && (ctors + 1) % fail_every == 0) {
		fail_every = 0;	/* fail once */
		return EMFILE;
	}
	c->magic = MAGIC;
	c->uses = 0;
	ctors++;
	return 0;
}

static void conn_dtor(void *o, void *arg)
{
	struct conn *c = o;

	if (c->magic == MAGIC && arg == (void *)&dtors)
		dtors++;
	c->magic = 0;
}

TEST(ctor_once_per_object_dtor_on_release)
{
	struct hs_pool_opts o = { .ctor = conn_ctor, .dtor = conn_dtor,
				  .arg = &dtors };
	struct hs_pool_stats st;
	struct conn *v[1000];
	int i, round, after_first = 0;
	hs_pool_t *p;

	ctors = dtors = 0;
	p = hs_pool_create("conn", sizeof(struct conn), &o);
	ASSERT_NE(NULL, p);
	for (round = 0; round < 50; round++) {
		for (i = 0; i < 1000; i++) {
			v[i] = hs_pool_alloc(p);
			ASSERT_NE(NULL, v[i]);
			ASSERT_EQ(MAGIC, v[i]->magic);
			v[i]->uses++;
		}
		for (i = 0; i < 1000; i++)
			hs_pool_free(p, v[i]);
		if (round == 0)
			after_first = ctors;
	}
	/* Reused objects were not constructed again. */
	ASSERT_EQ(after_first, ctors);
	ASSERT_GE(ctors, 1000);
	ASSERT_EQ(0, hs_pool_stats(p, &st));
	ASSERT_EQ((uint64_t)ctors, st.total);
	ASSERT_EQ(0, dtors);

	/* State kept across free/alloc: some object was used 50 times. */
	v[0] = hs_pool_alloc(p);
	ASSERT_GE(v[0]->uses, 1);
	hs_pool_free(p, v[0]);

	hs_pool_destroy(p);
	ASSERT_EQ(ctors, dtors);
}

TEST(dtor_not_run_on_live_objects)
{
	struct hs_pool_opts o = { .ctor = conn_ctor, .dtor = conn_dtor,
				  .arg = &dtors };
	struct conn *live[10];
	hs_pool_t *p;
	int i;

	ctors = dtors = 0;
	p = hs_pool_create("live", sizeof(struct conn), &o);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 10; i++)
		live[i] = hs_pool_alloc(p);
	hs_pool_free(p, live[0]);
	hs_pool_destroy(p);
	/* Nine objects were still in use: not the pool's to destruct. */
	ASSERT_EQ(ctors - 9, dtors);
}

TEST(failing_ctor_fails_the_alloc_only)
{
	struct hs_pool_opts o = { .ctor = conn_ctor, .dtor = conn_dtor,
				  .arg = &dtors };
	struct conn *v[200];
	hs_pool_t *p;
	int i, failed = 0, got = 0;

	ctors = dtors = 0;
	fail_every = 1;		/* the very first construction fails */
	p = hs_pool_create("failing", sizeof(struct conn), &o);
	ASSERT_NE(NULL, p);
	errno = 0;
	for (i = 0; i < 200; i++) {
		v[got] = hs_pool_alloc(p);
		if (!v[got]) {
			ASSERT_EQ(EMFILE, errno);
			ASSERT_NE(NULL, strstr(hs_last_error(), "constructor"));
			failed++;
			continue;
		}
		ASSERT_EQ(MAGIC, v[got]->magic);
		got++;
	}
	ASSERT_EQ(1, failed);
	ASSERT_EQ(199, got);
	for (i = 0; i < got; i++)
		hs_pool_free(p, v[i]);
	hs_pool_destroy(p);
	/* Only constructed objects are destructed. */
	ASSERT_EQ(ctors, dtors);
}

/*
 * A constructor may use its own pool: it runs with no lock held, in the
 * middle of the slow path that is filling this thread's cache. Nothing may
 * be handed out twice and the counters must stay exact.
 */
static hs_pool_t *self_pool;
static int self_depth, self_allocs;

/* More than a magazine (128): the inner calls swap and drain magazines. */
#define SELF_N	300

static int self_ctor(void *o, void *arg)
{
	static void *tmp[SELF_N];
	int i;

	(void)arg;
	*(void **)o = NULL;
	if (self_depth)
		return 0;
	self_depth++;
	for (i = 0; i < SELF_N; i++) {
		tmp[i] = hs_pool_alloc(self_pool);
		if (!tmp[i] || *(void **)tmp[i])
			return EEXIST;	/* none, or one in use */
		*(void **)tmp[i] = tmp[i];	/* marks it taken */
		self_allocs++;
	}
	for (i = 0; i < SELF_N; i++) {
		*(void **)tmp[i] = NULL;
		hs_pool_free(self_pool, tmp[i]);
	}
	self_depth--;
	return 0;
}

TEST(ctor_that_uses_its_own_pool)
{
	struct hs_pool_opts o = { .ctor = self_ctor };
	struct hs_pool_stats st;
	static void *v[3000];
	int i;

	self_allocs = 0;
	self_pool = hs_pool_create("selfuse", 64, &o);
	ASSERT_NE(NULL, self_pool);
	for (i = 0; i < 3000; i++) {
		v[i] = hs_pool_alloc(self_pool);
		ASSERT_NE(NULL, v[i]);
		/* Nobody else holds it: not handed out twice. */
		ASSERT_EQ(NULL, *(void **)v[i]);
		*(void **)v[i] = v[i];
	}
	ASSERT_GT(self_allocs, 0);
	ASSERT_EQ(0, hs_pool_stats(self_pool, &st));
	ASSERT_EQ(3000, st.in_use);
	ASSERT_EQ((uint64_t)3000 + self_allocs, st.allocs);
	ASSERT_EQ((uint64_t)self_allocs, st.frees);
	for (i = 0; i < 3000; i++) {
		*(void **)v[i] = NULL;
		hs_pool_free(self_pool, v[i]);
	}
	ASSERT_EQ(0, hs_pool_stats(self_pool, &st));
	ASSERT_EQ(0, st.in_use);
	ASSERT_EQ(st.allocs, st.frees);
	ASSERT_LE(st.in_use, st.total);
	hs_pool_destroy(self_pool);
}

TEST_HARNESS_MAIN
