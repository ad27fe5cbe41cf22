// SPDX-License-Identifier: MIT
/*
 * Description: hsstat end to end. With the module loaded, creates regions
 * through /dev/hugeslab, runs hsstat (--json and text) and checks it reports
 * exactly what the module holds, then takes debugfs away (HSSTAT_DEBUGFS, an
 * unmounted debugfs in a private mount namespace, no root, no module) and
 * checks the fallback and the error messages. Without the module, the
 * parser is still tested against fixture files.
 *
 * hsstat is found through $HSSTAT, else relative to this binary (build/tools/
 * hsstat in the build tree, /opt/hs/hsstat in the VM), else in $PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uapi/hugeslab.h"

#include "kselftest_harness.h"

#define MiB (1ULL << 20)

/* ---- a strict little JSON parser ----------------------------------------- */

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	int type;		/* enum jtype */
	char *str;		/* J_STR: decoded; J_NUM: the literal */
	struct jval *kids;	/* J_ARR, J_OBJ */
	char **keys;		/* J_OBJ */
	size_t n;
};

struct jparser {
	const char *p;
	int depth;
};

static void jfree(struct jval *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		jfree(&v->kids[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->kids);
	free(v->keys);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

static void jskip(struct jparser *jp)
{
	while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' ||
	       *jp->p == '\r')
		jp->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex4(const char *s, unsigned int *cp)
{
	int i, h;

	*cp = 0;
	for (i = 0; i < 4; i++) {
		h = hexval(s[i]);
		if (h < 0)
			return -1;
		*cp = *cp << 4 | (unsigned int)h;
	}
	return 0;
}

static size_t utf8_put(char *out, unsigned int cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of a valid UTF-8 sequence at @s (JSON text must be UTF-8), or 0. */
static size_t utf8_valid(const unsigned char *s)
{
	unsigned int cp, n, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int jstring(struct jparser *jp, char **out)
{
	const char *p = jp->p + 1;
	char *buf, *o;
	unsigned int cp, lo;
	size_t n;

	/* Decoded text is never longer than the literal. */
	buf = malloc(strlen(p) + 1);
	if (!buf)
		return -1;
	o = buf;
	for (;;) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			break;
		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			n = utf8_valid((const unsigned char *)p);
			if (!n)
				goto bad;
			memcpy(o, p, n);
			o += n;
			p += n;
			continue;
		}
		p++;
		switch (*p++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (hex4(p, &cp))
				goto bad;
			p += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				goto bad;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p[0] != '\\' || p[1] != 'u' ||
				    hex4(p + 2, &lo) || lo < 0xdc00 ||
				    lo > 0xdfff)
					goto bad;
				p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			}
			o += utf8_put(o, cp);
			break;
		default:
			goto bad;
		}
	}
	*o = '\0';
	jp->p = p + 1;
	*out = buf;
	return 0;
bad:
	free(buf);
	return -1;
}

static int jnumber(struct jparser *jp, struct jval *v)
{
	const char *s = jp->p, *p = s;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return -1;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	v->type = J_NUM;
	v->str = strndup(s, (size_t)(p - s));
	jp->p = p;
	return v->str ? 0 : -1;
}

static int jvalue(struct jparser *jp, struct jval *v);

static int jcontainer(struct jparser *jp, struct jval *v, bool obj)
{
	char close = obj ? '}' : ']';
	struct jval *kids;
	char **keys;

	v->type = obj ? J_OBJ : J_ARR;
	jp->p++;
	jskip(jp);
	if (*jp->p == close) {
		jp->p++;
		return 0;
	}
	for (;;) {
		kids = realloc(v->kids, (v->n + 1) * sizeof(*kids));
		if (!kids)
			return -1;
		v->kids = kids;
		memset(&kids[v->n], 0, sizeof(*kids));
		if (obj) {
			keys = realloc(v->keys, (v->n + 1) * sizeof(*keys));
			if (!keys)
				return -1;
			v->keys = keys;
			keys[v->n] = NULL;
		}
		v->n++;
		jskip(jp);
		if (obj) {
			if (*jp->p != '"' || jstring(jp, &v->keys[v->n - 1]))
				return -1;
			jskip(jp);
			if (*jp->p++ != ':')
				return -1;
		}
		if (jvalue(jp, &v->kids[v->n - 1]))
			return -1;
		jskip(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p != close)
			return -1;
		jp->p++;
		return 0;
	}
}

static int jvalue(struct jparser *jp, struct jval *v)
{
	int ret;

	jskip(jp);
	if (++jp->depth > 64)
		return -1;
	switch (*jp->p) {
	case '{':
		ret = jcontainer(jp, v, true);
		break;
	case '[':
		ret = jcontainer(jp, v, false);
		break;
	case '"':
		v->type = J_STR;
		ret = jstring(jp, &v->str);
		break;
	case 't':
		v->type = J_TRUE;
		ret = strncmp(jp->p, "true", 4) ? -1 : 0;
		jp->p += 4;
		break;
	case 'f':
		v->type = J_FALSE;
		ret = strncmp(jp->p, "false", 5) ? -1 : 0;
		jp->p += 5;
		break;
	case 'n':
		v->type = J_NULL;
		ret = strncmp(jp->p, "null", 4) ? -1 : 0;
		jp->p += 4;
		break;
	default:
		ret = jnumber(jp, v);
		break;
	}
	jp->depth--;
	return ret;
}

/* Parse a whole document: one value and nothing else. */
static int jparse(const char *text, struct jval *v)
{
	struct jparser jp = { .p = text };

	memset(v, 0, sizeof(*v));
	if (jvalue(&jp, v))
		goto bad;
	jskip(&jp);
	if (*jp.p)
		goto bad;
	return 0;
bad:
	jfree(v);
	return -1;
}

static const struct jval *jget(const struct jval *obj, const char *key)
{
	size_t i;

	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return &obj->kids[i];
	return NULL;
}

/* An integer member; -1 (and a log line) when absent or not an integer. */
static int jint(const struct jval *obj, const char *key, long long *out)
{
	const struct jval *v = jget(obj, key);
	char *end;

	if (!v || v->type != J_NUM)
		return -1;
	errno = 0;
	*out = strtoll(v->str, &end, 10);
	return errno || *end ? -1 : 0;
}

static const char *jstr(const struct jval *obj, const char *key)
{
	const struct jval *v = jget(obj, key);

	return v && v->type == J_STR ? v->str : NULL;
}

/* ---- running hsstat ------------------------------------------------------ */

/* Runs in the child before exec; non-zero means the setup is impossible. */
typedef int (*prep_fn)(void);

#define PREP_FAILED	"hsstat_test: cannot set up: "
#define EXEC_FAILED	"hsstat_test: cannot exec "

struct run {
	int status;	/* exit status, or 128 + signal */
	char *out;
	char *err;
};

static bool is_exe(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

/*
 * $HSSTAT; else where the build tree and the VM put it relative to this
 * binary (build/tools/hsstat, /opt/hs/hsstat); else $PATH.
 */
static const char *hsstat_path(void)
{
	static char path[PATH_MAX];
	static const char *const rel[] = {
		"../hsstat", "../../tools/hsstat", "../../hsstat", "hsstat",
	};
	char exe[PATH_MAX], *slash, *dirs, *dir, *save;
	const char *env = getenv("HSSTAT");
	ssize_t n;
	size_t i;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		for (i = 0; slash && i < sizeof(rel) / sizeof(rel[0]); i++) {
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", exe,
					     rel[i]) < sizeof(path) &&
			    is_exe(path))
				return path;
		}
	}
	dirs = strdup(getenv("PATH") ? getenv("PATH") : "");
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		if ((size_t)snprintf(path, sizeof(path), "%s/hsstat", dir) <
		    sizeof(path) && is_exe(path)) {
			free(dirs);
			return path;
		}
	}
	free(dirs);
	return NULL;
}

static char *slurp(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	if (!buf || lseek(fd, 0, SEEK_SET) < 0)
		goto fail;
	for (;;) {
		if (len + 1 == cap) {
			grown = realloc(buf, cap *= 2);
			if (!grown)
				goto fail;
			buf = grown;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
fail:
	free(buf);
	return NULL;
}

/*
 * Run hsstat with the NULL-terminated arguments; HSSTAT_DEBUGFS is set to
 * @debugfs (unset if NULL). Output is captured in memfds, so a chatty child
 * can never block on a full pipe. Returns 0, or -1 if it could not run.
 */
static int run_hsstat(struct run *r, const char *debugfs, prep_fn prep, ...)
{
	const char *path = hsstat_path();
	char *argv[16];
	int out, err, status, argc = 1;
	va_list ap;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (!path) {
		fprintf(stderr, "# cannot find hsstat: set HSSTAT\n");
		return -1;
	}
	argv[0] = (char *)path;
	va_start(ap, prep);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;

	out = memfd_create("hsstat-out", MFD_CLOEXEC);
	err = memfd_create("hsstat-err", MFD_CLOEXEC);
	if (out < 0 || err < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		if (prep && prep()) {
			fprintf(stderr, PREP_FAILED "%s\n", strerror(errno));
			_exit(125);
		}
		if (debugfs)
			setenv("HSSTAT_DEBUGFS", debugfs, 1);
		else
			unsetenv("HSSTAT_DEBUGFS");
		execv(path, argv);
		fprintf(stderr, EXEC_FAILED "%s: %s\n", path, strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) :
		    128 + WTERMSIG(status);
	r->out = slurp(out);
	r->err = slurp(err);
	close(out);
	close(err);
	return r->out && r->err ? 0 : -1;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static bool prep_failed(const struct run *r)
{
	return strstr(r->err, PREP_FAILED) || strstr(r->err, EXEC_FAILED);
}

/* ---- namespace set-ups, run in hsstat's child ---------------------------- */

/* Unmount every debugfs in a private copy of the mount table. */
static int prep_no_debugfs(void)
{
	char line[PATH_MAX + 256], dir[PATH_MAX], type[64];
	int pass, found;
	FILE *f;

	if (unshare(CLONE_NEWNS))
		return -1;
	/* Keep the unmounts from propagating back to the test's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	for (pass = 0; pass < 16; pass++) {
		f = fopen("/proc/self/mounts", "re");
		if (!f)
			return -1;
		found = 0;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%*s %4095s %63s", dir, type) != 2 ||
			    strcmp(type, "debugfs"))
				continue;
			found = 1;
			if (umount2(dir, MNT_DETACH)) {
				fclose(f);
				return -1;
			}
		}
		fclose(f);
		if (!found)
			return 0;
	}
	errno = EBUSY;
	return -1;
}

/* As if the module were not loaded: no debugfs, /dev or /sys/module. */
static int prep_no_module(void)
{
	if (prep_no_debugfs())
		return -1;
	if (mount("none", "/dev", "tmpfs", 0, NULL) ||
	    mount("none", "/sys/module", "tmpfs", 0, NULL))
		return -1;
	return 0;
}

static int prep_nobody(void)
{
	gid_t nogroup = 65534;

	if (setgroups(1, &nogroup) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return -1;
	return 0;
}

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

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return -1;
	ret = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) || ret ? -1 : 0;
}

FIXTURE_SETUP(fx)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/hsstat-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, write_file(self->dir, "stats", fx_stats));
	ASSERT_EQ(0, write_file(self->dir, "regions", fx_regions));
}

FIXTURE_TEARDOWN(fx)
{
	char path[128];

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
		{ "--sort" },
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
	run_free(&run);
	ASSERT_EQ(0, run_hsstat(&run, NULL, NULL, "--version", NULL));
	ASSERT_EQ(0, run.status);
	ASSERT_EQ(0, strncmp(run.out, "hsstat ", 7));
	run_free(&run);
}

/* ---- against the module -------------------------------------------------- */

static int open_dev(void)
{
	return open(HUGESLAB_DEVICE, O_RDWR | O_CLOEXEC);
}

static int dev_query(int fd, struct hugeslab_query *q)
{
	memset(q, 0, sizeof(*q));
	return ioctl(fd, HUGESLAB_IOC_QUERY, q);
}

static int dev_create(int fd, uint64_t bytes, struct hugeslab_create *c)
{
	memset(c, 0, sizeof(*c));
	c->bytes = bytes;
	c->node = HUGESLAB_NODE_ANY;
	return ioctl(fd, HUGESLAB_IOC_CREATE, c);
}

#define NEED_MODULE(fd) do {						\
	(fd) = open_dev();						\
	if ((fd) < 0 && (errno == ENOENT || errno == ENXIO))		\
		SKIP(return, "no %s (module not loaded)", HUGESLAB_DEVICE); \
	ASSERT_LE(0, (fd)) TH_LOG("open %s: %s", HUGESLAB_DEVICE,	\
				  strerror(errno));			\
} while (0)

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
	/* Only debugfs knows the peak. */
	ASSERT_EQ(NULL, jget(stats, "peak_bytes"));
	jfree(&root);
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

	ASSERT_EQ(0, run_hsstat(&run, "/nonexistent/hugeslab", NULL, "--once",
				"--json", NULL));
	check_ioctl_json(_metadata, &run, &q);
	ASSERT_NE(NULL, strstr(run.err, "/nonexistent/hugeslab/stats"));
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
