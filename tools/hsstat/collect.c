// SPDX-License-Identifier: MIT
/*
 * hsstat: data collection.
 *
 * Reads the module's debugfs files (formats in kmod/hs_debugfs.c) into a
 * struct hss_snapshot. Debugfs is root-only, may be unmounted and vanishes
 * under lockdown, so when it cannot be read the global totals come from
 * HUGESLAB_IOC_QUERY instead, with a note saying why; when neither works the
 * error names the one thing the user has to fix.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uapi/hugeslab.h"

#include "collect.h"

#define DEBUGFS_MNT		"/sys/kernel/debug"
#define MODULE_SYSFS		"/sys/module/hugeslab"
#define LOCKDOWN_FILE		"/sys/kernel/security/lockdown"

static const char *const stat_names[HSS_NR_STATS] = {
	[HSS_ABI_VERSION]	= "abi_version",
	[HSS_PAGE_SIZES]	= "page_sizes",
	[HSS_RESERVED]		= "reserved_bytes",
	[HSS_USED]		= "used_bytes",
	[HSS_FREE]		= "free_bytes",
	[HSS_MAX]		= "max_bytes",
	[HSS_PEAK]		= "peak_bytes",
	[HSS_REGIONS]		= "regions",
	[HSS_FAILED]		= "failed_requests",
	[HSS_CREATED]		= "created",
	[HSS_DESTROYED]		= "destroyed",
	[HSS_FEATURES]		= "features",
	[HSS_NR_NODES]		= "nr_nodes",
};

const char *hss_stat_name(enum hss_stat stat)
{
	return stat_names[stat];
}

static void stat_set(struct hss_stats *s, enum hss_stat stat, uint64_t v)
{
	s->val[stat] = v;
	s->have |= 1U << stat;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int octal_digit(char c)
{
	return c >= '0' && c <= '7';
}

void hss_unescape(char *s)
{
	char *out = s;

	while (*s) {
		/* Only \ooo is an escape; a stray backslash stays as it is. */
		if (s[0] == '\\' && octal_digit(s[1]) && octal_digit(s[2]) &&
		    octal_digit(s[3])) {
			*out++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) |
					(s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

static void chomp(char *line)
{
	size_t n = strlen(line);

	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
}

/* Strict number parsing: the whole string, no sign for unsigned values. */
static int parse_u64(const char *s, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return -1;
	*v = x;
	return 0;
}

static int parse_s64(const char *s, int64_t *v)
{
	long long x;
	char *end;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*v = x;
	return 0;
}

/* ---- locating debugfs ---------------------------------------------------- */

/*
 * Find where debugfs is mounted, preferring the usual place. Returns 1 and
 * the mount point, 0 if it is not mounted, -1 if /proc/mounts is unreadable.
 */
static int find_debugfs(char *mnt, size_t len)
{
	char *line = NULL, *save, *dir, *type;
	size_t cap = 0;
	int found = 0;
	FILE *f;

	f = fopen("/proc/mounts", "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (!strtok_r(line, " \t\n", &save))
			continue;
		dir = strtok_r(NULL, " \t\n", &save);
		type = strtok_r(NULL, " \t\n", &save);
		if (!dir || !type || strcmp(type, "debugfs"))
			continue;
		hss_unescape(dir);
		if (strlen(dir) >= len)
			continue;
		if (!found || !strcmp(dir, DEBUGFS_MNT))
			strcpy(mnt, dir);
		found = 1;
		if (!strcmp(dir, DEBUGFS_MNT))
			break;
	}
	free(line);
	fclose(f);
	return found;
}

/* Why the debugfs files could not be opened. */
enum dbg_state {
	DBG_OK,
	DBG_NOT_MOUNTED,
	DBG_DENIED,		/* not root */
	DBG_LOCKDOWN,		/* root, yet EPERM */
	DBG_MISSING,		/* mounted, no hugeslab directory */
	DBG_ERROR,
};

struct dbg_probe {
	enum dbg_state state;
	int err;
	char dir[PATH_MAX];
	char stats[PATH_MAX];
	FILE *f;
};

static void dbg_probe(const struct hss_config *cfg, struct dbg_probe *p)
{
	char mnt[PATH_MAX] = DEBUGFS_MNT;
	int n;

	if (cfg->debugfs_dir) {
		n = snprintf(p->dir, sizeof(p->dir), "%s", cfg->debugfs_dir);
	} else {
		if (find_debugfs(mnt, sizeof(mnt)) == 0) {
			p->state = DBG_NOT_MOUNTED;
			snprintf(p->dir, sizeof(p->dir), "%s/hugeslab",
				 DEBUGFS_MNT);
			return;
		}
		n = snprintf(p->dir, sizeof(p->dir), "%.*s/hugeslab",
			     PATH_MAX - 16, mnt);
	}
	if (n < 0 || (size_t)n >= sizeof(p->dir) - sizeof("/regions")) {
		p->state = DBG_ERROR;
		p->err = ENAMETOOLONG;
		return;
	}
	snprintf(p->stats, sizeof(p->stats), "%.*s/stats", PATH_MAX - 16,
		 p->dir);

	p->f = fopen(p->stats, "re");
	if (p->f) {
		p->state = DBG_OK;
		return;
	}
	p->err = errno;
	switch (errno) {
	case ENOENT:
	case ENOTDIR:
		p->state = DBG_MISSING;
		break;
	case EACCES:
		p->state = DBG_DENIED;
		break;
	case EPERM:
		/* Root is refused only by lockdown (security_locked_down). */
		p->state = geteuid() == 0 ? DBG_LOCKDOWN : DBG_DENIED;
		break;
	default:
		p->state = DBG_ERROR;
		break;
	}
}

/* The active lockdown mode ("integrity", ...), if securityfs tells. */
static void lockdown_mode(char *buf, size_t len)
{
	char line[128], *open, *close;
	FILE *f;

	snprintf(buf, len, "lockdown");
	f = fopen(LOCKDOWN_FILE, "re");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		open = strchr(line, '[');
		close = open ? strchr(open, ']') : NULL;
		if (close) {
			*close = '\0';
			snprintf(buf, len, "lockdown=%s", open + 1);
		}
	}
	fclose(f);
}

/* One phrase saying why debugfs was not used. */
static void dbg_reason(const struct dbg_probe *p, char *buf, size_t len)
{
	char mode[64];

	switch (p->state) {
	case DBG_OK:
		buf[0] = '\0';
		break;
	case DBG_NOT_MOUNTED:
		snprintf(buf, len,
			 "debugfs is not mounted (mount -t debugfs none "
			 DEBUGFS_MNT ")");
		break;
	case DBG_DENIED:
		snprintf(buf, len, "%s: %s (debugfs is for root only)",
			 p->stats, strerror(p->err));
		break;
	case DBG_LOCKDOWN:
		lockdown_mode(mode, sizeof(mode));
		snprintf(buf, len,
			 "kernel lockdown (%s) blocks debugfs: %s: %s", mode,
			 p->stats, strerror(p->err));
		break;
	case DBG_MISSING:
	case DBG_ERROR:
		snprintf(buf, len, "%s: %s", p->stats, strerror(p->err));
		break;
	}
}

/* ---- debugfs parsing ----------------------------------------------------- */

/* Check the "hugeslab <file> <major>[.<minor>]" first line. */
static int check_header(FILE *f, const char *path, const char *file,
			unsigned int major_ok, char *err, size_t errlen)
{
	char *line = NULL, *end, *ver;
	unsigned long major;
	size_t cap = 0, flen = strlen(file);
	int ret = -1;

	errno = 0;
	if (getline(&line, &cap, f) < 0) {
		if (errno)
			fail(err, errlen, "%s: %s", path, strerror(errno));
		else
			fail(err, errlen, "%s: empty file", path);
		goto out;
	}
	chomp(line);
	if (strncmp(line, "hugeslab ", 9) || strncmp(line + 9, file, flen) ||
	    line[9 + flen] != ' ') {
		fail(err, errlen, "%s: not a hugeslab %s file (first line '%s')",
		     path, file, line);
		goto out;
	}
	ver = line + 9 + flen + 1;
	errno = 0;
	major = strtoul(ver, &end, 10);
	if (end == ver || errno || (*end && *end != '.')) {
		fail(err, errlen, "%s: bad format version '%s'", path, ver);
		goto out;
	}
	/* A minor bump only adds things an old reader may skip. */
	if (major != major_ok) {
		fail(err, errlen,
		     "%s: format version %s is not supported (this hsstat reads version %u); use the hsstat that came with the module",
		     path, ver, major_ok);
		goto out;
	}
	ret = 0;
out:
	free(line);
	return ret;
}

static int read_stats(FILE *f, const char *path, struct hss_stats *s,
		      char *err, size_t errlen)
{
	char *line = NULL, *key, *val, *end;
	unsigned int lineno = 1;
	size_t cap = 0;
	uint64_t v;
	int i, ret = -1;

	if (check_header(f, path, "stats", HSS_STATS_MAJOR, err, errlen))
		return -1;
	errno = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		chomp(line);
		key = line + strspn(line, " \t");
		if (*key == '#' || *key == '\0')
			continue;
		val = key + strcspn(key, " \t");
		if (*val)
			*val++ = '\0';
		val += strspn(val, " \t");
		end = val + strlen(val);
		while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		for (i = 0; i < HSS_NR_STATS; i++)
			if (!strcmp(key, stat_names[i]))
				break;
		/* Keys added by newer modules are not ours to judge. */
		if (i == HSS_NR_STATS)
			continue;
		if (parse_u64(val, &v)) {
			fail(err, errlen, "%s:%u: bad value '%s' for %s", path,
			     lineno, val, key);
			goto out;
		}
		stat_set(s, (enum hss_stat)i, v);
		errno = 0;
	}
	if (ferror(f)) {
		fail(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
		goto out;
	}
	ret = 0;
out:
	free(line);
	return ret;
}

/* Columns of the regions file; the "# id pid ..." comment names them. */
enum col {
	COL_ID,
	COL_PID,
	COL_BYTES,
	COL_PAGE_SIZE,
	COL_NODE,
	COL_MAPPED,
	COL_COMM,
	COL_NR,
	COL_OTHER = -1,
};

#define MAX_COLS 32

static const char *const col_names[COL_NR] = {
	[COL_ID]	= "id",
	[COL_PID]	= "pid",
	[COL_BYTES]	= "bytes",
	[COL_PAGE_SIZE]	= "page_size",
	[COL_NODE]	= "node",
	[COL_MAPPED]	= "mapped",
	[COL_COMM]	= "comm",
};

struct layout {
	enum col col[MAX_COLS];
	unsigned int n;
};

/*
 * A comment naming the columns lets a newer module add one (before comm,
 * which is always last) without breaking us. Returns 1 if @line was such a
 * comment and @lay now follows it, 0 if it was another comment, -1 if it
 * named columns we cannot work with.
 */
static int parse_layout(char *line, struct layout *lay)
{
	struct layout l = { .n = 0 };
	unsigned int seen = 0, i;
	char *tok, *save;
	int c;

	for (tok = strtok_r(line + 1, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (l.n == MAX_COLS)
			return -1;
		for (c = 0; c < COL_NR; c++)
			if (!strcmp(tok, col_names[c]))
				break;
		l.col[l.n++] = c < COL_NR ? (enum col)c : COL_OTHER;
		if (c < COL_NR)
			seen |= 1U << c;
	}
	if (!(seen & (1U << COL_ID)) || !(seen & (1U << COL_COMM)))
		return 0;
	if (seen != (1U << COL_NR) - 1 || l.col[l.n - 1] != COL_COMM)
		return -1;
	for (i = 0; i < l.n; i++)
		lay->col[i] = l.col[i];
	lay->n = l.n;
	return 1;
}

static int parse_region(char *line, const struct layout *lay,
			struct hss_region *r)
{
	char *p = line, *field;
	unsigned int i;
	int bad = 0;

	for (i = 0; i < lay->n; i++) {
		if (lay->col[i] == COL_COMM) {
			/* The rest of the line: escaped, so spaces are ours. */
			field = p;
		} else {
			field = p + strspn(p, " \t");
			p = field + strcspn(field, " \t");
			if (p == field)
				return -1;
			if (*p)
				*p++ = '\0';
		}
		switch (lay->col[i]) {
		case COL_ID:
			bad |= parse_u64(field, &r->id);
			break;
		case COL_PID:
			bad |= parse_s64(field, &r->pid);
			break;
		case COL_BYTES:
			bad |= parse_u64(field, &r->bytes);
			break;
		case COL_PAGE_SIZE:
			bad |= parse_u64(field, &r->page_size);
			break;
		case COL_NODE:
			bad |= parse_s64(field, &r->node);
			break;
		case COL_MAPPED:
			if (!strcmp(field, "yes"))
				r->mapped = true;
			else if (!strcmp(field, "no"))
				r->mapped = false;
			else
				bad = -1;
			break;
		case COL_COMM:
			hss_unescape(field);
			r->comm = strdup(field);
			if (!r->comm)
				return -1;
			break;
		case COL_OTHER:
		case COL_NR:
			break;
		}
		if (bad)
			return -1;
	}
	return 0;
}

static int read_regions(FILE *f, const char *path, struct hss_snapshot *snap,
			char *err, size_t errlen)
{
	struct layout lay = {
		.col = { COL_ID, COL_PID, COL_BYTES, COL_PAGE_SIZE, COL_NODE,
			 COL_MAPPED, COL_COMM },
		.n = COL_NR,
	};
	struct hss_region r, *grown;
	char *line = NULL;
	unsigned int lineno = 1;
	size_t cap = 0, alloc = 0;
	int ret = -1;

	if (check_header(f, path, "regions", HSS_REGIONS_MAJOR, err, errlen))
		return -1;
	errno = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		chomp(line);
		if (line[0] == '\0')
			continue;
		if (line[0] == '#') {
			if (snap->nr_regions == 0 && parse_layout(line, &lay) < 0) {
				fail(err, errlen,
				     "%s:%u: unsupported column layout", path,
				     lineno);
				goto out;
			}
			continue;
		}
		memset(&r, 0, sizeof(r));
		if (parse_region(line, &lay, &r)) {
			free(r.comm);
			fail(err, errlen, "%s:%u: cannot parse region line",
			     path, lineno);
			goto out;
		}
		if (snap->nr_regions == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			grown = realloc(snap->regions, alloc * sizeof(*grown));
			if (!grown) {
				free(r.comm);
				fail(err, errlen, "out of memory");
				goto out;
			}
			snap->regions = grown;
		}
		snap->regions[snap->nr_regions++] = r;
		errno = 0;
	}
	if (ferror(f)) {
		fail(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
		goto out;
	}
	ret = 0;
out:
	free(line);
	return ret;
}

static int collect_debugfs(struct dbg_probe *p, struct hss_snapshot *snap,
			   char *err, size_t errlen)
{
	char path[PATH_MAX];
	FILE *f;
	int ret;

	snap->source = HSS_SRC_DEBUGFS;
	snap->path = strdup(p->dir);
	if (!snap->path)
		return fail(err, errlen, "out of memory");
	if (read_stats(p->f, p->stats, &snap->stats, err, errlen))
		return -1;

	snprintf(path, sizeof(path), "%.*s/regions", PATH_MAX - 16, p->dir);
	f = fopen(path, "re");
	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	snap->have_regions = true;
	ret = read_regions(f, path, snap, err, errlen);
	fclose(f);
	return ret;
}

/* ---- the ioctl fallback -------------------------------------------------- */

static int collect_ioctl(int fd, const struct dbg_probe *p,
			 struct hss_snapshot *snap, char *err, size_t errlen)
{
	struct hugeslab_query q;
	struct hss_stats *s = &snap->stats;
	char why[PATH_MAX + 128];

	memset(&q, 0, sizeof(q));
	if (ioctl(fd, HUGESLAB_IOC_QUERY, &q) < 0)
		return fail(err, errlen, "HUGESLAB_IOC_QUERY on %s: %s",
			    HUGESLAB_DEVICE, strerror(errno));

	snap->source = HSS_SRC_IOCTL;
	dbg_reason(p, why, sizeof(why));
	snap->path = strdup(HUGESLAB_DEVICE);
	snap->note = strdup(why);
	if (!snap->path || !snap->note)
		return fail(err, errlen, "out of memory");

	stat_set(s, HSS_ABI_VERSION, q.abi_version);
	stat_set(s, HSS_PAGE_SIZES, q.page_sizes);
	stat_set(s, HSS_RESERVED, q.reserve_bytes);
	stat_set(s, HSS_USED, q.used_bytes);
	/* As debugfs computes it: what is left of the reserve. */
	stat_set(s, HSS_FREE, q.reserve_bytes > q.used_bytes ?
			      q.reserve_bytes - q.used_bytes : 0);
	stat_set(s, HSS_MAX, q.max_bytes);
	stat_set(s, HSS_REGIONS, q.regions);
	stat_set(s, HSS_FAILED, q.failed);
	stat_set(s, HSS_FEATURES, q.features);
	stat_set(s, HSS_NR_NODES, q.nr_nodes);
	return 0;
}

/* ---- entry points -------------------------------------------------------- */

/* Neither source worked: say what to fix, most fundamental cause first. */
static int explain(const struct dbg_probe *p, int dev_err, char *err,
		   size_t errlen)
{
	bool dev_missing = dev_err == ENOENT || dev_err == ENXIO ||
			   dev_err == ENODEV;
	bool loaded = access(MODULE_SYSFS, F_OK) == 0;
	char why[PATH_MAX + 128];

	dbg_reason(p, why, sizeof(why));
	if (dev_missing && !loaded)
		return fail(err, errlen,
			    "the hugeslab module is not loaded (no %s, no %s); load it with 'modprobe hugeslab' (or 'insmod hugeslab.ko')",
			    HUGESLAB_DEVICE, MODULE_SYSFS);
	if (p->state == DBG_DENIED ||
	    ((dev_err == EACCES || dev_err == EPERM) && geteuid() != 0))
		return fail(err, errlen,
			    "permission denied: debugfs and %s are for root only; run hsstat as root (e.g. sudo hsstat)",
			    HUGESLAB_DEVICE);
	if (p->state == DBG_NOT_MOUNTED)
		return fail(err, errlen,
			    "debugfs is not mounted; mount it with 'mount -t debugfs none %s' (and %s: %s)",
			    DEBUGFS_MNT, HUGESLAB_DEVICE, strerror(dev_err));
	if (p->state == DBG_LOCKDOWN)
		return fail(err, errlen, "%s; and %s: %s", why,
			    HUGESLAB_DEVICE, strerror(dev_err));
	if (dev_missing)
		return fail(err, errlen,
			    "the hugeslab module is loaded but %s is missing (is devtmpfs or udev running?); and %s",
			    HUGESLAB_DEVICE, why);
	return fail(err, errlen, "%s; and %s: %s", why, HUGESLAB_DEVICE,
		    strerror(dev_err));
}

int hss_collect(const struct hss_config *cfg, struct hss_snapshot *snap,
		char *err, size_t errlen)
{
	struct dbg_probe *p;
	int fd, ret;

	memset(snap, 0, sizeof(*snap));
	/* Two PATH_MAX buffers: keep them off the stack. */
	p = calloc(1, sizeof(*p));
	if (!p)
		return fail(err, errlen, "out of memory");
	dbg_probe(cfg, p);
	if (p->state == DBG_OK) {
		ret = collect_debugfs(p, snap, err, errlen);
		fclose(p->f);
		goto out;
	}

	fd = open(HUGESLAB_DEVICE, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = explain(p, errno, err, errlen);
		goto out;
	}
	ret = collect_ioctl(fd, p, snap, err, errlen);
	close(fd);
out:
	free(p);
	if (ret)
		hss_snapshot_free(snap);
	return ret;
}

void hss_snapshot_free(struct hss_snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->nr_regions; i++)
		free(snap->regions[i].comm);
	free(snap->regions);
	free(snap->path);
	free(snap->note);
	memset(snap, 0, sizeof(*snap));
}
