/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the hsstat selftests (headers, no object: each test is one
 * binary): running hsstat with its output captured, namespace set-ups for
 * its child, and the module's ioctls; with the JSON parser (json.h) and the
 * Prometheus checker (prom.h) its output is checked with. Everything is
 * static inline so a test uses what it needs.
 */
#ifndef HSSTAT_UTIL_H
#define HSSTAT_UTIL_H

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

#include "json.h"
#include "prom.h"
#include "uapi/hugeslab.h"

#define MiB (1ULL << 20)

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

static inline bool is_exe(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

/*
 * $HSSTAT; else where the build tree and the VM put it relative to this
 * binary (build/tools/hsstat, /opt/hs/hsstat); else $PATH.
 */
static inline const char *hsstat_path(void)
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

static inline char *slurp(int fd)
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
static inline int run_hsstat(struct run *r, const char *debugfs, prep_fn prep,
			     ...)
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

static inline void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static inline bool prep_failed(const struct run *r)
{
	return strstr(r->err, PREP_FAILED) || strstr(r->err, EXEC_FAILED);
}

/* ---- namespace set-ups, run in hsstat's child ---------------------------- */

/* Unmount every debugfs in a private copy of the mount table. */
static inline int prep_no_debugfs(void)
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

/*
 * As if the module were not loaded: no debugfs, /dev, /sys/module or
 * /sys/class/misc (where its sysfs counters are).
 */
static inline int prep_no_module(void)
{
	if (prep_no_debugfs())
		return -1;
	if (mount("none", "/dev", "tmpfs", 0, NULL) ||
	    mount("none", "/sys/module", "tmpfs", 0, NULL) ||
	    mount("none", "/sys/class/misc", "tmpfs", 0, NULL))
		return -1;
	return 0;
}

static inline int prep_nobody(void)
{
	gid_t nogroup = 65534;

	if (setgroups(1, &nogroup) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return -1;
	return 0;
}


static inline int write_file(const char *dir, const char *name,
			     const char *text)
{
	char path[PATH_MAX];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return -1;
	ret = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) || ret ? -1 : 0;
}

/* ---- hsstat's JSON -------------------------------------------------------- */

/* The pool of process @pid called @name in hsstat's JSON, or NULL. */
static inline const struct jval *json_pool(const struct jval *root,
					   long long pid, const char *name)
{
	const struct jval *pools = jget(root, "pools");
	const char *n;
	long long v = 0;
	size_t i;

	if (!pools || pools->type != J_ARR)
		return NULL;
	for (i = 0; i < pools->n; i++) {
		n = jstr(&pools->kids[i], "name");
		if (!jint(&pools->kids[i], "pid", &v) && v == pid && n &&
		    !strcmp(n, name))
			return &pools->kids[i];
	}
	return NULL;
}

/* An unsigned number member of @obj; all ones if missing or not a number. */
static inline unsigned long long json_u64(const struct jval *obj,
					  const char *key)
{
	const struct jval *v = jget(obj, key);

	return v && v->type == J_NUM ? strtoull(v->str, NULL, 10) : ~0ULL;
}

/* ---- the module ---------------------------------------------------------- */

static inline int open_dev(void)
{
	return open(HUGESLAB_DEVICE, O_RDWR | O_CLOEXEC);
}

static inline int dev_query(int fd, struct hugeslab_query *q)
{
	memset(q, 0, sizeof(*q));
	return ioctl(fd, HUGESLAB_IOC_QUERY, q);
}

static inline int dev_create(int fd, uint64_t bytes, struct hugeslab_create *c)
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

#endif /* HSSTAT_UTIL_H */
